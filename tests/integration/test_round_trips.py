"""DESIGN.md's round-trip budget: one command to the server is one round trip.

The `commands` fixture is overridden here to also note which collection each command
targets, so GridFS commands can be told apart from the layer's own.
"""

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from chainlit.types import Feedback, Pagination, ThreadFilter
from chainlit.user import User
from conftest import CommandCounter
from pymongo import monitoring

from mongo_layer import MongoDataLayer

from .factories import file_element, step, thread_of, user


class CommandLog(CommandCounter):
    """A CommandCounter that also keeps the collection each command names, and the
    server's replies."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[tuple[str, str]] = []
        self.replies: list[Any] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        super().started(event)
        if event.command_name not in self.IGNORED:
            self.targets.append((event.command_name, str(event.command.get(event.command_name))))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if event.command_name not in self.IGNORED:
            self.replies.append(event.reply)

    def reset(self) -> None:
        super().reset()
        self.targets.clear()
        self.replies.clear()

    def on_bucket(self, bucket: str) -> list[tuple[str, str]]:
        """The commands sent to the collections of a GridFS bucket."""
        return [
            (name, target)
            for name, target in self.targets
            if target in (f"{bucket}.files", f"{bucket}.chunks")
        ]


@pytest.fixture
def commands() -> CommandLog:
    return CommandLog()


async def count(commands: CommandLog, operation: Awaitable[Any]) -> int:
    commands.reset()
    await operation
    return commands.count


async def chat(layer: MongoDataLayer, thread_id: str = "t1") -> None:
    """A thread of alice's with two steps, one rated."""
    alice = await user(layer)
    await thread_of(layer, alice, thread_id, name="chat about pineapples")
    await layer.create_step(step("s1", thread_id, input="pineapple?"))
    await layer.create_step(step("s2", thread_id, output="yes, pineapple"))
    await layer.upsert_feedback(Feedback(forId="s2", threadId=thread_id, value=1))


async def test_get_user_is_one_command(layer: MongoDataLayer, commands: CommandLog) -> None:
    await user(layer)

    assert await count(commands, layer.get_user("alice")) == 1, commands.commands


@pytest.mark.parametrize("first_login", [True, False])
async def test_create_user_is_one_command(
    layer: MongoDataLayer, commands: CommandLog, first_login: bool
) -> None:
    if not first_login:
        await user(layer)

    login = layer.create_user(User(identifier="alice", metadata={"n": 1}))

    assert await count(commands, login) == 1, commands.commands


async def test_update_thread_is_one_command(layer: MongoDataLayer, commands: CommandLog) -> None:
    update = layer.update_thread("t1", name="chat", user_id="u1", metadata={"a": 1}, tags=["x"])

    assert await count(commands, update) == 1, commands.commands


async def test_get_thread_author_is_one_command(
    layer: MongoDataLayer, commands: CommandLog
) -> None:
    await chat(layer)

    assert await count(commands, layer.get_thread_author("t1")) == 1, commands.commands


@pytest.mark.parametrize("thread_exists", [True, False])
@pytest.mark.parametrize("write", ["create_step", "update_step"])
async def test_a_step_write_is_one_command(
    layer: MongoDataLayer, commands: CommandLog, write: str, thread_exists: bool
) -> None:
    if thread_exists:
        await chat(layer)
    written: Callable[..., Awaitable[None]] = getattr(layer, write)

    assert await count(commands, written(step("s9", output="new"))) == 1, commands.commands


async def test_delete_step_without_files_is_two_commands_at_most(
    layer: MongoDataLayer, commands: CommandLog
) -> None:
    await chat(layer)

    assert await count(commands, layer.delete_step("s2")) <= 2, commands.commands


