"""The example app refuses to start on a database it cannot use, in one line: the URI with
its password masked, what is wrong, and what to do. It never serves pages that would hang.

Each case runs `chainlit run` with MONGODB_URI set and a one-second server selection timeout.
Started on a database it can use, it logs the shell line that points `mongo-layer` at it.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mongo_layer.embedded import free_port

from .conftest import ARTIFACTS, ExampleApp
from .test_feedback_ownership import logged_in

pytestmark = pytest.mark.e2e

REACH = "the mongo-layer command reaches this app's data with: "
ADVICE = (
    "Start that server or correct MONGODB_URI, or unset MONGODB_URI to use the embedded server."
)


@pytest.mark.parametrize(
    ("uri", "shown", "problem"),
    [
        pytest.param(
            "mongodb://alice:s3cret-pw@127.0.0.1:{port}/",
            "mongodb://alice:***@127.0.0.1:{port}/",
            "127.0.0.1:{port}",
            id="nothing-listens",
        ),
        pytest.param(
            "mongodb://no-such-host.invalid:27017/",
            "mongodb://no-such-host.invalid:27017/",
            "no-such-host.invalid:27017",
            id="unresolvable-host",
        ),
        pytest.param(
            "mongodb://127.0.0.1:99999/",
            "mongodb://127.0.0.1:99999/",
            "not a usable MongoDB URI: Port must be an integer between 0 and 65535",
            id="port-out-of-range",
        ),
        pytest.param(
            "mongodb+srv://alice:s3cret-pw@no-such-cluster.invalid/",
            "mongodb+srv://alice:***@no-such-cluster.invalid/",
            "cannot find MongoDB at mongodb+srv://no-such-cluster.invalid: the DNS lookup",
            id="unresolvable-srv-host",
        ),
        pytest.param(
            "mongodb://alice:s3cret@pw@127.0.0.1:{port}/",
            "mongodb://alice:***@127.0.0.1:{port}/",
            "not a usable MongoDB URI",
            id="malformed-uri",
        ),
    ],
)
def test_a_database_it_cannot_use_stops_the_app_with_one_line(
    uri: str, shown: str, problem: str, request: pytest.FixtureRequest
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    app = ExampleApp(
        uri.format(port=port),
        "chainlit_example",
        ARTIFACTS / f"startup-{request.node.callspec.id}.log",
        MONGO_LAYER_SERVER_SELECTION_TIMEOUT_MS="1000",
    )

    outcome = app.run_until_exit(timeout=60)

    assert outcome.returncode == 1
    [line] = [line for line in outcome.stdout.splitlines() if "ERROR" in line]
    prefix = f"cannot use the database at {shown.format(port=port)}: "
    assert prefix in line
    assert problem.format(port=port) in line.split(prefix, 1)[1]
    assert line.endswith(ADVICE)
    assert "s3cret" not in outcome.stdout
    assert "Traceback" not in outcome.stdout
    assert "Your app is available" not in outcome.stdout


def test_the_app_logs_the_line_that_reaches_its_data_with_the_command(tmp_path: Path) -> None:
    # As the README starts it: no MONGODB_URI (the embedded server, on a port chosen at
    # start) and no MONGODB_DATABASE (the example's own default).
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "startup-command-line.log"
    log_path.write_bytes(b"")
    app = ExampleApp(None, "", log_path, EXAMPLE_DATA_DIR=str(tmp_path / "data"))
    del app.env["MONGODB_DATABASE"]
    app.start()
    try:
        logged_in(app, "alice").close()
        [line] = [
            line.split(REACH, 1)[1] for line in log_path.read_text().splitlines() if REACH in line
        ]
        environment = {
            **{name: value for name, value in os.environ.items() if not name.startswith("MONGO")},
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "COLUMNS": "200",
        }
        run = subprocess.run(
            ["bash", "-c", line], env=environment, capture_output=True, text=True, timeout=60
        )
    finally:
        app.stop()

    assert line.startswith("MONGODB_URI='mongodb://127.0.0.1:")
    assert line.endswith(" MONGODB_DATABASE=chainlit_example mongo-layer check")
    assert run.returncode == 0, run.stderr
    assert "database: chainlit_example\n" in run.stdout
    # The Documents table comes last; its users row counts alice.
    users = [row for row in run.stdout.splitlines() if row.startswith("│ users ")][-1]
    assert [cell.strip() for cell in users.split("│")[1:-1]] == ["users", "1"]
