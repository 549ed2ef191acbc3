"""How fast `mongo-layer migrate` moves a ChainlitDataLayer database, and its peak memory.

    .venv/bin/python -m bench.migration --size medium

Fills the bench's PostgreSQL through Chainlit's own ChainlitDataLayer with the conversations
of the bench workload (every user, thread, step, rating and file of that size), starts a
fresh SecantusDB, then runs the command as a separate process, twice: the migration, and a
second run with `--verify`, which finds everything already there and compares every
thread. Rows per second count the rows of the source (users, threads, steps, elements,
rated steps); peak memory is the command process's maximum resident set size.
"""

import argparse
import asyncio
import json
import os
import resource
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
from .workload import SIZES, Workload, first_login

DATABASE = "bench_migration"


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


def migrate(mongo_uri: str, dsn: str, files: Path, *options: str) -> tuple[dict[str, Any], float]:
    """One run of the command in its own process: its JSON report and wall time."""
    command = [
        sys.executable, "-m", "mongo_layer", "--uri", mongo_uri, "--database", DATABASE,
        "migrate", "--from", dsn, "--files-root", str(files), "--json", *options,
    ]  # fmt: skip
    started = time.perf_counter()
    finished = subprocess.run(command, check=False, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise RuntimeError(f"migrate failed ({finished.returncode}): {finished.stderr.strip()}")
    report: dict[str, Any] = json.loads(finished.stdout)
    return report, seconds


def peak_child_megabytes() -> float:
    """The largest resident set of any child process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def import_only_megabytes() -> float:
    """The resident set of a process that only imports the command and its migration."""
    subprocess.run(
        [sys.executable, "-c", "import mongo_layer.cli, mongo_layer.migrate.postgres"], check=True
    )
    return peak_child_megabytes()


def report_lines(
    size: str, first: dict[str, Any], again: dict[str, Any], figures: dict[str, float]
) -> list[str]:
    found = first["found"]
    rows = sum(found.values())
    return [
        f"# mongo-layer migrate: the bench's `{size}` data set from ChainlitDataLayer",
        "",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {machine()};"
        f" load average (1 min) {figures['load']:.1f} before the migration",
        f"- mongo-layer revision: {revision()}; first run with `--concurrency"
        f" {figures['concurrency']:.0f}`",
        f"- source rows: {rows} ({', '.join(f'{n} {table}' for table, n in found.items())});"
        f" files copied into GridFS: {first['files_copied']}; broken rows: {len(first['broken'])}",
        "",
        "| run | migration time | rows/s | process wall time |",
        "|---|---|---|---|",
        f"| first run | {first['seconds']:.1f} s | {rows / first['seconds']:.0f} |"
        f" {figures['first']:.1f} s |",
        f"| second run, with --verify | {again['seconds']:.1f} s |"
        f" {rows / again['seconds']:.0f} | {figures['again']:.1f} s |",
        "",
        f"- second run: {again['threads_unchanged']} of {found['threads']} threads found"
        f" already there unchanged; verify compared {again['verified_threads']} threads,"
        f" {len(again['differences'])} differences",
        f"- peak memory of the command: {figures['peak']:.0f} MB resident"
        f" (a process that only imports it: {figures['baseline']:.0f} MB)",
        "- migration time is the command's own (its report's `seconds`); the process wall"
        " time adds starting Python and importing Chainlit.",
    ]


async def measure_size(size: str, concurrency: int) -> list[str]:
    workload = Workload(SIZES[size])
    secantus, postgres = SecantusServer(), PostgresServer()
    DATA.mkdir(parents=True, exist_ok=True)
    files = Path(tempfile.mkdtemp(prefix="migration-files-", dir=DATA))
    secantus.start()
    try:
        postgres.start()
        say(f"filling PostgreSQL with the {size} workload through ChainlitDataLayer")
        await fill(postgres.dsn, files, workload)
        baseline = import_only_megabytes()
        load = os.getloadavg()[0]
        say("migrating")
        first, first_seconds = migrate(
            secantus.uri, postgres.dsn, files, "--concurrency", str(concurrency)
        )
        peak = peak_child_megabytes()
        say("migrating again, with --verify")
        again, again_seconds = migrate(secantus.uri, postgres.dsn, files, "--verify")
    finally:
        secantus.stop()
        postgres.stop()
        shutil.rmtree(files, ignore_errors=True)
    figures = {
        "first": first_seconds,
        "again": again_seconds,
        "peak": peak,
        "baseline": baseline,
        "load": load,
        "concurrency": concurrency,
    }
    return report_lines(size, first, again, figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--output", type=Path, help="also write the result there (markdown)")
    parser.add_argument("--concurrency", type=int, default=4, help="threads written at once")
    arguments = parser.parse_args()
    text = "\n".join(asyncio.run(measure_size(arguments.size, arguments.concurrency))) + "\n"
    if arguments.output is not None:
        arguments.output.parent.mkdir(parents=True, exist_ok=True)
        arguments.output.write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
