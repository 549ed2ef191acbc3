"""Which history an export holds, read through the layer's public API a batch at a time."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chainlit.types import ThreadDict
from chainlit.user import PersistedUser
from pydantic import BaseModel

from ..errors import ThreadNotFoundError, UserNotFoundError
from ..operations.bulk import ThreadActivity

if TYPE_CHECKING:
    from ..layer import MongoDataLayer


@dataclass(frozen=True)
class ExportSelection:
    """One thread, every thread of one user, or (neither given) the whole database."""

    thread_id: str | None = None
    user_identifier: str | None = None

    def describe(self) -> dict[str, Any]:
        if self.thread_id is not None:
            return {"thread": self.thread_id}
        if self.user_identifier is not None:
            return {"user": self.user_identifier}
        return {"all": True}


EVERYTHING = ExportSelection()


class ExportSummary(BaseModel):
    """What an export wrote."""

    users: int = 0
    threads: int = 0
    files: int = 0
    file_bytes: int = 0


async def selected_users(
    layer: "MongoDataLayer", selection: ExportSelection, batch_size: int
) -> AsyncIterator[PersistedUser]:
    """The users the export holds: all of them, the one named, or the thread's author."""
    if selection.thread_id is None and selection.user_identifier is None:
        async for batch in layer.operations.user_batches(batch_size):
            for user in batch:
                yield user
        return
    identifier = selection.user_identifier
    if selection.thread_id is not None:
        thread = await layer.get_thread(selection.thread_id)
        if thread is None:
            raise ThreadNotFoundError(f"thread {selection.thread_id!r} is not stored")
        identifier = thread.get("userIdentifier")
        if identifier is None:
            return
    named = await layer.get_user(str(identifier))
    if named is None:
        raise UserNotFoundError(f"no user {identifier!r} is stored")
    yield named


async def selected_threads(
    layer: "MongoDataLayer", selection: ExportSelection, batch_size: int
) -> AsyncIterator[tuple[ThreadActivity, ThreadDict]]:
    """Each selected thread as `get_thread` returns it, with its last activity; a thread
    deleted while the export runs is left out."""
    batches = layer.operations.thread_batches(
        user_identifier=selection.user_identifier,
        thread_id=selection.thread_id,
        batch_size=batch_size,
    )
    async for batch in batches:
        for activity in batch:
            thread = await layer.get_thread(activity.id)
            if thread is not None:
                yield activity, thread
