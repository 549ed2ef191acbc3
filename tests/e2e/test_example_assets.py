"""The example ships what Chainlit looks for on every page load, so its log is not filled
with Chainlit's fallback notices: the readme in the browser's language (en-US) and a logo
for each theme (examples/chainlit_en-US.md, examples/public/logo_*.svg).
"""

from typing import Any

import pytest

from .conftest import EXAMPLES, ExampleApp
from .test_feedback_ownership import logged_in

pytestmark = pytest.mark.e2e

FALLBACK_NOTICES = ("Translated markdown file for", "Missing custom logo")


def test_page_loads_find_the_readme_and_both_logos_and_log_no_fallback(
    example_app: ExampleApp, database: Any
) -> None:
    alice = logged_in(example_app, "alice")
    try:
        for _ in range(3):  # a few page loads, as the browser makes them
            settings = alice.get("/project/settings", params={"language": "en-US"})
            assert settings.status_code == 200
            assert settings.json()["markdown"] == (EXAMPLES / "chainlit.md").read_text()
            for theme in ("light", "dark"):
                logo = alice.get("/logo", params={"theme": theme})
                assert logo.status_code == 200
                assert logo.text == (EXAMPLES / "public" / f"logo_{theme}.svg").read_text()
    finally:
        alice.close()

    log = example_app.log_path.read_text()
    assert [line for line in log.splitlines() if any(n in line for n in FALLBACK_NOTICES)] == []
