"""Which server the layer talks to, and whether it has what the layer uses.

The server is read once, from its `hello` and `buildInfo` answers: its kind (MongoDB or a
service speaking its protocol), version and topology. What the layer needs is a short list
of features, each with the MongoDB release that brought it; services that report a MongoDB
version without having every feature of it are judged by what their vendors document.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field
from pymongo.errors import ConfigurationError, ServerSelectionTimeoutError

from ..errors import IncompatibleServerError, ServerUnreachableError
from .connection import Connection

Topology = Literal["standalone", "replica set", "sharded"]

MONGODB = "MongoDB"
AMAZON_DOCUMENTDB = "Amazon DocumentDB"
COSMOS_DB_RU = "Azure Cosmos DB (RU)"
COSMOS_DB_VCORE = "Azure Cosmos DB (vCore)"
DOCUMENTDB_ENGINE = "DocumentDB"
FERRETDB = "FerretDB"
SECANTUSDB = "SecantusDB"

# Endpoint suffixes of the managed services, the ones PyMongo itself warns about.
HOST_SUFFIXES = (
    (".mongocluster.cosmos.azure.com", COSMOS_DB_VCORE),
    (".cosmos.azure.com", COSMOS_DB_RU),
    (".docdb.amazonaws.com", AMAZON_DOCUMENTDB),
    (".docdb-elastic.amazonaws.com", AMAZON_DOCUMENTDB),
)


class Capability(BaseModel):
    """One thing the layer needs from the server, and whether this server has it."""

    name: str
    purpose: str
    available: bool
    reason: str


class IndexStatus(BaseModel):
    """One index the layer relies on, and whether it exists."""

    collection: str
    name: str
    present: bool


class DeploymentReport(BaseModel):
    """What `MongoDataLayer.check()` found: the server, its topology, the features the layer
    needs (each available or not, and why), the layer's indexes, and which of its
    collections the database holds."""

    hosts: list[str]
    server: str
    version: str
    topology: Topology
    capabilities: list[Capability]
    indexes: list[IndexStatus] = Field(default_factory=list)
    database: str = ""
    collections: list[str] = Field(default_factory=list)
    """The layer's history collections the database holds: none for a database the layer
    never wrote to (a new deployment, or the wrong database name)."""

    @property
    def usable(self) -> bool:
        """Whether the layer can run on this server."""
        return not self.missing

    @property
    def missing(self) -> list[str]:
        """The names of the capabilities this server lacks."""
        return [capability.name for capability in self.capabilities if not capability.available]

    def refusal(self) -> IncompatibleServerError:
        reasons = "; ".join(f"{c.name}: {c.reason}" for c in self.capabilities if not c.available)
        return IncompatibleServerError(
            f"{self.server} {self.version} at {', '.join(self.hosts)} cannot run mongo_layer;"
            f" missing {reasons}"
        )


class Requirement(BaseModel):
    """A feature of MongoDB the layer uses, and the release that brought it."""

    name: str
    purpose: str
    since: tuple[int, int]


REQUIREMENTS = (
    Requirement(
        name="MongoDB 5.0 or later",
        purpose="the oldest release the layer supports and is checked against",
        since=(5, 0),
    ),
    Requirement(
        name="$unionWith",
        purpose="favorites: embedded and overflowed steps in one command",
        since=(4, 4),
    ),
    Requirement(
        name="$lookup with localField and pipeline",
        purpose="a sidebar page and its feedback filter in one command",
        since=(5, 0),
    ),
    Requirement(
        name="update pipelines with $bsonSize",
        purpose="a step write measures its thread document in the command that writes it",
        since=(4, 4),
    ),
)


def documented_gaps(server: str, version: tuple[int, ...]) -> dict[str, str]:
    """What a service lacks although the MongoDB version it reports has it, as its vendor
    documents it (see the compatibility table in the README)."""
    if server == AMAZON_DOCUMENTDB:
        gaps = {
            "$lookup with localField and pipeline": "Amazon DocumentDB documents $lookup with"
            " localField/foreignField or a pipeline, not both together",
        }
        if version < (8, 0):
            gaps["$unionWith"] = "Amazon DocumentDB has $unionWith from 8.0 only"
            gaps["update pipelines with $bsonSize"] = "Amazon DocumentDB has $bsonSize from 8.0"
        return gaps
    if server == COSMOS_DB_RU:
        return {
            name: "not among the features Azure Cosmos DB for MongoDB (RU) supports"
            for name in (
                "$unionWith",
                "$lookup with localField and pipeline",
                "update pipelines with $bsonSize",
            )
        }
    return {}


def capabilities_of(server: str, version: tuple[int, ...]) -> list[Capability]:
    gaps = documented_gaps(server, version)
    capabilities = []
    for requirement in REQUIREMENTS:
        since = ".".join(str(part) for part in requirement.since)
        if requirement.name in gaps:
            available, reason = False, gaps[requirement.name]
        elif version < requirement.since:
            available, reason = False, f"needs MongoDB {since}"
        else:
            available, reason = True, f"in MongoDB since {since}"
        capabilities.append(
            Capability(
                name=requirement.name,
                purpose=requirement.purpose,
                available=available,
                reason=reason,
            )
        )
    return capabilities


def server_kind(
    hosts: Sequence[str], hello: Mapping[str, Any], build_info: Mapping[str, Any]
) -> str:
    """The kind of server, from the fields only it answers with, else from its endpoints."""
    if any(key.lower().startswith("ferretdb") for key in build_info):
        return FERRETDB
    if "secantusVersion" in build_info:
        return SECANTUSDB
    answered_hosts = [*hosts, *(hello.get("hosts") or []), str(hello.get("me") or "")]
    names = [host.rsplit(":", 1)[0].lower() for host in answered_hosts if host]
    for suffix, kind in HOST_SUFFIXES:
        if any(name.endswith(suffix) for name in names):
            return kind
    if "documentdb_versions" in (hello.get("internal") or {}):
        return DOCUMENTDB_ENGINE
    return MONGODB


def topology_of(hello: Mapping[str, Any]) -> Topology:
    if hello.get("msg") == "isdbgrid":
        return "sharded"
    if hello.get("setName"):
        return "replica set"
    return "standalone"


def version_of(build_info: Mapping[str, Any]) -> tuple[int, ...]:
    numbers = build_info.get("versionArray")
    if isinstance(numbers, list) and numbers:
        return tuple(int(number) for number in numbers[:3])
    parts = str(build_info.get("version") or "0").split("-")[0].split(".")
    return tuple(int(part) if part.isdigit() else 0 for part in parts[:3])


def known_hosts(client: Any) -> list[str]:
    """The addresses the client knows: the seeds it was given, or the members it found."""
    servers = client.topology_description.server_descriptions()
    return [host if port is None else f"{host}:{port}" for host, port in servers]


def unresolved_srv_hosts(client: Any) -> list[str]:
    """The mongodb+srv:// hosts whose servers the client has not found yet (no port)."""
    servers = client.topology_description.server_descriptions()
    return [host for host, port in servers if port is None]


