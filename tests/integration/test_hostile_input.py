"""Input from the browser or from app code cannot act as a query operator, change another
user's data, or be stored differently from how it was given."""

import logging
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from chainlit.element import File
from chainlit.step import StepDict
from chainlit.types import Feedback, Pagination, ThreadFilter
from chainlit.user import PersistedUser, User

from mongo_layer import InvalidIdError, InvalidInputError, MongoDataLayer

from . import factories

OPERATOR_IDS: list[Any] = [
    {"$ne": None},
    {"$gt": ""},
    {"$regex": ".*"},
    {"$in": ["alice-thread", "alice-step", "alice"]},
    ["alice-thread"],
    [],
]
# Text JSON can carry but UTF-8 cannot: a browser may send it in any id.
UNSTORABLE_IDS = ["\ud800", "alice-thread\udfff"]


@dataclass
class Victim:
    """Another user's thread with a step, a file and a rating: what an attack aims at."""

    user: PersistedUser
    thread_id: str = "alice-thread"
    step_id: str = "alice-step"
    element_id: str = ""
    feedback_id: str = ""


@pytest.fixture
async def victim(layer: MongoDataLayer) -> Victim:
    user = await layer.create_user(User(identifier="alice"))
    assert user is not None
    victim = Victim(user)
    await layer.update_thread(victim.thread_id, name="alice's secret", user_id=user.id)
    await layer.create_step(step(victim.thread_id, victim.step_id, output="secret answer"))
    element = File(
        name="a.txt",
        content=b"secret",
        thread_id=victim.thread_id,
        mime="text/plain",
        for_id=victim.step_id,
    )
    await layer.create_element(element)
    victim.element_id = element.id
    victim.feedback_id = await layer.upsert_feedback(
        Feedback(forId=victim.step_id, threadId=victim.thread_id, value=1, comment="good")
    )
    return victim


def step(thread_id: str, step_id: Any, **fields: Any) -> StepDict:
    defaults = {"name": "Assistant", "createdAt": "2025-01-01T00:00:00.000Z"}
    return factories.step(step_id, thread_id, **{**defaults, **fields})


async def everything_stored(layer: MongoDataLayer) -> dict[str, list[dict[str, Any]]]:
    database = layer.connection.database
    return {
        name: await database[name].find({}).sort("_id", 1).to_list(None)
        for name in sorted(await database.list_collection_names())
    }


HostileCall = Callable[[MongoDataLayer, Victim, Any], Awaitable[Any]]


@dataclass
class Attack:
    name: str
    call: HostileCall
    refused: bool = True
    """True: raises InvalidIdError or InvalidInputError. False: returns nothing."""
    none_is_valid: bool = False
    """None is a legitimate value here ("no id"), so it is not tried as hostile."""
    empty_is_absent: bool = False
    """An empty value means "not given" here, so only non-empty values are tried."""


def unchecked_user(identifier: Any) -> User:
    """A User whose identifier skipped Chainlit's validation, as app code can make one."""
    user = User(identifier="placeholder")
    user.identifier = identifier
    return user


def feedback_on(victim: Victim, **fields: Any) -> Feedback:
    """Feedback on the victim's step. Chainlit's Feedback validates its fields when built
    but not when assigned, so app code can hand the layer anything."""
    feedback = Feedback(forId=victim.step_id, threadId=victim.thread_id, value=0)
    for name, value in fields.items():
        setattr(feedback, name, value)
    return feedback


async def threads_listed(layer: MongoDataLayer, pagination: Pagination, user_id: Any) -> Any:
    page = await layer.list_threads(pagination, ThreadFilter.model_construct(userId=user_id))
    return page.data


