"""Markdown transcripts for people: one `<thread>.md` per thread, its files beside it in a
folder of the same name. For reading and handing over, not for importing back."""

import hashlib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainlit.types import ThreadDict

from .selection import EVERYTHING, ExportSelection, ExportSummary, selected_threads

if TYPE_CHECKING:
    from ..layer import MongoDataLayer

MarkdownProgress = Callable[[ExportSummary], None]
MESSAGE_TYPES = frozenset({"user_message", "assistant_message", "system_message"})
IMAGE_MIME_PREFIX = "image/"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


async def export_markdown(
    layer: "MongoDataLayer",
    directory: Path,
    selection: ExportSelection = EVERYTHING,
    batch_size: int = 100,
    on_progress: MarkdownProgress | None = None,
) -> ExportSummary:
    """Write a transcript of each selected thread into `directory`, with its element
    files streamed beside it; `on_progress` hears the running counts after each thread."""
    summary = ExportSummary()
    directory.mkdir(parents=True, exist_ok=True)
    async for _, thread in selected_threads(layer, selection, batch_size):
        stem = safe_name(thread["id"])
        files = await write_files(layer, thread, directory, stem, summary)
        (directory / f"{stem}.md").write_text(transcript(thread, files), encoding="utf-8")
        summary.threads += 1
        if on_progress is not None:
            on_progress(summary)
    return summary


def safe_name(name: str) -> str:
    """A file name made of safe characters; a name that had to change gets a short hash
    of the original, so two different names never end up as one."""
    safe = _UNSAFE.sub("_", name).strip("._") or "file"
    if safe == name:
        return safe
    return f"{safe[:80]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


async def write_files(
    layer: "MongoDataLayer",
    thread: ThreadDict,
    directory: Path,
    stem: str,
    summary: ExportSummary,
) -> dict[str, str]:
    """Stream the thread's element files into `directory/stem/`; returns each element's
    path relative to `directory`."""
    paths: dict[str, str] = {}
    for element in thread.get("elements") or []:
        stored = await layer.operations.open_element_file(thread["id"], element["id"])
        if stored is None:
            continue
        name = safe_name(str(element.get("name") or stored.name))
        if f"{stem}/{name}" in paths.values():
            name = safe_name(f"{element['id']}-{name}")
        (directory / stem).mkdir(exist_ok=True)
        with (directory / stem / name).open("wb") as file:
            async for chunk in stored.chunks():
                file.write(chunk)
        paths[element["id"]] = f"{stem}/{name}"
        summary.files += 1
        summary.file_bytes += stored.length
    return paths


def transcript(thread: ThreadDict, files: Mapping[str, str]) -> str:
    """The thread as a Markdown document: a heading per step, nested steps one level
    deeper, with their feedback and files."""
    steps = thread.get("steps") or []
    elements = thread.get("elements") or []
    step_ids = {step["id"] for step in steps}
    lines = [f"# {thread.get('name') or 'Untitled conversation'}", ""]
    lines += [f"- Thread: `{thread['id']}`", f"- Started: {thread.get('createdAt') or '?'}"]
    if thread.get("userIdentifier"):
        lines.append(f"- User: {thread['userIdentifier']}")
    if thread.get("tags"):
        lines.append(f"- Tags: {', '.join(thread['tags'] or [])}")
    depths = step_depths(steps)
    for step in steps:
        attached = [e for e in elements if e.get("forId") == step["id"]]
        lines += step_section(step, depths[step["id"]], attached, files)
    loose = [e for e in elements if e.get("forId") not in step_ids]
    if loose:
        lines += ["", "## Files", "", *(element_line(e, files) for e in loose)]
    return "\n".join(lines) + "\n"


def step_depths(steps: list[Any]) -> dict[str, int]:
    """How deep each step is nested under its parents (0 for a top-level step)."""
    parents = {step["id"]: step.get("parentId") for step in steps}
    depths: dict[str, int] = {}
    for step_id in parents:
        depth, parent, seen = 0, parents[step_id], {step_id}
        while parent in parents and parent not in seen:
            depth, seen, parent = depth + 1, seen | {parent}, parents[parent]
        depths[step_id] = depth
    return depths


def step_section(
    step: Mapping[str, Any], depth: int, elements: list[Any], files: Mapping[str, str]
) -> list[str]:
    heading = "#" * min(2 + depth, 6)
    kind = "" if step.get("type") in MESSAGE_TYPES else f" ({step.get('type')})"
    lines = [
        "",
        f"{heading} {step.get('name') or step.get('type')}{kind} · {step.get('createdAt')}",
    ]
    if step.get("input") and step.get("type") not in MESSAGE_TYPES:
        lines += ["", "Input:", "", "~~~~", str(step["input"]), "~~~~"]
    if step.get("output"):
        lines += ["", str(step["output"])]
    feedback = step.get("feedback")
    if feedback:
        verdict = "👍" if feedback.get("value") == 1 else "👎"
        comment = f" {feedback['comment']}" if feedback.get("comment") else ""
        lines += ["", f"Feedback: {verdict}{comment}"]
    if elements:
        lines += ["", *(element_line(element, files) for element in elements)]
    return lines


def element_line(element: Mapping[str, Any], files: Mapping[str, str]) -> str:
    name = element.get("name") or element["id"]
    target = files.get(element["id"]) or element.get("url") or ""
    if not target:
        return f"- {name} (no file)"
    image = "!" if str(element.get("mime") or "").startswith(IMAGE_MIME_PREFIX) else ""
    return f"- {image}[{name}](<{target}>)"
