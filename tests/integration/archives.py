"""Archives made by hand for the import tests: the header an export writes, then one JSON
record per line."""

import json
from typing import Any

HEADER = {
    "record": "archive",
    "format": "mongo-layer-archive",
    "version": 1,
    "exportedAt": "2026-12-01T00:00:00.000Z",
    "selection": {"all": True},
}


def line_of(record: dict[str, Any]) -> bytes:
    return json.dumps(record).encode() + b"\n"
