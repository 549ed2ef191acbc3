"""`mongo-layer export`: a thread, a user's history or the whole database, as a JSON
archive (for `import`) or as Markdown transcripts (for people)."""

import sys
from pathlib import Path

import click

from ..archive import ExportSelection, ExportSummary, export_archive, export_markdown
from .output import JobProgress, counted, results, size_in_bytes
from .params import batch_size_option
from .runtime import DatabaseTarget, pass_target


@click.command()
@click.option("--thread", "thread_id", metavar="ID", help="Export this thread.")
@click.option("--user", "user_identifier", metavar="IDENTIFIER", help="Export this user's history.")
@click.option("--all", "everything", is_flag=True, help="Export every user and thread.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "markdown"]),
    default="json",
    show_default=True,
    help="json: an archive `import` reads back. markdown: a transcript per thread.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, allow_dash=True),
    help="json: the archive file (default: stdout). markdown: a directory (required).",
)
@batch_size_option
@pass_target
def export(
    target: DatabaseTarget,
    thread_id: str | None,
    user_identifier: str | None,
    everything: bool,
    output_format: str,
    out: Path | None,
    batch_size: int,
) -> None:
    """Export history: --thread ID, --user IDENTIFIER or --all. The JSON archive holds the
    users, the threads as Chainlit's ThreadDict with their feedback, and the bytes of every
    element file; it is written as it is read (docs/archive-format.md)."""
    if sum((thread_id is not None, user_identifier is not None, everything)) != 1:
        raise click.UsageError("give exactly one of --thread, --user and --all")
    selection = ExportSelection(thread_id=thread_id, user_identifier=user_identifier)
    if output_format == "markdown":
        if out is None or str(out) == "-":
            raise click.UsageError("--format markdown needs --out DIRECTORY")
        summary = export_transcripts(target, selection, out, batch_size)
    else:
        summary = export_json(target, selection, out, batch_size)
    where = "stdout" if out is None or str(out) == "-" else str(out)
    files = f"{counted(summary.files, 'file')} ({size_in_bytes(summary.file_bytes)})"
    if output_format == "markdown":
        line = f"export: wrote {counted(summary.threads, 'transcript')} and {files} to {where}"
    else:
        users, threads = counted(summary.users, "user"), counted(summary.threads, "thread")
        line = f"export: wrote {users}, {threads} and {files} to {where}"
    if where == "stdout":
        click.echo(line, err=True)
    else:
        results().print(line)


def export_json(
    target: DatabaseTarget, selection: ExportSelection, out: Path | None, batch_size: int
) -> ExportSummary:
    """Write the archive to stdout, or to `out` through a `.partial` file renamed once
    complete (and removed on failure), so that an interrupted export never leaves a file
    that looks whole."""
    with JobProgress("export") as progress:

        def show(summary: ExportSummary) -> None:
            progress.update(summary.threads)

        if out is None or str(out) == "-":
            return target.run(
                lambda layer: export_archive(layer, sys.stdout, selection, batch_size, show)
            )
        partial = out.with_name(out.name + ".partial")
        try:
            with partial.open("w", encoding="utf-8", newline="\n") as file:
                summary = target.run(
                    lambda layer: export_archive(layer, file, selection, batch_size, show)
                )
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(out)
        return summary


def export_transcripts(
    target: DatabaseTarget, selection: ExportSelection, directory: Path, batch_size: int
) -> ExportSummary:
    with JobProgress("export") as progress:

        def show(summary: ExportSummary) -> None:
            progress.update(summary.threads)

        return target.run(
            lambda layer: export_markdown(layer, directory, selection, batch_size, show)
        )
