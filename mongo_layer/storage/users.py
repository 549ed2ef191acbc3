"""The users collection: one document per user, unique on `identifier`."""

from typing import Any
from uuid import uuid4

from chainlit.user import PersistedUser, User
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from ..errors import UserConflictError
from ..times import utc_now
from .connection import find_one_and_upsert
from .documents import SCHEMA_VERSION, UserDocument, user_changes


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

    async def restore(self, user: UserDocument) -> None:
        """Store a user with its own id and creation time, or refresh it when stored.
        Refused when its identifier or its id already belongs to another user."""
        fields = user.model_dump(by_alias=True, exclude={"id"})
        try:
            stored = await self.collection.find_one_and_update(
                {"identifier": user.identifier},
                {"$set": fields, "$setOnInsert": {"_id": user.id}},
                projection={"_id": 1},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError as error:
            raise UserConflictError(
                f"user {user.identifier!r}: its id {user.id!r} belongs to another stored user"
            ) from error
        if stored is None or stored["_id"] != user.id:
            found = "no document" if stored is None else f"id {stored['_id']!r}"
            raise UserConflictError(
                f"user {user.identifier!r} with id {user.id!r} was not restored: the stored"
                f" user with that identifier has {found}"
            )

    async def delete(self, identifier: str) -> bool:
        """Delete the user document; returns whether there was one."""
        result = await self.collection.delete_one({"identifier": identifier})
        return bool(result.deleted_count)