ATTACKS = [
    Attack("get_thread", lambda layer, v, h: layer.get_thread(h), refused=False),
    Attack("get_thread_author", lambda layer, v, h: layer.get_thread_author(h), refused=False),
    Attack("delete_thread", lambda layer, v, h: layer.delete_thread(h)),
    Attack(
        "update_thread id",
        lambda layer, v, h: layer.update_thread(h, name="pwned", metadata={"is_shared": True}),
    ),
    Attack(
        "update_thread user_id",
        lambda layer, v, h: layer.update_thread(v.thread_id, user_id=h),
        none_is_valid=True,
    ),
    Attack(
        "create_step id",
        lambda layer, v, h: layer.create_step(step(v.thread_id, h, output="pwned")),
    ),
    Attack(
        "create_step threadId",
        lambda layer, v, h: layer.create_step(step(h, v.step_id, output="pwned")),
    ),
    Attack(
        "update_step id",
        lambda layer, v, h: layer.update_step(step(v.thread_id, h, output="pwned")),
    ),
    Attack(
        "create_step parentId",
        lambda layer, v, h: layer.create_step(step(v.thread_id, "new", parentId=h)),
        none_is_valid=True,
    ),
    Attack("delete_step", lambda layer, v, h: layer.delete_step(h)),
    Attack(
        "get_element element id",
        lambda layer, v, h: layer.get_element(v.thread_id, h),
        refused=False,
    ),
    Attack(
        "get_element thread id",
        lambda layer, v, h: layer.get_element(h, v.element_id),
        refused=False,
    ),
    Attack("delete_element element id", lambda layer, v, h: layer.delete_element(h)),
    Attack(
        "delete_element thread id",
        lambda layer, v, h: layer.delete_element(v.element_id, h),
        none_is_valid=True,
    ),
    Attack("get_user", lambda layer, v, h: layer.get_user(h), refused=False),
    Attack("create_user", lambda layer, v, h: layer.create_user(unchecked_user(h))),
    Attack(
        "upsert_feedback forId", lambda layer, v, h: layer.upsert_feedback(feedback_on(v, forId=h))
    ),
    Attack(
        "upsert_feedback threadId",
        lambda layer, v, h: layer.upsert_feedback(feedback_on(v, threadId=h)),
        none_is_valid=True,
    ),
    Attack(
        "upsert_feedback id",
        lambda layer, v, h: layer.upsert_feedback(feedback_on(v, id=h)),
        none_is_valid=True,
    ),
    Attack("delete_feedback", lambda layer, v, h: layer.delete_feedback(h)),
    Attack(
        "list_threads userId",
        lambda layer, v, h: threads_listed(layer, Pagination(first=20), h),
        refused=False,
        none_is_valid=True,
    ),
    Attack(
        "list_threads cursor",
        lambda layer, v, h: threads_listed(
            layer, Pagination.model_construct(first=20, cursor=h), v.user.id
        ),
        refused=False,
        none_is_valid=True,
        empty_is_absent=True,
    ),
    Attack("get_favorite_steps", lambda layer, v, h: layer.get_favorite_steps(h), refused=False),
]


@pytest.mark.parametrize("attack", ATTACKS, ids=[attack.name for attack in ATTACKS])
async def test_an_id_that_cannot_exist_is_refused_by_a_write_and_found_by_no_read(
    layer: MongoDataLayer, victim: Victim, attack: Attack
) -> None:
    before = await everything_stored(layer)
    hostile_values = OPERATOR_IDS + UNSTORABLE_IDS + ([] if attack.none_is_valid else [None, ""])
    if attack.empty_is_absent:
        hostile_values = [value for value in hostile_values if value]
    for hostile in hostile_values:
        if attack.refused:
            with pytest.raises((InvalidIdError, InvalidInputError)) as refusal:
                await attack.call(layer, victim, hostile)
            assert isinstance(refusal.value, TypeError | ValueError)
        else:
            assert not await attack.call(layer, victim, hostile), f"{hostile!r} matched"
    assert await everything_stored(layer) == before, "a hostile call changed stored data"


@pytest.mark.parametrize("user_id", [None, "", [], {}])
async def test_a_thread_list_without_a_user_id_is_empty(
    layer: MongoDataLayer, victim: Victim, user_id: Any
) -> None:
    page = await layer.list_threads(
        Pagination(first=20), ThreadFilter.model_construct(userId=user_id)
    )
    assert page.data == []


# Search


async def sidebar_names(layer: MongoDataLayer, user_id: str, search: str) -> list[str]:
    page = await layer.list_threads(
        Pagination(first=100), ThreadFilter(userId=user_id, search=search)
    )
    return sorted(thread["name"] or "" for thread in page.data)


