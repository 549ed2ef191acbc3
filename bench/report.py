"""The results as markdown: every operation per layer, the targets, the scaling probes."""

from collections.abc import Iterable
from dataclasses import dataclass

from .measure import SCALING, WORKLOAD
from .statistics import Results, Summary

# DESIGN.md's round-trip budget; for these two GridFS commands come on top.
ROUND_TRIP_BUDGET = {
    "get_user": 1,
    "create_user": 1,
    "update_thread": 1,
    "get_thread_author": 1,
    "create_step": 1,
    "update_step": 1,
    "set_step_favorite": 1,
    "upsert_feedback": 1,
    "delete_thread": 3,
    "get_thread": 2,
    "list_threads": 2,
    "list_threads next page": 2,
    "list_threads search": 2,
    "list_threads feedback filter": 2,
    "create_element": 1,
}
PLUS_GRIDFS = {"delete_thread", "create_element"}
OPEN_THREAD = "open past thread"
OPEN_THREAD_BUDGET = 5
CPU_TARGET_RATIO = 0.5
# "Flat" and "linear" allow for noise: bytes within 10 %, times within 50 %.
BYTES_TOLERANCE = 1.10
TIME_TOLERANCE = 1.50


@dataclass(frozen=True)
class Layers:
    mongo: list[str]
    baseline: str

    @property
    def all(self) -> list[str]:
        return [*self.mongo, self.baseline]


