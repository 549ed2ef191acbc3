"""Steps on the real server: one idempotent upsert per write, whatever the order."""

import asyncio
from typing import Any

import pytest
from chainlit.types import Feedback

from mongo_layer import MongoDataLayer

from .factories import file_element, files_of_thread, step, stored_thread

EVERY_STEP_FIELD: dict[str, Any] = {
    "id": "s1",
    "threadId": "t1",
    "parentId": "s0",
    "name": "assistant",
    "type": "llm",
    "input": "what is 2+2?",
    "output": "4",
    "metadata": {"favorite": False, "a.b": {"$c": [1, "x"]}},
    "tags": ["math"],
    "isError": False,
    "showInput": False,
    "language": "markdown",
    "start": "2024-05-01T10:00:00.100Z",
    "end": "2024-05-01T10:00:01.250Z",
    "createdAt": "2024-05-01T10:00:00.000Z",
    "generation": {
        "provider": "openai",
        "model": "gpt-4o",
        "settings": {"temperature": 0.2},
        "messages": [{"role": "user", "content": "what is 2+2?"}],
        "tokenCount": 12,
    },
    "defaultOpen": True,
    "autoCollapse": False,
    "waitForAnswer": True,
    "command": "calculate",
    "modes": {"model": "fast", "tone": "dry"},
    "icon": "calculator",
    "streaming": False,
    "fieldAddedByAFutureChainlit": {"nested": [1, {"deep": None}]},
}


async def stored_steps(layer: MongoDataLayer, thread_id: str = "t1") -> list[dict[str, Any]]:
    thread = await stored_thread(layer, thread_id)
    return [dict(s) for s in thread["steps"]]


async def test_every_step_field_round_trips_exactly(layer: MongoDataLayer) -> None:
    await layer.create_step(EVERY_STEP_FIELD)  # type: ignore[arg-type]

    assert await stored_steps(layer) == [EVERY_STEP_FIELD]


async def test_show_input_false_is_stored_as_a_boolean(layer: MongoDataLayer) -> None:
    await layer.create_step(step("s1", showInput=False))

    stored = await layer.stores.threads.collection.find_one({"_id": "t1"})

    assert stored["steps"][0]["showInput"] is False


async def test_step_times_are_stored_as_dates_and_returned_ending_in_z(
    layer: MongoDataLayer,
) -> None:
    await layer.create_step(
        step("s1", createdAt="2024-05-01T10:00:00.5", start="2024-05-01T10:00:01")
    )

    stored = await layer.stores.threads.collection.find_one({"_id": "t1"})
    (returned,) = await stored_steps(layer)

    assert stored["steps"][0]["createdAt"].year == 2024
    assert (returned["createdAt"], returned["start"]) == (
        "2024-05-01T10:00:00.500Z",
        "2024-05-01T10:00:01.000Z",
    )


async def test_a_step_written_twice_is_stored_once(layer: MongoDataLayer) -> None:
    await layer.create_step(step("s1", output="hello"))
    await layer.create_step(step("s1", output="hello"))

    assert [s["id"] for s in await stored_steps(layer)] == ["s1"]


async def test_an_update_after_the_create_changes_the_same_step(layer: MongoDataLayer) -> None:
    await layer.create_step(step("s1", output="draft", isError=True))
    await layer.update_step(step("s1", output="final", isError=False))

    (stored,) = await stored_steps(layer)

    assert (stored["output"], stored["isError"]) == ("final", False)


async def test_a_step_written_before_its_thread_creates_the_thread(layer: MongoDataLayer) -> None:
    await layer.create_step(step("s1", "new-thread", output="hi"))

    thread = await stored_thread(layer, "new-thread")

    assert [s["output"] for s in thread["steps"]] == ["hi"]
    assert thread["createdAt"].endswith("Z")


async def test_an_update_landing_before_its_create_loses_nothing(layer: MongoDataLayer) -> None:
    await layer.update_step(
        step("s1", input="question", output="answer", end="2024-05-01T10:00:09.000Z")
    )
    await layer.create_step(step("s1", input="", output="", metadata={}, language="python"))

    (stored,) = await stored_steps(layer)

    assert (stored["input"], stored["output"]) == ("question", "answer")
    assert stored["end"] == "2024-05-01T10:00:09.000Z"
    assert stored["language"] == "python"


@pytest.mark.parametrize("field", ["input", "output"])
async def test_an_empty_text_never_replaces_stored_text(layer: MongoDataLayer, field: str) -> None:
    await layer.create_step(step("s1", "t1", **{field: "stored text"}))
    await layer.update_step(step("s1", "t1", **{field: ""}))
    await layer.update_step(step("s1", "t1", **{field: None}))

    (stored,) = await stored_steps(layer)

    assert stored[field] == "stored text"


async def test_a_hundred_concurrent_steps_on_a_new_thread_make_one_thread_with_all_steps(
    layer: MongoDataLayer,
) -> None:
    await asyncio.gather(
        *(layer.create_step(step(f"s{i:03}", "busy", output=str(i))) for i in range(100))
    )

    assert await layer.stores.threads.collection.count_documents({}) == 1
    stored = await layer.stores.threads.collection.find_one({"_id": "busy"})
    assert sorted(s["id"] for s in stored["steps"]) == [f"s{i:03}" for i in range(100)]


async def test_delete_step_removes_the_step_and_its_feedback(layer: MongoDataLayer) -> None:
    await layer.create_step(step("s1", output="one"))
    await layer.create_step(step("s2", output="two"))
    await layer.upsert_feedback(Feedback(forId="s1", threadId="t1", value=1))
    await layer.upsert_feedback(Feedback(forId="s2", threadId="t1", value=0))

    await layer.delete_step("s1")

    (remaining,) = await stored_steps(layer)
    assert remaining["id"] == "s2"
    assert remaining["feedback"]["value"] == 0
    assert await layer.stores.feedback.collection.count_documents({"forId": "s1"}) == 0


async def test_delete_step_removes_the_elements_and_files_attached_to_it(
    layer: MongoDataLayer,
) -> None:
    await layer.create_step(step("s1"))
    await layer.create_step(step("s2"))
    await layer.create_element(file_element("t1", for_id="s1"))
    kept = file_element("t1", for_id="s2")
    await layer.create_element(kept)

    await layer.delete_step("s1")

    thread = await stored_thread(layer, "t1")
    assert thread["elements"] is not None
    assert [e["id"] for e in thread["elements"]] == [kept.id]
    assert [f["metadata"]["elementId"] for f in await files_of_thread(layer, "t1")] == [kept.id]


async def test_a_step_whose_thread_id_is_a_dict_is_refused(layer: MongoDataLayer) -> None:
    with pytest.raises(TypeError):
        await layer.create_step(step("s1", {"$ne": None}))  # type: ignore[arg-type]

    assert await layer.stores.threads.collection.count_documents({}) == 0