async def test_search_text_with_regex_characters_matches_literally(
    layer: MongoDataLayer, victim: Victim
) -> None:
    user_id = victim.user.id
    for thread_id, name in [
        ("t1", "price: $5.00 (approx)"),
        ("t2", "price: $5X00 approx"),
        ("t3", "a+b=c"),
        ("t4", "aab=c"),
        ("t5", r"C:\temp [x]"),
    ]:
        await layer.update_thread(thread_id, name=name, user_id=user_id)
    await layer.create_step(step("t2", "t2-step", output="is a|b true?"))

    assert await sidebar_names(layer, user_id, "$5.00 (") == ["price: $5.00 (approx)"]
    assert await sidebar_names(layer, user_id, "a+b") == ["a+b=c"]
    assert await sidebar_names(layer, user_id, r"\temp [") == [r"C:\temp [x]"]
    assert await sidebar_names(layer, user_id, "a|b") == ["price: $5X00 approx"]
    for pattern in [".*", "^p", "[a-z]+", ")(", "\\d", "price: $$"]:
        assert await sidebar_names(layer, user_id, pattern) == [], pattern


async def test_a_10000_character_search_works_and_is_cut_to_the_maximum_length(
    layer: MongoDataLayer, victim: Victim
) -> None:
    user_id = victim.user.id
    limit = layer.settings.max_search_length
    assert limit < layer.settings.max_thread_name_length
    search = (string.ascii_lowercase * 400)[:10_000]
    await layer.update_thread("exactly", name=search[:limit], user_id=user_id)
    await layer.update_thread("one short", name=search[: limit - 1], user_id=user_id)

    assert await sidebar_names(layer, user_id, search) == [search[:limit]]


# Free-form keys and values


TRICKY_METADATA: dict[str, Any] = {
    "a.b": 1,
    "$where": "sleep(1000)",
    "%2E": "a key that looks escaped",
    "price$": {"x.y": {"$gt": [{"k.$": "v"}, "$literal"]}},
    "plain": {"nested.key": {"$deeper.still": [1, 2]}},
}


async def test_thread_metadata_keys_with_dollars_and_dots_are_returned_intact(
    layer: MongoDataLayer, victim: Victim
) -> None:
    await layer.update_thread("t1", user_id=victim.user.id, metadata=TRICKY_METADATA)

    thread = await layer.get_thread("t1")
    assert thread is not None and thread["metadata"] == TRICKY_METADATA
    page = await layer.list_threads(Pagination(first=20), ThreadFilter(userId=victim.user.id))
    assert next(t for t in page.data if t["id"] == "t1")["metadata"] == TRICKY_METADATA

    await layer.update_thread("t1", metadata={"a.b": None, "$where": "changed"})

    thread = await layer.get_thread("t1")
    assert thread is not None
    expected = {key: value for key, value in TRICKY_METADATA.items() if key != "a.b"}
    assert thread["metadata"] == expected | {"$where": "changed"}


async def test_step_metadata_keys_with_dollars_and_dots_are_returned_intact(
    layer: MongoDataLayer,
) -> None:
    await layer.create_step(step("t1", "s1", metadata=TRICKY_METADATA))
    thread = await layer.get_thread("t1")
    assert thread is not None and thread["steps"][0]["metadata"] == TRICKY_METADATA

    updated = TRICKY_METADATA | {"$new.key": {"a.b": "c"}}
    await layer.update_step(step("t1", "s1", metadata=updated))
    thread = await layer.get_thread("t1")
    assert thread is not None and thread["steps"][0]["metadata"] == updated


async def test_step_text_that_starts_with_a_dollar_is_stored_literally(
    layer: MongoDataLayer,
) -> None:
    await layer.create_step(step("t1", "$s1", name="$concat", input="$$ROOT", output="$5 off"))
    await layer.create_step(step("t1", "s2", output=""))
    await layer.update_step(step("t1", "s2", input="$steps", output="$literal", tags=["$a"]))

    document = await layer.stores.threads.collection.find_one({"_id": "t1"})
    stored = {s["id"]: s for s in document["steps"]}
    assert (stored["$s1"]["name"], stored["$s1"]["input"], stored["$s1"]["output"]) == (
        "$concat",
        "$$ROOT",
        "$5 off",
    )
    assert (stored["s2"]["input"], stored["s2"]["output"], stored["s2"]["tags"]) == (
        "$steps",
        "$literal",
        ["$a"],
    )
    thread = await layer.get_thread("t1")
    assert thread is not None
    assert [s["output"] for s in thread["steps"]] == ["$5 off", "$literal"]


