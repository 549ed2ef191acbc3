"""What an archive's user and thread records must hold to be imported: Chainlit's
PersistedUser and ThreadDict, checked field by field before anything is written.

Fields the layer converts are typed strictly (a number is no string, a string no list);
other fields of a step or an element are kept as given, but only under plain names, since a
step or element is stored field by field and a name such as `$set` or `a.b` would be read
by MongoDB as an operator or a path.
"""

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

PLAIN_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The browser follows an element's URL: one that could run script (`javascript:`) or carry a
# page of its own (`data:`) is no link a Chainlit app writes.
LINK_SCHEMES = frozenset({"", "http", "https"})


class ArchivedModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")

    @model_validator(mode="after")
    def plain_extra_field_names(self) -> "ArchivedModel":
        for name in self.model_extra or {}:
            if not PLAIN_FIELD_NAME.fullmatch(name):
                raise ValueError(f"the field name {name!r} is not a plain name")
        return self


class ArchivedUser(ArchivedModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    identifier: str
    display_name: str | None = None
    metadata: dict[str, Any] | None = None
    createdAt: str


class ArchivedFeedback(ArchivedModel):
    id: str | None = None
    forId: str | None = None
    threadId: str | None = None
    value: Annotated[StrictInt, Field(ge=0, le=1)]
    comment: str | None = None


class ArchivedStep(ArchivedModel):
    id: str
    threadId: str | None = None
    parentId: str | None = None
    name: str | None = None
    type: str | None = None
    input: str | None = None
    output: str | None = None
    createdAt: str | None = None
    start: str | None = None
    end: str | None = None
    metadata: dict[str, Any] | None = None
    generation: dict[str, Any] | None = None
    tags: list[str] | None = None
    feedback: ArchivedFeedback | None = None


class ArchivedElement(ArchivedModel):
    id: str
    threadId: str | None = None
    forId: str | None = None
    type: str | None = None
    name: str | None = None
    mime: str | None = None
    url: str | None = None
    props: dict[str, Any] | None = None

    @field_validator("url")
    @classmethod
    def a_link_the_browser_may_follow(cls, url: str | None) -> str | None:
        scheme = urlsplit(url.strip()).scheme.lower() if url else ""
        if scheme not in LINK_SCHEMES:
            raise ValueError(f"an element's url must be http(s) or a path, not {scheme}:")
        return url


class ArchivedThread(ArchivedModel):
    id: str
    name: str | None = None
    createdAt: str | None = None
    userId: str | None = None
    userIdentifier: str | None = None
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None
    steps: list[ArchivedStep] | None = None
    elements: list[ArchivedElement] | None = None
