"""`mongo-layer import` holds a bounded amount of memory whatever the archive holds: an
element file goes to GridFS chunk by chunk, and a line past the record bound is refused
having read no more than the bound. Measured as the peak resident memory of the real
command's process (Linux's VmHWM), above that of importing an empty archive."""

import asyncio
import base64
import os
import sys
from pathlib import Path

from conftest import MongoServer

from mongo_layer.cli.runtime import ExitCode

from .archives import HEADER, line_of

MB = 1024 * 1024
FILE_BYTES = 80 * MB
GRIDFS_CHUNK = 255 * 1024

# Runs the command, then reports its peak resident memory in KiB on stderr's last line:
# VmHWM, the high-water mark of this program's memory alone (ru_maxrss would include the
# memory of the test process it was forked from).
MEASURED_COMMAND = """
import re, runpy, sys
sys.argv = ["mongo-layer", *sys.argv[1:]]
try:
    runpy.run_module("mongo_layer", run_name="__main__")
finally:
    status = open("/proc/self/status").read()
    print(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1), file=sys.stderr)
"""


def write_archive(path: Path, *records: dict[str, object]) -> Path:
    with path.open("wb") as out:
        for record in (HEADER, *records):
            out.write(line_of(record))
    return path


def archive_with_a_file(path: Path, size: int) -> Path:
    """A thread whose one element file of `size` bytes comes in GridFS-sized chunks."""
    chunks: list[dict[str, object]] = [
        {"record": "chunk", "data": base64.b64encode(os.urandom(GRIDFS_CHUNK)).decode()}
        for _ in range(size // GRIDFS_CHUNK)
    ]
    length = GRIDFS_CHUNK * len(chunks)
    element = {"id": "big-file", "type": "file", "name": "big.bin", "mime": "x/y", "url": "/x"}
    return write_archive(
        path,
        {
            "record": "file",
            "threadId": "big",
            "elementId": "big-file",
            "name": "big.bin",
            "mime": "x/y",
            "length": length,
        },
        *chunks,
        {"record": "thread", "thread": {"id": "big", "elements": [element]}},
        {"record": "end", "users": 0, "threads": 1, "files": 1},
    )


async def peak_rss_of_import(
    mongo_server: MongoServer, driver: str, database: str, *args: str
) -> tuple[int, int, str]:
    """The exit status, peak resident memory in bytes and stderr of `mongo-layer import`."""
    connection = ["--uri", mongo_server.uri, "--database", database, "--driver", driver]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-c", MEASURED_COMMAND, *connection, "import", *args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    assert process.returncode is not None
    *lines, peak_kib = stderr.decode().strip().splitlines()
    return process.returncode, int(peak_kib) * 1024, "\n".join(lines)


async def test_a_large_file_and_an_overlong_line_cost_the_import_little_memory(
    mongo_server: MongoServer, driver: str, database_name: str, tmp_path: Path
) -> None:
    small = write_archive(
        tmp_path / "small.jsonl", {"record": "end", "users": 0, "threads": 0, "files": 0}
    )
    large_file = archive_with_a_file(tmp_path / "file.jsonl", FILE_BYTES)
    long_line = write_archive(
        tmp_path / "line.jsonl",
        {"record": "thread", "thread": {"id": "t", "name": "x" * FILE_BYTES}},
    )

    _, baseline, _ = await peak_rss_of_import(mongo_server, driver, database_name, str(small))
    stored, with_file, _ = await peak_rss_of_import(
        mongo_server, driver, database_name, str(large_file)
    )
    refused, with_line, reason = await peak_rss_of_import(
        mongo_server, driver, database_name, str(long_line), "--max-record-mib", "4"
    )

    assert stored == ExitCode.OK
    assert with_file - baseline < FILE_BYTES / 2, f"{(with_file - baseline) / MB:.0f} MB more"
    assert refused == ExitCode.FAILURE and "line 2 of the archive is longer" in reason
    assert with_line - baseline < FILE_BYTES / 4, f"{(with_line - baseline) / MB:.0f} MB more"
