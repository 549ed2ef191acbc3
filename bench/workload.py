"""The workload: what a Chainlit app asks of its data layer, as a list of operations.

Each operation is one thing Chainlit does (a step written, a page of the sidebar, a past
thread opened) and measures itself; the runner plays every operation on every layer before
moving to the next, so the layers see the same data in the same order.

Besides everyday users the workload has four users made for the scaling probes:
- `crowded`: many threads of one turn each (the sidebar of a heavy user);
- `short` and `long`: one sidebar page of threads each, of one turn and of many turns;
- `huge`: one very long thread, and one short one.
"""

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from chainlit.element import File
from chainlit.types import Feedback, Pagination, ThreadFilter
from chainlit.user import User

from .conversation import (
    SEARCH_TERM,
    UNMATCHED_SEARCH_TERM,
    Conversations,
    ThreadPlan,
    Turn,
    answer_step,
    question_step,
    run_step,
    step_dict,
)
from .measure import SCALING, Measure
from .subjects import Subject

PAGE_SIZE = 20  # the page Chainlit's sidebar asks for

Operation = Callable[[Subject, Measure], Awaitable[None]]


@dataclass(frozen=True)
class Size:
    users: int
    threads_per_user: int
    turns_per_thread: int
    crowded_threads: int
    long_turns: int
    huge_turns: int
    probe_repeats: int


SIZES = {
    "tiny": Size(2, 2, 2, 22, 3, 8, 3),
    "small": Size(5, 5, 4, 100, 10, 50, 10),
    "medium": Size(8, 6, 5, 300, 20, 100, 15),
    "large": Size(5, 5, 4, 1000, 20, 334, 15),
}


