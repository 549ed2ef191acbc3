"""Where MongoDataLayer's client CPU goes: `python -m bench.profile --operation create_step`.

Plays the workload on MongoDataLayer alone (one driver, a fresh SecantusDB) with cProfile on
during the chosen operations only, then prints each operation's time split by package
(mongo_layer, pymongo, motor, bson, asyncio, ...) and its most expensive functions.
Times are CPU time (time.process_time). cProfile slows pure-Python code more than C code:
read the split as proportions.
"""

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .servers import SecantusServer
from .subjects import enter_http_context, mongo_subject
from .workload import SIZES, Workload

PACKAGES = ("mongo_layer", "motor", "pymongo", "gridfs", "bson", "chainlit", "pydantic", "asyncio")


def package_of(filename: str) -> str:
    for package in PACKAGES:
        if f"/{package}/" in filename:
            return package
    return "builtins/other" if filename.startswith("~") or "<" in filename else "other"


def split_by_package(stats: pstats.Stats) -> dict[str, float]:
    seconds: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, own_time, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        seconds[package_of(filename)] += own_time
    return dict(seconds)


class OperationProfiles:
    def __init__(self, operations: list[str]) -> None:
        self.profiles = {operation: cProfile.Profile(time.process_time) for operation in operations}
        self.calls: dict[str, int] = defaultdict(int)

    @asynccontextmanager
    async def measure(self, operation: str, group: str = "") -> AsyncIterator[None]:
        profile = self.profiles.get(operation)
        if profile is None:
            yield
            return
        self.calls[operation] += 1
        profile.enable()
        try:
            yield
        finally:
            profile.disable()

    def report(self, top: int) -> str:
        out = io.StringIO()
        for operation, profile in self.profiles.items():
            calls = self.calls[operation]
            if not calls:
                print(f"## {operation}: not played at this size\n", file=out)
                continue
            stats = pstats.Stats(profile)
            split = split_by_package(stats)
            total = sum(split.values())
            print(f"## {operation}: {calls} calls, {1000 * total / calls:.3f} ms/call", file=out)
            for package, seconds in sorted(split.items(), key=lambda item: -item[1]):
                share = 100 * seconds / total if total else 0.0
                print(
                    f"   {package:16s} {1000 * seconds / calls:8.3f} ms  {share:5.1f} %", file=out
                )
            stats.stream = out  # type: ignore[attr-defined]
            stats.sort_stats("tottime").print_stats(top)
        return out.getvalue()


async def profile(size: str, driver: str, operations: list[str], top: int) -> str:
    server = SecantusServer()
    server.start()
    try:
        enter_http_context()
        subject = await mongo_subject(f"mongo-{driver}", driver, server.uri, "bench_profile")
        profiles = OperationProfiles(operations)
        try:
            for operation in Workload(SIZES[size]).operations():
                await operation(subject, profiles.measure)
        finally:
            await subject.close()
    finally:
        server.stop()
    return profiles.report(top)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--size", choices=list(SIZES), default="tiny")
    parser.add_argument("--driver", choices=["motor", "pymongo"], default="pymongo")
    parser.add_argument("--operation", action="append", required=True)
    parser.add_argument("--top", type=int, default=15)
    arguments = parser.parse_args()
    text = asyncio.run(
        profile(arguments.size, arguments.driver, arguments.operation, arguments.top)
    )
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
