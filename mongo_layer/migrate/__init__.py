"""Moving a Chainlit app's history from Chainlit's own SQL layers into MongoDataLayer.

    source = open_source("postgresql://...")            # ChainlitDataLayer's database
    report = await migrate_history(source, layer, MigrationOptions(verify=True))

Needs the `migrate` extra (asyncpg, aiosqlite, SQLAlchemy).
"""

from .migration import migrate_history
from .options import MigrationOptions, MigrationProgress
from .report import BrokenRow, Difference, MigrationReport, TableCounts
from .source import Source, SourceLayer
from .sources import open_source

__all__ = [
    "BrokenRow",
    "Difference",
    "MigrationOptions",
    "MigrationProgress",
    "MigrationReport",
    "Source",
    "SourceLayer",
    "TableCounts",
    "migrate_history",
    "open_source",
]
