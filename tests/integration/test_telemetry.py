"""OpenTelemetry: a span and a duration for every data-layer call, counters of retries and
of threads that start overflowing, all through the global providers; and a layer that runs
the same without the package."""

import inspect
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from chainlit.data.base import BaseDataLayer
from chainlit.element import File
from chainlit.types import Feedback, Pagination, ThreadFilter
from chainlit.user import User
from conftest import MongoServer
from opentelemetry.trace import SpanKind, StatusCode

from mongo_layer import MongoDataLayer, StepNotFoundError
from mongo_layer.telemetry import record_retry

from .conftest import Telemetry
from .factories import step

IDENTIFIER = "alice@example.com"
SECRET_TEXT = "my card number is 4111"
SECRET_METADATA = "kept-in-metadata"
BASE_DATA_LAYER_METHODS = sorted(
    name
    for name, member in vars(BaseDataLayer).items()
    if not name.startswith("_") and inspect.iscoroutinefunction(member)
)


async def call_every_method(layer: MongoDataLayer) -> None:
    """Every BaseDataLayer method once, on a thread `t1` of alice's."""
    alice = await layer.create_user(User(identifier=IDENTIFIER))
    assert alice is not None
    await layer.get_user(IDENTIFIER)
    await layer.update_thread("t1", name="chat", user_id=alice.id, metadata={"m": SECRET_METADATA})
    await layer.create_step(step("s1", "t1", output=SECRET_TEXT))
    await layer.update_step(step("s1", "t1", output=SECRET_TEXT + "!"))
    await layer.set_step_favorite(step("s1", "t1"), True)
    await layer.get_favorite_steps(alice.id)
    feedback_id = await layer.upsert_feedback(Feedback(forId="s1", value=1, comment=SECRET_TEXT))
    await layer.delete_feedback(feedback_id)
    await layer.create_element(File(id="e1", thread_id="t1", content=b"x", name="a.txt"))
    await layer.get_element("t1", "e1")
    await layer.delete_element("e1", "t1")
    await layer.get_thread("t1")
    await layer.get_thread_author("t1")
    await layer.list_threads(Pagination(first=5), ThreadFilter(userId=alice.id))
    await layer.build_debug_url()
    await layer.delete_step("s1")
    await layer.delete_thread("t1")
    await layer.close()


def attribute_texts(telemetry: Telemetry) -> list[str]:
    """Every attribute value, event attribute and status text the spans carry."""
    texts: list[str] = []
    for span in telemetry.finished_spans():
        texts += [str(value) for value in (span.attributes or {}).values()]
        texts.append(str(span.status.description))
        for event in span.events:
            texts += [str(value) for value in (event.attributes or {}).values()]
    return texts


async def test_every_data_layer_call_is_a_span_named_for_its_method(
    layer: MongoDataLayer, database_name: str, telemetry: Telemetry
) -> None:
    await call_every_method(layer)

    spans = telemetry.finished_spans()
    assert sorted({span.name for span in spans}) == [
        f"mongo_layer.{name}" for name in BASE_DATA_LAYER_METHODS
    ]
    for span in spans:
        assert span.kind is SpanKind.INTERNAL
        assert span.status.status_code is StatusCode.UNSET
        assert span.attributes is not None
        assert span.attributes["db.system.name"] == "mongodb"
        assert span.attributes["db.namespace"] == database_name


async def test_a_span_names_the_thread_its_call_names(
    layer: MongoDataLayer, telemetry: Telemetry
) -> None:
    await call_every_method(layer)

    thread_of_span = {
        span.name: (span.attributes or {}).get("mongo_layer.thread_id")
        for span in telemetry.finished_spans()
    }
    naming_a_thread = [
        "update_thread",
        "create_step",
        "update_step",
        "set_step_favorite",
        "create_element",
        "get_element",
        "delete_element",
        "get_thread",
        "get_thread_author",
        "delete_thread",
    ]
    assert {
        name: thread_of_span[f"mongo_layer.{name}"] for name in naming_a_thread
    } == dict.fromkeys(naming_a_thread, "t1")
    assert thread_of_span["mongo_layer.get_user"] is None
    assert thread_of_span["mongo_layer.list_threads"] is None


