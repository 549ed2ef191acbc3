"""Markdown transcripts: file names, nesting, feedback and files."""

from typing import Any

from mongo_layer.archive.markdown import safe_name, step_depths, transcript


def test_a_safe_name_keeps_safe_names_and_tells_changed_ones_apart() -> None:
    assert safe_name("thread-1.md") == "thread-1.md"
    assert safe_name("../etc/passwd").startswith("etc_passwd-")
    assert safe_name("a b") != safe_name("a_b")
    assert "/" not in safe_name("a/b") and safe_name("").startswith("file-")


def test_nested_steps_are_one_level_deeper_than_their_parent() -> None:
    steps = [{"id": "q"}, {"id": "tool", "parentId": "q"}, {"id": "deeper", "parentId": "tool"}]

    assert step_depths(steps) == {"q": 0, "tool": 1, "deeper": 2}


def test_a_parent_loop_does_not_hang() -> None:
    assert step_depths([{"id": "a", "parentId": "b"}, {"id": "b", "parentId": "a"}]) == {
        "a": 1,
        "b": 1,
    }


def test_a_transcript_shows_steps_feedback_and_files() -> None:
    thread: Any = {
        "id": "t1",
        "name": "Herons",
        "createdAt": "2024-05-01T10:00:00.000Z",
        "userIdentifier": "alice",
        "steps": [
            {
                "id": "q",
                "type": "user_message",
                "name": "alice",
                "output": "Where?",
                "createdAt": "2024-05-01T10:00:00.000Z",
            },
            {
                "id": "t",
                "type": "tool",
                "name": "search",
                "parentId": "q",
                "input": "herons",
                "output": "trees",
                "createdAt": "2024-05-01T10:00:01.000Z",
            },
            {
                "id": "a",
                "type": "assistant_message",
                "name": "Assistant",
                "parentId": "q",
                "output": "In trees.",
                "createdAt": "2024-05-01T10:00:02.000Z",
                "feedback": {"value": 0, "comment": "too short"},
            },
        ],
        "elements": [
            {"id": "e1", "name": "map.png", "mime": "image/png", "forId": "a"},
            {"id": "e2", "name": "link", "url": "https://example.com/x"},
        ],
    }

    text = transcript(thread, {"e1": "t1/map.png"})

    assert text.startswith("# Herons\n\n- Thread: `t1`\n")
    assert "## alice · 2024-05-01T10:00:00.000Z\n\nWhere?" in text
    assert "### search (tool) · 2024-05-01T10:00:01.000Z\n\nInput:\n\n~~~~\nherons\n~~~~" in text
    assert "In trees.\n\nFeedback: 👎 too short\n\n- ![map.png](<t1/map.png>)" in text
    assert text.endswith("## Files\n\n- [link](<https://example.com/x>)\n")
