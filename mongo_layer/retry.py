"""Riding through a failover: data-layer calls tried again while no primary answers.

MongoDB primaries step down (elections, maintenance, rolling upgrades): for up to ~12 s
open connections are reset and no server is selectable. Every command the layer sends is
idempotent (call-order stamps, upserts by id, unique claims; docs/decisions.md), so a
call that failed for a network reason or for want of a primary is tried again, with
capped and jittered backoff, until it has failed for longer than the operation budget.
An outage is logged once (a warning when the first call meets it, an info line when the
last call that met it went through), however many calls retry meanwhile.
"""

import asyncio
import contextvars
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from .errors import Naming, ServerUnreachableError, named
from .telemetry import record_retry

logger = logging.getLogger("mongo_layer")

Result = TypeVar("Result")

# "Not primary" and "node is recovering" (PyMongo's own list of retryable codes): the
# server answered, but it is stepping down, shutting down or not the primary any more.
RETRYABLE_CODES = frozenset(
    {6, 7, 89, 91, 134, 189, 262, 9001, 10058, 10107, 11600, 11602, 13435, 13436}
)
RETRYABLE_LABELS = ("RetryableWriteError", "ResetPool")

# The data-layer call being run: a retry inside it (a file's upload inside a step write)
# is counted as that call's.
current_operation: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mongo_layer_operation", default=None
)

FIRST_DELAY_SECONDS = 0.05
MAX_DELAY_SECONDS = 1.0


def is_retryable(error: BaseException) -> bool:
    """Whether `error` says the server was unreachable or not the primary, rather than
    that the command itself was refused (a duplicate key, a validation, a size limit)."""
    if isinstance(error, ConnectionFailure):
        # AutoReconnect, NetworkTimeout, NotPrimaryError, ServerSelectionTimeoutError.
        return True
    if isinstance(error, PyMongoError) and any(map(error.has_error_label, RETRYABLE_LABELS)):
        return True
    return isinstance(error, OperationFailure) and error.code in RETRYABLE_CODES


def backoff_delays() -> Iterator[float]:
    """Waits between attempts: doubling from 50 ms up to 1 s, each drawn at random below
    its ceiling ("full jitter"), so calls that failed together do not return together."""
    ceiling = FIRST_DELAY_SECONDS
    while True:
        yield random.uniform(ceiling / 2, ceiling)
        ceiling = min(ceiling * 2, MAX_DELAY_SECONDS)


class Retrier:
    """Runs a layer's calls, trying each again while its failures are retryable and have
    lasted less than `budget_seconds` (0: never tried again)."""

    def __init__(self, budget_seconds: float) -> None:
        self.budget_seconds = budget_seconds
        self.retries = 0
        self._retrying_calls = 0
        self._outage_started: float | None = None

    async def run(
        self, operation: str, call: Callable[[], Awaitable[Result]], subject: Naming = ""
    ) -> Result:
        """The result of `call()`, called again after each retryable failure within the
        budget. `operation` is the data-layer call (for the metric) unless this runs inside
        one, `subject` what it concerns (for the error message). Raises
        ServerUnreachableError, naming both, once the budget is spent; any other error at
        once."""
        operation = current_operation.get() or operation
        running = current_operation.set(operation)
        try:
            return await self._run(operation, call, subject)
        finally:
            current_operation.reset(running)

    async def _run(
        self, operation: str, call: Callable[[], Awaitable[Result]], subject: Naming
    ) -> Result:
        try:
            return await call()
        except PyMongoError as error:
            if not is_retryable(error) or self.budget_seconds <= 0:
                raise
            first_error = error
        self._call_failed(first_error)
        recovered = False
        try:
            result = await self._retry(operation, call, subject, first_error)
            recovered = True
            return result
        finally:
            self._call_ended(recovered)

    async def _retry(
        self,
        operation: str,
        call: Callable[[], Awaitable[Result]],
        subject: Naming,
        error: PyMongoError,
    ) -> Result:
        deadline = time.monotonic() + self.budget_seconds
        for delay in backoff_delays():
            if time.monotonic() + delay > deadline:
                break
            await asyncio.sleep(delay)
            self._record_retry(operation)
            try:
                return await call()
            except PyMongoError as failure:
                if not is_retryable(failure):
                    raise
                error = failure
        subject_named = named(subject)
        what = f"{operation} of {subject_named}" if subject_named else operation
        raise ServerUnreachableError(
            f"{what} failed: MongoDB stayed unreachable or without a primary for the"
            f" operation budget of {self.budget_seconds:g} s (operation_budget_ms): {error}"
        ) from error

    def _record_retry(self, operation: str) -> None:
        """The one place a retry is recorded (and counted as `mongo_layer.retries`)."""
        self.retries += 1
        record_retry(operation)

    def _call_failed(self, error: PyMongoError) -> None:
        self._retrying_calls += 1
        if self._outage_started is None:
            self._outage_started = time.monotonic()
            logger.warning(
                "MongoDB is unreachable or without a primary (%s: %s); the layer's calls are"
                " tried again for up to %g s each",
                type(error).__name__,
                error,
                self.budget_seconds,
            )

    def _call_ended(self, recovered: bool) -> None:
        self._retrying_calls -= 1
        if self._retrying_calls > 0 or self._outage_started is None:
            return
        lasted = time.monotonic() - self._outage_started
        self._outage_started = None
        if recovered:
            logger.info("MongoDB answers again; the outage lasted %.1f s", lasted)
        else:
            logger.info("the layer stopped trying after %.1f s; MongoDB is still out", lasted)
