"""Settings: defaults, the collection prefix, reading the environment (settings.py)."""

import pytest
from pydantic import ValidationError

from mongo_layer import MongoLayerSettings


def test_the_defaults_are_the_documented_names() -> None:
    settings = MongoLayerSettings()

    assert settings.database == "chainlit"
    assert settings.threads_name == "threads"
    assert settings.users_name == "users"
    assert settings.feedback_name == "feedback"
    assert settings.files_bucket_name == "elements"


def test_a_prefix_applies_to_every_collection_and_the_bucket() -> None:
    settings = MongoLayerSettings(collection_prefix="cl_", users_collection="people")

    assert settings.threads_name == "cl_threads"
    assert settings.users_name == "cl_people"
    assert settings.feedback_name == "cl_feedback"
    assert settings.files_bucket_name == "cl_elements"


def test_settings_are_read_from_the_environment() -> None:
    settings = MongoLayerSettings.from_env(
        {
            "MONGODB_DATABASE": "app",
            "MONGO_LAYER_COLLECTION_PREFIX": "chat_",
            "MONGO_LAYER_THREADS_COLLECTION": "conversations",
            "MONGO_LAYER_USERS_COLLECTION": "members",
            "MONGO_LAYER_FEEDBACK_COLLECTION": "ratings",
            "MONGO_LAYER_FILES_BUCKET": "uploads",
            "MONGO_LAYER_FILE_ROUTE": "/files",
            "MONGO_LAYER_SERVER_SELECTION_TIMEOUT_MS": "1500",
            "MONGO_LAYER_OPERATION_BUDGET_MS": "2500",
        }
    )

    assert settings.database == "app"
    assert settings.threads_name == "chat_conversations"
    assert settings.users_name == "chat_members"
    assert settings.feedback_name == "chat_ratings"
    assert settings.files_bucket_name == "chat_uploads"
    assert settings.file_route == "/files"
    assert settings.server_selection_timeout_ms == 1500
    assert settings.operation_budget_ms == 2500


def test_an_empty_environment_gives_the_defaults() -> None:
    assert MongoLayerSettings.from_env({}) == MongoLayerSettings()


def test_from_env_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_DATABASE", "from_process")
    monkeypatch.setenv("MONGO_LAYER_COLLECTION_PREFIX", "p_")

    settings = MongoLayerSettings.from_env()

    assert settings.database == "from_process"
    assert settings.threads_name == "p_threads"


@pytest.mark.parametrize("route", ["files", "/files/", "/a b", ""])
def test_a_file_route_that_is_not_an_absolute_path_is_refused(route: str) -> None:
    with pytest.raises(ValidationError):
        MongoLayerSettings(file_route=route)


def test_settings_cannot_be_changed_once_made() -> None:
    settings = MongoLayerSettings()

    with pytest.raises(ValidationError):
        settings.database = "other"  # type: ignore[misc]
