"""Measuring one call of one layer: latency, client CPU, round trips, bytes received."""

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from .subjects import Subject

WORKLOAD = "workload"
SCALING = "scaling"


@dataclass(frozen=True)
class Sample:
    operation: str
    group: str
    subject: str
    seconds: float
    cpu_seconds: float
    round_trips: int
    wire_round_trips: int
    gridfs_round_trips: int
    bytes_received: int
    driver_cpu_seconds: float


Measure = Callable[..., AbstractAsyncContextManager[None]]


class Recorder:
    def __init__(self) -> None:
        self.samples: list[Sample] = []

    def measure_for(self, subject: Subject) -> Measure:
        """`async with measure("get_thread"):` records what the block cost `subject`."""

        @asynccontextmanager
        async def measure(operation: str, group: str = WORKLOAD) -> AsyncIterator[None]:
            before = subject.read_meter()
            cpu, wall = time.process_time(), time.perf_counter()
            yield
            seconds = time.perf_counter() - wall
            cpu_seconds = time.process_time() - cpu
            cost = subject.read_meter() - before
            self.samples.append(
                Sample(
                    operation,
                    group,
                    subject.name,
                    seconds - cost.overhead_seconds,
                    cpu_seconds - cost.overhead_cpu,
                    cost.round_trips,
                    cost.wire_round_trips,
                    cost.gridfs_round_trips,
                    cost.bytes_received,
                    cost.driver_cpu,
                )
            )

        return measure
