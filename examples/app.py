"""A chat app whose whole history lives in MongoDB through mongo_layer.

Log in as alice / alice-password or bob / bob-password. Every answer runs nested steps and
attaches a generated notes file; files you upload are kept with the thread. Restart the
app and reopen a thread from the sidebar: messages, steps, files and feedback are back.

MONGODB_URI selects the database server; without it the app uses an embedded one whose
data lives in EXAMPLE_DATA_DIR (default examples/.data/), shared by every copy of the app
started on that folder. MONGO_LAYER_RETENTION_DAYS=N makes the layer delete, once a day, the
threads nobody touched for N days (the library call behind `mongo-layer retention`).
"""

import asyncio
import hmac
import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import chainlit as cl
import chainlit.config as chainlit_config
import chainlit.server as chainlit_server
from chainlit.config import config
from chainlit.data import get_data_layer
from chainlit.element import Element
from chainlit.server import sio
from chainlit.types import ThreadDict
from database_check import command_line, database_problem, problem_line
from embedded_server import AppDataServer, process_is_running
from origins import OriginError, allowed_origins, is_own_page

from mongo_layer import MongoDataLayer, MongoLayerSettings
from mongo_layer.embedded import EmbeddedServerError

logger = logging.getLogger("example")

DATA_DIR = Path(
    os.environ.get("EXAMPLE_DATA_DIR") or Path(__file__).resolve().parent / ".data"
).resolve()
DEMO_USERS = {"alice": "alice-password", "bob": "bob-password"}
WELCOME = (
    "**Everything here is kept in MongoDB.** Chat, attach files, rate answers, then restart"
    " the app and reopen the thread from the sidebar: it is all still there."
)
# Starter label, the message it sends, and what the answer adds to show what is kept.
STARTERS = [
    ("Keep a file", "Keep a file for me"),
    ("Show your steps", "Show me your steps"),
    ("Rate an answer", "Give me an answer to rate"),
]
STARTER_HINTS = {
    "Keep a file for me": (
        "Attach a file with the paperclip (text, Markdown, CSV, JSON, PDF or an image) and"
        " send it: it is stored in GridFS with this thread and downloads again after a restart."
    ),
    "Show me your steps": (
        "Open “Used Plan” above this answer: the plan and its two nested steps are stored"
        " with the thread, inputs and outputs alike."
    ),
    "Give me an answer to rate": (
        "Rate this answer with the thumbs below it: the rating and its comment are stored"
        " as feedback and are back when you reopen the thread."
    ),
}
embedded_server: AppDataServer | None = None


def use_own_files_directory() -> None:
    """Chainlit keeps uploads and generated files in `.files/` of the folder it runs in and
    deletes that whole folder when it stops, under every other copy of the app running
    there. Each copy keeps them in its own folder inside it instead, which is the one
    Chainlit deletes when this copy stops. The folder of a copy that was killed instead is
    deleted when the next copy starts."""
    if chainlit_config.FILES_DIRECTORY.name.startswith("copy-"):
        return  # a reload (-w) of this module in the same process
    shared = chainlit_config.FILES_DIRECTORY
    for folder in shared.glob("copy-*-*"):
        pid = folder.name.split("-")[1]
        if pid.isdigit() and not process_is_running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
    own = Path(tempfile.mkdtemp(prefix=f"copy-{os.getpid()}-", dir=shared))
    chainlit_config.FILES_DIRECTORY = own
    # server.py imported the name: its shutdown deletes what its own global names.
    vars(chainlit_server)["FILES_DIRECTORY"] = own


def demo_auth_secret() -> str:
    """The secret signing login tokens: CHAINLIT_AUTH_SECRET, or one kept in .data/ so
    logins survive a restart."""
    secret_file = DATA_DIR / "auth-secret"
    if not secret_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(secrets.token_urlsafe(48))
        secret_file.chmod(0o600)
    return secret_file.read_text().strip()


def mongodb_uri() -> str:
    """MONGODB_URI, or the address of an embedded server started now."""
    global embedded_server
    if os.environ.get("MONGODB_URI"):
        return os.environ["MONGODB_URI"]
    embedded_server = AppDataServer(DATA_DIR)
    try:
        embedded_server.start()
    except EmbeddedServerError as error:
        logger.error("cannot start the embedded database: %s", error)
        raise SystemExit(1) from None
    # Chainlit reloads this module on file changes (-w): the reload reuses this server.
    os.environ["MONGODB_URI"] = embedded_server.uri
    return embedded_server.uri


def layer_settings() -> MongoLayerSettings:
    """The MONGO_LAYER_* settings, and MONGODB_DATABASE (default chainlit_example)."""
    database = os.environ.get("MONGODB_DATABASE") or "chainlit_example"
    return MongoLayerSettings.from_env().model_copy(update={"database": database})


