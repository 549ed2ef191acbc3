"""The users collection: one document per user, unique on `identifier`."""

from typing import Any
from uuid import uuid4

from chainlit.user import PersistedUser, User
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

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
        try:
            document = await self._upsert(user.identifier, update)
        except DuplicateKeyError:
            document = None
        if document is None:
            # Two first logins raced on the unique identifier and the other one inserted it:
            # MongoDB reports a duplicate key, SecantusDB returns no document.
            document = await self._upsert(user.identifier, update)
        return UserDocument.model_validate(document).to_persisted_user()

    async def _upsert(self, identifier: str, update: dict[str, Any]) -> dict[str, Any] | None:
        document: dict[str, Any] | None = await self.collection.find_one_and_update(
            {"identifier": identifier},
            update,
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return document
