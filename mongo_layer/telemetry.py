"""OpenTelemetry spans and metrics of the layer, through the global providers.

With `opentelemetry-api` installed (the `otel` extra), every `BaseDataLayer` method of the
layer runs in a span `mongo_layer.<method>` and is timed in the histogram
`mongo_layer.operation.duration`; the failover retries and the threads that start
overflowing are counted. Whatever tracer and meter providers the app sets (OTLP, Prometheus,
console) receive them; with none set, the API's no-op providers cost little. Without the
package, `instrument_data_layer` leaves the class as it is and the counters do nothing.

Attributes carry the database name, the method and the thread id, never message text,
metadata or a user identifier.
"""

import functools
import inspect
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

try:
    from opentelemetry import metrics, trace
    from opentelemetry.environment_variables import (
        OTEL_PYTHON_METER_PROVIDER,
        OTEL_PYTHON_TRACER_PROVIDER,
    )
    from opentelemetry.metrics import _internal as metrics_internal
    from opentelemetry.metrics._internal import _ProxyMeterProvider
except ImportError:  # the `otel` extra is not installed: the layer runs uninstrumented
    metrics = trace = None  # type: ignore[assignment]

SCOPE = "mongo_layer"
SPAN_PREFIX = "mongo_layer."
DB_SYSTEM_NAME = "db.system.name"
DB_NAMESPACE = "db.namespace"
THREAD_ID = "mongo_layer.thread_id"
OPERATION = "mongo_layer.operation"
ERROR_TYPE = "error.type"

Layer = TypeVar("Layer", bound=type)

if trace is not None and metrics is not None:
    # Whether the environment names the providers (read once: the API reads it when first
    # asked for a provider).
    PROVIDERS_FROM_ENVIRONMENT = any(
        name in os.environ for name in (OTEL_PYTHON_TRACER_PROVIDER, OTEL_PYTHON_METER_PROVIDER)
    )
    _tracer = trace.get_tracer(SCOPE)
    _meter = metrics.get_meter(SCOPE)
    _duration = _meter.create_histogram(
        "mongo_layer.operation.duration",
        unit="s",
        description="How long a data-layer call took, retries included",
    )
    _retries = _meter.create_counter(
        "mongo_layer.retries",
        unit="{retry}",
        description="Data-layer commands tried again after a network error or no primary",
    )
    _overflowed = _meter.create_counter(
        "mongo_layer.threads.overflowed",
        unit="{thread}",
        description="Threads whose document filled up, so that later steps live in overflow",
    )


def is_available() -> bool:
    """Whether `opentelemetry-api` is installed, so the layer reports spans and metrics."""
    return trace is not None


def providers_set() -> bool:
    """Whether the app has set a tracer or a meter provider. Until it does, the API's proxies
    drop every span and point, and opening a span costs ~10 µs of CPU per call for nothing
    (bench/README.md). Checked on every call: an app may set its providers after the layer
    is created, and the proxies then pass everything on.

    The check reads the API's two globals, one attribute each, rather than calling
    `get_tracer_provider()` and `get_meter_provider()`: while no provider is set, each of
    those looks an environment variable up and catches the KeyError, which cost a step
    write some 35 µs of CPU between the bench's driver calls (40 % of the layer's own
    code). Providers named by those environment variables, which the API loads the first
    time it is asked, still take the API's own way."""
    if trace is None:
        return False
    if PROVIDERS_FROM_ENVIRONMENT:
        return not (
            isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
            and isinstance(metrics.get_meter_provider(), _ProxyMeterProvider)
        )
    return trace._TRACER_PROVIDER is not None or metrics_internal._METER_PROVIDER is not None


def record_retry(operation: str) -> None:
    """Count one retry of the data-layer call `operation` (e.g. "create_step")."""
    if trace is not None:
        _retries.add(1, {OPERATION: operation})


def record_thread_overflowed() -> None:
    """Count one thread that starts overflowing: its document is full."""
    if trace is not None:
        _overflowed.add(1)


# The argument of a BaseDataLayer method that names a thread, and how to read the id from it.
THREAD_ARGUMENTS: dict[str, Callable[[Any], Any]] = {
    "thread_id": lambda value: value,
    "step_dict": lambda step: step.get("threadId") if isinstance(step, Mapping) else None,
    "element": lambda element: getattr(element, "thread_id", None),
    "feedback": lambda feedback: getattr(feedback, "threadId", None),
}


def thread_id_reader(
    method: Callable[..., Any],
) -> Callable[[tuple[Any, ...], dict[str, Any]], str | None]:
    """A function giving, from a call's arguments (`self` left out), the thread the call
    names, or None. Only a string is reported: anything else was not an id."""
    parameters = list(inspect.signature(method).parameters)[1:]
    named = [name for name in parameters if name in THREAD_ARGUMENTS]
    if not named:
        return lambda args, kwargs: None
    name = named[0]
    position, read = parameters.index(name), THREAD_ARGUMENTS[name]

    def thread_id(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        value = args[position] if position < len(args) else kwargs.get(name)
        found = None if value is None else read(value)
        return found if isinstance(found, str) else None

    return thread_id


def qualified_name(error_class: type) -> str:
    """`module.Class` of an exception class (just `Class` for a builtin one)."""
    if error_class.__module__ == "builtins":
        return error_class.__qualname__
    return f"{error_class.__module__}.{error_class.__qualname__}"


def record_failure(span: Any, error_type: str) -> None:
    """Mark the span failed with the exception's type only: an exception's message can name
    a user, a host or a value the app stored, and none of those may leave in telemetry."""
    span.set_status(trace.Status(trace.StatusCode.ERROR, error_type))
    span.add_event("exception", {"exception.type": error_type})


def traced(
    method: Callable[..., Awaitable[Any]], database_name: Callable[[Any], str]
) -> Callable[..., Awaitable[Any]]:
    """`method` of a data layer run in a span of its name, and timed. `database_name(self)`
    gives the database the layer uses."""
    name = method.__name__
    span_name = SPAN_PREFIX + name
    thread_id_of = thread_id_reader(method)
    operation = {OPERATION: name}

    @functools.wraps(method)
    async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not providers_set():
            return await method(self, *args, **kwargs)
        attributes: dict[str, str] = {
            DB_SYSTEM_NAME: "mongodb",
            DB_NAMESPACE: database_name(self),
        }
        thread_id = thread_id_of(args, kwargs)
        if thread_id is not None:
            attributes[THREAD_ID] = thread_id
        started = time.perf_counter()
        with _tracer.start_as_current_span(
            span_name,
            kind=trace.SpanKind.INTERNAL,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                result = await method(self, *args, **kwargs)
            except Exception as error:
                error_type = qualified_name(type(error))
                record_failure(span, error_type)
                _duration.record(
                    time.perf_counter() - started, {**operation, ERROR_TYPE: error_type}
                )
                raise
        _duration.record(time.perf_counter() - started, operation)
        return result

    return call


def instrument_data_layer(
    layer_class: Layer, interface: type, database_name: Callable[[Any], str]
) -> Layer:
    """Wrap every method of `interface` (Chainlit's BaseDataLayer) that `layer_class` has in
    `traced`, once, on the class; without OpenTelemetry the class is returned unchanged."""
    if trace is None:
        return layer_class
    for name, member in vars(interface).items():
        if name.startswith("_") or not inspect.iscoroutinefunction(member):
            continue
        setattr(layer_class, name, traced(getattr(layer_class, name), database_name))
    return layer_class
