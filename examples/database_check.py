"""The example's start-up check: a database that is not there is said in one line, at once.

Without it, a wrong MONGODB_URI shows only when a user logs in (a timeout, then a blank page).
"""

import shlex

from mongo_layer import MongoDataLayer, MongoLayerError, MongoLayerSettings, ServerUnreachableError


def masked_uri(uri: str) -> tuple[str, str]:
    """The URI with its password replaced by `***`, fit for a log line, and the password
    ("" when there is none)."""
    scheme, separator, rest = uri.rpartition("://")
    authority, slash, path = rest.partition("/")
    userinfo, at, hosts = authority.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not at or not colon:
        return uri, ""
    return f"{scheme}{separator}{user}:***@{hosts}{slash}{path}", password


async def database_problem(uri: str, settings: MongoLayerSettings) -> str | None:
    """What keeps the app from using the database at `uri`, or None when it can. Waits at
    most the settings' server selection timeout."""
    try:
        # A layer for this check only: the app's own layer mounts the routes.
        layer = MongoDataLayer.from_uri(
            uri, settings=settings, mount_file_route=False, guard_feedback_routes=False
        )
    except MongoLayerError as error:
        # InvalidUriError: the driver refused the URI; nothing was contacted.
        return str(error)
    try:
        report = await layer.check()
    except ServerUnreachableError as error:
        return str(error)
    finally:
        await layer.close()
    if not report.usable:
        return str(report.refusal())
    return None


def command_line(uri: str, database: str) -> str:
    """The shell line that points `mongo-layer` at this app's data (a password in the URI
    shows as `***`: the line is for a log)."""
    shown_uri, _ = masked_uri(uri)
    return (
        f"MONGODB_URI={shlex.quote(shown_uri)} MONGODB_DATABASE={shlex.quote(database)}"
        " mongo-layer check"
    )


def problem_line(uri: str, problem: str) -> str:
    """One line for the log: the URI (password masked), what is wrong, and what to do."""
    shown_uri, password = masked_uri(uri)
    if password:
        problem = problem.replace(password, "***")
    if not problem.endswith(("?", ".")):
        problem += "."
    return (
        f"cannot use the database at {shown_uri}: {problem} Start that server or correct"
        " MONGODB_URI, or unset MONGODB_URI to use the embedded server."
    )