async def test_upsert_feedback_naming_the_steps_thread_is_one_command(
    layer: MongoDataLayer, commands: CommandLog
) -> None:
    """A first rating, then a new value under the id it got: each reads the thread and
    writes the rating in one command."""
    await chat(layer)

    commands.reset()
    feedback_id = await layer.upsert_feedback(Feedback(forId="s1", threadId="t1", value=0))
    assert commands.count == 1, commands.commands

    again = Feedback(id=feedback_id, forId="s1", threadId="t1", value=1, comment="yes")
    assert await count(commands, layer.upsert_feedback(again)) == 1, commands.commands


async def test_a_users_rating_of_a_step_of_their_own_named_thread_is_one_command(
    layer: MongoDataLayer, commands: CommandLog
) -> None:
    await chat(layer)

    rating = layer.rate_step(Feedback(forId="s1", threadId="t1", value=0), "alice")

    assert await count(commands, rating) == 1, commands.commands


async def test_rating_an_overflowed_step_of_the_named_thread_is_one_command(
    layer_with: Callable[..., Awaitable[MongoDataLayer]], commands: CommandLog
) -> None:
    layer = await layer_with(thread_document_budget_bytes=64 * 1024)
    for number in range(12):
        await layer.create_step(step(f"s{number}", output="x" * 8 * 1024))
    assert await layer.stores.overflow.collection.count_documents({"step.id": "s11"}) == 1

    rating = layer.upsert_feedback(Feedback(forId="s11", threadId="t1", value=1))

    assert await count(commands, rating) == 1, commands.commands


async def test_upsert_feedback_without_its_thread_is_two_commands(
    layer: MongoDataLayer, commands: CommandLog
) -> None:
    """The thread is looked up from the stored step, then the rating is one upsert."""
    await chat(layer)

    rating = layer.upsert_feedback(Feedback(forId="s1", value=0))

    assert await count(commands, rating) == 2, commands.commands


@pytest.mark.parametrize("feedback_id", [None, "an-id-the-rating-does-not-have"])
async def test_a_rating_the_first_command_cannot_take_is_three_commands_at_most(
    layer: MongoDataLayer, commands: CommandLog, feedback_id: str | None
) -> None:
    """The thread named does not hold the step, or the step's rating has another id: the
    one command writes nothing, and the thread and the rating are looked up as without a
    thread."""
    await chat(layer)

    for named_thread in ("someone-elses-thread", "t1"):
        rating = Feedback(id=feedback_id, forId="s2", threadId=named_thread, value=0)
        assert await count(commands, layer.upsert_feedback(rating)) == 3, commands.commands


async def test_a_users_guarded_unrating_is_two_commands(
    layer: MongoDataLayer, commands: CommandLog
) -> None:
    await chat(layer)
    feedback_id = await layer.upsert_feedback(Feedback(forId="s1", threadId="t1", value=0))

    unrating = layer.unrate_step(feedback_id, "alice")

    assert await count(commands, unrating) == 2, commands.commands


async def test_delete_feedback_is_one_command(layer: MongoDataLayer, commands: CommandLog) -> None:
    await chat(layer)
    feedback_id = await layer.upsert_feedback(Feedback(forId="s1", threadId="t1", value=0))

    assert await count(commands, layer.delete_feedback(feedback_id)) == 1, commands.commands


@pytest.mark.parametrize("files", [0, 2])
async def test_delete_thread_is_three_commands_at_most_plus_the_gridfs_deletes(
    layer: MongoDataLayer, commands: CommandLog, files: int
) -> None:
    """Plus one when the thread had elements: it frees their ids (element_owners)."""
    await chat(layer)
    for _ in range(files):
        await layer.create_element(file_element("t1"))
    bucket = layer.settings.files_bucket_name

    total = await count(commands, layer.delete_thread("t1"))

    gridfs_deletes = [c for c in commands.on_bucket(bucket) if c[0] == "delete"]
    owners = layer.settings.element_owners_name
    freed_ids = [c for c in commands.targets if c == ("delete", owners)]
    assert len(gridfs_deletes) == (2 if files else 0), commands.targets
    assert len(freed_ids) == (1 if files else 0), commands.targets
    assert total - len(gridfs_deletes) - len(freed_ids) <= 3, commands.targets