async def test_no_span_carries_message_text_metadata_or_a_user_identifier(
    layer: MongoDataLayer, telemetry: Telemetry
) -> None:
    await call_every_method(layer)

    texts = attribute_texts(telemetry)
    assert texts
    for secret in (IDENTIFIER, SECRET_TEXT, SECRET_METADATA):
        assert not [text for text in texts if secret in text], secret


async def test_a_failed_call_is_an_error_span_with_the_exception_type_and_no_message(
    layer: MongoDataLayer, telemetry: Telemetry
) -> None:
    with pytest.raises(StepNotFoundError) as raised:
        await layer.upsert_feedback(Feedback(forId="no-such-step", value=0, comment=SECRET_TEXT))

    [span] = telemetry.finished_spans()
    assert span.name == "mongo_layer.upsert_feedback"
    assert span.status.status_code is StatusCode.ERROR
    error_type = "mongo_layer.errors.StepNotFoundError"
    assert [(event.name, dict(event.attributes or {})) for event in span.events] == [
        ("exception", {"exception.type": error_type})
    ]
    assert not [text for text in attribute_texts(telemetry) if "no-such-step" in text]
    assert "no-such-step" in str(raised.value)
    [point] = telemetry.points("mongo_layer.operation.duration")
    assert dict(point.attributes) == {
        "mongo_layer.operation": "upsert_feedback",
        "error.type": error_type,
    }


async def test_each_call_is_timed_in_seconds_by_operation(
    layer: MongoDataLayer, telemetry: Telemetry
) -> None:
    await layer.update_thread("t1", name="chat")
    for number in range(3):
        await layer.create_step(step(f"s{number}", "t1"))
    await layer.get_thread("t1")

    duration = telemetry.metric("mongo_layer.operation.duration")
    assert duration.unit == "s"
    points = duration.data.data_points
    counts = {point.attributes["mongo_layer.operation"]: point.count for point in points}
    assert counts == {"update_thread": 1, "create_step": 3, "get_thread": 1}
    assert all("error.type" not in point.attributes for point in points)
    assert all(0 < point.sum < 60 for point in points)


async def test_a_thread_that_starts_overflowing_is_counted_once(
    layer_with: Any, telemetry: Telemetry
) -> None:
    layer = await layer_with(thread_document_budget_bytes=64 * 1024)
    await layer.update_thread("t1", name="long")
    for number in range(45):
        await layer.create_step(step(f"s{number}", "t1", output="x" * 2048))
    assert await layer.stores.overflow.collection.count_documents({"threadId": "t1"}) > 0
    await layer.update_thread("t2", name="short")
    await layer.create_step(step("s-short", "t2", output="y"))

    [point] = telemetry.points("mongo_layer.threads.overflowed")
    assert point.value == 1


def test_a_retry_is_counted_by_operation(telemetry: Telemetry) -> None:
    record_retry("create_step")
    record_retry("create_step")
    record_retry("get_thread")

    points = telemetry.points("mongo_layer.retries")
    assert {p.attributes["mongo_layer.operation"]: p.value for p in points} == {
        "create_step": 2,
        "get_thread": 1,
    }


