"""The `mongo-layer` click group: the connection options, and one subcommand per module,
each working only through the layer's public API, the same calls an app can make.
"""

from typing import Any

import click
from pydantic import ValidationError

from ..settings import MongoLayerSettings, environment_variable
from .check import check
from .erase_user import erase_user
from .export import export
from .import_archive import import_command
from .migrate import migrate
from .prune import prune
from .retention import retention
from .runtime import DatabaseTarget, OperatorGroup
from .stats import stats

# Command-line option, the MongoLayerSettings field it sets, and what it is.
SETTING_OPTIONS = (
    ("--prefix", "collection_prefix", "Prefix of every collection and of the GridFS bucket."),
    ("--threads-collection", "threads_collection", "Collection of thread documents."),
    ("--users-collection", "users_collection", "Collection of user documents."),
    ("--feedback-collection", "feedback_collection", "Collection of feedback documents."),
    ("--overflow-collection", "overflow_collection", "Collection of overflowed steps."),
    (
        "--element-owners-collection",
        "element_owners_collection",
        "Collection naming the thread of each element id.",
    ),
    ("--files-bucket", "files_bucket", "GridFS bucket of element files."),
)


def setting_option(flag: str, field: str, help_text: str) -> Any:
    variable = environment_variable(field)
    default = MongoLayerSettings.model_fields[field].default
    shown_default = f'"{default}"' if default else "none"
    where = f" [env {variable}; default {shown_default}]" if variable else ""
    return click.option(flag, field, default=None, help=help_text + where)


def with_setting_options(command: Any) -> Any:
    for flag, field, help_text in reversed(SETTING_OPTIONS):
        command = setting_option(flag, field, help_text)(command)
    return command


@click.group(
    cls=OperatorGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--uri",
    envvar="MONGODB_URI",
    metavar="URI",
    help="MongoDB connection string, e.g. mongodb://localhost:27017 [env MONGODB_URI].",
)
@click.option(
    "--database",
    envvar="MONGODB_DATABASE",
    metavar="NAME",
    help='Database the app uses [env MONGODB_DATABASE; default "chainlit"].',
)
@click.option(
    "--driver",
    type=click.Choice(["pymongo", "motor"]),
    default=None,
    help="Driver to connect with (default: the layer's own default).",
)
@with_setting_options
@click.version_option(package_name="mongo-layer")
@click.pass_context
def main(
    context: click.Context,
    /,
    uri: str | None,
    database: str | None,
    driver: str | None,
    **setting_values: str | None,
) -> None:
    """Operate the MongoDB database of a Chainlit app that uses mongo_layer: check the
    server, count what is stored, delete old threads or everything of one user, export
    and import history, prune orphan files.

    Connects like the app does: --uri or MONGODB_URI, --database or MONGODB_DATABASE, and
    the same MONGO_LAYER_* variables for collection names. Exit status: 0 done, 1 failed
    (the reason on stderr), 2 wrong usage, 3 `check` found a server the layer cannot use.
    """
    given = {field: value for field, value in setting_values.items() if value is not None}
    if database is not None:
        given["database"] = database
    try:
        settings = MongoLayerSettings.model_validate(
            MongoLayerSettings.from_env().model_dump() | given
        )
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()
        )
        raise click.UsageError(f"invalid setting: {problems}", context) from error
    context.obj = DatabaseTarget(uri=uri, settings=settings, driver=driver)


main.add_command(check)
main.add_command(stats)
main.add_command(prune)
main.add_command(retention)
main.add_command(erase_user)
main.add_command(export)
main.add_command(import_command)
main.add_command(migrate)