async def test_delete_thread_of_a_thread_not_found_deletes_its_overflow_and_claims_by_its_id(
    layer: MongoDataLayer, commands: CommandLog
) -> None:
    """Never stored, or deleted by an earlier attempt whose reply was lost: what the thread
    document would have listed is not known (docs/decisions.md, "Failover")."""
    settings = layer.settings

    total = await count(commands, layer.delete_thread("t1"))

    assert total == 5, commands.targets
    assert ("delete", settings.overflow_name) in commands.targets
    assert ("delete", settings.element_owners_name) in commands.targets


async def test_get_thread_with_steps_feedback_and_elements_is_one_command(
    layer: MongoDataLayer, commands: CommandLog
) -> None:
    await chat(layer)
    await layer.create_element(file_element("t1"))

    assert await count(commands, layer.get_thread("t1")) == 1, commands.commands


async def test_opening_a_past_thread_as_chainlit_does_is_five_commands(
    layer: MongoDataLayer, commands: CommandLog
) -> None:
    await chat(layer)
    commands.reset()

    for _ in range(3):
        await layer.get_thread("t1")
    await layer.get_thread_author("t1")
    await layer.get_user("alice")

    assert len(commands.commands) == 5, commands.commands


async def test_a_sidebar_page_with_search_feedback_and_cursor_is_two_commands_at_most(
    layer: MongoDataLayer, commands: CommandLog
) -> None:
    for thread_id in ("t1", "t2", "t3"):
        await chat(layer, thread_id)
    alice = await layer.get_user("alice")
    assert alice is not None
    filters = ThreadFilter(userId=alice.id, search="PINEAPPLE", feedback=1)
    first = await layer.list_threads(Pagination(first=1), filters)

    second = layer.list_threads(Pagination(first=1, cursor=first.pageInfo.endCursor), filters)

    assert await count(commands, second) <= 2, commands.commands


@pytest.mark.parametrize("known_element", [False, True])
async def test_create_element_with_a_file_is_one_command_plus_the_gridfs_upload(
    layer: MongoDataLayer, commands: CommandLog, known_element: bool
) -> None:
    """Plus one for an element id this layer has not met: the claim of its id
    (element_owners), which keeps an id to one thread on a sharded cluster."""
    await chat(layer)
    if known_element:
        await layer.create_element(file_element("t1", content=b"first", id="e1"))
    bucket = layer.settings.files_bucket_name

    written = layer.create_element(file_element("t1", content=b"x" * 10, id="e1"))
    total = await count(commands, written)

    gridfs = commands.on_bucket(bucket)
    inserts = sorted(target for name, target in gridfs if name == "insert")
    assert inserts == [f"{bucket}.chunks", f"{bucket}.files"], commands.targets
    claims = [c for c in commands.targets if c[1] == layer.settings.element_owners_name]
    assert len(claims) == (0 if known_element else 1), commands.targets
    assert total - len(gridfs) - len(claims) == 1, commands.targets


async def test_a_step_write_does_not_bring_the_step_back(
    layer: MongoDataLayer, commands: CommandLog
) -> None:
    answer = "a long answer " * 100
    await layer.create_step(step("s1", output=""))

    assert await count(commands, layer.update_step(step("s1", output=answer))) == 1
    assert "a long answer" not in str(commands.replies)


async def test_the_favorites_of_a_user_are_one_command(
    layer: MongoDataLayer, commands: CommandLog
) -> None:
    await chat(layer)
    alice = await user(layer)
    thread = await layer.get_thread("t1")
    assert thread is not None
    await layer.set_step_favorite(thread["steps"][0], True)

    assert await count(commands, layer.get_favorite_steps(alice.id)) == 1, commands.commands
