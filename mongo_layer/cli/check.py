"""`mongo-layer check`: can the layer work on this server? For deploy pipelines."""

from typing import TYPE_CHECKING

import click
from rich.table import Table

from .output import print_json, results
from .runtime import DatabaseTarget, ExitCode, pass_target

if TYPE_CHECKING:
    from .. import DeploymentReport
    from ..layer import MongoDataLayer


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_target
def check(target: DatabaseTarget, as_json: bool) -> None:
    """Connect and report the server (kind, version, topology), whether it has everything
    the layer uses, which of the layer's indexes exist, and how many documents each
    collection holds. Exit status 3 when the layer cannot work on this server, 4 when the
    database holds none of the layer's collections (a new deployment, or the wrong
    --database), 1 when no server answers."""
    report, counts = target.run(inspect)
    if as_json:
        print_json(
            report.model_dump(mode="json")
            | {"usable": report.usable, "missing": report.missing, "documents": counts}
        )
    else:
        print_report(report, counts)
    if not report.usable:
        raise click.exceptions.Exit(ExitCode.UNUSABLE_SERVER)
    if not report.collections:
        click.echo(
            f"Error: database {report.database!r} holds none of the layer's collections:"
            " a new deployment, or the wrong --database / MONGODB_DATABASE",
            err=True,
        )
        raise click.exceptions.Exit(ExitCode.EMPTY_DATABASE)


async def inspect(layer: "MongoDataLayer") -> tuple["DeploymentReport", dict[str, int]]:
    report = await layer.check()
    counts = await layer.operations.document_counts() if report.usable else {}
    return report, counts


def print_report(report: "DeploymentReport", counts: dict[str, int]) -> None:
    console = results()
    verdict = "usable" if report.usable else "NOT usable: missing " + ", ".join(report.missing)
    console.print(f"server: {report.server} {report.version}, {report.topology}")
    console.print(f"hosts: {', '.join(report.hosts)}")
    console.print(f"mongo_layer: {verdict}")
    console.print(f"database: {report.database}" + ("" if report.collections else " (empty)"))
    capabilities = Table("needs", "here", "why", "used for", title="Capabilities")
    for capability in report.capabilities:
        here = "yes" if capability.available else "[bold red]no[/bold red]"
        capabilities.add_row(capability.name, here, capability.reason, capability.purpose)
    console.print(capabilities)
    indexes = Table("collection", "index", "present", title="Indexes")
    for index in report.indexes:
        present = "yes" if index.present else "[bold red]missing[/bold red]"
        indexes.add_row(index.collection, index.name, present)
    console.print(indexes)
    if counts:
        documents = Table("collection", "documents (estimated)", title="Documents")
        for collection, count in counts.items():
            documents.add_row(collection, str(count))
        console.print(documents)
