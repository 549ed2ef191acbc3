"""What the web routes need of the data layer they serve: `MongoDataLayer` is one. The routes
name this shape rather than the layer, so the web floor stays below the layer."""

from typing import Protocol

from chainlit.types import Feedback, ThreadDict

from ..settings import MongoLayerSettings
from ..storage.stores import Stores


class ServedLayer(Protocol):
    @property
    def settings(self) -> MongoLayerSettings: ...

    @property
    def stores(self) -> Stores: ...

    async def get_thread(self, thread_id: str) -> ThreadDict | None: ...

    async def rate_step(self, feedback: Feedback, user_identifier: str | None) -> Feedback: ...

    async def unrate_step(self, feedback_id: str, user_identifier: str | None) -> bool: ...