async def read_server(connection: Connection) -> DeploymentReport:
    """Ask the server what it is (two commands); no index information yet."""
    database = connection.database
    try:
        hello = await database.command("hello")
        build_info = await database.command("buildInfo")
    except ServerSelectionTimeoutError as error:
        addresses = ", ".join(known_hosts(connection.client))
        seconds = connection.client.options.server_selection_timeout
        raise ServerUnreachableError(
            f"cannot reach MongoDB at {addresses}: no server answered within {seconds:g} s"
            " (the server selection timeout); is it running and reachable from here?"
        ) from error
    except ConfigurationError as error:
        unresolved = unresolved_srv_hosts(connection.client)
        if not unresolved:
            raise
        # The async drivers look a mongodb+srv:// host up on first use, not when created.
        raise ServerUnreachableError(
            f"cannot find MongoDB at mongodb+srv://{', '.join(unresolved)}: the DNS lookup of"
            f" its servers failed ({error})"
        ) from error
    hosts = known_hosts(connection.client)
    server = server_kind(hosts, hello, build_info)
    version = version_of(build_info)
    return DeploymentReport(
        hosts=hosts,
        server=server,
        version=str(build_info.get("version") or ".".join(map(str, version))),
        topology=topology_of(hello),
        capabilities=capabilities_of(server, version),
    )
