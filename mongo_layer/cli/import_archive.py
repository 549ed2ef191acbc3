"""`mongo-layer import`: load a JSON archive written by `export`."""

from pathlib import Path

import click

from ..archive import ImportSummary, import_archive
from .output import JobProgress, counted, results
from .params import dry_run_option
from .runtime import DatabaseTarget, pass_target


@click.command("import")
@click.argument("path", type=click.Path(path_type=Path, allow_dash=True, dir_okay=False))
@dry_run_option("imported (the archive is read and checked)")
@pass_target
def import_command(target: DatabaseTarget, path: Path, dry_run: bool) -> None:
    """Load the JSON archive PATH (`-` for stdin): users and threads keep their ids and
    times, element files go to GridFS. Running it twice changes nothing; an interrupted
    import is finished by running it again."""
    with JobProgress("import") as progress:

        def show(summary: ImportSummary) -> None:
            progress.update(summary.threads, note="threads")

        with click.open_file(str(path), encoding="utf-8") as lines:
            summary = target.run(
                lambda layer: import_archive(layer, lines, dry_run=dry_run, on_progress=show)
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
    )
