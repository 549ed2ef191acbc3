"""What a database holds, counted on the server: for `mongo-layer stats` and dashboards."""

from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, computed_field

from ..storage.connection import aggregate
from ..storage.stores import Stores
from ..times import utc_now
from .bulk import ThreadContents, thread_contents


class DayCount(BaseModel):
    day: date
    threads: int


class Statistics(ThreadContents):
    """Counts of everything stored, plus the threads created on each of the last days."""

    users: int = 0
    feedback_positive: int = 0
    days: int = 0
    threads_per_day: list[DayCount] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def positive_feedback_share(self) -> float | None:
        """Thumbs up among all feedback, from 0 to 1 (None without feedback)."""
        return self.feedback_positive / self.feedback if self.feedback else None


async def collect_statistics(stores: Stores, days: int) -> Statistics:
    contents = await thread_contents(stores, None)
    return Statistics(
        **contents.model_dump(),
        users=await stores.users.collection.count_documents({}),
        feedback_positive=await stores.feedback.collection.count_documents({"value": 1}),
        days=days,
        threads_per_day=await threads_per_day(stores, days),
    )


async def threads_per_day(stores: Stores, days: int) -> list[DayCount]:
    """Threads created on each of the last `days` days (UTC), today included, oldest first;
    days without a thread count zero."""
    today = utc_now().date()
    first_day = today - timedelta(days=days - 1)
    start = datetime.combine(first_day, time.min, tzinfo=UTC)
    found = await aggregate(
        stores.threads.collection,
        [
            {"$match": {"createdAt": {"$gte": start}}},
            {
                "$group": {
                    "_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$createdAt"}},
                    "threads": {"$sum": 1},
                }
            },
        ],
    )
    per_day = {document["_id"]: document["threads"] for document in found}
    return [
        DayCount(day=day, threads=per_day.get(day.isoformat(), 0))
        for day in (first_day + timedelta(days=offset) for offset in range(days))
    ]