# Feedback values


@pytest.mark.parametrize("value", [2, -1, "1", True, None, 0.5])
async def test_a_feedback_value_other_than_0_or_1_is_refused(
    layer: MongoDataLayer, victim: Victim, value: Any
) -> None:
    feedback = feedback_on(victim, value=value)
    assert feedback.value is value, "Chainlit's Feedback checks no value assigned after building"
    before = await everything_stored(layer)

    with pytest.raises(InvalidInputError, match="0 or 1"):
        await layer.upsert_feedback(feedback)

    assert await everything_stored(layer) == before


async def test_a_feedback_comment_that_is_not_utf8_is_refused_naming_the_step(
    layer: MongoDataLayer, victim: Victim
) -> None:
    before = await everything_stored(layer)

    with pytest.raises(InvalidInputError, match=victim.step_id):
        await layer.upsert_feedback(feedback_on(victim, comment="nice\ud800"))

    assert await everything_stored(layer) == before


@pytest.mark.parametrize("value", [0, 1])
async def test_a_feedback_value_of_0_or_1_is_stored(
    layer: MongoDataLayer, victim: Victim, value: Literal[0, 1]
) -> None:
    await layer.upsert_feedback(Feedback(forId=victim.step_id, value=value))

    thread = await layer.get_thread(victim.thread_id)
    assert thread is not None
    assert thread["steps"][0]["feedback"] is not None
    assert thread["steps"][0]["feedback"]["value"] == value


# Thread names


@pytest.mark.parametrize("letter", ["n", "名", "🙂"])
async def test_an_oversized_thread_name_is_cut_the_same_everywhere(
    layer: MongoDataLayer, victim: Victim, letter: str
) -> None:
    limit = layer.settings.max_thread_name_length
    await layer.update_thread("t1", name=letter * 10_000, user_id=victim.user.id)
    await layer.update_thread("t2", name=letter * limit, user_id=victim.user.id)

    for thread_id in ["t1", "t2"]:
        thread = await layer.get_thread(thread_id)
        assert thread is not None and thread["name"] == letter * limit
    page = await layer.list_threads(Pagination(first=20), ThreadFilter(userId=victim.user.id))
    names = {t["id"]: t["name"] for t in page.data}
    assert names["t1"] == names["t2"] == letter * limit


# Reads and writes of ids that cannot exist


async def test_reads_of_empty_ids_answer_not_found(layer: MongoDataLayer, victim: Victim) -> None:
    assert await layer.get_thread("") is None
    assert await layer.get_user("") is None
    assert await layer.get_thread_author("") == ""
    assert await layer.get_element("", victim.element_id) is None
    assert await layer.get_element(victim.thread_id, "") is None
    page = await layer.list_threads(Pagination(first=20), ThreadFilter(userId=""))
    assert page.data == []


async def test_writes_with_empty_ids_are_refused(layer: MongoDataLayer, victim: Victim) -> None:
    before = await everything_stored(layer)
    writes = [
        layer.update_thread("", name="x"),
        layer.create_step(step("", "s-new")),
        layer.create_step(step(victim.thread_id, "")),
        layer.delete_thread(""),
        layer.delete_feedback(""),
    ]
    for write in writes:
        with pytest.raises(InvalidIdError):
            await write
    assert await everything_stored(layer) == before


async def test_update_thread_naming_only_the_thread_creates_it(layer: MongoDataLayer) -> None:
    await layer.update_thread("bare")
    await layer.update_thread("metadata-only", metadata={"k": 1})

    assert await layer.get_thread("bare") is not None
    assert await layer.get_thread("metadata-only") is None


# Sidebar cursors


@pytest.mark.parametrize(
    "cursor",
    [
        "abc",
        "9" * 20 + ":t1",
        "9" * 5000 + ":alice-thread",
        "١٢٣:alice-thread",
        ":x",
        "1:",
        "1:\ud800",
        "\ud800:alice-thread",
    ],
)
async def test_a_malformed_cursor_lists_no_threads_and_raises_nothing(
    layer: MongoDataLayer, victim: Victim, cursor: str
) -> None:
    page = await layer.list_threads(
        Pagination(first=20, cursor=cursor), ThreadFilter(userId=victim.user.id)
    )

    assert page.data == []
    assert page.pageInfo.hasNextPage is False


