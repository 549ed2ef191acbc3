"""MongoDataLayer: Chainlit's BaseDataLayer on MongoDB.

Each method turns Chainlit's arguments into a call on the store that owns the collection
and turns the result back into Chainlit's shape; the queries live in the stores.
"""

import asyncio
import functools
import logging
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, TypeVar

from bson import ObjectId
from chainlit.data.base import BaseDataLayer
from chainlit.types import (
    Feedback,
    PageInfo,
    PaginatedResponse,
    Pagination,
    ThreadDict,
    ThreadFilter,
)
from chainlit.user import PersistedUser, User

from .errors import InvalidInputError, MongoLayerError, StepNotFoundError, ThreadAccessError
from .ids import (
    as_id,
    as_optional_id,
    as_read_id,
    is_unicode_text,
    without_lone_surrogates,
)
from .operations.bulk import (
    ContentStores,
    ThreadActivity,
    ThreadSelection,
    thread_batches,
    user_batches,
)
from .operations.bulk_restore import RestoreOutcome, ThreadToRestore, restore_threads
from .operations.maintenance import prune_orphan_files
from .operations.restore import (
    ElementBytes,
    RestorePlan,
    RestoreSummary,
    fields_are_stored,
    plan_restore,
    refuse_foreign_claims,
    stored_element_file,
)
from .operations.retention import DeletionSummary, ProgressCallback, delete_threads
from .operations.scheduled_retention import RetentionSchedule, ScheduledRetention
from .operations.statistics import Statistics, collect_statistics
from .queueing import queued_until_user_message
from .retry import Retrier
from .settings import MongoLayerSettings
from .storage.call_order import CallClock, RecentSteps
from .storage.capabilities import DeploymentReport, read_server
from .storage.connection import Connection, Document
from .storage.documents import (
    element_from_document,
    element_to_document,
    feedback_by_step,
    feedback_value,
    parse_metadata,
    restored_element_document,
    restored_user_document,
    same_feedback,
    sidebar_thread_from_document,
    step_from_document,
    step_is_stored,
    step_to_document,
    thread_from_document,
)
from .storage.element_owners import ElementOwnerStore
from .storage.feedback import FeedbackStore
from .storage.files import ElementFile, FileStore, StoredFile
from .storage.indexes import ensure_indexes, index_statuses
from .storage.keys import MAX_VALUE_NESTING
from .storage.leases import LeaseStore
from .storage.overflow import OverflowStore
from .storage.pagination import decode_cursor, encode_cursor
from .storage.steps import StepStore
from .storage.threads import ThreadStore, bson_size, search_text
from .storage.users import UserStore
from .telemetry import instrument_data_layer
from .times import utc_now
from .web.access import context_user_identifier, may_change_thread
from .web.health import HealthProbe
from .web.session_scope import (
    element_thread_in_session_scope,
    thread_in_session_scope,
    websocket_session_thread_id,
)

if TYPE_CHECKING:
    from chainlit.element import Element, ElementDict
    from chainlit.step import StepDict

logger = logging.getLogger("mongo_layer")

MAX_PAGE_SIZE = 100


Arguments = ParamSpec("Arguments")
Result = TypeVar("Result")
LayerMethod = Callable[Concatenate["MongoDataLayer", Arguments], Coroutine[Any, Any, Result]]


def retried(method: LayerMethod[Arguments, Result]) -> LayerMethod[Arguments, Result]:
    """The layer's method, tried again as a whole through a failover (retry.py): every
    command it sends is idempotent. The start-up check runs first, outside the retries, so
    a server that is unreachable at start is still reported at once."""

    @functools.wraps(method)
    async def call(
        layer: "MongoDataLayer", /, *args: Arguments.args, **kwargs: Arguments.kwargs
    ) -> Result:
        await layer._ready()
        return await layer.retrier.run(method.__name__, lambda: method(layer, *args, **kwargs))

    return call


