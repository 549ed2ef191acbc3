"""Which source a `--from` URL and `--layer` name."""

from .source import Source, SourceLayer

SQLALCHEMY_SCHEMES = ("sqlite", "postgresql+", "mysql")


def default_layer(url: str) -> SourceLayer:
    """A plain `postgresql://` URL is ChainlitDataLayer's `DATABASE_URL`; an SQLAlchemy URL
    (`sqlite+aiosqlite://`, `postgresql+asyncpg://`) is SQLAlchemyDataLayer's."""
    return "sqlalchemy" if url.startswith(SQLALCHEMY_SCHEMES) else "chainlit"


def open_source(url: str, layer: str | None = None) -> Source:
    """The source at `url`, written by `layer` ("chainlit" or "sqlalchemy"; by default the
    one the URL suggests)."""
    layer = layer or default_layer(url)
    if layer not in ("chainlit", "sqlalchemy"):
        raise ValueError(f"layer must be 'chainlit' or 'sqlalchemy', got {layer!r}")
    if layer == "chainlit":
        from .postgres import ChainlitPostgresSource

        return ChainlitPostgresSource(asyncpg_dsn(url))
    from .sqlalchemy_source import SQLAlchemySource

    return SQLAlchemySource(sqlalchemy_url(url))


def asyncpg_dsn(url: str) -> str:
    """asyncpg takes `postgresql://` or `postgres://`, not SQLAlchemy's `+asyncpg` form."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def sqlalchemy_url(url: str) -> str:
    """SQLAlchemy's async engine needs an async driver in the URL."""
    if url.startswith("sqlite://"):
        return url.replace("sqlite://", "sqlite+aiosqlite://", 1)
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url