# Nesting


def nested(levels: int) -> dict[str, Any]:
    """A dict nested `levels` deep: {"k": {"k": ... {"k": "leaf"}}}."""
    value: dict[str, Any] = {"k": "leaf"}
    for _ in range(levels - 1):
        value = {"k": value}
    return value


NESTED_WRITES: dict[str, Callable[[MongoDataLayer, Victim, Any], Awaitable[Any]]] = {
    "thread metadata": lambda layer, v, value: layer.update_thread(
        v.thread_id, metadata={"deep": value}
    ),
    "step generation": lambda layer, v, value: layer.update_step(
        step(v.thread_id, v.step_id, generation=value)
    ),
    "step metadata": lambda layer, v, value: layer.update_step(
        step(v.thread_id, v.step_id, metadata=value)
    ),
    "element props": lambda layer, v, value: layer.create_element(element_with_props(v, value)),
}


def element_with_props(victim: Victim, props: Any) -> File:
    """A file element carrying `props`, set after building as app code can."""
    element = File(name="p.txt", content=b"x", thread_id=victim.thread_id)
    element.props = props  # type: ignore[attr-defined]
    return element


@pytest.mark.parametrize("levels", [101, 900, 5000])
@pytest.mark.parametrize("place", [place for place in NESTED_WRITES if place != "thread metadata"])
async def test_a_value_nested_deeper_than_mongodb_stores_is_refused_naming_the_thread(
    layer: MongoDataLayer, victim: Victim, place: str, levels: int
) -> None:
    before = await everything_stored(layer)

    with pytest.raises(InvalidInputError, match=victim.thread_id):
        await NESTED_WRITES[place](layer, victim, nested(levels))

    assert await everything_stored(layer) == before


@pytest.mark.parametrize("place", list(NESTED_WRITES))
async def test_a_value_nested_90_levels_deep_is_stored_and_read_back(
    layer: MongoDataLayer, victim: Victim, place: str
) -> None:
    value = nested(90)
    value["k"]["a.b"] = {"$c": 1}

    await NESTED_WRITES[place](layer, victim, value)

    thread: Any = await layer.get_thread(victim.thread_id)
    stored = {
        "thread metadata": lambda: thread["metadata"]["deep"],
        "step generation": lambda: thread["steps"][0]["generation"],
        "step metadata": lambda: thread["steps"][0]["metadata"],
        "element props": lambda: next(e for e in thread["elements"] if e["name"] == "p.txt")[
            "props"
        ],
    }[place]()
    assert stored == value


# Search


async def test_a_search_holding_a_nul_byte_matches_as_the_text_around_it(
    layer: MongoDataLayer, victim: Victim
) -> None:
    names = await sidebar_names(layer, victim.user.id, "alice's\x00 secret")
    lone_surrogate = await sidebar_names(layer, victim.user.id, "secr\ud800et")

    assert names == lone_surrogate == ["alice's secret"]


# Chat settings, which Chainlit stores through update_thread in its disconnect handler