class Workload:
    def __init__(self, size: Size) -> None:
        self.size = size
        self.conversations = Conversations()
        regular = [f"user-{n:02d}" for n in range(size.users)]
        self.users = [*regular, "crowded", "short", "long", "huge"]
        new_thread = self.conversations.thread
        self.regular_threads = [
            new_thread(user, size.turns_per_thread)
            for _ in range(size.threads_per_user)
            for user in regular
        ]
        self.crowded_threads = [new_thread("crowded", 1) for _ in range(size.crowded_threads)]
        self.short_threads = [new_thread("short", 1) for _ in range(PAGE_SIZE)]
        self.long_threads = [new_thread("long", size.long_turns) for _ in range(PAGE_SIZE)]
        self.lone_thread = new_thread("huge", 1)
        self.huge_thread = new_thread("huge", size.huge_turns)
        self.attachments = [self.conversations.attachment() for _ in range(8)]

    def all_threads(self) -> list[ThreadPlan]:
        return [
            *self.regular_threads,
            *self.crowded_threads,
            *self.short_threads,
            *self.long_threads,
            self.lone_thread,
            self.huge_thread,
        ]

    def operations(self) -> Iterator[Operation]:
        for user in self.users:
            yield first_login(user)
        for plan in self.all_threads():
            yield from self.conversation(plan)
        for user in self.users:
            yield from self.everyday_reads(user)
        for plan in self.regular_threads:
            yield open_past_thread(plan)
        for _ in range(self.size.probe_repeats):
            yield from self.scaling_probes()
        for _ in range(self.size.probe_repeats):
            yield from self.append_probes()
        for plan in self.regular_threads[::10] + self.crowded_threads[::10]:
            yield delete_thread(plan)

    def conversation(self, plan: ThreadPlan) -> Iterator[Operation]:
        yield start_thread(plan)
        for number, turn in enumerate(plan.turns):
            yield from self.turn(plan, turn, number)
        yield end_session(plan)

    def turn(self, plan: ThreadPlan, turn: Turn, number: int) -> Iterator[Operation]:
        yield create_question(plan, turn)
        if number == 0:
            yield name_thread(plan, turn)
        if number % 4 == 1:
            yield attach_file(plan, turn, self.attachments[number % len(self.attachments)])
        yield create_run(plan, turn)
        yield create_answer(plan, turn)
        yield finish_answer(plan, turn)
        yield finish_run(plan, turn)
        if number % 3 == 2:
            yield give_feedback(plan, turn, value=(number // 3 + 1) % 2)
        if number % 5 == 3:
            yield mark_favorite(plan, turn)

    def everyday_reads(self, user: str) -> Iterator[Operation]:
        yield login(user)
        yield list_page(user, "list_threads")
        yield list_next_page(user)
        yield list_page(user, "list_threads search", search=SEARCH_TERM)
        yield list_page(user, "list_threads feedback filter", feedback=1)
        yield favorite_steps(user)

    def scaling_probes(self) -> Iterator[Operation]:
        """Reads of the same shape whose threads differ in length, or whose user differs in
        thread count. The search matches nothing, so both pages are empty and only the work
        of looking differs."""
        for plan in (self.short_threads[0], self.long_threads[0]):
            label = f"{PAGE_SIZE} threads x {plan.step_count} steps"
            yield list_page(plan.user, f"list_threads [{label}]", group=SCALING)
            yield list_page(
                plan.user,
                f"list_threads search, no match [{label}]",
                search=UNMATCHED_SEARCH_TERM,
                group=SCALING,
            )
        others = {"crowded": len(self.crowded_threads), "huge": 2}
        for plan in (self.lone_thread, self.crowded_threads[0]):
            label = f"{plan.step_count} steps, user with {others[plan.user]} threads"
            yield read_thread(plan, f"get_thread [{label}]")
        for plan in (self.long_threads[0], self.huge_thread):
            yield read_thread(plan, f"get_thread [{plan.step_count} steps]")

    def append_probes(self) -> Iterator[Operation]:
        """A message appended to a short thread and to the longest one (after the reads,
        which count the steps they expect)."""
        for plan in (self.lone_thread, self.huge_thread):
            label = f"create_step [thread of {plan.step_count}+ steps]"
            step_id, time = self.conversations.new_id(), self.conversations.tick()
            yield append_message(plan, step_id, time, label)


# Each function below is one operation, as Chainlit performs it.


def first_login(user: str) -> Operation:
    async def run(subject: Subject, measure: Measure) -> None:
        async with measure("get_user"):
            await subject.layer.get_user(user)
        async with measure("create_user"):
            persisted = await subject.layer.create_user(User(identifier=user, metadata={}))
        assert persisted is not None
        subject.user_ids[user] = persisted.id

    return run


def login(user: str) -> Operation:
    """A returning user: Chainlit upserts the user at login, then reads it on each request."""

    async def run(subject: Subject, measure: Measure) -> None:
        async with measure("create_user"):
            await subject.layer.create_user(User(identifier=user, metadata={"role": "user"}))
        async with measure("get_user"):
            await subject.layer.get_user(user)

    return run


def start_thread(plan: ThreadPlan) -> Operation:
    async def run(subject: Subject, measure: Measure) -> None:
        async with measure("update_thread"):
            await subject.layer.update_thread(plan.id, user_id=subject.user_ids[plan.user])

    return run


def name_thread(plan: ThreadPlan, turn: Turn) -> Operation:
    async def run(subject: Subject, measure: Measure) -> None:
        async with measure("update_thread"):
            await subject.layer.update_thread(plan.id, name=plan.name)

    return run


def end_session(plan: ThreadPlan) -> Operation:
    """On disconnect Chainlit writes the session's metadata back to the thread."""

    async def run(subject: Subject, measure: Measure) -> None:
        async with measure("update_thread"):
            await subject.layer.update_thread(
                plan.id, metadata={"chat_profile": "default", "env": "{}"}
            )

    return run


def write_step(name: str, make_step: Callable[[], dict[str, object]]) -> Operation:
    async def run(subject: Subject, measure: Measure) -> None:
        step = make_step()
        async with measure(name):
            if name == "create_step":
                await subject.layer.create_step(step)  # type: ignore[arg-type]
            else:
                await subject.layer.update_step(step)  # type: ignore[arg-type]

    return run


def create_question(plan: ThreadPlan, turn: Turn) -> Operation:
    return write_step("create_step", lambda: question_step(plan, turn))


def create_run(plan: ThreadPlan, turn: Turn) -> Operation:
    return write_step("create_step", lambda: run_step(plan, turn, finished=False))


def create_answer(plan: ThreadPlan, turn: Turn) -> Operation:
    return write_step("create_step", lambda: answer_step(plan, turn, finished=False))


def finish_answer(plan: ThreadPlan, turn: Turn) -> Operation:
    return write_step("update_step", lambda: answer_step(plan, turn, finished=True))


def finish_run(plan: ThreadPlan, turn: Turn) -> Operation:
    return write_step("update_step", lambda: run_step(plan, turn, finished=True))


def append_message(plan: ThreadPlan, step_id: str, time: str, name: str) -> Operation:
    async def run(subject: Subject, measure: Measure) -> None:
        step = step_dict(step_id, plan.id, "user_message", plan.user, time, output="Thanks!")
        async with measure(name, SCALING):
            await subject.layer.create_step(step)  # type: ignore[arg-type]

    return run


def attach_file(plan: ThreadPlan, turn: Turn, content: bytes) -> Operation:
    element_id = f"file-{turn.question_id}"

    async def run(subject: Subject, measure: Measure) -> None:
        element = File(
            thread_id=plan.id,
            id=element_id,
            name="notes.txt",
            content=content,
            mime="text/plain",
            for_id=turn.question_id,
        )
        async with measure("create_element"):
            await subject.layer.create_element(element)

    return run


def give_feedback(plan: ThreadPlan, turn: Turn, value: int) -> Operation:
    async def run(subject: Subject, measure: Measure) -> None:
        feedback = Feedback(forId=turn.answer_id, threadId=plan.id, value=value)  # type: ignore[arg-type]
        async with measure("upsert_feedback"):
            await subject.layer.upsert_feedback(feedback)

    return run


def mark_favorite(plan: ThreadPlan, turn: Turn) -> Operation:
    async def run(subject: Subject, measure: Measure) -> None:
        step = question_step(plan, turn)
        async with measure("set_step_favorite"):
            await subject.layer.set_step_favorite(step, True)  # type: ignore[arg-type]

    return run


def list_page(
    user: str,
    name: str,
    *,
    search: str | None = None,
    feedback: int | None = None,
    group: str = "workload",
) -> Operation:
    """The first page of the user's sidebar; remembers where the next page starts."""

    async def run(subject: Subject, measure: Measure) -> None:
        filters = ThreadFilter(userId=subject.user_ids[user], search=search, feedback=feedback)
        async with measure(name, group):
            page = await subject.layer.list_threads(Pagination(first=PAGE_SIZE), filters)
        if search is None and feedback is None and page.pageInfo.hasNextPage:
            subject.next_page_cursors[user] = page.pageInfo.endCursor

    return run


def list_next_page(user: str) -> Operation:
    async def run(subject: Subject, measure: Measure) -> None:
        cursor = subject.next_page_cursors.get(user)
        if cursor is None:
            return
        filters = ThreadFilter(userId=subject.user_ids[user])
        async with measure("list_threads next page"):
            await subject.layer.list_threads(Pagination(first=PAGE_SIZE, cursor=cursor), filters)

    return run


def favorite_steps(user: str) -> Operation:
    async def run(subject: Subject, measure: Measure) -> None:
        async with measure("get_favorite_steps"):
            await subject.layer.get_favorite_steps(subject.user_ids[user])

    return run


def open_past_thread(plan: ThreadPlan) -> Operation:
    """What opening a thread from the sidebar costs: Chainlit's routes call get_thread three
    times, get_thread_author once, and get_user for the logged-in user."""

    async def run(subject: Subject, measure: Measure) -> None:
        async with measure("open past thread"):
            for _ in range(3):
                async with measure("get_thread"):
                    await subject.layer.get_thread(plan.id)
            async with measure("get_thread_author"):
                await subject.layer.get_thread_author(plan.id)
            async with measure("get_user"):
                await subject.layer.get_user(plan.user)

    return run


def read_thread(plan: ThreadPlan, name: str) -> Operation:
    async def run(subject: Subject, measure: Measure) -> None:
        async with measure(name, SCALING):
            thread = await subject.layer.get_thread(plan.id)
        assert thread is not None and len(thread["steps"]) == plan.step_count, name

    return run


def delete_thread(plan: ThreadPlan) -> Operation:
    async def run(subject: Subject, measure: Measure) -> None:
        async with measure("delete_thread"):
            await subject.layer.delete_thread(plan.id)

    return run
