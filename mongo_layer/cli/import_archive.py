"""`mongo-layer import`: load a JSON archive written by `export`."""

from pathlib import Path

import click

from ..archive import MAX_RECORD_BYTES, ImportSummary, import_archive
from .output import JobProgress, counted, results, rows_per_second
from .params import dry_run_option
from .runtime import CommandFailed, DatabaseTarget, pass_target

MIB = 1024 * 1024


@click.command("import")
@click.argument("path", type=click.Path(path_type=Path, allow_dash=True, dir_okay=False))
@dry_run_option("imported (the archive is read and checked)")
@click.option(
    "--max-record-mib",
    type=click.IntRange(1, 1024),
    default=MAX_RECORD_BYTES // MIB,
    show_default=True,
    help="The longest line (record) read, in MiB; a longer one stops the import.",
)
@pass_target
def import_command(target: DatabaseTarget, path: Path, dry_run: bool, max_record_mib: int) -> None:
    """Load the JSON archive PATH (`-` for stdin): users and threads keep their ids and
    times, element files go to GridFS. Running it twice changes nothing; an interrupted
    import is finished by running it again. A user or thread that belongs to someone else
    here is left unchanged and named on stderr (exit status 1); a malformed record stops
    the import at its line."""
    with JobProgress("import") as progress:

        def show(summary: ImportSummary) -> None:
            progress.update(summary.threads, note=progress.rate(summary.rows))

        def refused(line: str) -> None:
            click.echo(line, err=True)

        with click.open_file(str(path), "rb") as source:
            summary = target.run(
                lambda layer: import_archive(
                    layer,
                    source,
                    dry_run=dry_run,
                    on_progress=show,
                    on_refused=refused,
                    max_record_bytes=max_record_mib * MIB,
                )
            )
    if dry_run:
        results().print(
            f"import: {path} holds {counted(summary.users, 'user')} and"
            f" {counted(summary.threads, 'thread')}; nothing imported (dry run)"
        )
        return
    results().print(
        f"import: read {counted(summary.users, 'user')} and {counted(summary.threads, 'thread')}"
        f" from {path}; {summary.threads_changed} threads changed,"
        f" {counted(summary.steps_written, 'step')} and"
        f" {counted(summary.files_stored, 'file')} stored"
        + (f"; {summary.refused} refused" if summary.refused else "")
        + f"; {summary.rows} rows in {summary.seconds:.1f} s"
        f" ({rows_per_second(summary.rows, summary.seconds)})"
    )
    if summary.refused:
        raise CommandFailed(
            f"{counted(summary.refused, 'record')} refused: they belong to someone else here"
        )
