"""The content of the bench's chats: ids, times, names and messages, the same for every layer.

Everything is drawn from one seeded random generator, so a size always produces the same
conversations, and every layer under comparison stores exactly the same data.
"""

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

# ChainlitDataLayer parses step times with exactly this format.
STEP_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
TOPICS = ("Paris", "budget", "python", "garden", "invoice", "recipe", "physics", "travel")
SEARCH_TERM = "paris"
UNMATCHED_SEARCH_TERM = "zebra"
# Filler text for messages; no topic word among them, so search matches topics only.
FILLER = (
    "the data layer stores every step of a conversation so that a user can come back "
    "later and find the answer again with its feedback files and favorite messages while "
    "the sidebar lists threads newest first and search finds them by name"
)


@dataclass
class Turn:
    question_id: str
    run_id: str
    answer_id: str
    question: str
    answer: str
    times: list[str]


@dataclass
class ThreadPlan:
    """One conversation: whose it is, its name, and its turns."""

    id: str
    user: str
    name: str
    turns: list[Turn] = field(default_factory=list)

    @property
    def step_count(self) -> int:
        return 3 * len(self.turns)


class Conversations:
    def __init__(self, seed: int = 5) -> None:
        self.random = random.Random(seed)
        self.clock = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=30)
        self.thread_count = 0
        self.words = FILLER.split()

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.random.getrandbits(128), version=4))

    def tick(self) -> str:
        self.clock += timedelta(milliseconds=self.random.randint(200, 2000))
        return self.clock.strftime(STEP_TIME_FORMAT)

    def text(self, low: int, high: int) -> str:
        size = self.random.randint(low, high)
        words: list[str] = []
        length = 0
        while length < size:
            word = self.random.choice(self.words)
            words.append(word)
            length += len(word) + 1
        return " ".join(words)[:size]

    def thread(self, user: str, turns: int) -> ThreadPlan:
        topic = TOPICS[self.thread_count % len(TOPICS)]
        self.thread_count += 1
        plan = ThreadPlan(self.new_id(), user, f"{topic} question #{self.thread_count}")
        plan.turns = [self.turn(topic) for _ in range(turns)]
        return plan

    def turn(self, topic: str) -> Turn:
        question = f"About {topic}: {self.text(80, 300)}?"
        return Turn(
            question_id=self.new_id(),
            run_id=self.new_id(),
            answer_id=self.new_id(),
            question=question,
            answer=self.text(1024, 2048),
            times=[self.tick() for _ in range(4)],
        )

    def attachment(self) -> bytes:
        return self.text(1500, 2500).encode()


def step_dict(
    step_id: str,
    thread_id: str,
    step_type: str,
    name: str,
    created_at: str,
    *,
    parent_id: str | None = None,
    input: str = "",
    output: str = "",
    end: str | None = None,
    streaming: bool = False,
) -> dict[str, Any]:
    """A StepDict shaped as Chainlit's `Step.to_dict()` makes it."""
    return {
        "name": name,
        "type": step_type,
        "id": step_id,
        "threadId": thread_id,
        "parentId": parent_id,
        "streaming": streaming,
        "metadata": {},
        "tags": None,
        "input": input,
        "isError": False,
        "output": output,
        "createdAt": created_at,
        "start": created_at,
        "end": end,
        "language": None,
        "defaultOpen": False,
        "autoCollapse": False,
        "showInput": "json",
        "generation": None,
    }


def question_step(plan: ThreadPlan, turn: Turn) -> dict[str, Any]:
    time = turn.times[0]
    return step_dict(
        turn.question_id, plan.id, "user_message", plan.user, time, output=turn.question, end=time
    )


def run_step(plan: ThreadPlan, turn: Turn, *, finished: bool) -> dict[str, Any]:
    end = turn.times[3] if finished else None
    return step_dict(turn.run_id, plan.id, "run", "on_message", turn.times[1], end=end)


def answer_step(plan: ThreadPlan, turn: Turn, *, finished: bool) -> dict[str, Any]:
    """The assistant's message: empty while it streams, then its whole text."""
    return step_dict(
        turn.answer_id,
        plan.id,
        "assistant_message",
        "Assistant",
        turn.times[2],
        parent_id=turn.run_id,
        output=turn.answer if finished else "",
        end=turn.times[3] if finished else None,
        streaming=not finished,
    )
