"""MongoDataLayer: Chainlit's BaseDataLayer on MongoDB. Each method turns Chainlit's arguments
into a call on the store that owns the collection and the result back into Chainlit's shape;
the queries live in the stores (storage/), the operator's calls in `layer.operations`."""

import functools
import logging
import os
from typing import TYPE_CHECKING, Any, Literal

from chainlit.data.base import BaseDataLayer
from chainlit.types import Feedback, PaginatedResponse, Pagination, ThreadDict, ThreadFilter
from chainlit.user import PersistedUser, User

from .errors import MongoLayerError
from .ids import as_id, as_optional_id, as_read_id, without_lone_surrogates
from .moved import ForwardsMovedCalls
from .operations import Operations, RetentionSchedule
from .queueing import queued_until_user_message
from .settings import MongoLayerSettings
from .storage.call_order import RecentSteps
from .storage.capabilities import DeploymentReport
from .storage.connection import Connection, Document
from .storage.documents import (
    element_from_document,
    element_to_document,
    feedback_by_step,
    first_or_none,
    parse_metadata,
    step_from_document,
    step_to_document,
    thread_from_document,
)
from .storage.files import ElementFile
from .storage.pagination import MAX_PAGE_SIZE, decode_cursor, thread_page
from .storage.stores import Stores, retried
from .storage.threads import search_text, warn_left_out
from .telemetry import instrument_data_layer
from .web import session_scope
from .web.access import context_user_identifier, step_thread_to_change
from .web.health import HealthProbe
from .web.mounting import mount_routes_on_chainlit
from .web.rating import rate_step, unrate_step
from .web.routes import element_file_url

if TYPE_CHECKING:
    from chainlit.element import Element, ElementDict
    from chainlit.step import StepDict

logger = logging.getLogger("mongo_layer")


