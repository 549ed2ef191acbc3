"""A Chainlit app's history, written through one of Chainlit's own SQL layers: two users,
threads with nested steps, ratings and element files, as an app on that layer stores them."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chainlit.data.base import BaseDataLayer
from chainlit.element import File
from chainlit.types import Feedback
from chainlit.user import User

# ChainlitDataLayer parses a step's createdAt with exactly this format.
STEP_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
START = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
PARTS = ("question", "run", "tool", "answer")
HISTORY_IDS = uuid.UUID("4f7ad7e6-2b1c-4c55-9a0e-6a3c1d2b9e10")


def history_id(name: str) -> str:
    """A UUID (SQLAlchemyDataLayer's schema on PostgreSQL takes nothing else), the same for
    the same name."""
    return str(uuid.uuid5(HISTORY_IDS, name))


@dataclass
class History:
    """What was written, to check the migrated copy against."""

    user_ids: dict[str, str] = field(default_factory=dict)
    thread_ids: list[str] = field(default_factory=list)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    feedback_ids: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


def step_time(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).strftime(STEP_TIME_FORMAT)


async def write_history(layer: BaseDataLayer, threads_per_user: int = 2) -> History:
    history = History()
    for identifier in ("alice", "bob"):
        user = await layer.create_user(User(identifier=identifier, metadata={"team": "red"}))
        assert user is not None
        history.user_ids[identifier] = user.id
        for n in range(threads_per_user):
            await write_thread(layer, history, history_id(f"{identifier}-{n}"), user.id, n)
    return history


async def write_thread(
    layer: BaseDataLayer, history: History, thread_id: str, user_id: str, n: int
) -> None:
    """One chat: a question, a run with a nested tool call and the answer, a rating of the
    answer with a comment, and a file attached to the answer."""
    history.thread_ids.append(thread_id)
    await layer.update_thread(thread_id, name=f"chat {thread_id}", user_id=user_id)
    await layer.update_thread(thread_id, metadata={"chat_profile": "default"})
    base = 60.0 * len(history.thread_ids)
    question, run, tool, answer = (history_id(f"{thread_id}-{part}") for part in PARTS)
    steps = [
        chat_step(question, thread_id, "user_message", base, output=f"question {n}"),
        chat_step(run, thread_id, "run", base + 0.5, name="on_message"),
        chat_step(
            tool, thread_id, "tool", base + 1.25, parentId=run,
            input="search(herons)", output="herons nest in colonies",
        ),
        chat_step(
            answer, thread_id, "assistant_message", base + 2.0, parentId=run,
            output=f"answer {n}: in colonies",
        ),
    ]  # fmt: skip
    for step in steps:
        await layer.create_step(step)
        history.steps[step["id"]] = step
    feedback_id = await layer.upsert_feedback(
        Feedback(forId=answer, threadId=thread_id, value=1, comment="helpful")
    )
    history.feedback_ids[answer] = feedback_id
    content = f"notes of {thread_id}\n".encode() * 50
    element = File(
        name="notes.md", content=content, thread_id=thread_id, for_id=answer, mime="text/markdown"
    )
    await layer.create_element(element)
    history.files[element.id] = content


def chat_step(step_id: str, thread_id: str, step_type: str, seconds: float, **fields: Any) -> Any:
    time = step_time(seconds)
    step: dict[str, Any] = {
        "id": step_id,
        "threadId": thread_id,
        "type": step_type,
        "name": "alice" if step_type == "user_message" else "Assistant",
        "streaming": False,
        "isError": False,
        "metadata": {"n": 1},
        "input": "",
        "output": "",
        "showInput": "json" if step_type == "tool" else False,
        "createdAt": time,
        "start": time,
        "end": time,
    }
    return step | fields
