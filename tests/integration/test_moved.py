"""The calls that moved in 0.2 still answer for one release, through their new home, and say
where they went."""

import importlib
import sys

import pytest

from mongo_layer import MongoDataLayer
from mongo_layer.moved import MOVED_TO_OPERATIONS
from mongo_layer.web.feedback_routes import mount_feedback_routes
from mongo_layer.web.routes import mount_file_route


async def test_a_moved_call_answers_through_the_operations_and_warns(
    layer: MongoDataLayer,
) -> None:
    await layer.update_thread("t1", name="chat")

    with pytest.warns(DeprecationWarning, match=r"layer\.operations\.document_counts"):
        counts = await layer.document_counts()  # type: ignore[attr-defined]

    assert counts == await layer.operations.document_counts()
    assert counts["threads"] == 1


def test_every_moved_name_is_a_call_of_the_operations(layer: MongoDataLayer) -> None:
    for name in MOVED_TO_OPERATIONS:
        with pytest.warns(DeprecationWarning, match=name):
            forwarded = getattr(layer, name)
        assert forwarded == getattr(layer.operations, name)


def test_a_name_that_never_existed_is_still_an_attribute_error(layer: MongoDataLayer) -> None:
    with pytest.raises(AttributeError, match="no_such_call"):
        layer.no_such_call  # type: ignore[attr-defined]  # noqa: B018


@pytest.mark.parametrize(
    ("old", "name", "moved"),
    [
        ("mongo_layer.routes", "mount_file_route", mount_file_route),
        ("mongo_layer.feedback_routes", "mount_feedback_routes", mount_feedback_routes),
    ],
)
def test_the_old_route_modules_forward_with_a_warning(old: str, name: str, moved: object) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=old.replace(".", r"\.")):
        module = importlib.import_module(old)
    assert getattr(module, name) is moved
