"""What a migration found, wrote and could not move, as one report (printed or as JSON)."""

from typing import Literal

from pydantic import BaseModel, Field

TABLES = ("users", "threads", "steps", "elements", "feedback")


class TableCounts(BaseModel):
    """Rows per table of Chainlit's schema (named as Chainlit names the things)."""

    users: int = 0
    threads: int = 0
    steps: int = 0
    elements: int = 0
    feedback: int = 0

    @property
    def total(self) -> int:
        return self.users + self.threads + self.steps + self.elements + self.feedback

    def add(self, other: "TableCounts") -> None:
        for table, rows in other.model_dump().items():
            setattr(self, table, getattr(self, table) + rows)


class BrokenRow(BaseModel):
    """A source row that could not be migrated as it is, and what was done instead."""

    table: str
    id: str
    problem: str


class Difference(BaseModel):
    """One way a migrated thread reads differently through MongoDataLayer than through the
    source layer."""

    thread_id: str
    what: str
    source: str
    mongo: str


class MigrationReport(BaseModel):
    layer: Literal["chainlit", "sqlalchemy"]
    files: Literal["copy", "link"]
    dry_run: bool
    found: TableCounts = Field(default_factory=TableCounts)
    migrated: TableCounts = Field(
        default_factory=TableCounts,
        description="rows now in MongoDB: written by this run or found already stored",
    )
    threads_unchanged: int = Field(0, description="threads already stored exactly as given")
    files_copied: int = 0
    broken: list[BrokenRow] = Field(default_factory=list)
    verified_threads: int | None = None
    differences: list[Difference] = Field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.found.total / self.seconds if self.seconds else 0.0

    @property
    def verified(self) -> bool:
        """True when --verify ran and found no difference."""
        return self.verified_threads is not None and not self.differences