class MongoDataLayer(BaseDataLayer):
    """Chainlit's data layer on MongoDB.

    Give it a `uri` (the layer opens and closes its own client, PyMongo's
    `AsyncMongoClient` unless `driver="motor"`), or a `client` or `database` object of
    motor or PyMongo's async driver (the layer never closes those).
    Inside a Chainlit server it mounts its file route (with the health route) and its
    guarded feedback routes on Chainlit's app (turn either off with `mount_file_route` /
    `guard_feedback_routes`), and a `DELETE /project/element` that answers 401 where
    Chainlit's would fail. With `settings.retention_days`, it deletes inactive threads by
    itself on `retention_schedule` (see operations/scheduled_retention.py).
    """

    def __init__(
        self,
        uri: str | None = None,
        database: Any = None,
        *,
        client: Any = None,
        settings: MongoLayerSettings | None = None,
        driver: Literal["motor", "pymongo"] = "pymongo",
        mount_file_route: bool = True,
        guard_feedback_routes: bool = True,
        retention_schedule: RetentionSchedule | None = None,
    ) -> None:
        settings = settings or MongoLayerSettings()
        if isinstance(database, str):
            settings = settings.model_copy(update={"database": database})
        self.settings = settings
        if uri is not None:
            self.connection = Connection.from_uri(
                uri, settings.database, driver, settings.server_selection_timeout_ms
            )
        else:
            self.connection = Connection.borrow(client, database, settings.database)
        collection = self.connection.collection
        self.retrier = Retrier(settings.operation_budget_ms / 1000)
        self.threads = ThreadStore(
            collection(settings.threads_name), settings.users_name, settings.feedback_name
        )
        self.users = UserStore(collection(settings.users_name))
        self.feedback = FeedbackStore(
            collection(settings.feedback_name), settings.threads_name, settings.users_name
        )
        self.files = FileStore(self.connection, settings.files_bucket_name, self.retrier)
        self.overflow = OverflowStore(collection(settings.overflow_name), settings.threads_name)
        self.element_owners = ElementOwnerStore(collection(settings.element_owners_name))
        self.steps = StepStore(self.threads, self.overflow, self.files, settings)
        self.contents = ContentStores(self.threads, self.overflow, self.feedback, self.files)
        self.call_clock = CallClock()
        self.recent_steps = RecentSteps()
        self.health = HealthProbe(self.connection.database, settings.health_timeout_ms)
        self.scheduled_retention = None
        if settings.retention_days is not None:
            leases = LeaseStore(collection(settings.leases_name))
            self.scheduled_retention = ScheduledRetention(
                self, settings.retention_days, leases, retention_schedule
            )
        self._indexes_ready = False
        self._indexes_lock: asyncio.Lock | None = None
        if mount_file_route:
            from .web.routes import mount_file_route_on_chainlit

            mount_file_route_on_chainlit(self)
            if settings.health_route:
                from .web.health import mount_health_route_on_chainlit

                mount_health_route_on_chainlit(self)
        if guard_feedback_routes:
            from .web.feedback_routes import mount_feedback_routes_on_chainlit

            mount_feedback_routes_on_chainlit(self)
        from .web.element_routes import mount_element_routes_on_chainlit

        mount_element_routes_on_chainlit(self)

    @classmethod
    def from_uri(cls, uri: str, database: str | None = None, **options: Any) -> "MongoDataLayer":
        """A layer with its own client for `uri`."""
        return cls(uri=uri, database=database, **options)

    @classmethod
    def from_env(cls, **options: Any) -> "MongoDataLayer":
        """A layer for `MONGODB_URI`, `MONGODB_DATABASE` (default `chainlit`) and the
        optional `MONGO_LAYER_*` settings."""
        uri = os.environ.get("MONGODB_URI")
        if not uri:
            raise MongoLayerError("MONGODB_URI is not set")
        return cls(uri=uri, settings=MongoLayerSettings.from_env(), **options)

    async def ensure_indexes(self) -> None:
        """Check the server and create the indexes the layer needs. Idempotent; the first
        operation of a layer runs it too, so calling it is optional.

        Raises IncompatibleServerError for a server that lacks what the layer uses, and
        ServerUnreachableError when no server answers."""
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
                if self.scheduled_retention is not None:
                    self.scheduled_retention.start()

    async def check(self) -> DeploymentReport:
        """What the server is (kind, version, topology), whether it has everything the layer
        uses, which of the layer's indexes exist, and which of its collections this database
        holds. An unusable server is reported, not refused; ServerUnreachableError when no
        server answers."""
        report = await read_server(self.connection)
        report.indexes = await index_statuses(self.connection, self.settings)
        report.database = self.connection.database.name
        stored = set(await self.connection.database.list_collection_names())
        report.collections = [
            name for name in self.settings.history_collection_names if name in stored
        ]
        return report

    async def _ready(self) -> None:
        if not self._indexes_ready:
            await self.ensure_indexes()

    def file_url(self, thread_id: str, element_id: str) -> str:
        """Where the browser fetches an element's file from (Chainlit's root path included)."""
        from .web.routes import chainlit_root_path

        return f"{chainlit_root_path()}{self.settings.file_route}/{thread_id}/{element_id}"

    # Users

    @retried
    async def get_user(self, identifier: str) -> PersistedUser | None:
        await self._ready()
        lookup = as_read_id(identifier)
        return None if lookup is None else await self.users.get(lookup)

    @retried
    async def create_user(self, user: User) -> PersistedUser | None:
        await self._ready()
        as_id(user.identifier, "user identifier")
        return await self.users.upsert(user)

    # Feedback

    @retried
    async def upsert_feedback(self, feedback: Feedback) -> str:
        """Rate a step and return the feedback's id. Inside a Chainlit session, only a step
        of the session user's own threads (see `rate_step`)."""
        rated = await self.rate_step(feedback, context_user_identifier())
        return str(rated.id)

    @retried
    async def rate_step(self, feedback: Feedback, user_identifier: str | None) -> Feedback:
        """Rate the step `feedback.forId` on behalf of the user with this identifier (None:
        on behalf of nobody, as app code outside a request) and return the feedback as
        stored, with its id and its thread's id.

        The thread is the one holding the step, never one the caller names: of the threads
        holding a step with this id, one of the user's own (the one `feedback.threadId`
        names, if it is among them). A step has one feedback: rating it again updates it,
        whatever `feedback.id` says. Raises StepNotFoundError when no thread holds the step,
        ThreadAccessError when only other users' threads do."""
        await self._ready()
        step_id = as_id(feedback.forId, "feedback forId")
        value = feedback_value(feedback)
        named_thread = as_optional_id(feedback.threadId, f"threadId of feedback on {step_id!r}")
        as_optional_id(feedback.id, f"id of feedback on step {step_id!r}")
        comment = None if feedback.comment is None else str(feedback.comment)
        if comment is not None:
            comment = comment[: self.settings.max_feedback_comment_length]
            if not is_unicode_text(comment):
                raise InvalidInputError(f"the comment on step {step_id!r} is not UTF-8 text")
        thread_id = await self._thread_to_rate(step_id, user_identifier, named_thread)
        feedback_id = await self.feedback.upsert(thread_id, step_id, value, comment)
        return Feedback(
            forId=step_id, value=value, threadId=thread_id, id=feedback_id, comment=comment
        )

    async def _thread_to_rate(
        self, step_id: str, user_identifier: str | None, named_thread: str | None
    ) -> str:
        holders = await self.steps.threads_holding(step_id)
        if not holders:
            raise StepNotFoundError(f"no thread holds step {step_id!r}, so it cannot be rated")
        allowed = [thread for thread in holders if may_change_thread(thread, user_identifier)]
        if not allowed:
            raise ThreadAccessError(
                f"user {user_identifier!r} may not rate step {step_id!r}: it belongs to"
                " another user's thread"
            )
        named = [thread for thread in allowed if thread["_id"] == named_thread]
        thread_id: str = (named or allowed)[0]["_id"]
        return thread_id

    @retried
    async def delete_feedback(self, feedback_id: str) -> bool:
        """Delete a feedback; returns whether there was one. Inside a Chainlit session, only
        a feedback on the session user's own threads (see `unrate_step`)."""
        user_identifier = context_user_identifier()
        if user_identifier is not None:
            return await self.unrate_step(feedback_id, user_identifier)
        await self._ready()
        return await self.feedback.delete(as_id(feedback_id, "feedback id"))

    @retried
    async def unrate_step(self, feedback_id: str, user_identifier: str | None) -> bool:
        """Delete a feedback on behalf of the user with this identifier (None: on behalf of
        nobody); returns whether there was one. Raises ThreadAccessError when the feedback
        rates a step of another user's thread."""
        await self._ready()
        feedback_id = as_id(feedback_id, "feedback id")
        found = await self.feedback.find_with_author(feedback_id)
        if found is None:
            return False
        if not may_change_thread(found, user_identifier):
            raise ThreadAccessError(
                f"user {user_identifier!r} may not delete feedback {feedback_id!r}: it rates"
                f" a step of another user's thread"
            )
        return await self.feedback.delete_of_thread(feedback_id, found.get("threadId"))

    # Elements

    @queued_until_user_message
    async def create_element(self, element: "Element") -> None:
        """Claim the element id for its thread, upload its bytes and store it. Through a
        failover each of the three is tried again on its own, so that the file is uploaded
        once (its upload finishes or cleans up what it began, see `FileStore.upload`)."""
        await self._ready()
        element_id = as_id(element.id, "element id")
        thread_id = as_id(element.thread_id, f"thread id of element {element_id!r}")
        element_thread_in_session_scope(thread_id, element_id)
        document = element_to_document(element.to_dict(), element_id)
        self.refuse_oversized_element(document, thread_id)
        subject = f"element {element_id!r} of thread {thread_id!r}"
        retried_part = functools.partial(self.retrier.run, "create_element", subject=subject)
        await retried_part(lambda: self.element_owners.claim(element_id, thread_id))
        file = ElementFile(element_id, thread_id, document.get("forId"), element.name, element.mime)
        file_id = await retried_part(
            lambda: self.files.upload_element_file(file, element.content, element.path)
        )
        if file_id is not None:
            document["fileId"] = file_id
        budget = self.settings.thread_document_budget_bytes
        previous = await retried_part(
            lambda: self.threads.upsert_element(thread_id, document, budget)
        )
        if file_id is not None and previous is not None:
            replaced = [f for f in file_ids_of([previous]) if f != file_id]
            await retried_part(lambda: self.files.delete_many(replaced))

    def refuse_oversized_element(self, document: Document, thread_id: str) -> None:
        size = bson_size(document)
        if size > self.settings.max_element_bytes:
            raise InvalidInputError(
                f"element {document['id']!r} of thread {thread_id!r} takes {size} bytes once"
                f" stored (its props included); an element may take"
                f" {self.settings.max_element_bytes} (max_element_bytes)"
            )

    @retried
    async def get_element(self, thread_id: str, element_id: str) -> "ElementDict | None":
        await self._ready()
        thread_lookup, element_lookup = as_read_id(thread_id), as_read_id(element_id)
        if thread_lookup is None or element_lookup is None:
            return None
        document = await self.threads.find_element(thread_lookup, element_lookup)
        if document is None:
            return None
        element: ElementDict = element_from_document(document, thread_lookup, self.file_url)
        return element

    async def delete_element(self, element_id: str, thread_id: str | None = None) -> None:
        """Delete the element and its file; an element not stored is a quiet no-op. Inside
        a browser session, naming another thread than the session's raises
        ThreadAccessError at once, before Chainlit's queue, so that the request that asked
        for it is refused (see web/element_routes.py)."""
        element_id = as_id(element_id, "element id")
        thread_id = as_optional_id(thread_id, f"thread id of element {element_id!r}")
        thread_id = element_thread_in_session_scope(thread_id, element_id)
        await self._delete_element(element_id, thread_id)

    @queued_until_user_message
    async def _delete_element(self, element_id: str, thread_id: str | None) -> None:
        await self._ready()
        await self.retrier.run(
            "delete_element",
            lambda: self._remove_element(element_id, thread_id),
            f"element {element_id!r}",
        )

    async def _remove_element(self, element_id: str, thread_id: str | None) -> None:
        if thread_id is None:
            thread_id = await self.element_owners.owner_of(element_id)
        removed = None
        if thread_id is not None:
            removed = await self.threads.remove_element(element_id, thread_id)
        if removed is None:
            logger.info(
                "element %r (thread %r) was not stored; nothing to delete", element_id, thread_id
            )
            return
        await self.files.delete_many(file_ids_of([removed]))

    # Steps

    async def create_step(self, step_dict: "StepDict") -> None:
        await self._write_step("create_step", *self._step_write_called(step_dict))

    async def update_step(self, step_dict: "StepDict") -> None:
        await self._write_step("update_step", *self._step_write_called(step_dict))

    def _step_write_called(self, step_dict: "StepDict") -> tuple[str, Document, int, bool]:
        """The thread, the step, the call's stamp and whether a write of the step was called
        before, taken before the call's first `await`: Chainlit starts these calls as tasks
        in its own order, and a task runs up to its first `await` in the order it was
        started."""
        document = step_to_document(step_dict)
        step_id = document["id"]
        thread_id = as_id(step_dict.get("threadId"), f"thread id of step {step_id!r}")
        thread_in_session_scope(thread_id, f"step {step_id!r}")
        written_before = self.recent_steps.thread_of(step_id) == thread_id
        self.recent_steps.write_started(step_id, thread_id)
        return thread_id, document, self.call_clock.stamp(), written_before

    @queued_until_user_message
    async def _write_step(
        self,
        operation: str,
        thread_id: str,
        document: Document,
        stamp: int,
        written_before: bool,
    ) -> None:
        """Create and update are one write: each field keeps the value of the latest call
        that gave one (see step_versions.py), whatever order the writes land in. Through a
        failover the write is tried again with the stamp the call took."""
        try:
            await self._ready()
            await self.retrier.run(
                operation,
                lambda: self.steps.write(thread_id, document, stamp, written_before),
                f"step {document['id']!r} of thread {thread_id!r}",
            )
        finally:
            self.recent_steps.write_ended(document["id"], thread_id)

    async def delete_step(self, step_id: str) -> None:
        """Delete the step, its feedback and its files, as called now: a write of the step
        called before lands as a no-op, one called after brings it back. Inside a browser
        session only the session's own thread is touched. A step that is not stored is a
        quiet no-op."""
        step_id = as_id(step_id, "step id")
        session_thread_id = websocket_session_thread_id()
        await self._delete_step(step_id, session_thread_id, self.call_clock.stamp())

    @queued_until_user_message
    async def _delete_step(self, step_id: str, session_thread_id: str | None, stamp: int) -> None:
        await self._ready()
        await self.retrier.run(
            "delete_step",
            lambda: self._remove_step(step_id, session_thread_id, stamp),
            f"step {step_id!r}",
        )

    async def _remove_step(self, step_id: str, session_thread_id: str | None, stamp: int) -> None:
        thread_id = session_thread_id or self.recent_steps.thread_of(step_id)
        if thread_id is None:
            thread_id = await self._thread_holding_step_to_delete(step_id)
        if thread_id is None:
            return
        in_flight = self.recent_steps.has_write_in_flight(step_id, thread_id)
        attached_elements, field_files = await self.steps.remove(
            thread_id, step_id, stamp, in_flight
        )
        await self.feedback.delete_for_step(thread_id, step_id)
        await self.files.delete_many(file_ids_of(attached_elements) + field_files)

    async def _thread_holding_step_to_delete(self, step_id: str) -> str | None:
        """The one thread holding the step that the current user (if any) may change, found
        by a read; None, logged, when there is none or several (the same id in two threads
        is two steps, and this call does not say which)."""
        user_identifier = context_user_identifier()
        holders = [
            thread["_id"]
            for thread in await self.steps.threads_holding(step_id)
            if may_change_thread(thread, user_identifier)
        ]
        if len(holders) != 1:
            logger.info("step %r is stored in %d threads; nothing deleted", step_id, len(holders))
            return None
        thread_id: str = holders[0]
        return thread_id

    # Threads

    @retried
    async def get_thread_author(self, thread_id: str) -> str:
        await self._ready()
        lookup = as_read_id(thread_id)
        if lookup is None:
            return ""
        document = await self.threads.find_author(lookup)
        if not document or not document.get("author"):
            return ""
        identifier: str = document["author"][0]
        return identifier

    @retried
    async def delete_thread(self, thread_id: str) -> None:
        await self._ready()
        thread_id = as_id(thread_id, "thread id")
        self.steps.forget_thread(thread_id)
        deleted = await self.threads.delete(thread_id) or {}
        await self.feedback.delete_for_thread(thread_id)
        if deleted.get("overflow"):
            await self.overflow.delete_for_thread(thread_id)
        await self.element_owners.release([e["id"] for e in deleted.get("elements") or []])
        await self.files.delete_for_thread(thread_id)

    @retried
    async def list_threads(
        self, pagination: Pagination, filters: ThreadFilter
    ) -> PaginatedResponse[ThreadDict]:
        await self._ready()
        user_id = as_read_id(filters.userId)
        after = decode_cursor(pagination.cursor) if pagination.cursor else None
        if user_id is None or (pagination.cursor and after is None):
            return PaginatedResponse(PageInfo(False, None, None), [])
        limit = max(1, min(int(pagination.first), MAX_PAGE_SIZE))
        search = search_text(filters.search, self.settings.max_search_length)
        documents = await self.threads.list_for_user(
            user_id, limit + 1, search, filters.feedback, after
        )
        page = documents[:limit]
        threads = [sidebar_thread_from_document(d, first_or_none(d.get("author"))) for d in page]
        return PaginatedResponse(
            PageInfo(
                hasNextPage=len(documents) > limit,
                startCursor=encode_cursor(page[0]["updatedAt"], page[0]["_id"]) if page else None,
                endCursor=encode_cursor(page[-1]["updatedAt"], page[-1]["_id"]) if page else None,
            ),
            threads,
        )

    @retried
    async def get_thread(self, thread_id: str) -> ThreadDict | None:
        await self._ready()
        lookup = as_read_id(thread_id)
        document = None if lookup is None else await self.threads.find_thread(lookup)
        if document is None:
            return None
        thread_id = document["_id"]
        feedback = feedback_by_step(document.get("feedback") or [])
        stored_steps = await self.steps.of_thread(document)
        steps = [step_from_document(s, thread_id, feedback.get(s["id"])) for s in stored_steps]
        elements = [
            element_from_document(e, thread_id, self.file_url)
            for e in document.get("elements") or []
        ]
        return thread_from_document(
            document, first_or_none(document.get("author")), steps, elements
        )

    @retried
    async def update_thread(
        self,
        thread_id: str,
        name: str | None = None,
        user_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> None:
        """Create or change the thread. What of `name`, `metadata` and `tags` MongoDB cannot
        store (lone surrogates, keys holding NUL, integers past 64 bits, nesting past 96
        levels) is left out, with one warning naming the thread: Chainlit calls this from
        its disconnect handler with the session's chat settings, and an exception there
        would skip the session's clean-up. An id that cannot exist is still refused."""
        await self._ready()
        thread_id = as_id(thread_id, "thread id")
        if name is not None:
            name = without_lone_surrogates(str(name)[: self.settings.max_thread_name_length])
        left_out = await self.threads.upsert_thread(
            thread_id,
            name=name,
            user_id=as_optional_id(user_id, f"userId of thread {thread_id!r}"),
            metadata=None if metadata is None else parse_metadata(metadata, thread_id),
            tags=None if tags is None else [without_lone_surrogates(str(tag)) for tag in tags],
        )
        if left_out:
            logger.warning(
                "thread %r: left out %d metadata entries MongoDB cannot store (a key holding"
                " NUL, text that is not UTF-8, an integer past 64 bits or nesting past %d"
                " levels)",
                thread_id,
                left_out,
                MAX_VALUE_NESTING,
            )

    # Favorites

    @retried
    async def get_favorite_steps(self, user_id: str) -> list["StepDict"]:
        await self._ready()
        lookup = as_read_id(user_id)
        if lookup is None:
            return []
        documents = await self.steps.favorites(lookup)
        return [step_from_document(d["step"], d["_id"], None) for d in documents]

    # Restoring history from another layer (migration, import)

    @retried
    async def restore_user(self, user: PersistedUser) -> None:
        """Store a user exactly as another layer had it: id, identifier, display name,
        metadata and `createdAt` kept. Idempotent. Raises UserConflictError when a different
        stored user already has its identifier or its id."""
        await self._ready()
        await self.users.restore(restored_user_document(user))

    @retried
    async def restore_thread(
        self,
        thread: ThreadDict,
        element_bytes: ElementBytes | None = None,
        updated_at: str | None = None,
    ) -> RestoreSummary:
        """Store a thread exactly as another layer had it, as if the app had run on this
        layer from the start: its fields with their `createdAt`, every step as given
        (through the layer's own step write, so overflow and large fields apply) with its
        feedback and the feedback's id, every element with the bytes `element_bytes`
        returns (stored in GridFS) or else its url. `updatedAt` is `updated_at`, or the
        thread's last activity. Idempotent: what is already stored as given is not written
        again, and an element already stored with its file is not uploaded again.

        Decided before anything is written: RestoreRefusedError when the stored thread has
        another owner than the one named (see `refuse_foreign_claims`), InvalidInputError
        or InvalidIdError when a value cannot be stored."""
        await self._ready()
        plan = plan_restore(thread, self.settings.max_thread_name_length, updated_at)
        thread_id = plan.thread_id
        summary = RestoreSummary(thread_id=thread_id)
        stored = await self.threads.find_thread(thread_id)
        await refuse_foreign_claims(plan, stored, self.element_owners, self.feedback)
        stored = stored or {"_id": thread_id}
        if not fields_are_stored(stored, plan.fields):
            await self.threads.restore_fields(thread_id, plan.fields)
            summary.thread_written = True
        await self._restore_steps(plan, stored, summary)
        await self._restore_elements(plan, stored, element_bytes, summary)
        if summary.steps_written:
            # A step write marks the thread as active now; the thread's own last activity
            # is what it was in the other layer.
            await self.threads.restore_fields(thread_id, {"updatedAt": plan.fields["updatedAt"]})
        return summary

    @retried
    async def restore_threads(
        self,
        threads: Sequence[ThreadToRestore],
        element_bytes: ElementBytes | None = None,
        concurrency: int = 4,
    ) -> list[RestoreOutcome]:
        """Restore many threads as `restore_thread` restores one, with the same result and
        the same ownership decision: each thread not stored yet is written whole, many per
        command; each stored already goes through `restore_thread` (`concurrency` at a
        time). Returns, in the order given, each thread's RestoreSummary or the
        MongoLayerError that kept it out."""
        return await restore_threads(self, threads, element_bytes, concurrency)

    async def _restore_steps(
        self, plan: RestorePlan, stored: Document, summary: RestoreSummary
    ) -> None:
        thread_id = plan.thread_id
        stored_steps = {step["id"]: step for step in await self.steps.of_thread(stored)}
        for document in plan.steps:
            previous = stored_steps.get(document["id"])
            if previous is not None and step_is_stored(previous, document):
                summary.steps_unchanged += 1
            else:
                await self.steps.write(
                    thread_id, document, self.call_clock.stamp(), previous is not None
                )
                summary.steps_written += 1
        stored_feedback = feedback_by_step(stored.get("feedback") or [])
        for given in plan.feedback:
            if same_feedback(stored_feedback.get(given.step_id), given.as_given()):
                continue
            await self.feedback.upsert(
                thread_id, given.step_id, given.value, given.comment, new_id=given.id
            )
            summary.feedback_written += 1

    async def _restore_elements(
        self,
        plan: RestorePlan,
        stored: Document,
        element_bytes: ElementBytes | None,
        summary: RestoreSummary,
    ) -> None:
        thread_id = plan.thread_id
        stored_elements = {element["id"]: element for element in stored.get("elements") or []}
        for restored in plan.elements:
            element_id = restored.document["id"]
            if element_id not in stored_elements:
                await self.element_owners.claim(element_id, thread_id)
            previous = stored_elements.get(element_id) or {}
            file_id = previous.get("fileId")
            if file_id is None:
                file_id = await stored_element_file(
                    self.files.upload, restored, summary, element_bytes
                )
            document = restored_element_document(restored.document, file_id)
            if all(previous.get(field) == value for field, value in document.items()):
                continue
            self.refuse_oversized_element(document, thread_id)
            budget = self.settings.thread_document_budget_bytes
            await self.threads.upsert_element(thread_id, document, budget)
            summary.elements_written += 1

    # Maintenance

    @retried
    async def prune_orphans(
        self, grace: timedelta = timedelta(hours=1), dry_run: bool = False
    ) -> int:
        """Delete files left behind by a crash between two deletes (files nothing points
        to, older than `grace`, and chunks without a file); returns how many. With
        `dry_run`, returns how many it would delete and deletes nothing."""
        await self._ready()
        return await prune_orphan_files(self.files, self.threads, self.overflow, grace, dry_run)

    # Operations: retention, erasure, statistics, bulk reads (the `mongo-layer` command's calls)

    @retried
    async def delete_threads_older_than(
        self,
        older_than: timedelta,
        user_identifier: str | None = None,
        dry_run: bool = False,
        batch_size: int = 100,
        on_progress: ProgressCallback | None = None,
    ) -> DeletionSummary:
        """Delete every thread whose last activity (`updatedAt`: its last step, rename or
        retag) is older than `older_than`, only those of `user_identifier` if given. Each
        goes through `delete_thread` with its steps, overflow documents, feedback and files.
        Works in batches of `batch_size` threads, calling `on_progress` after each; an
        interrupted run is finished by running it again. With `dry_run`, counts what would
        go and deletes nothing."""
        await self._ready()
        selection = ThreadSelection(last_active_before=utc_now() - older_than)
        if user_identifier is not None:
            user = await self.get_user(user_identifier)
            if user is None:
                return DeletionSummary(dry_run=dry_run)
            selection = replace(selection, user_id=user.id)
        return await delete_threads(self, selection, dry_run, batch_size, on_progress)

    @retried
    async def erase_user(
        self,
        identifier: str,
        dry_run: bool = False,
        batch_size: int = 100,
        on_progress: ProgressCallback | None = None,
    ) -> DeletionSummary:
        """Erase a user: every thread of theirs through `delete_thread` (steps, overflow
        documents, feedback on them, files), then the user document, last, so that an
        interrupted erasure is finished by running it again. A user not stored is nothing
        to erase (zero counts). With `dry_run`, counts what would go and deletes nothing."""
        await self._ready()
        user = await self.get_user(identifier)
        if user is None:
            return DeletionSummary(dry_run=dry_run)
        selection = ThreadSelection(user_id=user.id)
        summary = await delete_threads(self, selection, dry_run, batch_size, on_progress)
        if not dry_run:
            await self.users.delete(user.identifier)
        summary.users = 1
        return summary

    @retried
    async def statistics(self, days: int = 30) -> Statistics:
        """Counts of users, threads, steps (embedded and overflowed), elements, files and
        their bytes, feedback (and its share of thumbs up), and the threads created on each
        of the last `days` days, all counted on the server."""
        await self._ready()
        return await collect_statistics(self, days)

    async def document_counts(self) -> dict[str, int]:
        """How many documents each of the layer's collections holds, by collection name,
        from the collections' metadata (estimated: no collection is scanned). Like `check()`
        it creates nothing: no index, and so no collection, is made for counting."""
        collection = self.connection.collection

        async def count() -> dict[str, int]:
            return {
                name: await collection(name).estimated_document_count()
                for name in self.settings.history_collection_names
            }

        return await self.retrier.run("document_counts", count)

    async def thread_batches(
        self,
        user_identifier: str | None = None,
        thread_id: str | None = None,
        batch_size: int = 100,
    ) -> AsyncIterator[list[ThreadActivity]]:
        """Every thread (or those of `user_identifier`, or the one `thread_id`), with its
        owner and times, `batch_size` at a time in id order: never the whole collection
        in memory. Nothing for a user who is not stored."""
        await self._ready()
        selection = ThreadSelection(
            thread_id=as_optional_id(thread_id, "thread id"),
        )
        if user_identifier is not None:
            user = await self.get_user(user_identifier)
            if user is None:
                return
            selection = replace(selection, user_id=user.id)
        async for batch in thread_batches(self.threads, selection, batch_size, self.retrier):
            yield batch

    async def user_batches(self, batch_size: int = 100) -> AsyncIterator[list[PersistedUser]]:
        """Every stored user, `batch_size` at a time in id order."""
        await self._ready()
        async for batch in user_batches(self.users, batch_size, self.retrier):
            yield batch

    @retried
    async def open_element_file(self, thread_id: str, element_id: str) -> StoredFile | None:
        """The stored file of an element of this thread, to read in chunks (its `length`,
        `name`, `mime` and `chunks()`); None when the element has no file here (it has
        only a url) or is not an element of this thread."""
        await self._ready()
        thread_id = as_id(thread_id, "thread id")
        element_id = as_id(element_id, f"element id in thread {thread_id!r}")
        element = await self.threads.find_element(thread_id, element_id)
        if element is None or element.get("fileId") is None:
            return None
        return await self.files.open(element["fileId"])

    async def build_debug_url(self) -> str:
        return ""

    async def close(self) -> None:
        """Stop the layer's retention task, if any, and close the client if the layer
        opened it; a borrowed client stays open."""
        if self.scheduled_retention is not None:
            await self.scheduled_retention.stop()
        await self.connection.close()


def first_or_none(values: Sequence[str] | None) -> str | None:
    return values[0] if values else None


def file_ids_of(elements: Sequence[Document]) -> list[ObjectId]:
    return [e["fileId"] for e in elements if e.get("fileId") is not None]


# Spans and metrics for every BaseDataLayer method, applied once here (see telemetry.py).
instrument_data_layer(MongoDataLayer, BaseDataLayer, lambda layer: layer.connection.database.name)
