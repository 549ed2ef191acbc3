"""Chainlit's `queue_until_user_message`, usable outside a Chainlit server too.

Chainlit puts the decorator on the abstract methods of BaseDataLayer, so an override does
not inherit it. Inside a Chainlit session, writes made before the user's first message are
queued exactly as Chainlit does; outside one (a script, a benchmark, a test) there is no
session to queue on and the call runs at once.
"""

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from chainlit.context import context_var
from chainlit.data.utils import queue_until_user_message

Method = TypeVar("Method", bound=Callable[..., Awaitable[Any]])


def queued_until_user_message(method: Method) -> Method:
    queued = queue_until_user_message()(method)

    @functools.wraps(method)
    async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if context_var.get(None) is None:
            return await method(self, *args, **kwargs)
        return await queued(self, *args, **kwargs)

    return call  # type: ignore[return-value]
