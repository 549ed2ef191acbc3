"""What every migration test checks of the MongoDB copy, whatever the source layer."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mongo_layer import MongoDataLayer
from mongo_layer.migrate import MigrationOptions, MigrationReport, migrate_history, open_source
from mongo_layer.web.routes import element_file_url

from .history import History


async def assert_history_migrated(layer: MongoDataLayer, history: History) -> None:
    """Every thread reads back through MongoDataLayer with its user, its steps nested as
    they were and timed to the millisecond, its rating under the source's feedback id, and
    its file's bytes in GridFS."""
    for identifier, user_id in history.user_ids.items():
        user = await layer.get_user(identifier)
        assert user is not None
        assert (user.id, user.metadata) == (user_id, {"team": "red"})
    for thread_id in history.thread_ids:
        thread = await layer.get_thread(thread_id)
        assert thread is not None, f"thread {thread_id!r} was not migrated"
        assert thread["name"] == f"chat {thread_id}"
        assert thread["metadata"] == {"chat_profile": "default"}
        written = [step for step in history.steps.values() if step["threadId"] == thread_id]
        steps = thread["steps"]
        assert [s["id"] for s in steps] == [s["id"] for s in written]
        assert [s.get("parentId") for s in steps] == [s.get("parentId") for s in written]
        assert [s["createdAt"] for s in steps] == [s["createdAt"][:23] + "Z" for s in written]
        answer = steps[-1]
        assert answer["output"] == written[-1]["output"]
        assert answer.get("feedback") == {
            "id": history.feedback_ids[answer["id"]],
            "forId": answer["id"],
            "value": 1,
            "comment": "helpful",
        }
        (element,) = thread["elements"] or []
        assert element["url"] == element_file_url(layer.settings, thread_id, element["id"])
        (file,) = await layer.stores.files.files.find(
            {"metadata.elementId": element["id"]}
        ).to_list(None)
        assert await layer.stores.files.read(file["_id"]) == history.files[element["id"]]


async def migrate(url: str, layer: MongoDataLayer | None, **options: Any) -> MigrationReport:
    """Run a migration from `url`, closing the source afterwards."""
    source = open_source(url)
    try:
        return await migrate_history(source, layer, MigrationOptions(**options))
    finally:
        await source.close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def served(folder: Path) -> Iterator[str]:
    """`folder` served over HTTP on 127.0.0.1; yields the base url."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
