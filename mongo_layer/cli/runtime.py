"""What every subcommand shares: the database it works on, the layer it opens there, and
how a failure becomes an exit status with a one-line reason."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeVar

import click
from pymongo.errors import ConnectionFailure, PyMongoError

from ..errors import InvalidUriError, MongoLayerError
from ..layer import MongoDataLayer
from ..settings import MongoLayerSettings

Result = TypeVar("Result")


class ExitCode(IntEnum):
    """The exit statuses of `mongo-layer`."""

    OK = 0
    FAILURE = 1
    # A wrong option or argument (click's own), a --uri the driver cannot parse, or a
    # subcommand whose extra is not installed: nothing was done, the call must change.
    USAGE = 2
    UNUSABLE_SERVER = 3  # `check`: the server answered, but the layer cannot work there
    EMPTY_DATABASE = 4  # `check`: usable, but the database holds none of the layer's data


@dataclass(frozen=True)
class DatabaseTarget:
    """The database a subcommand works on, from the group's connection options."""

    uri: str | None
    settings: MongoLayerSettings
    driver: str | None = None

    def open_layer(self) -> MongoDataLayer:
        """A layer with its own client; the caller closes it."""
        if not self.uri:
            raise click.UsageError("give --uri or set MONGODB_URI")
        options: dict[str, Any] = {} if self.driver is None else {"driver": self.driver}
        # A one-off command never starts the app's scheduled retention.
        settings = self.settings.model_copy(update={"retention_days": None})
        return MongoDataLayer(uri=self.uri, settings=settings, mount_file_route=False, **options)

    def run(self, work: Callable[[MongoDataLayer], Awaitable[Result]]) -> Result:
        """Run `work` on a layer opened for this target, closing it afterwards."""
        return asyncio.run(self._run(work))

    async def _run(self, work: Callable[[MongoDataLayer], Awaitable[Result]]) -> Result:
        layer = self.open_layer()
        try:
            return await work(layer)
        finally:
            await layer.close()


pass_target = click.make_pass_decorator(DatabaseTarget)


class CommandFailed(click.ClickException):
    """A failure reported as one line on stderr, exit status 1."""

    exit_code = ExitCode.FAILURE


class UsageProblem(click.ClickException):
    """A call that cannot work as given, reported as one line on stderr, exit status 2."""

    exit_code = ExitCode.USAGE


def failure_reason(error: Exception) -> str:
    """One line saying what went wrong, without the driver's topology dump."""
    if isinstance(error, ConnectionFailure):
        reason = str(error).split(", Timeout:")[0]
        return f"cannot reach MongoDB: {reason}"
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if isinstance(error, PyMongoError):
        return f"MongoDB refused: {first_line}"
    return first_line


class OperatorGroup(click.Group):
    """The `mongo-layer` group: known failures end the command with a one-line reason on
    stderr and exit status 1 (2 for a URI the driver cannot parse), never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InvalidUriError as error:
            raise UsageProblem(f"{error} (--uri or MONGODB_URI)") from error
        except (MongoLayerError, PyMongoError, OSError) as error:
            raise CommandFailed(failure_reason(error)) from error