class MongoDataLayer(ForwardsMovedCalls, BaseDataLayer):
    """Chainlit's data layer on MongoDB. Give it a `uri` (the layer opens and closes its own
    client, PyMongo's `AsyncMongoClient` unless `driver="motor"`), or a `client` or
    `database` object of motor or PyMongo's async driver (the layer never closes those).
    Inside a Chainlit server it mounts its routes (web/mounting.py; turn them off with
    `mount_file_route` / `guard_feedback_routes`). With `settings.retention_days` it deletes
    inactive threads by itself on `retention_schedule` (operations/scheduled_retention.py)."""

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
        self.stores = Stores(self.connection, settings)
        self._file_url = functools.partial(element_file_url, settings)
        self.operations = Operations(self.stores, retention_schedule)
        """Retention, erasure, statistics, batches, restore, file reading and repairs."""
        self.recent_steps = RecentSteps()
        self.health = HealthProbe(self.connection.database, settings.health_timeout_ms)
        mount_routes_on_chainlit(self, mount_file_route, guard_feedback_routes)

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
        await self.stores.ensure_indexes()

    async def check(self) -> DeploymentReport:
        """What the server is (kind, version, topology), whether it has everything the layer
        uses, and which of the layer's indexes exist. An unusable server is reported, not
        refused; ServerUnreachableError when no server answers."""
        return await self.stores.check()

    # Users

    @retried
    async def get_user(self, identifier: str) -> PersistedUser | None:
        lookup = as_read_id(identifier)
        return None if lookup is None else await self.stores.users.get(lookup)

    @retried
    async def create_user(self, user: User) -> PersistedUser | None:
        as_id(user.identifier, "user identifier")
        return await self.stores.users.upsert(user)

    # Feedback

    @retried
    async def upsert_feedback(self, feedback: Feedback) -> str:
        """Rate a step and return the feedback's id. Inside a Chainlit session, only a step
        of the session user's own threads (see `rate_step`)."""
        rated = await self.rate_step(feedback, context_user_identifier())
        return str(rated.id)

    @retried
    async def rate_step(self, feedback: Feedback, user_identifier: str | None) -> Feedback:
        """Rate a step on behalf of the user with this identifier (None: nobody, as app code
        outside a request): only a step of their own threads (see `web.rating.rate_step`)."""
        return await rate_step(self.stores, feedback, user_identifier)

    @retried
    async def delete_feedback(self, feedback_id: str) -> bool:
        """Delete a feedback; returns whether there was one. Inside a Chainlit session, only
        a feedback on the session user's own threads (see `unrate_step`)."""
        user_identifier = context_user_identifier()
        if user_identifier is not None:
            return await self.unrate_step(feedback_id, user_identifier)
        return await self.stores.feedback.delete(as_id(feedback_id, "feedback id"))

    @retried
    async def unrate_step(self, feedback_id: str, user_identifier: str | None) -> bool:
        """Delete a feedback on behalf of the user with this identifier (None: nobody);
        whether there was one (see `web.rating.unrate_step`)."""
        return await unrate_step(self.stores, feedback_id, user_identifier)

    # Elements

    @queued_until_user_message
    async def create_element(self, element: "Element") -> None:
        await self.stores.ready()
        element_id = as_id(element.id, "element id")
        thread_id = as_id(element.thread_id, f"thread id of element {element_id!r}")
        session_scope.element_thread_in_session_scope(thread_id, element_id)
        document = element_to_document(element.to_dict(), element_id)
        file = ElementFile(element_id, thread_id, document.get("forId"), element.name, element.mime)
        await self.stores.store_element(document, file, element.content, element.path)

    @retried
    async def get_element(self, thread_id: str, element_id: str) -> "ElementDict | None":
        thread_lookup, element_lookup = as_read_id(thread_id), as_read_id(element_id)
        if thread_lookup is None or element_lookup is None:
            return None
        document = await self.stores.threads.find_element(thread_lookup, element_lookup)
        if document is None:
            return None
        element: ElementDict = element_from_document(document, thread_lookup, self._file_url)
        return element

    async def delete_element(self, element_id: str, thread_id: str | None = None) -> None:
        """Delete the element and its file; an element not stored is a quiet no-op. Inside
        a browser session, naming another thread raises ThreadAccessError at once, before
        Chainlit's queue, so the request that asked is refused (see web/element_routes.py)."""
        element_id = as_id(element_id, "element id")
        thread_id = as_optional_id(thread_id, f"thread id of element {element_id!r}")
        thread_id = session_scope.element_thread_in_session_scope(thread_id, element_id)
        await self._delete_element(element_id, thread_id)

    @queued_until_user_message
    async def _delete_element(self, element_id: str, thread_id: str | None) -> None:
        await self.stores.ready()
        if not await self.stores.delete_element(element_id, thread_id):
            logger.info(
                "element %r (thread %r) was not stored; nothing to delete", element_id, thread_id
            )

    # Steps

    async def create_step(self, step_dict: "StepDict") -> None:
        await self._write_step("create_step", *self._step_write_called(step_dict))

    async def update_step(self, step_dict: "StepDict") -> None:
        await self._write_step("update_step", *self._step_write_called(step_dict))

    def _step_write_called(self, step_dict: "StepDict") -> tuple[str, Document, int, bool]:
        """The thread, the step, the call's stamp and whether a write of the step was called
        before, taken before the call's first `await`: Chainlit starts these calls as tasks
        in its own order, and a task runs up to its first `await` in that order."""
        document = step_to_document(step_dict)
        step_id = document["id"]
        thread_id = as_id(step_dict.get("threadId"), lambda: f"thread id of step {step_id!r}")
        session_scope.thread_in_session_scope(thread_id, lambda: f"step {step_id!r}")
        written_before = self.recent_steps.thread_of(step_id) == thread_id
        self.recent_steps.write_started(step_id, thread_id)
        return thread_id, document, self.stores.call_clock.stamp(), written_before

    @queued_until_user_message
    async def _write_step(
        self, operation: str, thread_id: str, document: Document, stamp: int, written_before: bool
    ) -> None:
        """Create and update are one write: each field keeps the value of the latest call
        that gave one (see step_versions.py), whatever order the writes land in. Through a
        failover the write is tried again with the stamp the call took."""
        try:
            await self.stores.ready()
            await self.stores.write_step(operation, thread_id, document, stamp, written_before)
        finally:
            self.recent_steps.write_ended(document["id"], thread_id)

    async def delete_step(self, step_id: str) -> None:
        """Delete the step, its feedback and its files, as called now: a write of the step
        called before lands as a no-op, one called after brings it back. Inside a browser
        session only the session's own thread is touched. A step that is not stored is a
        quiet no-op."""
        step_id = as_id(step_id, "step id")
        session_thread_id = session_scope.websocket_session_thread_id()
        await self._delete_step(step_id, session_thread_id, self.stores.call_clock.stamp())

    @queued_until_user_message
    async def _delete_step(self, step_id: str, session_thread_id: str | None, stamp: int) -> None:
        """The thread is found first, on its own: once a delete applied, the step is a
        tombstone that no read finds, so a delete repeated after a lost reply must already
        know its thread."""
        await self.stores.ready()
        retried_part = functools.partial(
            self.stores.retrier.run, "delete_step", subject=f"step {step_id!r}"
        )
        thread_id = session_thread_id or self.recent_steps.thread_of(step_id)
        if thread_id is None:
            user_identifier = context_user_identifier()
            thread_id = await retried_part(
                lambda: step_thread_to_change(self.stores, step_id, user_identifier)
            )
        if thread_id is None:
            return
        attempts = 0

        async def remove() -> None:
            nonlocal attempts
            attempts += 1
            in_flight = self.recent_steps.has_write_in_flight(step_id, thread_id)
            await self.stores.delete_step(thread_id, step_id, stamp, in_flight, attempts > 1)

        await retried_part(remove)

    # Threads

    @retried
    async def get_thread_author(self, thread_id: str) -> str:
        lookup = as_read_id(thread_id)
        document = None if lookup is None else await self.stores.threads.find_author(lookup)
        return first_or_none((document or {}).get("author")) or ""

    @retried
    async def delete_thread(self, thread_id: str) -> None:
        thread_id = as_id(thread_id, "thread id")
        await self.stores.delete_thread(thread_id)

    @retried
    async def list_threads(
        self, pagination: Pagination, filters: ThreadFilter
    ) -> PaginatedResponse[ThreadDict]:
        user_id = as_read_id(filters.userId)
        after = decode_cursor(pagination.cursor) if pagination.cursor else None
        if user_id is None or (pagination.cursor and after is None):
            return thread_page([], limit=0)
        limit = max(1, min(int(pagination.first), MAX_PAGE_SIZE))
        search = search_text(filters.search, self.settings.max_search_length)
        documents = await self.stores.threads.list_for_user(
            user_id, limit + 1, search, filters.feedback, after
        )
        return thread_page(documents, limit)

    @retried
    async def get_thread(self, thread_id: str) -> ThreadDict | None:
        lookup = as_read_id(thread_id)
        document = None if lookup is None else await self.stores.threads.find_thread(lookup)
        if document is None:
            return None
        thread_id = document["_id"]
        feedback = feedback_by_step(document.get("feedback") or [])
        stored_steps = await self.stores.steps.of_thread(document)
        steps = [step_from_document(s, thread_id, feedback.get(s["id"])) for s in stored_steps]
        elements = [
            element_from_document(e, thread_id, self._file_url)
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
        store is left out with one warning (`warn_left_out`): Chainlit calls this from its
        disconnect handler, where an exception would skip the session's clean-up. An id
        that cannot exist is still refused."""
        thread_id = as_id(thread_id, "thread id")
        if name is not None:
            name = without_lone_surrogates(str(name)[: self.settings.max_thread_name_length])
        left_out = await self.stores.threads.upsert_thread(
            thread_id,
            name=name,
            user_id=as_optional_id(user_id, f"userId of thread {thread_id!r}"),
            metadata=None if metadata is None else parse_metadata(metadata, thread_id),
            tags=None if tags is None else [without_lone_surrogates(str(tag)) for tag in tags],
        )
        warn_left_out(thread_id, left_out)

    @retried
    async def get_favorite_steps(self, user_id: str) -> list["StepDict"]:
        lookup = as_read_id(user_id)
        if lookup is None:
            return []
        documents = await self.stores.steps.favorites(lookup)
        return [step_from_document(d["step"], d["_id"], None) for d in documents]

    async def build_debug_url(self) -> str:
        return ""

    async def close(self) -> None:
        """Stop the layer's retention task, if any, and close the client if the layer
        opened it; a borrowed client stays open."""
        await self.operations.close()
        await self.connection.close()


# Spans and metrics for every BaseDataLayer method, applied once here (see telemetry.py).
instrument_data_layer(MongoDataLayer, BaseDataLayer, lambda layer: layer.connection.database.name)
