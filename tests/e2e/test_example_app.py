"""The example app in a real browser: everything a user did survives a restart of the server,
the thread last written in comes first in the sidebar, everything stays its user's alone, and
goes away when they delete the thread.

The app runs under `chainlit run` on 127.0.0.1 against the session's MongoDB-wire server
(a fresh database); headless Debian chromium drives it. Screenshots go to test-artifacts/e2e/.
"""

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Request,
    WebSocket,
    expect,
    sync_playwright,
)

from .conftest import ARTIFACTS, PASSWORDS, ExampleApp

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 30_000
DENIED = (401, 403, 404)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def eventually(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll until `condition` holds: Chainlit writes to the data layer fire-and-forget."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.2)


def screenshot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, animations="disabled")


def logged_in_page(
    browser: Browser, app: ExampleApp, user: str, login_screenshot: str | None = None
) -> tuple[BrowserContext, Page]:
    context = browser.new_context(base_url=app.url, viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto("/login")
    # The demo users are names, not e-mail addresses: the form asks for a username.
    expect(page.get_by_text("Username", exact=True)).to_be_visible()
    expect(page.locator("#email")).to_have_attribute("placeholder", "alice or bob")
    if login_screenshot:
        screenshot(page, login_screenshot)
    page.fill("#email", user)
    page.fill("#password", PASSWORDS[user])
    with session_connected(page):
        page.click("button[type=submit]")
    expect(page.locator("#chat-input")).to_be_visible()
    return context, page


@contextmanager
def session_connected(page: Page, timeout: float = 30.0) -> Iterator[None]:
    """Wait, after the block, until the page's Chainlit websocket session exists on the
    server (uploads and resumes need it): the browser announces it by emitting
    `connection_successful`, over Socket.IO's polling or its websocket."""
    announced: list[bool] = []

    def watch_request(request: Request) -> None:
        announced.append("connection_successful" in (request.post_data or ""))

    def watch_websocket(websocket: WebSocket) -> None:
        websocket.on(
            "framesent", lambda payload: announced.append("connection_successful" in str(payload))
        )

    page.on("request", watch_request)
    page.on("websocket", watch_websocket)
    yield
    deadline = time.monotonic() + timeout
    while not any(announced):
        if time.monotonic() > deadline:
            raise AssertionError("the Chainlit websocket session did not connect")
        page.wait_for_timeout(50)  # lets Playwright deliver the events it has received
    page.remove_listener("request", watch_request)
    page.remove_listener("websocket", watch_websocket)


def send(page: Page, text: str, answer: str) -> None:
    page.fill("#chat-input", text)
    page.click("#chat-submit")
    expect(page.get_by_text(answer)).to_be_visible()
    # After a new thread's first message Chainlit refreshes the sidebar, then moves to the
    # thread's URL, which renders a new composer: under load that can come after the answer,
    # and a message typed before it would be lost.
    expect(page).to_have_url(re.compile(r"/thread/[0-9a-f-]{36}$"))


def sidebar_thread_ids(page: Page) -> list[str]:
    """The ids of the threads in the sidebar, top first (other `thread-` ids name buttons)."""
    ids = [str(e.get_attribute("id")) for e in page.locator("#thread-history [id]").all()]
    return [i.removeprefix("thread-") for i in ids if re.fullmatch(r"thread-[0-9a-f-]{36}", i)]


def thread_document(database: Any, thread_id: str) -> dict[str, Any]:
    found: dict[str, Any] = database.threads.find_one({"_id": thread_id}) or {}
    return found


def steps_of_type(document: dict[str, Any], step_type: str) -> list[dict[str, Any]]:
    return [s for s in document.get("steps", []) if s.get("type") == step_type]


def test_a_conversation_survives_a_restart_stays_private_and_can_be_deleted(
    example_app: ExampleApp, browser: Browser, database: Any, tmp_path: Path
) -> None:
    upload = tmp_path / "field-notes.txt"
    upload.write_bytes(b"Observed 3 herons at dawn.\n" + hashlib.sha256(b"e2e").digest())

    # Alice is welcomed with starters, then chats: a file with her first message, a second
    # message, a thumbs-up.
    alice, page = logged_in_page(browser, example_app, "alice", login_screenshot="00-login")
    expect(page.get_by_text("Everything here is kept in MongoDB.")).to_be_visible()
    for starter in ("keep-a-file", "show-your-steps", "rate-an-answer"):
        expect(page.locator(f"#starter-{starter}")).to_be_visible()
    screenshot(page, "01-welcome-and-starters")
    with page.expect_response(lambda r: "/project/file" in r.url) as upload_response:
        page.set_input_files("#upload-button-input", str(upload))
    assert upload_response.value.ok
    expect(page.locator("#message-composer").get_by_text("field-notes.txt")).to_be_visible()
    send(page, "Where do herons nest?", "Answer 1: you said “Where do herons nest?”")
    expect(page.get_by_text("Received field-notes.txt")).to_be_visible()
    send(page, "And what do they eat?", "Answer 2: you said “And what do they eat?”")
    page.locator(".positive-feedback-off").first.click()
    page.get_by_role("dialog").locator("textarea").fill("Clear answer")
    page.click("#submit-feedback")
    expect(page.locator(".positive-feedback-on")).to_have_count(1)
    thread_link = page.locator("#thread-history [id^='thread-']").filter(has_text="herons")
    thread_id = str(thread_link.get_attribute("id")).removeprefix("thread-")

    # A newer thread comes first in the sidebar.
    with session_connected(page):
        page.click("#new-chat-button")
    send(page, "Any owls nearby?", "you said “Any owls nearby?”")
    owls_link = page.locator("#thread-history [id^='thread-']").filter(has_text="owls")
    owls_id = str(owls_link.get_attribute("id")).removeprefix("thread-")
    expect(page.locator("#thread-history [id^='thread-']").first).to_have_id(f"thread-{owls_id}")
    screenshot(page, "02-alice-chatted")

    eventually(
        lambda: (
            len(steps_of_type(thread_document(database, thread_id), "user_message")) == 2
            and len(thread_document(database, thread_id).get("elements", [])) == 3
            and database.feedback.count_documents({"threadId": thread_id}) == 1
        ),
        "both messages, three files and the feedback are stored",
    )

    # The server restarts; Alice reopens the thread from the sidebar.
    example_app.stop()
    example_app.start()
    with session_connected(page):
        page.goto("/")
        page.locator(f"#thread-{thread_id}").click()
    for text in (
        "Where do herons nest?",
        "And what do they eat?",
        "Answer 1: you said “Where do herons nest?”",
        "Answer 2: you said “And what do they eat?”",
        "notes-1.md",
        "notes-2.md",
        "field-notes.txt",
    ):
        expect(page.get_by_text(text, exact=False).first).to_be_visible()
    expect(page.locator(".positive-feedback-on")).to_have_count(1)
    page.get_by_text("Used Plan").first.click()
    expect(page.get_by_text("Used Recall").first).to_be_visible()
    expect(page.get_by_text("Used Read attachments").first).to_be_visible()
    expect(page.get_by_text("Answer question 1 and write notes.")).to_be_visible()
    screenshot(page, "03-alice-after-restart")

    thread = page.request.get(f"/project/thread/{thread_id}").json()
    [uploaded] = [e for e in thread["elements"] if e["name"] == "field-notes.txt"]
    download = page.request.get(uploaded["url"])
    assert download.status == 200
    assert download.body() == upload.read_bytes()
    notes_link = page.locator("a[download='notes-1.md']").first
    notes_url = str(notes_link.get_attribute("href"))
    assert page.request.get(notes_url).body().startswith(b"# Notes for question 1")
    nested = [s for s in thread["steps"] if s["name"] in ("Recall", "Read attachments")]
    plans = {s["id"] for s in thread["steps"] if s["name"] == "Plan"}
    assert len(nested) == 4 and all(s["parentId"] in plans for s in nested)

    # Resuming continues the same thread, and moves it to the top of the sidebar for good:
    # after a reload too, it comes before the newer thread she did not write in.
    send(page, "Do they migrate?", "Answer 3: you said “Do they migrate?”")
    eventually(
        lambda: len(steps_of_type(thread_document(database, thread_id), "user_message")) == 3,
        "the third message is appended to the same thread",
    )
    assert database.threads.count_documents({}) == 2
    expect(page.get_by_text("Answer 1: you said “Where do herons nest?”")).to_be_attached()
    screenshot(page, "04-alice-resumed")
    with session_connected(page):
        page.reload()
    expect(page.locator(f"#thread-{owls_id}")).to_be_visible()
    assert sidebar_thread_ids(page)[:2] == [thread_id, owls_id]
    screenshot(page, "05-sidebar-last-activity-first")

    # Bob sees none of it, and is refused the thread and its file.
    bob, bob_page = logged_in_page(browser, example_app, "bob")
    bob_threads = bob_page.request.post(
        "/project/threads", data={"pagination": {"first": 20}, "filter": {}}
    ).json()
    assert bob_threads["data"] == []
    assert bob_page.locator(f"#thread-{thread_id}").count() == 0
    assert bob_page.request.get(f"/project/thread/{thread_id}").status in DENIED
    assert bob_page.request.get(uploaded["url"]).status in DENIED
    assert bob_page.request.get(notes_url).status in DENIED
    # A page of another origin (another port of this host) cannot read bob's threads with
    # his cookie: the app allows only its own origins, so no CORS header lets it.
    foreign_url = f"http://127.0.0.1:{example_app.port + 1}"
    foreign = bob_page.request.post(
        "/project/threads",
        data={"pagination": {"first": 20}, "filter": {}},
        headers={"Origin": foreign_url},
    )
    assert "access-control-allow-origin" not in foreign.headers
    # Nor can it open Chainlit's websocket, which logs in with that cookie.
    handshake = "/ws/socket.io/?EIO=4&transport=polling"
    own_origin = bob_page.request.get(handshake, headers={"Origin": example_app.url})
    assert own_origin.status == 200
    foreign_origin = bob_page.request.get(handshake, headers={"Origin": foreign_url})
    assert foreign_origin.status == 400
    bob_page.click("#starter-rate-an-answer")
    expect(bob_page.get_by_text("Rate this answer with the thumbs below it")).to_be_visible()
    screenshot(bob_page, "06-bob-sees-nothing-of-alice")
    # Her thread's URL: Chainlit's server answers 401, and Chainlit's page says only this.
    bob_page.goto(f"/thread/{thread_id}")
    expect(bob_page.get_by_text("Could not reach the server")).to_be_visible()
    expect(bob_page.get_by_text("Where do herons nest?")).to_have_count(0)
    screenshot(bob_page, "07-bob-opens-alices-thread-url")
    bob.close()

    # Alice deletes the thread: gone from the sidebar, the database and GridFS.
    page.locator(f"#thread-{thread_id}").hover()
    page.locator(f"#thread-{thread_id} #thread-options").click()
    page.locator("#delete-thread").click()
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(f"#thread-{thread_id}")).to_have_count(0)
    assert thread_document(database, thread_id) == {}
    assert database["elements.files"].count_documents({"metadata.threadId": thread_id}) == 0
    assert page.request.get(uploaded["url"]).status == 404
    page.goto("/")
    expect(page.locator("#chat-input")).to_be_visible()
    expect(page.locator(f"#thread-{owls_id}")).to_be_visible()
    expect(page.locator(f"#thread-{thread_id}")).to_have_count(0)
    # Leaving the page disconnects the old session, and Chainlit then writes the session's
    # metadata to its thread: that write must not bring the thread back (a metadata-only
    # update never creates one; test_threads.py proves it without a race).
    assert thread_document(database, thread_id) == {}
    screenshot(page, "08-alice-deleted-thread")
    alice.close()
