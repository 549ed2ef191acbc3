"""How a stored step keeps the value of the latest call, whatever order the writes land in.

Each stored step carries, besides Chainlit's fields:
- `fieldStamps`: for each field, the call stamp (see `call_order.py`) of the write that set
  it. A write sets a field only when its stamp is newer than the field's and newer than the
  step's deletion; an empty value never sets one.
- `removedStamp`: the stamp of the latest `delete_step`; writes called before it change
  nothing. A delete drops every field set by a call before it.
- `removed: true` while the step is deleted: nothing called after the delete has written
  it. Such a step (a tombstone: its id and stamps) is hidden from every read; a write called
  after the delete brings the step back with that write's fields only.

The expressions below work on a step bound to a variable (`"$$item"`), in the update
pipelines of embedded and overflowed steps alike. In the usual landing order a write is newer
than everything stored of its step; `newer_than_stored` and `taken_changes` say the same rule
for that case as a query and update operators, which spare the server the pipeline.
"""

import functools
import re
from collections.abc import Mapping
from typing import Any

from .connection import Document

# Step fields an update operator can name as a path (any other goes through the pipeline).
PLAIN_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
FIELD_STAMPS = "fieldStamps"
REMOVED_STAMP = "removedStamp"
REMOVED = "removed"
BOOKKEEPING_FIELDS = (FIELD_STAMPS, REMOVED_STAMP, REMOVED)


def new_step(step: Document, changes: Mapping[str, Any], stamp: int) -> Document:
    """The step as first stored by a write: what it carries, each field it set stamped."""
    return {**step, FIELD_STAMPS: dict.fromkeys(changes, stamp)}


def tombstone(step_id: str, stamp: int) -> Document:
    """What a delete stores for a step that is not stored yet."""
    return {"id": step_id, FIELD_STAMPS: {}, REMOVED_STAMP: stamp, REMOVED: True}


def is_removed(step: Mapping[str, Any]) -> bool:
    return step.get(REMOVED) is True


def live_steps(steps: str) -> Document:
    """An expression: the steps of the array `steps` (e.g. `"$steps"`) not deleted."""
    return {
        "$filter": {
            "input": {"$ifNull": [steps, []]},
            "as": "step",
            "cond": {"$ne": [f"$$step.{REMOVED}", True]},
        }
    }


def _stamp_of(stored: str, field: str) -> Document:
    return {"$ifNull": [f"{stored}.{FIELD_STAMPS}.{field}", 0]}


def _removed_stamp(stored: str) -> Document:
    return {"$ifNull": [f"{stored}.{REMOVED_STAMP}", 0]}


def merged_step(stored: str, changes: Mapping[str, Any], stamp: int) -> Document:
    """The stored step after a write of `changes` called at `stamp`."""
    floor = _removed_stamp(stored)
    taken = {
        field: {
            "$cond": [
                {"$gt": [stamp, {"$max": [_stamp_of(stored, field), floor]}]},
                {"$literal": value},
                f"{stored}.{field}",
            ]
        }
        for field, value in changes.items()
    }
    stamps = {field: {"$max": [stamp, _stamp_of(stored, field)]} for field in changes}
    bookkeeping = {
        FIELD_STAMPS: {"$mergeObjects": [{"$ifNull": [f"{stored}.{FIELD_STAMPS}", {}]}, stamps]},
        # A write called after the delete brings the step back; one called before does not.
        REMOVED: {
            "$cond": [
                {"$eq": [f"{stored}.{REMOVED}", True]},
                {"$lt": [stamp, floor]},
                "$$REMOVE",
            ]
        },
    }
    return {"$mergeObjects": [stored, taken, bookkeeping]}


def fits_update_operators(changes: Mapping[str, Any]) -> bool:
    """Whether every field of a write can be named in an update operator's path."""
    return all(map(is_plain_field, changes))


@functools.lru_cache(maxsize=1024)
def is_plain_field(field: str) -> bool:
    """A step field an update operator can name (asked for every field of every write,
    almost always one of Chainlit's dozen)."""
    return bool(PLAIN_FIELD.fullmatch(field)) and field not in BOOKKEEPING_FIELDS


def newer_than_stored(step_id: str, changes: Mapping[str, Any], stamp: int) -> Document:
    """A condition (for `$elemMatch`) on a stored step: it is `step_id`, and a write of
    `changes` called at `stamp` is newer than its deletion and than each of these fields,
    so `merged_step` would take every field."""
    older = {"$not": {"$gte": stamp}}
    return {
        "id": step_id,
        REMOVED_STAMP: older,
        **{f"{FIELD_STAMPS}.{field}": older for field in changes},
    }


def taken_changes(element: str, changes: Mapping[str, Any], stamp: int) -> Document:
    """Update operators doing what `merged_step` does to the stored step at the path
    `element` (e.g. `"steps.$"`) when `newer_than_stored` holds: every field taken and
    stamped, and a deleted step brought back."""
    taken = {f"{element}.{field}": value for field, value in changes.items()}
    stamps = {f"{element}.{FIELD_STAMPS}.{field}": stamp for field in changes}
    return {"$set": taken | stamps, "$unset": {f"{element}.{REMOVED}": ""}}


def removed_step(stored: str, stamp: int) -> Document:
    """The stored step after a delete called at `stamp`: only its id, its stamps and the
    fields written by calls after the delete are left."""
    floor = {"$max": [stamp, _removed_stamp(stored)]}
    stamps = {"$objectToArray": {"$ifNull": [f"{stored}.{FIELD_STAMPS}", {}]}}
    newer = {"$filter": {"input": stamps, "as": "s", "cond": {"$gt": ["$$s.v", "$$floor"]}}}
    kept_fields = {"$map": {"input": newer, "as": "s", "in": "$$s.k"}}
    is_kept = {
        "$or": [
            {"$in": ["$$field.k", ["id", FIELD_STAMPS]]},
            {"$in": ["$$field.k", "$$kept"]},
        ]
    }
    kept = {
        "$arrayToObject": {
            "$filter": {"input": {"$objectToArray": stored}, "as": "field", "cond": is_kept}
        }
    }
    marks = {REMOVED_STAMP: "$$floor", REMOVED: {"$eq": ["$$kept", []]}}
    return {
        "$let": {
            "vars": {"floor": floor},
            "in": {
                "$let": {
                    "vars": {"kept": kept_fields},
                    "in": {"$mergeObjects": [kept, marks]},
                }
            },
        }
    }


def fields_dropped_by_removal(step: Mapping[str, Any], stamp: int) -> Document:
    """The fields of the stored `step` that a delete called at `stamp` drops."""
    stamps = step.get(FIELD_STAMPS) or {}
    return {
        field: value
        for field, value in step.items()
        if field not in ("id", *BOOKKEEPING_FIELDS) and stamps.get(field, 0) < stamp
    }
