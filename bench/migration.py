"""How fast `mongo-layer migrate` and `mongo-layer import` move history, and their peak memory.

    .venv/bin/python -m bench.migration --size medium
    .venv/bin/python -m bench.migration --size team

Fills the bench's PostgreSQL through Chainlit's own ChainlitDataLayer with the conversations
of the bench workload (every user, thread, step, rating and file of that size; `team` is 300
threads of 21 steps, each with two files and two ratings, plus the workload's probe users),
starts a fresh SecantusDB, then runs the commands as separate processes: the migration, a
second run with `--verify` (which finds everything already there and compares every
thread), an export of the migrated database, its import into a second, empty database, and
that import again (which must change nothing); the second database is exported in turn and
its threads compared with the first export's. Rows per second count the rows moved (users,
threads, steps, elements, rated steps); peak memory is each command process's maximum
resident set size.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .measure import Recorder
from .run import machine, revision, say
from .servers import DATA, PostgresServer, SecantusServer
from .subjects import enter_http_context, postgres_subject
from .workload import SIZES, Size, Workload, first_login

DATABASE = "bench_migration"
IMPORTED_DATABASE = "bench_import"
# 300 threads of 7 turns (21 steps, two files, two ratings each), besides the probe users.
BENCH_SIZES = SIZES | {"team": Size(10, 30, 7, 1, 1, 1, 1)}


async def fill(dsn: str, files: Path, workload: Workload) -> None:
    """Every conversation of the workload, written through ChainlitDataLayer."""
    enter_http_context()
    subject = await postgres_subject("postgres", dsn, files)
    measure = Recorder().measure_for(subject)
    try:
        for user in workload.users:
            await first_login(user)(subject, measure)
        for plan in workload.all_threads():
            for operation in workload.conversation(plan):
                await operation(subject, measure)
    finally:
        await subject.close()


def measured(command: list[str]) -> tuple[str, float, float]:
    """Run one command as its own process: what it printed, its wall time, and its peak
    resident set in MB."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as output, tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=output, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        output.seek(0)
        errors.seek(0)
        if process.returncode != 0:
            raise RuntimeError(f"{command[3:]} failed: {errors.read().decode().strip()[-2000:]}")
        return output.read().decode(), seconds, usage.ru_maxrss / 1024


def mongo_layer_command(mongo_uri: str, database: str, *arguments: str) -> list[str]:
    return [sys.executable, "-m", "mongo_layer", "--uri", mongo_uri, "--database", database,
            *arguments]  # fmt: skip


def migrate(
    mongo_uri: str, dsn: str, files: Path, *options: str
) -> tuple[dict[str, Any], float, float]:
    """One run of the command in its own process: its JSON report, wall time and peak MB."""
    command = mongo_layer_command(
        mongo_uri, DATABASE, "migrate", "--from", dsn, "--files-root", str(files), "--json",
        *options,
    )  # fmt: skip
    output, seconds, peak = measured(command)
    report: dict[str, Any] = json.loads(output)
    return report, seconds, peak


def exported_threads(mongo_uri: str, database: str, archive: Path) -> list[str]:
    """Export the database to `archive`; its thread records, as canonical JSON, sorted."""
    measured(mongo_layer_command(mongo_uri, database, "export", "--all", "--out", str(archive)))
    with archive.open() as lines:
        records = [json.loads(line) for line in lines]
    threads = [r for r in records if r.get("record") == "thread"]
    return sorted(json.dumps(thread, sort_keys=True) for thread in threads)


def import_archive(mongo_uri: str, archive: Path) -> tuple[str, float, float, float]:
    """One import in its own process: what it printed, its own time (as it reports it),
    its wall time and its peak MB."""
    command = mongo_layer_command(mongo_uri, IMPORTED_DATABASE, "import", str(archive))
    output, wall, peak = measured(command)
    found = re.search(r"rows in ([0-9.]+) s", output)
    if found is None:
        raise RuntimeError(f"import printed no time: {output}")
    return output, float(found.group(1)), wall, peak


def import_only_megabytes() -> float:
    """The resident set of a process that only imports the command and its migration."""
    command = [sys.executable, "-c", "import mongo_layer.cli, mongo_layer.migrate.postgres"]
    return measured(command)[2]


