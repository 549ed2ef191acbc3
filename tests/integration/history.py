"""A chat history with every kind of thing the layer stores, written through the layer, and
a snapshot of what the database holds, for the retention, erasure and archive tests."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from chainlit.types import Feedback
from chainlit.user import PersistedUser

from mongo_layer import MongoDataLayer
from mongo_layer.times import utc_now

from .factories import file_element, step, thread_of, user

# Settings that make a small history overflow and offload large fields.
SMALL_LIMITS: dict[str, Any] = {
    "thread_document_budget_bytes": 64 * 1024,
    "large_field_bytes": 8 * 1024,
}
OVERFLOWING_STEPS = 20
STEP_TEXT_BYTES = 5 * 1024


@dataclass
class History:
    alice: PersistedUser
    bob: PersistedUser
    thread_ids: list[str]


async def fill_history(layer: MongoDataLayer) -> History:
    """Alice's three threads (nested steps with feedback and a favorite, a file and a
    shared flag; an overflowed thread; a step with a large output and a large file) and
    Bob's one thread with a file and feedback."""
    alice = await user(layer, "alice")
    bob = await user(layer, "bob")

    await thread_of(layer, alice, "a-chat", name="Herons", tags=["birds"])
    await layer.update_thread("a-chat", metadata={"is_shared": True, "chat_profile": "x.y"})
    await layer.create_step(step("a-q", "a-chat", type="user_message", output="Where?"))
    await layer.create_step(
        step(
            "a-tool",
            "a-chat",
            type="tool",
            parentId="a-q",
            input="{}",
            output="trees",
            createdAt="2024-05-01T10:00:01.000Z",
        )
    )
    answer = step(
        "a-answer",
        "a-chat",
        parentId="a-q",
        output="In colonies.",
        showInput=False,
        createdAt="2024-05-01T10:00:02.250Z",
        generation={"model": "m", "a.b": 1},
    )
    await layer.create_step(answer)
    await layer.upsert_feedback(Feedback(forId="a-answer", value=1, comment="good"))
    await layer.set_step_favorite(answer, True)
    await layer.create_element(file_element("a-chat", id="a-file", for_id="a-answer"))

    await thread_of(layer, alice, "a-long", name="Long")
    for number in range(OVERFLOWING_STEPS):
        await layer.create_step(
            step(
                f"long-{number:02}",
                "a-long",
                output=chr(ord("a") + number) * STEP_TEXT_BYTES,
                createdAt=f"2024-05-02T10:00:{number:02}.000Z",
            )
        )
    await layer.upsert_feedback(Feedback(forId=f"long-{OVERFLOWING_STEPS - 1:02}", value=0))

    await thread_of(layer, alice, "a-large", name="Large")
    await layer.create_step(step("large-out", "a-large", output="L" * 3 * STEP_TEXT_BYTES))
    await layer.create_element(
        file_element("a-large", id="big-file", content=bytes(range(256)) * 1200)
    )

    await thread_of(layer, bob, "b-chat", name="Bob's")
    await layer.create_step(step("b-q", "b-chat", type="user_message", output="Hi"))
    await layer.create_element(file_element("b-chat", id="b-file", content=b"bob's bytes"))
    await layer.upsert_feedback(Feedback(forId="b-q", value=1))
    return History(alice, bob, ["a-chat", "a-long", "a-large", "b-chat"])


async def age_threads(layer: MongoDataLayer, thread_ids: list[str], days: int) -> None:
    """Make the threads' last activity `days` days ago."""
    await layer.stores.threads.collection.update_many(
        {"_id": {"$in": thread_ids}}, {"$set": {"updatedAt": utc_now() - timedelta(days=days)}}
    )


async def snapshot(layer: MongoDataLayer) -> dict[str, list[dict[str, Any]]]:
    """Every document of every collection of the layer's database, in id order."""
    database = layer.connection.database
    names = sorted(await database.list_collection_names())
    return {
        name: await database[name].find({}).sort("_id", 1).to_list(None)
        for name in names
        if not name.startswith("system.")
    }


async def without_threads(
    layer: MongoDataLayer, contents: dict[str, list[dict[str, Any]]], thread_ids: set[str]
) -> dict[str, list[dict[str, Any]]]:
    """`contents` (a snapshot) less every document that belongs to these threads: thread
    documents, overflow steps, feedback, element id claims, files and their chunks."""
    settings = layer.settings
    bucket = settings.files_bucket_name
    removed_files = {
        document["_id"]
        for document in contents.get(f"{bucket}.files", [])
        if document["metadata"].get("threadId") in thread_ids
    }
    belongs: dict[str, Any] = {
        settings.threads_name: lambda d: d["_id"] in thread_ids,
        settings.overflow_name: lambda d: d["threadId"] in thread_ids,
        settings.feedback_name: lambda d: d.get("threadId") in thread_ids,
        settings.element_owners_name: lambda d: d["threadId"] in thread_ids,
        f"{bucket}.files": lambda d: d["_id"] in removed_files,
        f"{bucket}.chunks": lambda d: d["files_id"] in removed_files,
    }
    return {
        name: [d for d in documents if not belongs.get(name, lambda _: False)(d)]
        for name, documents in contents.items()
    }
