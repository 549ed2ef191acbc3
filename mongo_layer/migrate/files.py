"""Where `--files copy` fetches an element's bytes from: a local folder holding the storage
client's objects (`--files-root`), the read url of a Chainlit storage client, or the
element's own url. What cannot be fetched is remembered with the reason."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from chainlit.data.storage_clients.base import BaseStorageClient

FETCH_TIMEOUT_SECONDS = 30.0


class FileNotFetched(Exception):
    """One place did not give the element's bytes."""


class ElementFiles:
    """The `element_bytes` callable of `Operations.restore_thread` for `--files copy`."""

    def __init__(
        self,
        files_root: Path | None = None,
        storage_client: BaseStorageClient | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.files_root = files_root.resolve() if files_root is not None else None
        self.storage_client = storage_client
        self.http = http or httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS)
        self.not_fetched: dict[str, str] = {}

    async def __call__(self, element: Any) -> bytes | None:
        reasons: list[str] = []
        for where, fetch in self.places(element):
            try:
                return await fetch()
            except (FileNotFetched, OSError, httpx.HTTPError) as error:
                reasons.append(f"{where}: {error or type(error).__name__}")
        self.not_fetched[str(element.get("id"))] = (
            "; ".join(reasons) or "it has no url or object key to fetch it from"
        )
        return None

    def places(self, element: Any) -> list[tuple[str, Callable[[], Awaitable[bytes]]]]:
        """Where the element's bytes may be, in the order they are tried."""
        object_key = element.get("objectKey")
        url = element.get("url")
        places: list[tuple[str, Callable[[], Awaitable[bytes]]]] = []
        if self.files_root is not None and object_key:
            places.append((f"{self.files_root}/{object_key}", lambda: self.from_folder(object_key)))
        if self.storage_client is not None and object_key:
            places.append((f"storage key {object_key!r}", lambda: self.from_storage(object_key)))
        if url:
            places.append((str(url), lambda: self.from_url(str(url))))
        return places

    async def from_folder(self, object_key: str) -> bytes:
        assert self.files_root is not None
        path = (self.files_root / object_key).resolve()
        if not path.is_relative_to(self.files_root):
            raise FileNotFetched("the object key leads outside the files root")
        return await asyncio.to_thread(path.read_bytes)

    async def from_storage(self, object_key: str) -> bytes:
        assert self.storage_client is not None
        return await self.from_url(await self.storage_client.get_read_url(object_key))

    async def from_url(self, url: str) -> bytes:
        if not url.startswith(("http://", "https://")):
            raise FileNotFetched("not an http(s) url")
        response = await self.http.get(url, follow_redirects=True)
        if response.status_code != 200:
            raise FileNotFetched(f"HTTP {response.status_code}")
        return response.content

    async def close(self) -> None:
        await self.http.aclose()
