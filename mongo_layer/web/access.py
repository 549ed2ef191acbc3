"""Who may read or change a thread: the one place the layer decides it.

A thread's author may read and change it. Anyone may read a shared thread (or one the
app's `on_shared_thread_view` callback opens), but only while Chainlit's
`allow_thread_sharing` feature is on. Nobody else may do either.
"""

import logging
from typing import Any

from chainlit.context import context_var

from ..storage.connection import Document
from ..storage.stores import Stores
from .served import ServedLayer

logger = logging.getLogger("mongo_layer")


def is_author(thread: Document, user_identifier: str | None) -> bool:
    """Whether the user is the author of `thread`, a document carrying `author` (the
    identifiers of its user, as `ThreadStore.find_author` returns it)."""
    return user_identifier is not None and user_identifier in (thread.get("author") or [])


def may_change_thread(thread: Document, user_identifier: str | None) -> bool:
    """Whether a call on behalf of `user_identifier` may change `thread`. A call on behalf
    of nobody (app code outside a request, or an app without login) may change any."""
    return user_identifier is None or is_author(thread, user_identifier)


def identifier_of(user: Any) -> str | None:
    """The identifier of a Chainlit user object, or None for no user."""
    identifier = getattr(user, "identifier", None)
    return identifier if isinstance(identifier, str) else None


def context_user_identifier() -> str | None:
    """The identifier of the user of the current Chainlit session (websocket or HTTP), or
    None outside one."""
    current = context_var.get(None)
    session = getattr(current, "session", None)
    return identifier_of(getattr(session, "user", None))


def thread_sharing_enabled() -> bool:
    from chainlit.config import config

    return bool(getattr(config.features, "allow_thread_sharing", False))


async def may_read_thread(layer: ServedLayer, thread_id: str, user: Any) -> bool:
    """The thread's author may read it; with sharing on, anyone may read a shared thread
    or one the app's `on_shared_thread_view` callback allows."""
    thread = await layer.stores.threads.find_author(thread_id)
    if thread is None:
        return False
    if is_author(thread, identifier_of(user)):
        return True
    if not thread_sharing_enabled():
        return False
    if (thread.get("metadata") or {}).get("is_shared") is True:
        return True
    from chainlit.config import config

    on_shared_thread_view = getattr(config.code, "on_shared_thread_view", None)
    if on_shared_thread_view is None:
        return False
    whole_thread = await layer.get_thread(thread_id)
    try:
        return bool(whole_thread and await on_shared_thread_view(whole_thread, user))
    except Exception:
        logger.exception("on_shared_thread_view failed for thread %r", thread_id)
        return False


async def step_thread_to_change(
    stores: Stores, step_id: str, user_identifier: str | None
) -> str | None:
    """The one thread holding the step that the user (None: anyone) may change, found by a
    read; None, logged, when there is none or several (the same id in two threads is two
    steps, and a call naming the step alone does not say which)."""
    holders = [
        thread["_id"]
        for thread in await stores.steps.threads_holding(step_id)
        if may_change_thread(thread, user_identifier)
    ]
    if len(holders) != 1:
        logger.info("step %r is stored in %d threads; nothing deleted", step_id, len(holders))
        return None
    thread_id: str = holders[0]
    return thread_id
