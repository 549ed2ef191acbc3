"""`--verify`: every migrated thread read through the source's own Chainlit layer and through
MongoDataLayer must show the same steps (ids, order, type, name, input, output, parentId,
times to the millisecond), feedback and elements.

Where a Chainlit layer itself changes what it returns, the comparison follows it:
ChainlitDataLayer returns a step's `createdAt` as `start` (its `createdAt` column is the
row's insert time) and a missing name as the string "None"; SQLAlchemyDataLayer blanks the
input of a step whose `showInput` is unset or false.
"""

import uuid
from collections.abc import Mapping
from itertools import groupby
from typing import TYPE_CHECKING, Any

from chainlit.context import ChainlitContext, context_var
from chainlit.session import HTTPSession
from chainlit.types import ThreadDict

from .report import Difference
from .rows import time_text

if TYPE_CHECKING:
    from ..layer import MongoDataLayer
    from .options import MigrationOptions, MigrationProgress
    from .source import Source

STEP_FIELDS = ("type", "name", "input", "output", "parentId", "createdAt", "start", "end")
ELEMENT_FIELDS = ("name", "type", "mime", "forId", "display")
HIDDEN_INPUT = (None, "false", False)


async def verify_threads(
    source: "Source",
    layer: "MongoDataLayer",
    options: "MigrationOptions",
    progress: "MigrationProgress",
) -> tuple[int, list[Difference]]:
    """Compare every thread of the source; returns how many were compared and what differs."""
    enter_chainlit_context()
    source_layer = source.chainlit_layer(options.storage_client)
    differences: list[Difference] = []
    compared = 0
    try:
        async for thread_ids in source.thread_ids(options.batch_size):
            for thread_id in thread_ids:
                original = await source_layer.get_thread(thread_id)
                migrated = await layer.get_thread(thread_id)
                differences += thread_differences(
                    thread_id, original, migrated, source.step_time_field
                )
                compared += 1
            progress.advance("verify", len(thread_ids))
    finally:
        await source_layer.close()
    return compared, differences


def enter_chainlit_context() -> None:
    """Chainlit's layers run their queued methods only inside a Chainlit context; an HTTP
    session context (what Chainlit's REST routes use) makes them run at once."""
    if context_var.get(None) is None:
        context_var.set(ChainlitContext(HTTPSession(id=str(uuid.uuid4()), client_type="webapp")))


def thread_differences(
    thread_id: str,
    original: ThreadDict | None,
    migrated: ThreadDict | None,
    step_time_field: str = "createdAt",
) -> list[Difference]:
    if original is None or migrated is None:
        if original is migrated:
            return []
        presence = (
            "stored" if thread is not None else "missing" for thread in (original, migrated)
        )
        return [difference(thread_id, "thread", *presence)]
    found: list[Difference] = []
    for field in ("name", "userId"):
        if original.get(field) != migrated.get(field):
            found.append(difference(thread_id, field, original.get(field), migrated.get(field)))
    original_steps = [source_step(step, step_time_field) for step in original["steps"] or []]
    migrated_steps = [comparable_step(step) for step in migrated["steps"] or []]
    original_order, migrated_order = step_order(original_steps), step_order(migrated_steps)
    if original_order != migrated_order:
        found.append(difference(thread_id, "steps", original_order, migrated_order))
    by_id = {step["id"]: step for step in migrated_steps}
    for step in original_steps:
        found += step_differences(thread_id, step, by_id.get(step["id"]))
    found += element_differences(
        thread_id, original.get("elements") or [], migrated.get("elements") or []
    )
    return found


def source_step(step: Mapping[str, Any], step_time_field: str) -> dict[str, Any]:
    comparable = comparable_step(step)
    comparable["createdAt"] = time_text(step.get(step_time_field))
    if comparable["name"] == "None":
        comparable["name"] = ""
    if step.get("showInput") in HIDDEN_INPUT and not step.get("input"):
        comparable["input"] = None  # hidden by the source layer: not compared
    return comparable


def comparable_step(step: Mapping[str, Any]) -> dict[str, Any]:
    comparable = {field: step.get(field) or "" for field in STEP_FIELDS}
    for field in ("createdAt", "start", "end"):
        comparable[field] = time_text(step.get(field))
    feedback = step.get("feedback") or None
    comparable["id"] = step["id"]
    comparable["feedback"] = (
        None
        if feedback is None
        else (feedback.get("id"), int(feedback.get("value") or 0), feedback.get("comment"))
    )
    return comparable


def step_order(steps: list[dict[str, Any]]) -> list[str]:
    """Step ids in the order given; steps with equal times may come in either order, so
    within each run of equal times they are listed by id."""
    ordered: list[str] = []
    for _, equal_times in groupby(steps, key=lambda step: step["createdAt"]):
        ordered += sorted(step["id"] for step in equal_times)
    return ordered


def step_differences(
    thread_id: str, original: dict[str, Any], migrated: dict[str, Any] | None
) -> list[Difference]:
    if migrated is None:
        return []  # already listed as a difference of the step order
    return [
        difference(thread_id, f"step {original['id']} {field}", original[field], migrated[field])
        for field in (*STEP_FIELDS, "feedback")
        if original[field] is not None and original[field] != migrated[field]
    ]


def element_differences(
    thread_id: str, original: list[Any], migrated: list[Any]
) -> list[Difference]:
    def described(elements: list[Any]) -> dict[str, tuple[Any, ...]]:
        return {
            str(element["id"]): tuple(element.get(field) for field in ELEMENT_FIELDS)
            for element in elements
        }

    before, after = described(original), described(migrated)
    found = [
        difference(thread_id, f"element {element_id}", fields, after.get(element_id))
        for element_id, fields in sorted(before.items())
        if after.get(element_id) != fields
    ]
    had_file = {str(element["id"]) for element in original if element.get("url")}
    found += [
        difference(thread_id, f"element {element['id']} url", "a url", None)
        for element in migrated
        if str(element["id"]) in had_file and not element.get("url")
    ]
    return found


def difference(thread_id: str, what: str, source: Any, mongo: Any) -> Difference:
    return Difference(thread_id=thread_id, what=what, source=repr(source), mongo=repr(mongo))
