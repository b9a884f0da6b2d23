"""Terminal escapes in a recipe name or in summary.json's step names are shown as visible text by
`curate stats`/`curate run`, never sent: no OSC 52 clipboard write, window title, clear screen, or
bidi override reaches the terminal.

Run: `.venv/bin/python -m pytest tests/curation/test_terminal_escapes.py`
"""

import json

from curation.cli import main

OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"
HOSTILE = f"r{OSC52}\x1b[2J\x1b]0;title\x07\u202egnp.exe\x9b31m"


def _raw_controls(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 32 and c not in "\n") or 0x7f <= ord(c) <= 0x9f
            or 0x202a <= ord(c) <= 0x202e or 0x2066 <= ord(c) <= 0x2069]


def test_stats_shows_escapes_in_recipe_and_step_names_as_text(tmp_path, capsys):
    summary = {"schema": 1, "recipe": HOSTILE, "input": {"docs": 1}, "output": {"docs": 1, "bytes": 1, "shards": []},
               "rejected": 0, "steps": [{"name": HOSTILE, "in": 1, "kept": 1, "removed": 0,
                                         "removed_by_reason": {HOSTILE: 0}, "seconds": 0}],
               "invariant": {"ok": False, "input": 1, "output": 1, "removed": 0, "rejected": 0, "problems": [HOSTILE]}}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    assert main(["stats", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert _raw_controls(out) == []
    assert "\\x1b]52" in out and "\\u202e" in out


def test_run_refuses_control_characters_in_the_recipe_name_and_shows_them_as_text(tmp_path, write_recipe, capsys):
    """A recipe name is also a job name and a file name: control characters in it are a recipe error
    (exit 2, one line) for `run` and `validate`, and the error shows them as escapes, never raw."""
    inp = tmp_path / "a.jsonl"
    inp.write_text('{"text": "hello", "id": "1"}\n')
    path = write_recipe({"name": HOSTILE, "input": {"format": "jsonl", "path": str(inp)},
                         "steps": [{"length_filter": {"min_chars": 1}}], "output": {"path": str(tmp_path / "run")}})
    assert main(["run", str(path), "--no-progress"]) == 2
    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert _raw_controls(captured.out + captured.err) == [] and "\\x1b" in captured.err
    assert "name: contains a control character" in captured.err
    assert not (tmp_path / "run").exists()


def test_bidi_marks_are_shown_as_escapes():
    from curation.terminal import safe

    assert all(c not in safe(f"a{c}b", True) for c in "\u061c\u200e\u200f\u202e\u2067")


def test_an_empty_run_error_shows_escapes_in_the_output_path_as_text(tmp_path, write_recipe, capsys):
    """The "every record was rejected" error names the run folder (`curate sample RUN --rejected`): an
    output path from the recipe holding escapes is shown as text, like every other line `curate run` prints."""
    inp = tmp_path / "a.jsonl"
    inp.write_text("{not json\n")
    path = write_recipe({"name": "r", "input": {"format": "jsonl", "path": str(inp)},
                         "steps": [{"length_filter": {"min_chars": 1}}],
                         "output": {"path": str(tmp_path / f"run{OSC52}\u202e")}})  # fmt: skip
    assert main(["run", str(path), "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "every one of the 1 input records was rejected" in captured.err
    assert _raw_controls(captured.out + captured.err) == [] and "\\x1b]52" in captured.err
