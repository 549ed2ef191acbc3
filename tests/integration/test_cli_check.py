"""`mongo-layer check` on the suite's server, on servers the layer refuses (mockupdb plays
them, as in test_capabilities.py) and without a server."""

import asyncio
import json
from collections.abc import Awaitable, Callable

from click.testing import CliRunner
from conftest import CommandRun

from mongo_layer import MongoDataLayer
from mongo_layer.cli.commands import main
from mongo_layer.cli.runtime import ExitCode

from .factories import step
from .test_capabilities import MONGODB_44, FakeServer

RunCommand = Callable[..., Awaitable[CommandRun]]


async def test_check_reports_a_usable_server_its_indexes_and_documents(
    layer: MongoDataLayer, mongo_layer_command: RunCommand
) -> None:
    await layer.create_step(step("s1", "t1"))

    run = await mongo_layer_command("check")

    assert run.exit_code == ExitCode.OK, run.stderr
    assert "mongo_layer: usable" in run.stdout
    assert "missing" not in run.stdout
    assert f"database: {layer.settings.database}\n" in run.stdout
    assert "Documents" in run.stdout


async def test_check_exits_4_naming_a_database_that_holds_none_of_the_layers_data(
    mongo_layer_command: RunCommand, database_name: str
) -> None:
    run = await mongo_layer_command("check")
    as_json = await mongo_layer_command("check", "--json")

    assert run.exit_code == ExitCode.EMPTY_DATABASE, run.stdout
    assert "mongo_layer: usable" in run.stdout
    assert f"database: {database_name} (empty)" in run.stdout
    assert run.stderr == (
        f"Error: database {database_name!r} holds none of the layer's collections: a new"
        " deployment, or the wrong --database / MONGODB_DATABASE\n"
    )
    report = json.loads(as_json.stdout)
    assert as_json.exit_code == ExitCode.EMPTY_DATABASE
    assert (report["database"], report["collections"]) == (database_name, [])


async def test_check_json_gives_the_report_and_estimated_counts(
    layer: MongoDataLayer, mongo_layer_command: RunCommand
) -> None:
    await layer.create_step(step("s1", "t1"))

    run = await mongo_layer_command("check", "--json")

    report = json.loads(run.stdout)
    expected = (await layer.check()).model_dump(mode="json")
    assert run.exit_code == ExitCode.OK, run.stderr
    assert (report["usable"], report["missing"]) == (True, [])
    assert {k: report[k] for k in expected} == expected
    assert all(index["present"] for index in report["indexes"])
    assert report["documents"][layer.settings.threads_name] == 1
    assert layer.settings.threads_name in report["collections"]


async def test_check_exits_3_on_a_server_the_layer_cannot_use() -> None:
    server = FakeServer({}, MONGODB_44)
    try:
        run = await asyncio.to_thread(
            CliRunner().invoke, main, ["--uri", server.uri, "check", "--json"]
        )
    finally:
        server.stop()

    report = json.loads(run.stdout)
    assert run.exit_code == ExitCode.UNUSABLE_SERVER
    assert report["usable"] is False
    assert "MongoDB 5.0 or later" in report["missing"]
    assert report["documents"] == {}


def test_check_without_a_server_fails_with_status_1() -> None:
    uri = "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300&directConnection=true"

    run = CliRunner().invoke(main, ["--uri", uri, "check"])

    assert run.exit_code == ExitCode.FAILURE
    assert "cannot reach MongoDB" in run.stderr