def nested_empty(levels: int) -> dict[str, Any]:
    """{"k": {"k": ... {}}}, `levels` dicts deep."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"k": value}
    return value


HOSTILE_CHAT_SETTINGS: dict[str, Any] = {
    "nul\x00key": 1,
    "lone\ud800key": 2,
    "text": "not utf-8 \udfff",
    "huge": 2**70,
    "deep": nested(5000),
    "list": ["kept", "\ud800", 2**64, 3],
    "kept": {"a.b": "fine", "nul\x00": "left out", "$x": [{"y": True}]},
    "negative": -(2**63),
}


async def test_update_thread_stores_the_chat_settings_mongodb_can_store_and_warns_once(
    layer: MongoDataLayer, victim: Victim, caplog: pytest.LogCaptureFixture
) -> None:
    await layer.update_thread(victim.thread_id, metadata={"before": "kept"})
    metadata = {
        "chat_settings": HOSTILE_CHAT_SETTINGS,
        "client_type": "webapp",
        "": "empty key",
        "\ud800": "lone surrogate key",
        "a\x00b": "nul key",
    }

    with caplog.at_level(logging.WARNING, logger="mongo_layer"):
        await layer.update_thread(victim.thread_id, metadata=metadata)

    thread = await layer.get_thread(victim.thread_id)
    assert thread is not None
    # metadata, chat_settings and "deep" take three of the 97 levels metadata may use.
    assert thread["metadata"] == {
        "before": "kept",
        "chat_settings": {
            "deep": nested_empty(95),
            "list": ["kept", 3],
            "kept": {"a.b": "fine", "$x": [{"y": True}]},
            "negative": -(2**63),
        },
        "client_type": "webapp",
    }
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.name == "mongo_layer"
    assert repr(victim.thread_id) in warning.getMessage()
    assert "left out 11 metadata entries" in warning.getMessage()


async def test_update_thread_with_storable_metadata_warns_nothing(
    layer: MongoDataLayer, victim: Victim, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="mongo_layer"):
        await layer.update_thread(victim.thread_id, metadata={"deep": nested(96)})

    thread = await layer.get_thread(victim.thread_id)
    assert thread is not None and thread["metadata"] == {"deep": nested(96)}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_thread_name_and_tags_holding_lone_surrogates_are_stored_without_them(
    layer: MongoDataLayer, victim: Victim
) -> None:
    await layer.update_thread(victim.thread_id, name="re\ud800named", tags=["t\udfff1", "t2"])

    thread = await layer.get_thread(victim.thread_id)
    assert thread is not None
    assert (thread["name"], thread["tags"]) == ("renamed", ["t1", "t2"])


async def test_a_step_holding_what_bson_cannot_encode_is_stored_without_it(
    layer: MongoDataLayer, victim: Victim, caplog: pytest.LogCaptureFixture
) -> None:
    """Chainlit never awaits a step write: a message whose text holds a lone surrogate, or
    whose metadata holds an integer past 64 bits or NUL in a key, is stored without them
    rather than lost, with one warning per write naming it."""
    metadata = {"kept": 1, "surrogate": "x\udfff", "huge": 2**70, "a\x00b": 1}
    created = step(victim.thread_id, "s-bad", output="an\ud800swer", metadata=metadata)

    with caplog.at_level(logging.WARNING, logger="mongo_layer"):
        await layer.create_step(created)
        await layer.update_step({**created, "output": "fi\udc00nal", "end": created["createdAt"]})

    thread = await layer.get_thread(victim.thread_id)
    assert thread is not None
    [stored] = [s for s in thread["steps"] if s["id"] == "s-bad"]
    assert (stored["output"], stored["metadata"], stored["end"]) == (
        "final",
        {"kept": 1},
        created["createdAt"],
    )
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2
    assert all("'s-bad'" in w and repr(victim.thread_id) in w for w in warnings)


async def test_large_outputs_of_steps_holding_lone_surrogates_go_to_gridfs_once(
    layer: MongoDataLayer, victim: Victim
) -> None:
    limit = layer.settings.large_field_bytes
    files = layer.connection.database[f"{layer.settings.files_bucket_name}.files"]
    before = await files.count_documents({})

    await layer.create_step(step(victim.thread_id, "s-long", output="y" * limit + "\ud800!"))
    # This output encodes: it is uploaded before the step's metadata fails to encode.
    await layer.create_step(
        step(victim.thread_id, "s-long-2", output="z" * (limit + 1), metadata={"bad": "\ud800"})
    )

    thread = await layer.get_thread(victim.thread_id)
    assert thread is not None
    stored = {s["id"]: s for s in thread["steps"]}
    assert stored["s-long"]["output"] == "y" * limit + "!"
    assert (stored["s-long-2"]["output"], stored["s-long-2"]["metadata"]) == ("z" * (limit + 1), {})
    # One file per output, none left over from an attempt that met the surrogate.
    assert await files.count_documents({}) == before + 2


async def test_a_step_holding_a_value_of_no_bson_type_is_refused_naming_it(
    layer: MongoDataLayer, victim: Victim
) -> None:
    with pytest.raises(InvalidInputError, match="step 's-obj' of thread 'alice-thread'"):
        await layer.create_step(step(victim.thread_id, "s-obj", metadata={"x": object()}))

    thread = await layer.get_thread(victim.thread_id)
    assert thread is not None and "s-obj" not in [s["id"] for s in thread["steps"]]