def report_lines(
    size: str, first: dict[str, Any], again: dict[str, Any], figures: dict[str, Any]
) -> list[str]:
    found = first["found"]
    rows = sum(found.values())
    imported = figures["import"]
    return [
        f"# mongo-layer migrate and import: the bench's `{size}` data set",
        "",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {machine()};"
        f" load average (1 min) {figures['load']:.1f} before the migration,"
        f" {figures['import_load']:.1f} before the import",
        f"- mongo-layer revision: {revision()}; `--concurrency {figures['concurrency']}`"
        " (threads already stored restored at once)",
        f"- source rows: {rows} ({', '.join(f'{n} {table}' for table, n in found.items())});"
        f" files copied into GridFS: {first['files_copied']}; broken rows: {len(first['broken'])}",
        "",
        "| run | time | rows/s | process wall time | peak memory |",
        "|---|---|---|---|---|",
        f"| migrate, first run | {first['seconds']:.1f} s | {rows / first['seconds']:.0f} |"
        f" {figures['first']:.1f} s | {figures['peak']:.0f} MB |",
        f"| migrate again, with --verify | {again['seconds']:.1f} s |"
        f" {rows / again['seconds']:.0f} | {figures['again']:.1f} s |"
        f" {figures['again_peak']:.0f} MB |",
        f"| import of its export into an empty database | {imported:.1f} s |"
        f" {rows / imported:.0f} | {figures['import_wall']:.1f} s |"
        f" {figures['import_peak']:.0f} MB |",
        f"| import again | {figures['import_again']:.1f} s |"
        f" {rows / figures['import_again']:.0f} | {figures['import_again_wall']:.1f} s |"
        f" {figures['import_again_peak']:.0f} MB |",
        "",
        f"- migrate again: {again['threads_unchanged']} of {found['threads']} threads found"
        f" already there unchanged; verify compared {again['verified_threads']} threads,"
        f" {len(again['differences'])} differences",
        f"- import: `{figures['import_output']}`; import again: `{figures['again_output']}`",
        f"- the imported database exported again: {figures['same_threads']} of"
        f" {figures['exported_threads']} threads identical to the first export's",
        f"- a process that only imports the command: {figures['baseline']:.0f} MB resident",
        "- time is the command's own (migrate's report's `seconds`, import's printed time);"
        " the process wall time adds starting Python and importing Chainlit.",
    ]


async def measure_size(size: str, concurrency: int) -> list[str]:
    workload = Workload(BENCH_SIZES[size])
    secantus, postgres = SecantusServer(), PostgresServer()
    DATA.mkdir(parents=True, exist_ok=True)
    files = Path(tempfile.mkdtemp(prefix="migration-files-", dir=DATA))
    figures: dict[str, Any] = {"concurrency": concurrency}
    secantus.start()
    try:
        postgres.start()
        say(f"filling PostgreSQL with the {size} workload through ChainlitDataLayer")
        await fill(postgres.dsn, files, workload)
        figures["baseline"] = import_only_megabytes()
        figures["load"] = os.getloadavg()[0]
        say("migrating")
        first, figures["first"], figures["peak"] = migrate(
            secantus.uri, postgres.dsn, files, "--concurrency", str(concurrency)
        )
        say("migrating again, with --verify")
        again, figures["again"], figures["again_peak"] = migrate(
            secantus.uri, postgres.dsn, files, "--verify"
        )
        say("exporting, importing into an empty database, importing again")
        exported = exported_threads(secantus.uri, DATABASE, files / "export.jsonl")
        figures["import_load"] = os.getloadavg()[0]
        archive = files / "export.jsonl"
        output, figures["import"], figures["import_wall"], figures["import_peak"] = import_archive(
            secantus.uri, archive
        )
        figures["import_output"] = output.strip().replace(str(archive), "export.jsonl")
        output, figures["import_again"], figures["import_again_wall"], peak = import_archive(
            secantus.uri, archive
        )
        figures["import_again_peak"] = peak
        figures["again_output"] = output.strip().replace(str(archive), "export.jsonl")
        imported = exported_threads(secantus.uri, IMPORTED_DATABASE, files / "again.jsonl")
        figures["exported_threads"] = len(exported)
        figures["same_threads"] = len(set(exported) & set(imported))
    finally:
        secantus.stop()
        postgres.stop()
        shutil.rmtree(files, ignore_errors=True)
    return report_lines(size, first, again, figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(BENCH_SIZES), default="tiny")
    parser.add_argument("--output", type=Path, help="also write the result there (markdown)")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="threads already stored restored at once"
    )
    arguments = parser.parse_args()
    text = "\n".join(asyncio.run(measure_size(arguments.size, arguments.concurrency))) + "\n"
    if arguments.output is not None:
        arguments.output.parent.mkdir(parents=True, exist_ok=True)
        arguments.output.write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
