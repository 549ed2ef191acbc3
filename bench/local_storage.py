"""A storage client for ChainlitDataLayer that keeps files in a local folder.

ChainlitDataLayer stores element bytes through a BaseStorageClient (S3, GCS, Azure in
Chainlit). A local folder, in process, is the cheapest such client there is: the PostgreSQL
side pays no network or cloud SDK for its files, while MongoDataLayer sends them to GridFS.
"""

from pathlib import Path
from typing import Any

from chainlit.data.storage_clients.base import BaseStorageClient


class LocalStorageClient(BaseStorageClient):
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_of(self, object_key: str) -> Path:
        return self.folder / object_key

    async def upload_file(
        self,
        object_key: str,
        data: bytes | str,
        mime: str = "application/octet-stream",
        overwrite: bool = True,
        content_disposition: str | None = None,
    ) -> dict[str, Any]:
        path = self.path_of(object_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return {"object_key": object_key, "url": await self.get_read_url(object_key)}

    async def delete_file(self, object_key: str) -> bool:
        self.path_of(object_key).unlink(missing_ok=True)
        return True

    async def get_read_url(self, object_key: str) -> str:
        return f"/files/{object_key}"

    async def close(self) -> None:
        pass
