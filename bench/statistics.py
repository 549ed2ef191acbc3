"""Samples summed up per operation and layer."""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from .measure import Sample


@dataclass(frozen=True)
class Summary:
    operation: str
    group: str
    subject: str
    calls: int
    ops_per_second: float
    p50_ms: float
    p95_ms: float
    mean_round_trips: float
    max_round_trips: int
    max_gridfs_round_trips: int
    mean_wire_round_trips: float
    cpu_ms: float
    kb_received: float
    driver_cpu_ms: float

    @property
    def max_round_trips_without_gridfs(self) -> int:
        return self.max_round_trips - self.max_gridfs_round_trips


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of `values`."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summarize(samples: list[Sample]) -> Summary:
    first = samples[0]
    seconds = [s.seconds for s in samples]
    calls = len(samples)
    return Summary(
        operation=first.operation,
        group=first.group,
        subject=first.subject,
        calls=calls,
        ops_per_second=calls / sum(seconds) if sum(seconds) > 0 else math.inf,
        p50_ms=1000 * percentile(seconds, 0.50),
        p95_ms=1000 * percentile(seconds, 0.95),
        mean_round_trips=sum(s.round_trips for s in samples) / calls,
        max_round_trips=max(s.round_trips for s in samples),
        max_gridfs_round_trips=max(s.gridfs_round_trips for s in samples),
        mean_wire_round_trips=sum(s.wire_round_trips for s in samples) / calls,
        cpu_ms=1000 * sum(s.cpu_seconds for s in samples) / calls,
        kb_received=sum(s.bytes_received for s in samples) / calls / 1024,
        driver_cpu_ms=1000 * sum(s.driver_cpu_seconds for s in samples) / calls,
    )


class Results:
    """Summaries by (operation, layer), in the order operations first ran."""

    def __init__(self, samples: Iterable[Sample], subjects: list[str]) -> None:
        grouped: dict[tuple[str, str], list[Sample]] = defaultdict(list)
        for sample in samples:
            grouped[(sample.operation, sample.subject)].append(sample)
        self.subjects = subjects
        self.summaries = {key: summarize(group) for key, group in grouped.items()}
        self.operations = list(dict.fromkeys(operation for operation, _ in grouped))

    def get(self, operation: str, subject: str) -> Summary | None:
        return self.summaries.get((operation, subject))

    def operations_in(self, group: str) -> list[str]:
        return [
            operation
            for operation in self.operations
            if any(s.group == group for (name, _), s in self.summaries.items() if name == operation)
        ]
