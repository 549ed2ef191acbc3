"""The users collection: one document per user, unique on `identifier`."""

from typing import Any
from uuid import uuid4

from chainlit.user import PersistedUser, User
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
        """Store a user with its own id and creation time, or refresh it when stored with
        that id and identifier. Refused, writing nothing, when its identifier or its id
        already belongs to another user: the upsert then collides with the unique
        identifier or the id instead of matching. A display name of None adds no field."""
        fields = user.model_dump(by_alias=True, exclude={"id", "identifier"})
        if fields["display_name"] is None:
            del fields["display_name"]
        try:
            await self.collection.update_one(
                {"identifier": user.identifier, "_id": user.id}, {"$set": fields}, upsert=True
            )
        except DuplicateKeyError as error:
            raise UserConflictError(
                f"user {user.identifier!r} with id {user.id!r} was not restored: another"
                " stored user has that identifier or that id"
            ) from error

    async def delete(self, identifier: str) -> bool:
        """Delete the user document; returns whether there was one."""
        result = await self.collection.delete_one({"identifier": identifier})
        return bool(result.deleted_count)
