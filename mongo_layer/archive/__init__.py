"""Export and import of a database's history: a versioned JSON archive (users, threads as
Chainlit's ThreadDict with their feedback, element files' bytes) that `import_archive`
restores idempotently, and Markdown transcripts for people to read.

    with open("history.jsonl", "w") as out:
        await export_archive(layer, out, ExportSelection(user_identifier="alice"))
    with open("history.jsonl", "rb") as archive:
        await import_archive(other_layer, archive)
"""

from .export import export_archive
from .importing import ImportSummary, import_archive
from .markdown import export_markdown
from .records import ARCHIVE_FORMAT, ARCHIVE_VERSION, MAX_RECORD_BYTES
from .selection import ExportSelection, ExportSummary

__all__ = [
    "ARCHIVE_FORMAT",
    "ARCHIVE_VERSION",
    "MAX_RECORD_BYTES",
    "ExportSelection",
    "ExportSummary",
    "ImportSummary",
    "export_archive",
    "export_markdown",
    "import_archive",
]
