"""Run the benchmark: `.venv/bin/python -m bench.run --size small`.

Starts a fresh SecantusDB and the bench's PostgreSQL, plays the workload on the three layers
one operation at a time (each operation on every layer before the next, the order rotating),
then writes the results as markdown and prints them.
"""

import argparse
import asyncio
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from chainlit.data.chainlit_data_layer import ChainlitDataLayer

from mongo_layer import MongoDataLayer

from .measure import Recorder
from .report import Layers, markdown
from .servers import BENCH, DATA, PostgresServer, SecantusServer
from .statistics import Results
from .subjects import Subject, enter_http_context, mongo_subject, postgres_subject
from .workload import SIZES, Workload

MOTOR = "mongo-motor"
PYMONGO = "mongo-pymongo"
POSTGRES = "chainlit-pg"
LAYERS = Layers(mongo=[MOTOR, PYMONGO], baseline=POSTGRES)


def say(message: str) -> None:
    sys.stderr.write(message + "\n")


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--size", choices=list(SIZES), default="small")
    parser.add_argument(
        "--output",
        type=Path,
        default=BENCH / "results" / "latest.md",
        help="where the markdown results go (default: bench/results/latest.md)",
    )
    return parser.parse_args(argv)


async def open_subjects(mongo_uri: str, postgres_dsn: str, files: Path) -> list[Subject]:
    return [
        await mongo_subject(MOTOR, "motor", mongo_uri, "bench_motor"),
        await mongo_subject(PYMONGO, "pymongo", mongo_uri, "bench_pymongo"),
        await postgres_subject(POSTGRES, postgres_dsn, files),
    ]


async def play(workload: Workload, subjects: list[Subject], recorder: Recorder) -> None:
    measures = [recorder.measure_for(subject) for subject in subjects]
    operations = list(workload.operations())
    report_every = max(1, len(operations) // 10)
    started = time.monotonic()
    for index, operation in enumerate(operations):
        for offset in range(len(subjects)):
            turn = (index + offset) % len(subjects)
            await operation(subjects[turn], measures[turn])
        if (index + 1) % report_every == 0:
            elapsed = time.monotonic() - started
            say(f"  {index + 1}/{len(operations)} operations, {elapsed:.0f} s")


def step_write_paths(subjects: list[Subject]) -> str:
    """How many step writes each MongoDataLayer sent as one command of update operators
    ("appended", "updated"), and how many needed the merge pipeline after it ("..., then
    merged") or went to overflow documents."""
    counts = []
    for subject in subjects:
        if isinstance(subject.layer, MongoDataLayer):
            paths = sorted(subject.layer.stores.steps.write_paths.items())
            counts.append(f"{subject.name}: " + ", ".join(f"{p} {n}" for p, n in paths))
    return "; ".join(counts)


async def postgres_version(subject: Subject) -> str:
    layer = subject.layer
    assert isinstance(layer, ChainlitDataLayer) and layer.pool is not None
    version: str = await layer.pool.fetchval("SHOW server_version")
    return version


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0))
    return f"{platform.system()} {platform.machine()}, {cores} cores, {model}"


def revision() -> str:
    """The commit measured; `-dirty` when tracked files had uncommitted changes (untracked
    files do not count)."""
    result = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=BENCH, capture_output=True, text=True
    )
    return result.stdout.strip() or "unknown"


def versions(postgres: str) -> str:
    packages = ["chainlit", "motor", "pymongo", "asyncpg", "secantusdb"]
    found = [f"{name} {importlib.metadata.version(name)}" for name in packages]
    return ", ".join([*found, f"PostgreSQL {postgres}", f"Python {platform.python_version()}"])


async def run(size_name: str) -> tuple[str, float]:
    # Read before the run: the code measured is the code imported now, and a tree that
    # someone edits during a long run would otherwise be reported as the wrong revision.
    measured_revision = revision()
    load_before = os.getloadavg()[0]
    workload = Workload(SIZES[size_name])
    secantus, postgres = SecantusServer(), PostgresServer()
    DATA.mkdir(parents=True, exist_ok=True)
    files = Path(tempfile.mkdtemp(prefix="files-", dir=DATA))
    say("starting SecantusDB and PostgreSQL")
    secantus.start()
    subjects: list[Subject] = []
    try:
        postgres.start()
        enter_http_context()
        subjects = await open_subjects(secantus.uri, postgres.dsn, files)
        server_version = await postgres_version(subjects[-1])
        recorder = Recorder()
        say(f"playing the {size_name} workload")
        started = time.monotonic()
        await play(workload, subjects, recorder)
        elapsed = time.monotonic() - started
        load_after = os.getloadavg()[0]
        paths = step_write_paths(subjects)
    finally:
        for subject in subjects:
            await subject.close()
        secantus.stop()
        postgres.stop()
        shutil.rmtree(files, ignore_errors=True)
    heading = [
        f"# mongo-layer benchmark: size `{size_name}`",
        "",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; workload took {elapsed:.0f} s",
        f"- machine: {machine()}; load average (1 min) {load_before:.1f} before the run,"
        f" {load_after:.1f} after (other processes on the machine move the latencies)",
        f"- mongo-layer revision: {measured_revision}",
        f"- versions: {versions(server_version)}",
        f"- layers: `{MOTOR}` and `{PYMONGO}` are MongoDataLayer on motor and on PyMongo's"
        f" AsyncMongoClient, both on one fresh SecantusDB; `{POSTGRES}` is Chainlit's"
        " ChainlitDataLayer on a local PostgreSQL with a local-folder storage client.",
        "- figures are per call; see bench/README.md for what each one measures.",
        f"- step writes by the way they took (MongoDataLayer.steps.write_paths): {paths}",
    ]
    return markdown(Results(recorder.samples, LAYERS.all), LAYERS, heading), elapsed


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    text, _ = asyncio.run(run(arguments.size))
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(text)
    sys.stdout.write(text)
    say(f"written to {arguments.output}")


if __name__ == "__main__":
    main()
