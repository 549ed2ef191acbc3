"""Which pages may call the example app with a logged-in user's cookie.

Chainlit sends `allow_origins` to its CORS middleware with credentials allowed, and its
websocket logs in with the same cookie. The allowed origins are the address the app really
serves on (`chainlit run --host/--port`, so `PORT=8123` moves them too) and the public
URLs EXAMPLE_PUBLIC_URL names (the address users type when the app is behind a proxy),
plus any origin `.chainlit/config.toml` lists. A page on any other origin, another port of
the same host included, gets no CORS header and no websocket.
"""

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

PUBLIC_URL_VARIABLE = "EXAMPLE_PUBLIC_URL"
LOOPBACK_NAMES = ("127.0.0.1", "localhost")


class OriginError(ValueError):
    """EXAMPLE_PUBLIC_URL holds something that is not an http(s) URL."""


def served_origins(host: str, port: int, tls: bool) -> list[str]:
    """The origins of the app's own pages when it serves on `host`:`port` (both names of
    the loopback address, since a browser may use either)."""
    scheme = "https" if tls else "http"
    hosts = LOOPBACK_NAMES if host in LOOPBACK_NAMES else (host,)
    return [f"{scheme}://{f'[{name}]' if ':' in name else name}:{port}" for name in hosts]


def public_origins(value: str) -> list[str]:
    """The origins of the URLs in `value` (separated by spaces or commas). Raises
    OriginError naming the first entry that is not an http(s) URL with a host."""
    origins = []
    for url in value.replace(",", " ").split():
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OriginError(
                f"{PUBLIC_URL_VARIABLE} must hold http(s) URLs such as https://chat.example.com,"
                f" not {url!r}"
            )
        origins.append(f"{parts.scheme}://{parts.netloc.rpartition('@')[2].lower()}")
    return origins


def allowed_origins(
    host: str, port: int, environ: Mapping[str, str], configured: Iterable[str]
) -> list[str]:
    """Every origin that may call the app: `configured` (config.toml's), the served ones
    and EXAMPLE_PUBLIC_URL's, each once."""
    tls = bool(environ.get("CHAINLIT_SSL_CERT"))
    public = public_origins(environ.get(PUBLIC_URL_VARIABLE, ""))
    return list(dict.fromkeys([*configured, *served_origins(host, port, tls), *public]))


def is_own_page(origin: str, environ: Mapping[str, Any], allowed: Iterable[str]) -> bool:
    """Socket.IO's origin check: a page of the origin the request's Host names (the app's
    own, however it is reached) or of an allowed origin."""
    own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
    return origin == own or origin in allowed
