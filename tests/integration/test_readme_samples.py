"""The README's sample runs of `mongo-layer` are what the command prints.

Every fenced block after a `<!-- sample -->` line in README.md is a session: `$ ` lines are
commands, the lines up to the next one what it printed (stdout and stderr as a terminal
shows them, `COLUMNS=100`). The blocks run in README order on one database holding the
suite's sample history (history.py, one thread aged 100 days), `mongo-layer` commands
through click's runner with MONGODB_URI and MONGODB_DATABASE set, other commands through
bash in the same folder. Ports, dates, times, ids and speeds are compared as placeholders.

`MONGO_LAYER_WRITE_README_SAMPLES=1` writes what the commands printed into the README
instead of comparing: that is how the samples are made.
"""

import asyncio
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import MongoServer

from mongo_layer import MongoDataLayer
from mongo_layer.cli.commands import main

from .history import age_threads

README = Path(__file__).resolve().parents[2] / "README.md"
SAMPLE_BLOCK = re.compile(r"<!-- sample -->\n```\n(.*?)```\n", re.DOTALL)
# What differs from one run to the next, and what it is compared as.
VARYING = [
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z"), "<time>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "<date>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
    (re.compile(r"\d+ rows/s"), "<rate>"),
    (re.compile(r"\d+\.\d s\b"), "<seconds>"),
]
SAMPLE_DATABASE = "chainlit"
COPY_DATABASE = "demo_copy"


def comparable(text: str) -> str:
    for pattern, placeholder in VARYING:
        text = pattern.sub(placeholder, text)
    return text


def commands_of(block: str) -> list[str]:
    return [line[2:] for line in block.splitlines() if line.startswith("$ ")]


class Session:
    """Runs a sample's commands as the README shows them, in one working folder."""

    def __init__(self, server: MongoServer, database: str, copy: str, folder: Path) -> None:
        self.names = {SAMPLE_DATABASE: database, COPY_DATABASE: copy}
        self.folder = folder
        self.environment = {
            "MONGODB_URI": server.uri,
            "MONGODB_DATABASE": database,
            "COLUMNS": "100",
        }

    def run(self, command: str) -> str:
        words = shlex.split(command)
        if words[0] != "mongo-layer":
            return subprocess.run(
                ["bash", "-c", command], cwd=self.folder, capture_output=True, text=True
            ).stdout
        arguments = [self.names.get(word, word) for word in words[1:]]
        result = CliRunner(env=self.environment).invoke(main, arguments)
        output = result.output
        for shown, real in self.names.items():
            output = output.replace(real, shown)
        return output

    def transcript(self, block: str) -> str:
        lines = []
        for command in commands_of(block):
            output = self.run(command)
            lines.append(f"$ {command}\n{output}" + ("" if output.endswith("\n") else "\n"))
        return "".join(lines)


async def test_the_readme_samples_are_what_the_command_prints(
    history_layer: MongoDataLayer,
    mongo_server: MongoServer,
    database_name: str,
    other_database_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await age_threads(history_layer, ["a-long"], days=100)
    monkeypatch.chdir(tmp_path)
    session = Session(mongo_server, database_name, other_database_name, tmp_path)
    readme = README.read_text()
    blocks = SAMPLE_BLOCK.findall(readme)

    transcripts = [await asyncio.to_thread(session.transcript, block) for block in blocks]

    if os.environ.get("MONGO_LAYER_WRITE_README_SAMPLES") == "1":
        written = iter(transcripts)
        README.write_text(
            SAMPLE_BLOCK.sub(lambda _: f"<!-- sample -->\n```\n{next(written)}```\n", readme)
        )
        return
    assert len(blocks) >= 7
    for block, transcript in zip(blocks, transcripts, strict=True):
        assert comparable(transcript) == comparable(block)