WITHOUT_OPENTELEMETRY = textwrap.dedent(
    """
    import asyncio, sys
    import chainlit.data.base  # Chainlit itself may load OpenTelemetry: block it after
    for name in [m for m in sys.modules if m.split(".")[0] == "opentelemetry"]:
        sys.modules[name] = None
    sys.modules["opentelemetry"] = None
    from chainlit.user import User
    from mongo_layer import MongoDataLayer
    from mongo_layer.telemetry import is_available, record_retry, record_thread_overflowed

    async def main(uri, database, driver):
        layer = MongoDataLayer.from_uri(uri, database, driver=driver, mount_file_route=False)
        await layer.create_user(User(identifier="ann"))
        user = await layer.get_user("ann")
        await layer.update_thread("t1", name="chat", user_id=user.id)
        record_retry("create_step")
        record_thread_overflowed()
        thread = await layer.get_thread("t1")
        await layer.close()
        wrapped = MongoDataLayer.get_user.__code__.co_filename.endswith("telemetry.py")
        print(is_available(), wrapped, user.identifier, thread["name"])

    asyncio.run(main(*sys.argv[1:]))
    """
)


def printed_by(
    script: str, mongo_server: MongoServer, database_name: str, driver: str
) -> list[str]:
    """What `script` prints, run in a process of its own (OpenTelemetry's global providers
    are set once per process) with the server's URI, the database and the driver."""
    run = subprocess.run(
        [sys.executable, "-c", script, mongo_server.uri, database_name, driver],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.split()


async def test_the_layer_works_the_same_without_opentelemetry(
    mongo_server: MongoServer, driver: str, database_name: str
) -> None:
    printed = printed_by(WITHOUT_OPENTELEMETRY, mongo_server, database_name, driver)
    assert printed == ["False", "False", "ann", "chat"]


PROVIDERS_SET_LATER = textwrap.dedent(
    """
    import asyncio, sys
    from chainlit.user import User
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from mongo_layer import MongoDataLayer
    from mongo_layer.telemetry import providers_set

    async def main(uri, database, driver):
        layer = MongoDataLayer.from_uri(uri, database, driver=driver, mount_file_route=False)
        before = providers_set()
        await layer.create_user(User(identifier="ann"))
        exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        user = await layer.get_user("ann")
        await layer.close()
        spans = [span.name for span in exporter.get_finished_spans()]
        data = reader.get_metrics_data()
        points = [
            point.attributes["mongo_layer.operation"]
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == "mongo_layer.operation.duration"
            for point in metric.data.data_points
        ]
        print(before, providers_set(), user.identifier, ",".join(spans), ",".join(sorted(points)))

    asyncio.run(main(*sys.argv[1:]))
    """
)


async def test_providers_set_after_the_layer_was_created_receive_its_later_calls(
    mongo_server: MongoServer, driver: str, database_name: str
) -> None:
    """Without providers a call opens no span (the API would drop it); once the app sets
    them, the next call is traced and timed."""
    assert printed_by(PROVIDERS_SET_LATER, mongo_server, database_name, driver) == [
        "False",
        "True",
        "ann",
        "mongo_layer.get_user,mongo_layer.close",
        "close,get_user",
    ]


PROVIDER_FROM_ENVIRONMENT = textwrap.dedent(
    """
    import asyncio, sys
    from chainlit.user import User
    from opentelemetry import trace
    from mongo_layer import MongoDataLayer
    from mongo_layer.telemetry import providers_set

    async def main(uri, database, driver):
        layer = MongoDataLayer.from_uri(uri, database, driver=driver, mount_file_route=False)
        before = providers_set()
        await layer.create_user(User(identifier="ann"))
        await layer.close()
        print(before, type(trace.get_tracer_provider()).__module__)

    asyncio.run(main(*sys.argv[1:]))
    """
)


async def test_a_provider_named_by_the_environment_is_used_without_code_setting_it(
    mongo_server: MongoServer,
    driver: str,
    database_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`providers_set` reads the API's globals, but a provider that only the environment
    names (loaded by the API when first asked for) still counts."""
    monkeypatch.setenv("OTEL_PYTHON_TRACER_PROVIDER", "sdk_tracer_provider")
    assert printed_by(PROVIDER_FROM_ENVIRONMENT, mongo_server, database_name, driver) == [
        "True",
        "opentelemetry.sdk.trace",
    ]
