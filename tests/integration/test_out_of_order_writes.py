"""Chainlit writes steps fire-and-forget: a step's update can reach the database before its
creation, and an early write can land after the final one. None of that may lose text: the
stored step reads as if the writes had landed in the order Chainlit called them.

A step written inside `async with cl.Step()` is created with empty input and output while it
streams, then updated with the final text; a message sent with placeholder content
("Thinking...") and updated later is created with that early text.
"""

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from chainlit.step import StepDict

from mongo_layer import MongoDataLayer

from .factories import thread_documents
from .landing import HeldWrites

STEP_COUNT = 150
START = datetime(2025, 1, 1, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def chainlit_step(
    thread_id: str, step_id: str, index: int, *, input: str, output: str, final: bool
) -> StepDict:
    """A StepDict shaped like Chainlit's `Step.to_dict()` at creation or at the final update."""
    created_at = START + timedelta(seconds=index)
    return {
        "name": "Assistant",
        "type": "assistant_message",
        "id": step_id,
        "threadId": thread_id,
        "parentId": None,
        "streaming": not final,
        "metadata": {},
        "tags": None,
        "input": input,
        "isError": False,
        "output": output,
        "createdAt": iso(created_at),
        "start": iso(created_at),
        "end": iso(created_at + timedelta(milliseconds=500)) if final else None,
        "language": None,
        "defaultOpen": False,
        "autoCollapse": False,
        "showInput": "json",
        "generation": None,
    }


def early_output(index: int) -> str:
    """What the creation carries: nothing yet, or the text shown while the answer streams."""
    return ["", "Thinking...", f"answer {index} (partial"][index % 3]


# Which call's value a field keeps is decided by the layer's stamps whatever the driver, and
# every landing order of one step runs on both drivers in test_call_order.py: one driver
# carries this long shuffle.
@pytest.mark.parametrize("driver", ["pymongo"], indirect=True)
async def test_150_create_update_pairs_landing_in_random_order_keep_every_final_text(
    layer: MongoDataLayer,
) -> None:
    thread_id = str(uuid.uuid4())
    step_ids = [str(uuid.uuid4()) for _ in range(STEP_COUNT)]
    held = HeldWrites(layer)
    for index, step_id in enumerate(step_ids):
        created = chainlit_step(
            thread_id, step_id, index, input="", output=early_output(index), final=False
        )
        final = chainlit_step(
            thread_id,
            step_id,
            index,
            input=f"question {index}",
            output=f"answer {index}",
            final=True,
        )
        held.call(f"create {index}", layer.create_step(created))
        held.call(f"update {index}", layer.update_step(final))
    landing = list(held.calls)
    random.Random(20250101).shuffle(landing)
    first_landing: dict[int, str] = {}
    for name in landing:
        kind, number = name.split()
        first_landing.setdefault(int(number), kind)
    assert "update" in first_landing.values(), "the shuffle must land some updates first"

    await held.land(*landing)

    documents = await thread_documents(layer)
    assert [document["_id"] for document in documents] == [thread_id]
    stored_ids = [step["id"] for step in documents[0]["steps"]]
    assert len(stored_ids) == STEP_COUNT
    assert set(stored_ids) == set(step_ids)

    thread = await layer.get_thread(thread_id)
    assert thread is not None
    assert [step["id"] for step in thread["steps"]] == step_ids
    for index, step in enumerate(thread["steps"]):
        assert (step["input"], step["output"]) == (f"question {index}", f"answer {index}"), (
            f"step {index} was first landed by its {first_landing[index]}"
        )
        assert step["streaming"] is False
        assert step["end"] is not None


async def test_an_empty_early_write_landing_after_the_final_one_keeps_the_final_text(
    layer: MongoDataLayer,
) -> None:
    thread_id, step_id = str(uuid.uuid4()), str(uuid.uuid4())
    early = chainlit_step(thread_id, step_id, 0, input="", output="", final=False)
    final = chainlit_step(thread_id, step_id, 0, input="2 + 2?", output="4", final=True)
    held = HeldWrites(layer)
    held.call("create", layer.create_step(early))
    held.call("update", layer.update_step(final))

    await held.land("update", "create")

    thread = await layer.get_thread(thread_id)
    assert thread is not None
    [step] = thread["steps"]
    assert (step["input"], step["output"]) == ("2 + 2?", "4")
    assert step["end"] == final["end"]
    assert step["streaming"] is False


async def test_a_creation_with_placeholder_text_landing_after_the_final_update_keeps_it(
    layer: MongoDataLayer,
) -> None:
    thread_id, step_id = str(uuid.uuid4()), str(uuid.uuid4())
    early = chainlit_step(thread_id, step_id, 0, input="", output="Thinking...", final=False)
    final = chainlit_step(thread_id, step_id, 0, input="why?", output="because", final=True)
    final["isError"] = True
    held = HeldWrites(layer)
    held.call("create", layer.create_step(early))
    held.call("update", layer.update_step(final))

    await held.land("update", "create")

    thread = await layer.get_thread(thread_id)
    assert thread is not None
    [step] = thread["steps"]
    assert (step["input"], step["output"]) == ("why?", "because")
    assert step["isError"] is True
    assert step["streaming"] is False


async def test_an_update_after_the_creation_replaces_the_early_text(
    layer: MongoDataLayer,
) -> None:
    thread_id, step_id = str(uuid.uuid4()), str(uuid.uuid4())
    early = chainlit_step(thread_id, step_id, 0, input="", output="Thinking...", final=False)
    final = chainlit_step(thread_id, step_id, 0, input="why?", output="because", final=True)

    await layer.create_step(early)
    await layer.update_step(final)

    thread = await layer.get_thread(thread_id)
    assert thread is not None
    [step] = thread["steps"]
    assert (step["input"], step["output"], step["streaming"]) == ("why?", "because", False)
