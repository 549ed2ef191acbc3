"""Fixtures of the integration tests: the layer's HTTP routes driven as Chainlit would, what
the layer reports through the global OpenTelemetry providers, and a fault-injecting proxy in
front of the server."""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from chainlit.auth import create_jwt
from chainlit.config import config
from chainlit.user import User
from conftest import MongoServer
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pymongo.uri_parser import parse_uri

from mongo_layer import MongoDataLayer, MongoLayerSettings
from mongo_layer.embedded import free_port, stop_process

from .fault_proxy import FaultProxy
from .history import SMALL_LIMITS, fill_history

MakeLayer = Callable[..., Awaitable[MongoDataLayer]]


@pytest.fixture
async def history_layer(layer_with: MakeLayer) -> MongoDataLayer:
    """The test's database filled with the shared history (small limits, so it overflows)."""
    small_layer = await layer_with(**SMALL_LIMITS)
    await fill_history(small_layer)
    return small_layer


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


FILE_SERVER = Path(__file__).with_name("file_server.py")


@dataclass
class AppServer:
    """file_server.py (the layer's file and health routes) under uvicorn, in its own
    process."""

    url: str
    process: "subprocess.Popen[bytes]"


@asynccontextmanager
async def running_file_server(
    uri: str, database: str, driver: str, **environment: str
) -> AsyncIterator[AppServer]:
    """file_server.py on a free port for a layer on `uri`, once it answers; stopped after.
    `environment` adds variables (`MONGO_LAYER_*` settings)."""
    port = free_port()
    env = {
        **os.environ,
        "MONGODB_URI": uri,
        "MONGODB_DATABASE": database,
        "MONGO_LAYER_DRIVER": driver,
        **environment,
    }
    process = subprocess.Popen([sys.executable, str(FILE_SERVER), str(port)], env=env)
    server = AppServer(f"http://127.0.0.1:{port}", process)
    try:
        await until_answering(server)
        yield server
    finally:
        stop_process(process)


async def until_answering(server: AppServer, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while True:
            assert server.process.poll() is None, "the file server exited"
            try:
                if (await http.get(f"{server.url}/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.1)


@pytest.fixture
def fault_proxy(mongo_server: MongoServer) -> Iterator[FaultProxy]:
    """A fault-injecting proxy (fault_proxy.py) in front of the suite's server."""
    host, port = parse_uri(mongo_server.uri)["nodelist"][0]
    proxy = FaultProxy(host, port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


LayerThroughProxy = Callable[..., Awaitable[MongoDataLayer]]


@pytest.fixture
async def layer_through_proxy(
    fault_proxy: FaultProxy, driver: str, database_name: str
) -> AsyncIterator[LayerThroughProxy]:
    """Makes a layer with its own client whose every connection goes through the proxy,
    started (its capability check and indexes done) before any fault."""
    opened: list[MongoDataLayer] = []

    async def make(uri_options: dict[str, str] | None = None, **settings: Any) -> MongoDataLayer:
        layer = MongoDataLayer(
            uri=fault_proxy.uri(**(uri_options or {})),
            database=database_name,
            driver=driver,  # type: ignore[arg-type]
            settings=MongoLayerSettings(**settings),
            mount_file_route=False,
        )
        opened.append(layer)
        await layer.ensure_indexes()
        return layer

    yield make
    for layer in opened:
        await layer.close()
