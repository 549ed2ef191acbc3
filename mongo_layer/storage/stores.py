"""The stores of one layer over one database: one per collection, built once, shared by the
layer, its web routes and its operations."""

import asyncio
import functools
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from bson import ObjectId

from ..retry import Retrier
from ..settings import MongoLayerSettings
from ..times import utc_now
from .call_order import CallClock, stamp_time
from .capabilities import DeploymentReport, read_server
from .connection import Connection, Document
from .element_owners import ElementOwnerStore
from .feedback import CollectionNames, FeedbackStore
from .files import ElementFile, FileOwner, FileStore
from .indexes import ensure_indexes, index_statuses
from .large_fields import file_ids_of_step
from .leases import LeaseStore
from .overflow import OverflowStore
from .steps import StepStore, StoredStep
from .threads import ThreadStore, refuse_oversized_element
from .users import UserStore


class Stores:
    """Every store of the layer's collections, the settings that named them, the clock
    that stamps step writes (one per layer: the stamps order all its writes) and the
    retrier that carries calls through a failover (retry.py)."""

    def __init__(self, connection: Connection, settings: MongoLayerSettings) -> None:
        collection = connection.collection
        self.connection = connection
        self.settings = settings
        self.retrier = Retrier(settings.operation_budget_ms / 1000)
        self.threads = ThreadStore(
            collection(settings.threads_name), settings.users_name, settings.feedback_name
        )
        self.users = UserStore(collection(settings.users_name))
        self.feedback = FeedbackStore(
            collection(settings.feedback_name),
            CollectionNames(settings.threads_name, settings.users_name, settings.overflow_name),
        )
        self.files = FileStore(connection, settings.files_bucket_name, self.retrier)
        self.overflow = OverflowStore(collection(settings.overflow_name), settings.threads_name)
        self.element_owners = ElementOwnerStore(collection(settings.element_owners_name))
        self.steps = StepStore(self.threads, self.overflow, self.files, settings)
        self.leases = LeaseStore(collection(settings.leases_name))
        self.call_clock = CallClock()
        self._indexes_ready = False
        self._indexes_lock: asyncio.Lock | None = None
        self.when_ready: Callable[[], None] | None = None
        """Called once the server is checked and the indexes exist (the first operation)."""

    async def ensure_indexes(self) -> None:
        """Check the server (unless `check_server` is off) and create the indexes, until
        that has succeeded once; a failure is not remembered."""
        if self._indexes_lock is None:
            self._indexes_lock = asyncio.Lock()
        async with self._indexes_lock:
            if not self._indexes_ready:
                if self.settings.check_server:
                    report = await read_server(self.connection)
                    if not report.usable:
                        raise report.refusal()
                await ensure_indexes(self.connection, self.settings)
                self._indexes_ready = True
                if self.when_ready is not None:
                    self.when_ready()

    async def check(self) -> DeploymentReport:
        """What the server is and has, which of the layer's indexes exist and which of its
        collections the database holds (see `MongoDataLayer.check`)."""
        report = await read_server(self.connection)
        report.indexes = await index_statuses(self.connection, self.settings)
        report.database = self.connection.database.name
        stored = set(await self.connection.database.list_collection_names())
        report.collections = [
            name for name in self.settings.history_collection_names if name in stored
        ]
        return report

    async def ready(self) -> None:
        """Awaited before every operation: `ensure_indexes` the first time."""
        if not self._indexes_ready:
            await self.ensure_indexes()

    async def delete_thread(self, thread_id: str) -> None:
        """Delete a thread with everything that belongs to it: its steps (embedded and
        overflowed), the feedback on them, its elements' claims and its files.

        The deleted document says whether there are overflow documents and which element ids
        to release. A thread not found (never stored, or deleted by an earlier attempt whose
        reply was lost, see docs/decisions.md "Failover") has its overflow documents and
        claims deleted by thread id instead, two more commands."""
        self.steps.forget_thread(thread_id)
        deleted = await self.threads.delete(thread_id)
        await self.feedback.delete_for_thread(thread_id)
        if deleted is None or deleted.get("overflow"):
            await self.overflow.delete_for_thread(thread_id)
        if deleted is None:
            await self.element_owners.release_thread(thread_id)
        else:
            await self.element_owners.release([e["id"] for e in deleted.get("elements") or []])
        await self.files.delete_for_thread(thread_id)

    async def store_element(
        self, document: Document, file: ElementFile, content: bytes | str | None, path: str | None
    ) -> None:
        """Claim the element's id for its thread, store its bytes (`content`, or read from
        `path`) and embed it in the thread; a file of the element it replaces is deleted.
        Raises InvalidInputError, before any write, for an element past `max_element_bytes`.
        Through a failover each of the three is tried again on its own, so that the file is
        uploaded once (its upload finishes or cleans up what it began, see
        `FileStore.upload`)."""
        thread_id = file.thread_id
        refuse_oversized_element(document, thread_id, self.settings.max_element_bytes)
        subject = f"element {file.element_id!r} of thread {thread_id!r}"
        retried_part = functools.partial(self.retrier.run, "create_element", subject=subject)
        await retried_part(lambda: self.element_owners.claim(file.element_id, thread_id))
        file_id = await retried_part(lambda: self.files.upload_element_file(file, content, path))
        if file_id is not None:
            document["fileId"] = file_id
        budget = self.settings.thread_document_budget_bytes
        previous = await retried_part(
            lambda: self.threads.upsert_element(thread_id, document, budget)
        )
        if file_id is not None and previous is not None:
            replaced = [f for f in file_ids_of([previous]) if f != file_id]
            await retried_part(lambda: self.files.delete_many(replaced))

    async def write_step(
        self, operation: str, thread_id: str, document: Document, stamp: int, written_before: bool
    ) -> None:
        """`StepStore.write`, tried again through a failover with the stamp the call took.
        Its large fields are uploaded once (each upload rides through a failover on its own,
        see `FileStore.upload`), so a write repeated after a lost reply leaves no copy."""
        stored: StoredStep | None = None

        async def attempt() -> None:
            nonlocal stored
            if stored is None:
                stored = await self.steps.stored_form(thread_id, document, stamp)
            await self.steps.write_stored(thread_id, stored, stamp, written_before)

        await self.retrier.run(
            operation, attempt, lambda: f"step {document['id']!r} of thread {thread_id!r}"
        )

    async def delete_element(self, element_id: str, thread_id: str | None) -> bool:
        """Delete an element and its file, of the thread given or else of the thread that
        owns its id; returns whether it was stored. Tried again through a failover."""
        called_at = utc_now()
        attempts = 0

        async def attempt() -> bool:
            nonlocal attempts
            attempts += 1
            return await self._delete_element(element_id, thread_id, called_at, attempts > 1)

        return await self.retrier.run("delete_element", attempt, f"element {element_id!r}")

    async def _delete_element(
        self, element_id: str, thread_id: str | None, called_at: datetime, repeated: bool
    ) -> bool:
        if thread_id is None:
            thread_id = await self.element_owners.owner_of(element_id)
        if thread_id is None:
            return False
        removed = await self.threads.remove_element(element_id, thread_id)
        if removed is not None:
            await self.files.delete_many(file_ids_of([removed]))
            return True
        if not repeated:
            return False
        # An earlier attempt may have removed the element and lost the reply naming its file.
        owner = FileOwner(thread_id, element_id=element_id)
        return await self.files.delete_left_behind(owner, called_at)

    async def delete_step(
        self, thread_id: str, step_id: str, stamp: int, in_flight: bool, repeated: bool
    ) -> None:
        """Delete a step as called at `stamp`, with its feedback, its elements' files and its
        large fields (see `StepStore.remove`). `repeated`: this call was tried before and
        failed, so the step's files that the reply of an earlier attempt would have named
        are deleted too."""
        attached_elements, field_files = await self.steps.remove(
            thread_id, step_id, stamp, in_flight
        )
        await self.feedback.delete_for_step(thread_id, step_id)
        await self.files.delete_many(file_ids_of(attached_elements) + field_files)
        if repeated:
            await self._delete_step_files_left_behind(thread_id, step_id, stamp)

    async def _delete_step_files_left_behind(
        self, thread_id: str, step_id: str, stamp: int
    ) -> None:
        """The step's files uploaded before its delete was called that neither an element of
        the thread nor the step as stored now points to: the fields the delete dropped, and
        the files of the elements it detached."""
        thread = await self.threads.collection.find_one(
            {"_id": thread_id}, {"elements.fileId": 1, "steps": {"$elemMatch": {"id": step_id}}}
        )
        steps = (thread or {}).get("steps") or []
        kept = {
            *file_ids_of((thread or {}).get("elements") or []),
            *(file_ids_of_step(steps[0]) if steps else []),
        }
        owner = FileOwner(thread_id, step_id=step_id)
        await self.files.delete_left_behind(owner, stamp_time(stamp), kept)


def file_ids_of(elements: Sequence[Document]) -> list[ObjectId]:
    return [e["fileId"] for e in elements if e.get("fileId") is not None]


class UsesStores(Protocol):
    @property
    def stores(self) -> Stores: ...


Owner = TypeVar("Owner", bound=UsesStores)
Arguments = ParamSpec("Arguments")
Result = TypeVar("Result")
StoresMethod = Callable[Concatenate[Owner, Arguments], Coroutine[Any, Any, Result]]


def retried(
    method: StoresMethod[Owner, Arguments, Result],
) -> StoresMethod[Owner, Arguments, Result]:
    """The method (of the layer or its operations), tried again as a whole through a
    failover (retry.py): every command it sends is idempotent. The start-up check runs first,
    outside the retries, so a server that is unreachable at start is still reported at once."""

    @functools.wraps(method)
    async def call(owner: Owner, /, *args: Arguments.args, **kwargs: Arguments.kwargs) -> Result:
        stores = owner.stores
        await stores.ready()
        return await stores.retrier.run(method.__name__, lambda: method(owner, *args, **kwargs))

    return call
