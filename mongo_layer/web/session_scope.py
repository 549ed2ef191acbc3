"""Which thread a browser session may change elements and steps of.

Chainlit lets the browser update or remove a custom element by sending its dict, and
choose the ids of its messages; a message edit deletes steps by id alone. Inside a
websocket session the layer therefore only touches elements and steps of the session's own
thread.
"""

from chainlit.context import context_var
from chainlit.session import WebsocketSession

from ..errors import Naming, ThreadAccessError, named


def websocket_session_thread_id() -> str | None:
    """The thread of the current Chainlit websocket session, or None outside one."""
    current = context_var.get(None)
    session = getattr(current, "session", None)
    if not isinstance(session, WebsocketSession):
        return None
    return str(session.thread_id)


def thread_in_session_scope(thread_id: str | None, what: Naming) -> str | None:
    """The thread a write or delete of `what` (e.g. "step 's1'") may act on: the given
    one, or the session's own when none is given. Raises ThreadAccessError when a
    websocket session names another thread."""
    session_thread_id = websocket_session_thread_id()
    if session_thread_id is None:
        return thread_id
    if thread_id is not None and thread_id != session_thread_id:
        raise ThreadAccessError(
            f"a browser session of thread {session_thread_id!r} may not change {named(what)}"
            f" of thread {thread_id!r}"
        )
    return session_thread_id


def element_thread_in_session_scope(thread_id: str | None, element_id: str) -> str | None:
    return thread_in_session_scope(thread_id, f"element {element_id!r}")
