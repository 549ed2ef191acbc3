"""The example app refuses to start on a database it cannot use, in one line: the URI with
its password masked, what is wrong, and what to do. It never serves pages that would hang.

Each case runs `chainlit run` with MONGODB_URI set and a one-second server selection timeout.
"""

import pytest

from mongo_layer.embedded import free_port

from .conftest import ARTIFACTS, ExampleApp

pytestmark = pytest.mark.e2e

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
