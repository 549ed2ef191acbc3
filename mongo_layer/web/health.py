"""The readiness route: `GET {root_path}/mongo-layer/health` pings the database.

Chainlit's own `/health` answers `ok` with the database down; a probe (Kubernetes, a load
balancer) needs to know whether the app can reach its data. The route needs no login, answers
within the health timeout plus a little, never with a 500, and names no URI, host or user.
A burst of probes shares one ping: at most one reaches the server per second.
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from ..settings import MongoLayerSettings
from .routes import mount_ahead, mount_on_chainlit

logger = logging.getLogger("mongo_layer")

HEALTH_ROUTE_NAME = "mongo_layer_health"
PING_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True)
class Health:
    """One ping's answer: the round trip when the server answered in time, else why not."""

    started_at: float
    latency_ms: float | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None

    def body(self) -> dict[str, Any]:
        if self.ok:
            return {"status": "ok", "latencyMs": self.latency_ms}
        return {"status": "unavailable", "reason": self.reason}


class HealthProbe:
    """Pings a database on behalf of every probe, sharing each answer (an in-flight one
    too) for `interval` seconds, so a burst of probes costs the server one ping."""

    def __init__(
        self, database: Any, timeout_ms: int, interval: float = PING_INTERVAL_SECONDS
    ) -> None:
        self.database = database
        self.timeout_ms = timeout_ms
        self.interval = interval
        self._last: Health | None = None
        self._pending: asyncio.Future[Health] | None = None

    async def check(self) -> Health:
        """The database's health, from a ping started less than `interval` ago if any."""
        now = time.monotonic()
        if self._pending is None and (
            self._last is None or now - self._last.started_at >= self.interval
        ):
            self._pending = asyncio.ensure_future(self._ping(now))
        if self._pending is None:
            assert self._last is not None
            return self._last
        # Shielded: a probe that hangs up must not cancel the ping the others wait for.
        return await asyncio.shield(self._pending)

    async def _ping(self, started_at: float) -> Health:
        try:
            health = await self._answer(started_at)
        finally:
            self._pending = None
        if not health.ok and (self._last is None or self._last.ok):
            logger.warning("health: the database is unavailable: %s", health.reason)
        self._last = health
        return health

    async def _answer(self, started_at: float) -> Health:
        timeout = self.timeout_ms / 1000
        sent = time.monotonic()
        try:
            await asyncio.wait_for(self.database.command("ping"), timeout)
        except asyncio.TimeoutError:
            reason = f"the database did not answer a ping within {self.timeout_ms} ms"
            return Health(started_at, reason=reason)
        except Exception as error:
            # The driver's message names hosts; the probe's answer names only the kind.
            logger.info("health: ping failed: %s", error)
            return Health(started_at, reason=f"the ping failed ({type(error).__name__})")
        latency = round((time.monotonic() - sent) * 1000, 1)
        return Health(started_at, latency_ms=latency)


def health_endpoint(probe: HealthProbe) -> Any:
    """The endpoint of `GET .../health`: 200 with the ping's latency, else 503 and why."""

    async def mongo_layer_health() -> JSONResponse:
        try:
            health = await probe.check()
        except Exception as error:
            logger.exception("health: the probe itself failed")
            health = Health(time.monotonic(), reason=f"the probe failed ({type(error).__name__})")
        return JSONResponse(
            health.body(),
            status_code=200 if health.ok else 503,
            headers={"Cache-Control": "no-store"},
        )

    return mongo_layer_health


class ProbedLayer(Protocol):
    """What the health route needs of a layer (`MongoDataLayer` is one)."""

    @property
    def settings(self) -> MongoLayerSettings: ...

    @property
    def health(self) -> HealthProbe: ...


def mount_health_route(app: FastAPI, layer: ProbedLayer, root_path: str = "") -> str:
    """Answer probes on `app` at `{root_path}{health_route}`, without login. Returns the
    route's path."""
    path = f"{root_path.rstrip('/')}{layer.settings.health_route}"
    mount_ahead(app, path, health_endpoint(layer.health), ["GET"], HEALTH_ROUTE_NAME)
    return path


def mount_health_route_on_chainlit(layer: ProbedLayer) -> bool:
    """Mount the health route on Chainlit's own app. Returns whether it is mounted."""
    return mount_on_chainlit(layer, mount_health_route, "answering health probes")