def exit_unless_database_usable(uri: str) -> None:
    """Before Chainlit serves anyone: a database that does not answer, or cannot run the
    layer, ends the app with one line instead of failing every login later. A usable one
    is logged as the line that reaches it with the `mongo-layer` command."""
    settings = layer_settings()
    problem = asyncio.run(database_problem(uri, settings))
    if problem is not None:
        logger.error(problem_line(uri, problem))
        raise SystemExit(1)
    reach = command_line(uri, settings.database)
    logger.info("the mongo-layer command reaches this app's data with: %s", reach)


def allow_own_origins() -> None:
    """Let pages of the address the app serves on, and of EXAMPLE_PUBLIC_URL, call it with
    the user's cookie; no other page (origins.py). Chainlit's CORS middleware holds this
    very list, and `chainlit run` has set the host and port before loading this module."""
    try:
        origins = allowed_origins(
            config.run.host, config.run.port, os.environ, config.project.allow_origins
        )
    except OriginError as error:
        logger.error("%s", error)
        raise SystemExit(1) from None
    config.project.allow_origins[:] = origins
    logger.info("pages of %s may call the app", ", ".join(origins))


def accepts_socket_origin(origin: str, environ: Mapping[str, Any]) -> bool:
    """Chainlit's websocket logs in with the login cookie and checks no origin."""
    return is_own_page(origin, environ, config.project.allow_origins)


allow_own_origins()
sio.eio.cors_allowed_origins = accepts_socket_origin
use_own_files_directory()
os.environ.setdefault("CHAINLIT_AUTH_SECRET", demo_auth_secret())
MONGODB_URI = mongodb_uri()
exit_unless_database_usable(MONGODB_URI)


@cl.data_layer
def data_layer() -> MongoDataLayer:
    return MongoDataLayer.from_uri(MONGODB_URI, settings=layer_settings())


@cl.on_app_startup
async def start_data_layer() -> None:
    # The layer mounts its file route when it is created: create it before the first
    # request, so a file URL opened right after a restart is served.
    layer: MongoDataLayer = get_data_layer()
    # With MONGO_LAYER_RETENTION_DAYS set, this also starts the layer's own retention.
    await layer.ensure_indexes()


@cl.on_app_shutdown
async def stop_embedded_server() -> None:
    # Chainlit ends its process with os._exit(), which skips atexit handlers. The client
    # is closed first: closing it after its server is gone waits for that server. Another
    # copy of the app may still use the server; stop() then leaves it running.
    if embedded_server is not None:
        await get_data_layer().close()
        embedded_server.stop()


@cl.password_auth_callback
async def log_in(username: str, password: str) -> cl.User | None:
    expected = DEMO_USERS.get(username)
    if expected is None or not hmac.compare_digest(expected, password):
        return None
    return cl.User(identifier=username, display_name=username.title())


@cl.set_chat_profiles
async def chat_profiles(user: cl.User | None) -> list[cl.ChatProfile]:
    # One profile shows no picker; Chainlit shows its icon and description on the home screen.
    return [cl.ChatProfile(name="Memory", icon="/public/memory.svg", markdown_description=WELCOME)]


@cl.set_starters
async def starters(user: cl.User | None) -> list[cl.Starter]:
    return [cl.Starter(label=label, message=message) for label, message in STARTERS]


@cl.on_chat_resume
async def resume(thread: ThreadDict) -> None:
    asked = [s for s in thread["steps"] if s.get("type") == "user_message"]
    cl.user_session.set("questions", len(asked))


@cl.on_message
async def answer(message: cl.Message) -> None:
    questions = (cl.user_session.get("questions") or 0) + 1
    cl.user_session.set("questions", questions)
    uploads = [e for e in message.elements if e.path]

    # The inputs are plain text: shown as text, not in Chainlit's default "json" box.
    async with cl.Step(name="Plan", type="run", show_input="text") as plan:
        plan.input = message.content
        async with cl.Step(name="Recall", type="retrieval", show_input="text") as recall:
            recall.input = "earlier questions in this thread"
            recall.output = f"{questions - 1} earlier question(s)"
        async with cl.Step(name="Read attachments", type="tool", show_input=False) as reading:
            reading.output = describe_uploads(uploads)
        plan.output = f"Answer question {questions} and write notes."

    notes = cl.File(
        name=f"notes-{questions}.md",
        content=notes_markdown(questions, message.content, uploads).encode(),
        mime="text/markdown",
        display="inline",
    )
    reply = f"Answer {questions}: you said “{message.content}”."
    if uploads:
        reply += " " + describe_uploads(uploads)
    if message.content in STARTER_HINTS:
        reply += "\n\n" + STARTER_HINTS[message.content]
    await cl.Message(content=reply, elements=[notes]).send()


def describe_uploads(uploads: Sequence[Element]) -> str:
    if not uploads:
        return "No files attached."
    sizes = [f"{e.name} ({Path(str(e.path)).stat().st_size} bytes)" for e in uploads]
    return "Received " + ", ".join(sizes) + "."


def notes_markdown(questions: int, text: str, uploads: Sequence[Element]) -> str:
    files = "".join(f"- {e.name}\n" for e in uploads) or "- none\n"
    return f"# Notes for question {questions}\n\n> {text}\n\n## Files\n{files}"