def table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def number(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def round_trips_text(summary: Summary) -> str:
    mean = summary.mean_round_trips
    text = str(int(mean)) if mean == int(mean) else f"{mean:.2f}"
    if summary.max_round_trips != mean:
        text += f" (max {summary.max_round_trips})"
    return text


def operations_table(results: Results, layers: Layers, group: str) -> list[str]:
    header = ["operation", "layer", "calls", "ops/s", "p50 ms", "p95 ms", "round trips"]
    header += ["wire RT", "CPU ms/op", "KB recv/op"]
    rows = []
    for operation in results.operations_in(group):
        for layer in layers.all:
            summary = results.get(operation, layer)
            if summary is None:
                continue
            rows.append(
                [
                    operation,
                    layer,
                    str(summary.calls),
                    number(summary.ops_per_second, 0),
                    number(summary.p50_ms),
                    number(summary.p95_ms),
                    round_trips_text(summary),
                    number(summary.mean_wire_round_trips, 1),
                    number(summary.cpu_ms, 3),
                    number(summary.kb_received, 2),
                ]
            )
    return table(header, rows)


def round_trip_targets(results: Results, layers: Layers) -> list[str]:
    header = ["operation", "budget", *[f"{layer} max" for layer in layers.all], "verdict"]
    rows = []
    for operation in [*results.operations_in(WORKLOAD)]:
        budget = (
            OPEN_THREAD_BUDGET if operation == OPEN_THREAD else ROUND_TRIP_BUDGET.get(operation)
        )
        if budget is None:
            continue
        cells, ok = [], True
        for layer in layers.all:
            summary = results.get(operation, layer)
            if summary is None:
                cells.append("-")
                continue
            cells.append(max_round_trips_text(summary, operation))
            if layer in layers.mongo:
                spent = summary.max_round_trips
                if operation in PLUS_GRIDFS:
                    spent = summary.max_round_trips_without_gridfs
                ok = ok and spent <= budget
        budget_text = f"{budget} + GridFS" if operation in PLUS_GRIDFS else str(budget)
        rows.append([operation, budget_text, *cells, verdict(ok)])
    return table(header, rows)


def max_round_trips_text(summary: Summary, operation: str) -> str:
    if operation in PLUS_GRIDFS and summary.max_gridfs_round_trips:
        return f"{summary.max_round_trips_without_gridfs} + {summary.max_gridfs_round_trips}"
    return str(summary.max_round_trips)


def cpu_targets(results: Results, layers: Layers) -> list[str]:
    header = ["operation", *[f"{layer} CPU ms" for layer in layers.all]]
    header += [f"{layer} / {layers.baseline}" for layer in layers.mongo] + ["verdict"]
    rows = []
    for operation in results.operations_in(WORKLOAD):
        summaries = [results.get(operation, layer) for layer in layers.all]
        if any(s is None for s in summaries):
            continue
        cpu = [s.cpu_ms for s in summaries if s is not None]
        baseline = cpu[-1]
        ratios = [c / baseline if baseline else float("inf") for c in cpu[:-1]]
        ok = all(ratio <= CPU_TARGET_RATIO for ratio in ratios)
        rows.append(
            [
                operation,
                *[number(c, 3) for c in cpu],
                *[number(r, 2) for r in ratios],
                verdict(ok),
            ]
        )
    return table(header, rows)


# Issue 16: a step write's client CPU at most ChainlitDataLayer's.
STEP_WRITES = ("create_step", "update_step", "set_step_favorite")


def step_write_cpu(results: Results, layers: Layers) -> list[str]:
    """Step writes' client CPU against the baseline's, split where the meter can (PyMongo):
    the one `update_one` the layer sends, and the layer's own code around it."""
    header = [
        "operation",
        "layer",
        "CPU ms",
        "in `update_one`",
        "the layer's own",
        f"{layers.baseline} CPU ms",
        f"layer / {layers.baseline}",
        f"`update_one` alone / {layers.baseline}",
        "verdict",
    ]
    rows = []
    for operation in STEP_WRITES:
        baseline = results.get(operation, layers.baseline)
        for layer in layers.mongo:
            summary = results.get(operation, layer)
            if baseline is None or summary is None or not baseline.cpu_ms:
                continue
            split = summary.driver_cpu_ms > 0
            rows.append(
                [
                    operation,
                    layer,
                    number(summary.cpu_ms, 3),
                    number(summary.driver_cpu_ms, 3) if split else "-",
                    number(summary.cpu_ms - summary.driver_cpu_ms, 3) if split else "-",
                    number(baseline.cpu_ms, 3),
                    number(summary.cpu_ms / baseline.cpu_ms),
                    number(summary.driver_cpu_ms / baseline.cpu_ms) if split else "-",
                    verdict(summary.cpu_ms <= baseline.cpu_ms),
                ]
            )
    return table(header, rows)


def scaling_pairs(results: Results, prefix: str) -> list[str]:
    return [name for name in results.operations_in(SCALING) if name.startswith(prefix)]


def flat_page_targets(results: Results, layers: Layers) -> list[str]:
    """The same page of 20 threads, of short threads then of long ones."""
    header = ["probe", "layer", "KB short -> long", "p50 ms short -> long", "verdict"]
    rows = []
    for prefix in ("list_threads [", "list_threads search, no match ["):
        probes = scaling_pairs(results, prefix)
        if len(probes) != 2:
            continue
        short, long = probes
        for layer in layers.all:
            a, b = results.get(short, layer), results.get(long, layer)
            if a is None or b is None:
                continue
            ok = (
                b.kb_received <= a.kb_received * BYTES_TOLERANCE
                and b.p50_ms <= a.p50_ms * TIME_TOLERANCE
            )
            rows.append(
                [
                    f"{prefix[:-2]}: {short[len(prefix) : -1]} -> {long[len(prefix) : -1]}",
                    layer,
                    f"{number(a.kb_received)} -> {number(b.kb_received)}",
                    f"{number(a.p50_ms)} -> {number(b.p50_ms)}",
                    verdict(ok),
                ]
            )
    return table(header, rows)


def linear_thread_targets(results: Results, layers: Layers) -> list[str]:
    """get_thread of equal threads whatever else the user has; per step, short or long."""
    probes = scaling_pairs(results, "get_thread [")
    if len(probes) != 4:
        return []
    lone, crowded, long, huge = probes
    header = ["check", "layer", "first", "second", "verdict"]
    rows = []
    for layer in layers.all:
        a, b = results.get(lone, layer), results.get(crowded, layer)
        if a is not None and b is not None:
            ok = b.p50_ms <= a.p50_ms * TIME_TOLERANCE and b.kb_received <= a.kb_received * 1.1
            rows.append(
                [
                    "same thread length, user with 2 vs many threads: p50 ms, KB",
                    layer,
                    f"{number(a.p50_ms)} ms, {number(a.kb_received)} KB",
                    f"{number(b.p50_ms)} ms, {number(b.kb_received)} KB",
                    verdict(ok),
                ]
            )
        c, d = results.get(long, layer), results.get(huge, layer)
        if c is not None and d is not None:
            steps_c, steps_d = steps_in(long), steps_in(huge)
            per_step_c = c.p50_ms / steps_c
            per_step_d = d.p50_ms / steps_d
            ok = per_step_d <= per_step_c * TIME_TOLERANCE
            rows.append(
                [
                    f"p50 ms per step, {steps_c} vs {steps_d} steps",
                    layer,
                    number(per_step_c, 4),
                    number(per_step_d, 4),
                    verdict(ok),
                ]
            )
    return table(header, rows)


def steps_in(probe: str) -> int:
    return int(probe.split("[", 1)[1].split(" ", 1)[0])


def markdown(results: Results, layers: Layers, heading: list[str]) -> str:
    lines = [*heading, "", "## Every operation", ""]
    lines += operations_table(results, layers, WORKLOAD)
    lines += ["", "## Scaling probes", ""]
    lines += operations_table(results, layers, SCALING)
    lines += ["", "## Targets", "", "### Round trips per call (DESIGN.md budget)", ""]
    lines += round_trip_targets(results, layers)
    lines += ["", f"### Client CPU per call: MongoDataLayer <= {CPU_TARGET_RATIO} x baseline", ""]
    lines += cpu_targets(results, layers)
    lines += ["", f"### Step writes: client CPU at most {layers.baseline}'s", ""]
    lines += step_write_cpu(results, layers)
    lines += ["", "### A list_threads page stays flat as threads grow longer", ""]
    lines += flat_page_targets(results, layers)
    lines += ["", "### get_thread is linear in its own steps only", ""]
    lines += linear_thread_targets(results, layers)
    return "\n".join(lines) + "\n"
