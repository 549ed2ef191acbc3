"""Retention that runs itself inside the app: `MongoLayerSettings(retention_days=N)`.

A background task of each layer looks now and then whether a run is due; the run is the one
`mongo-layer retention` makes (`delete_threads_older_than`, then `prune_orphans`), done by
whichever process takes the lease (storage/leases.py), so that replicas sharing a database
make one run per period between them. The task starts with the layer's first operation,
never delays it, and stops with `close()`.
"""

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from ..storage.leases import LeaseStore
from ..times import utc_now
from .retention import DeletionSummary


class RetentionRunner(Protocol):
    """The calls a run makes: `Operations` has them."""

    async def delete_threads_older_than(
        self, older_than: timedelta, *, batch_size: int
    ) -> DeletionSummary: ...

    async def prune_orphans(self) -> int: ...


logger = logging.getLogger("mongo_layer")

RETENTION_JOB = "retention"


@dataclass(frozen=True)
class RetentionSchedule:
    """When the layer's retention runs. The defaults suit production; tests shorten them."""

    first_check: timedelta = timedelta(seconds=30)
    """After the layer's first operation, the first look at whether a run is due."""
    check_every: timedelta = timedelta(minutes=10)
    """How often each process looks again (and so how soon one takes over from a holder
    that died)."""
    period: timedelta = timedelta(days=1)
    """From the end of one run to when the next is due."""
    hold: timedelta = timedelta(hours=1)
    """How long a run's lease lasts before another process may take the job over; renewed
    between the deletion and the pruning."""
    batch_size: int = 100


def process_name() -> str:
    """This process among the app's replicas: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class ScheduledRetention:
    """Runs retention of `days` days through `operations` on `schedule`, one process at a
    time."""

    def __init__(
        self,
        operations: RetentionRunner,
        days: int,
        leases: LeaseStore,
        schedule: RetentionSchedule | None = None,
    ) -> None:
        self.operations = operations
        self.days = days
        self.leases = leases
        self.schedule = schedule or RetentionSchedule()
        self.holder = process_name()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the background task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the background task, once; it first looks after `first_check`."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run_forever(), name="mongo-layer retention"
            )

    async def stop(self) -> None:
        """Stop the task; a run it was making is left for another process to finish."""
        task, self._task = self._task, None
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run_forever(self) -> None:
        await asyncio.sleep(self.schedule.first_check.total_seconds())
        while True:
            try:
                await self.run_if_due()
            except Exception:
                logger.exception("retention: the run failed; the next check tries again")
            await asyncio.sleep(self.schedule.check_every.total_seconds())

    async def run_if_due(self) -> DeletionSummary | None:
        """Run retention if it is due and no other process is running it; returns what the
        run deleted, or None when this process did not run it."""
        schedule = self.schedule
        if await self.leases.take_if_due(RETENTION_JOB, self.holder, utc_now(), schedule.hold):
            try:
                return await self._run()
            except BaseException:
                await asyncio.shield(self.leases.release(RETENTION_JOB, self.holder, utc_now()))
                raise
        return None

    async def _run(self) -> DeletionSummary:
        started = time.monotonic()
        summary = await self.operations.delete_threads_older_than(
            timedelta(days=self.days), batch_size=self.schedule.batch_size
        )
        await self.leases.extend(RETENTION_JOB, self.holder, utc_now() + self.schedule.hold)
        pruned = await self.operations.prune_orphans()
        finished = utc_now()
        await self.leases.finish(
            RETENTION_JOB, self.holder, finished, finished + self.schedule.period
        )
        logger.info(
            "retention (%s): deleted %d threads inactive for over %d days (%d steps,"
            " %d elements, %d files, %d ratings) and %d orphan files in %.1f s",
            self.holder,
            summary.threads,
            self.days,
            summary.steps,
            summary.elements,
            summary.files,
            summary.feedback,
            pruned,
            time.monotonic() - started,
        )
        return summary
