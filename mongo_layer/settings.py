"""Settings of a MongoDataLayer, readable from the environment."""

import os
from collections.abc import Mapping

from pydantic import BaseModel, Field, field_validator

_ENV_FIELDS = {
    "MONGO_LAYER_COLLECTION_PREFIX": "collection_prefix",
    "MONGO_LAYER_THREADS_COLLECTION": "threads_collection",
    "MONGO_LAYER_USERS_COLLECTION": "users_collection",
    "MONGO_LAYER_FEEDBACK_COLLECTION": "feedback_collection",
    "MONGO_LAYER_OVERFLOW_COLLECTION": "overflow_collection",
    "MONGO_LAYER_FILES_BUCKET": "files_bucket",
    "MONGO_LAYER_ELEMENT_OWNERS_COLLECTION": "element_owners_collection",
    "MONGO_LAYER_LEASES_COLLECTION": "leases_collection",
    "MONGO_LAYER_FILE_ROUTE": "file_route",
    "MONGO_LAYER_MAX_FEEDBACK_COMMENT_LENGTH": "max_feedback_comment_length",
    "MONGO_LAYER_SERVER_SELECTION_TIMEOUT_MS": "server_selection_timeout_ms",
    "MONGO_LAYER_HEALTH_ROUTE": "health_route",
    "MONGO_LAYER_HEALTH_TIMEOUT_MS": "health_timeout_ms",
    "MONGO_LAYER_RETENTION_DAYS": "retention_days",
    "MONGO_LAYER_OPERATION_BUDGET_MS": "operation_budget_ms",
}


class MongoLayerSettings(BaseModel):
    """Where the layer keeps its data and the limits it applies to input."""

    database: str = Field("chainlit", min_length=1)
    collection_prefix: str = ""
    threads_collection: str = Field("threads", min_length=1)
    users_collection: str = Field("users", min_length=1)
    feedback_collection: str = Field("feedback", min_length=1)
    overflow_collection: str = Field("thread_steps", min_length=1)
    files_bucket: str = Field("elements", min_length=1)
    element_owners_collection: str = Field("element_owners", min_length=1)
    leases_collection: str = Field("leases", min_length=1)
    file_route: str = Field("/mongo-layer/files", pattern=r"^/[A-Za-z0-9_\-/]*[A-Za-z0-9_\-]$")
    # The readiness route, mounted with the file route; "" (or "off") mounts none.
    health_route: str = Field(
        "/mongo-layer/health", pattern=r"^(/[A-Za-z0-9_\-/]*[A-Za-z0-9_\-])?$"
    )
    # How long the readiness route waits for the database's answer to a ping.
    health_timeout_ms: int = Field(2000, gt=0)
    # Delete, from inside the app, the threads inactive for longer than this (see
    # operations/scheduled_retention.py); None: never.
    retention_days: int | None = Field(None, gt=0)
    max_thread_name_length: int = Field(255, gt=0)
    max_search_length: int = Field(200, gt=0)
    max_feedback_comment_length: int = Field(10_000, gt=0)
    large_field_bytes: int = Field(256 * 1024, gt=1024)
    # An element's stored metadata (props included; its bytes go to GridFS) may take this.
    max_element_bytes: int = Field(256 * 1024, gt=1024, le=4 * 1024 * 1024)
    thread_document_budget_bytes: int = Field(2 * 1024 * 1024, ge=64 * 1024, le=8 * 1024 * 1024)
    # How long a client the layer opens waits for a server before failing (PyMongo's
    # serverSelectionTimeoutMS, whose own default of 30 s would hang every request).
    server_selection_timeout_ms: int = Field(5000, gt=0)
    # How long a data-layer call keeps trying again while MongoDB is unreachable or without
    # a primary (a failover: README "Failover"); 0 never tries again.
    operation_budget_ms: int = Field(30_000, ge=0)
    # Read the server's hello/buildInfo before the first operation and refuse a server that
    # lacks what the layer uses. Off only for an in-process mock, which has no server.
    check_server: bool = True

    model_config = {"frozen": True}

    @field_validator("health_route", mode="before")
    @classmethod
    def _health_route_off(cls, value: object) -> object:
        return "" if isinstance(value, str) and value.lower() == "off" else value

    @property
    def threads_name(self) -> str:
        return self.collection_prefix + self.threads_collection

    @property
    def users_name(self) -> str:
        return self.collection_prefix + self.users_collection

    @property
    def feedback_name(self) -> str:
        return self.collection_prefix + self.feedback_collection

    @property
    def overflow_name(self) -> str:
        return self.collection_prefix + self.overflow_collection

    @property
    def element_owners_name(self) -> str:
        return self.collection_prefix + self.element_owners_collection

    @property
    def leases_name(self) -> str:
        return self.collection_prefix + self.leases_collection

    @property
    def files_bucket_name(self) -> str:
        return self.collection_prefix + self.files_bucket

    @property
    def history_collection_names(self) -> list[str]:
        """The collections holding an app's history (not the leases): threads, overflowed
        steps, users, feedback, element owners and the GridFS bucket's two."""
        bucket = self.files_bucket_name
        return [
            self.threads_name,
            self.overflow_name,
            self.users_name,
            self.feedback_name,
            self.element_owners_name,
            f"{bucket}.files",
            f"{bucket}.chunks",
        ]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "MongoLayerSettings":
        """Settings from `MONGODB_DATABASE` and the optional `MONGO_LAYER_*` variables."""
        environ = os.environ if environ is None else environ
        values: dict[str, str] = {"database": environ.get("MONGODB_DATABASE") or "chainlit"}
        for variable, field in _ENV_FIELDS.items():
            if environ.get(variable):
                values[field] = environ[variable]
        return cls.model_validate(values)


def environment_variable(field: str) -> str | None:
    """The variable `MongoLayerSettings.from_env` reads the setting `field` from, if any."""
    for variable, name in _ENV_FIELDS.items():
        if name == field:
            return variable
    return None
