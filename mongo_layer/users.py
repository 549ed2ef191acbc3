"""The users collection: one document per user, unique on `identifier`."""

from typing import Any
from uuid import uuid4

from chainlit.user import PersistedUser, User

from .connection import find_one_and_upsert
from .documents import SCHEMA_VERSION, UserDocument, user_changes
from .times import utc_now


class UserStore:
    def __init__(self, collection: Any) -> None:
        self.collection = collection

    async def get(self, identifier: str) -> PersistedUser | None:
        document = await self.collection.find_one({"identifier": identifier})
        return UserDocument.model_validate(document).to_persisted_user() if document else None

    async def upsert(self, user: User) -> PersistedUser:
        """Create the user, or update its metadata keeping its id and createdAt."""
        update = {
            "$set": user_changes(user),
            "$setOnInsert": {
                "_id": str(uuid4()),
                "createdAt": utc_now(),
                "schemaVersion": SCHEMA_VERSION,
            },
        }
        document = await find_one_and_upsert(
            self.collection, {"identifier": user.identifier}, update, f"user {user.identifier!r}"
        )
        return UserDocument.model_validate(document).to_persisted_user()
