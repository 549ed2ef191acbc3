"""Fixtures of the integration tests: the layer's HTTP routes driven as Chainlit would, and
what the layer reports through the global OpenTelemetry providers."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from chainlit.auth import create_jwt
from chainlit.config import config
from chainlit.user import User
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mongo_layer import MongoDataLayer


async def password_login(username: str, password: str) -> User | None:
    return None


@pytest.fixture
def chainlit_auth(monkeypatch: pytest.MonkeyPatch, layer: MongoDataLayer) -> None:
    """Chainlit as a password-auth app whose data layer is `layer`: its current-user
    dependency then requires a valid token."""
    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", "test-secret-" + "x" * 40)
    monkeypatch.setattr(config.code, "password_auth_callback", password_login)
    monkeypatch.setattr(config.code, "on_shared_thread_view", None)
    monkeypatch.setattr(config.code, "on_feedback", None)
    monkeypatch.setattr(config.features, "allow_thread_sharing", False)
    monkeypatch.setattr("chainlit.data._data_layer", layer)
    monkeypatch.setattr("chainlit.data._data_layer_initialized", True)


@pytest.fixture
def thread_sharing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chainlit's `allow_thread_sharing` feature turned on."""
    monkeypatch.setattr(config.features, "allow_thread_sharing", True)


def token_of(identifier: str) -> str:
    return str(create_jwt(User(identifier=identifier)))


def bearer(identifier: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_of(identifier)}"}


class SwitchedSpanProcessor(SimpleSpanProcessor):
    """Exports a span only while `recording`: the global tracer provider outlives the test
    that set it, and spans of later tests must not pile up in memory."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        super().__init__(exporter)
        self.recording = False

    def on_end(self, span: ReadableSpan) -> None:
        if self.recording:
            super().on_end(span)


@dataclass
class Telemetry:
    """What the layer reported through the global OpenTelemetry providers."""

    spans: InMemorySpanExporter
    metric_reader: InMemoryMetricReader
    switch: SwitchedSpanProcessor

    def finished_spans(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def metric(self, metric_name: str) -> Any:
        """The layer's metric of this name as it changed since the last call (delta
        temporality), with its `unit` and `data.data_points`; None if it did not change."""
        data = self.metric_reader.get_metrics_data()
        found = [
            metric
            for resource in (data.resource_metrics if data else [])
            for scope in resource.scope_metrics
            if scope.scope.name == "mongo_layer"
            for metric in scope.metrics
            if metric.name == metric_name
        ]
        return found[0] if found else None

    def points(self, metric_name: str) -> list[Any]:
        """The data points of the layer's metric since the last call."""
        metric = self.metric(metric_name)
        return [] if metric is None else list(metric.data.data_points)


@pytest.fixture(scope="session")
def global_telemetry() -> Telemetry:
    """The SDK's in-memory exporter and metric reader as the process's global providers:
    OpenTelemetry takes global providers once per process, so they are set once per session."""
    exporter = InMemorySpanExporter()
    switch = SwitchedSpanProcessor(exporter)
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(switch)
    trace.set_tracer_provider(tracer_provider)
    delta = AggregationTemporality.DELTA
    reader = InMemoryMetricReader(preferred_temporality={Counter: delta, Histogram: delta})
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return Telemetry(exporter, reader, switch)


@pytest.fixture
def telemetry(global_telemetry: Telemetry) -> Iterator[Telemetry]:
    """The global providers, recording only what this test makes the layer report."""
    global_telemetry.spans.clear()
    global_telemetry.metric_reader.get_metrics_data()
    global_telemetry.switch.recording = True
    yield global_telemetry
    global_telemetry.switch.recording = False
    global_telemetry.spans.clear()
