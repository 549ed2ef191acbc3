"""What OpenTelemetry instrumentation costs per data-layer call: `python -m bench.telemetry_cost`.

Times the client CPU (time.process_time) of two MongoDataLayer calls, one at a time on a
fresh SecantusDB: `build_debug_url` (no command: the wrapper's own cost) and `get_user` (one
`find_one`). Each runs three ways in one process: the method as written (the wrapper
bypassed), instrumented with no provider set (the API's no-op tracer and meter), and
instrumented with the SDK's tracer and meter providers set (spans batched to an exporter
that drops them, metrics aggregated for a reader). Providers can be set once per process, so
the SDK rows come last.
"""

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from chainlit.user import User
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from mongo_layer import MongoDataLayer

from .driver_cost import cpu_ms_per_call
from .servers import SecantusServer


class DroppingExporter(SpanExporter):
    """Takes spans and keeps none: the exporter's own cost is not the layer's."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


async def cpu_us_per_call(call: Callable[[], Awaitable[Any]], calls: int) -> float:
    return 1000 * await cpu_ms_per_call(call, calls)


def set_sdk_providers() -> None:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(DroppingExporter()))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))


class Unwrapped:
    """The methods of a layer class as written, before telemetry wrapped them."""

    def __init__(self, layer_class: type) -> None:
        self.layer_class = layer_class

    def __getattr__(self, name: str) -> Any:
        return getattr(self.layer_class, name).__wrapped__


async def measure_calls(layer: MongoDataLayer, calls: int) -> dict[str, float]:
    unwrapped = Unwrapped(type(layer))
    return {
        "build_debug_url": await cpu_us_per_call(layer.build_debug_url, calls),
        "get_user": await cpu_us_per_call(lambda: layer.get_user("alice"), calls),
        "build_debug_url, wrapper bypassed": await cpu_us_per_call(
            lambda: unwrapped.build_debug_url(layer), calls
        ),
        "get_user, wrapper bypassed": await cpu_us_per_call(
            lambda: unwrapped.get_user(layer, "alice"), calls
        ),
    }


async def measure(calls: int) -> list[tuple[str, dict[str, float]]]:
    server = SecantusServer()
    server.start()
    layer = MongoDataLayer.from_uri(server.uri, "bench_telemetry", mount_file_route=False)
    try:
        await layer.create_user(User(identifier="alice"))
        no_provider = await measure_calls(layer, calls)
        set_sdk_providers()
        sdk = await measure_calls(layer, calls)
        return [("no provider set", no_provider), ("SDK providers set", sdk)]
    finally:
        await layer.close()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.telemetry_cost", description=__doc__)
    parser.add_argument("--calls", type=int, default=5000)
    arguments = parser.parse_args()
    results = asyncio.run(measure(arguments.calls))
    sys.stdout.write(f"client CPU per call (microseconds), {arguments.calls} calls each\n")
    for setting, rows in results:
        for label, cpu_us in rows.items():
            sys.stdout.write(f"  {setting:18s} {label:36s} {cpu_us:8.1f}\n")


if __name__ == "__main__":
    main()
