"""The order in which Chainlit called the step methods, and what a process remembers of it.

Chainlit starts every step write and delete as a task it never awaits, so the commands
race on the wire. A coroutine runs up to its first `await` in the order the tasks were
started, so a stamp taken there orders the calls; the stored step compares stamps to decide
which call's value each field keeps (see `step_versions.py`).
"""

import time
from collections import Counter, OrderedDict
from datetime import UTC, datetime

# How many step ids a layer remembers the thread of (about 100 bytes each).
REMEMBERED_STEPS = 10_000


class CallClock:
    """Stamps strictly increasing within a process and, being nanoseconds since the epoch
    where the wall clock allows, ordered across restarts too."""

    def __init__(self) -> None:
        self._last = 0

    def stamp(self) -> int:
        self._last = max(self._last + 1, time.time_ns())
        return self._last


def stamp_time(stamp: int) -> datetime:
    """The moment a stamp was taken, as precise as a BSON date keeps it."""
    return datetime.fromtimestamp(stamp // 1_000_000 / 1000, tz=UTC)


class RecentSteps:
    """Which thread a recently written step belongs to, and which steps have a write called
    but not finished (queued by Chainlit until the user's first message, or on the wire).
    Both are bounded: a write Chainlit queued in a session that ended before its first
    message never finishes, and is forgotten once `capacity` newer ones came."""

    def __init__(self, capacity: int = REMEMBERED_STEPS) -> None:
        self.capacity = capacity
        self._threads: OrderedDict[str, str] = OrderedDict()
        self._in_flight: Counter[tuple[str, str]] = Counter()

    def thread_of(self, step_id: str) -> str | None:
        return self._threads.get(step_id)

    def write_started(self, step_id: str, thread_id: str) -> None:
        self._threads[step_id] = thread_id
        self._threads.move_to_end(step_id)
        while len(self._threads) > self.capacity:
            self._threads.popitem(last=False)
        self._in_flight[(step_id, thread_id)] += 1
        while len(self._in_flight) > self.capacity:
            del self._in_flight[next(iter(self._in_flight))]

    def write_ended(self, step_id: str, thread_id: str) -> None:
        key = (step_id, thread_id)
        if self._in_flight[key] <= 1:
            self._in_flight.pop(key, None)
        else:
            self._in_flight[key] -= 1

    def has_write_in_flight(self, step_id: str, thread_id: str) -> bool:
        return (step_id, thread_id) in self._in_flight

    def forget(self, step_id: str) -> None:
        self._threads.pop(step_id, None)
