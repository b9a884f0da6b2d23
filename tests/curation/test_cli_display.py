"""What `curate sample`, `ops` and `stats` print: documents cannot drive the terminal or rich markup,
rejected records read well, a mistyped --reason is an error with suggestions, PII counts show.

Issue 12 item 12 (terminal escapes) and issue 14 items 9 and 12 (stats PII counts; sample/ops details).
Run: `.venv/bin/python -m pytest tests/curation/test_cli_display.py`
"""

import json

import pytest

from curation.cli import main
from curation.terminal import safe

OSC52 = "\x1b]52;c;ZXZpbCBjbGlwYm9hcmQ=\x07"  # writes the clipboard
TITLE = "\x1b]0;pwned\x07"  # sets the window title
CLEAR = "\x1b[2J\x1b[H"  # clears the screen
C1_CSI = "\x9b31m"  # one-byte CSI
HIDE = "secret\rvisible \u202e"  # carriage return and a bidi override hide what came before


@pytest.fixture
def hostile_run(run_recipe, tmp_path):
    rows = [
        {"id": f"id{OSC52}{TITLE}[red]x[/red]", "text": f"Hello {CLEAR}{C1_CSI}{HIDE} :smile: [bold]b[/bold] end."},
        {"id": "short", "text": "tiny"},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    code, run_dir, _ = run_recipe({
        "name": "hostile", "input": {"format": "jsonl", "path": str(src)},
        "steps": [{"length_filter": {"min_chars": 10}}, {"pii": {}}], "output": {"keep_removed": True},
    })
    assert code == 0
    rej = run_dir / "rejected"
    rej.mkdir(exist_ok=True)
    (rej / "00000.jsonl").write_text(json.dumps(
        {"source": f"tree/a.bin{TITLE}", "line": None, "error": "binary file: NUL byte at offset 3",
         "raw": "PK\x03\x04\x00\x00\x1b[2Jzz"}) + "\n")
    return run_dir


def _out(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_safe_makes_every_control_character_visible():
    assert safe(OSC52) == "\\x1b]52;c;ZXZpbCBjbGlwYm9hcmQ=\\x07"
    assert safe(HIDE) == "secret\\rvisible \\u202e"
    assert safe("a\tb\nc") == "a\tb\nc" and safe("a\tb\nc", one_line=True) == "a\\tb\\nc"
    assert safe(C1_CSI) == "\\x9b31m"


def test_sample_prints_no_control_sequence_and_no_markup(capsys, hostile_run):
    code, out, _ = _out(capsys, "sample", str(hostile_run))
    assert code == 0
    assert not any(ch in out for ch in "\x1b\x07\x9b\r\u202e")
    assert "\\x1b]52;c;" in out and "\\x1b[2J" in out and "\\u202e" in out  # shown, not sent
    assert "[red]x[/red]" in out and "[bold]b[/bold]" in out and ":smile:" in out  # literal, not rich markup


def test_sample_rejected_reads_well(capsys, hostile_run):
    code, out, _ = _out(capsys, "sample", str(hostile_run), "--rejected")
    assert code == 0
    assert "[bold]" not in out and ":None" not in out
    assert "tree/a.bin\\x1b]0;pwned\\x07  binary file: NUL byte at offset 3" in out
    assert "PK\\x03\\x04\\x00\\x00\\x1b[2Jzz" in out and "\x00" not in out


def test_sample_removed_shows_the_reason(capsys, hostile_run):
    code, out, _ = _out(capsys, "sample", str(hostile_run), "--removed", "length_filter")
    assert code == 0 and "short  removed by length_filter: too_short" in out


def test_mistyped_reason_is_exit_2_with_the_closest_reasons(capsys, hostile_run):
    code, out, err = _out(capsys, "sample", str(hostile_run), "--reason", "too_shrt")
    assert code == 2 and "did you mean too_short?" in err and "Traceback" not in err
    code, _, err = _out(capsys, "sample", str(hostile_run), "--reason", "zzzz")
    assert code == 2 and "reasons: too_short" in err
    code, out, _ = _out(capsys, "sample", str(hostile_run), "--reason", "too_short")
    assert code == 0 and "short" in out


def test_ops_prints_brackets_in_docs(capsys):
    code, out, _ = _out(capsys, "ops")
    assert code == 0 and "outside [min_chars, max_chars] characters" in out


def test_stats_shows_what_pii_changed(capsys, run_recipe, tmp_path):
    src = tmp_path / "mail.jsonl"
    src.write_text(json.dumps({"id": "m", "text": "Mail a@example.org or b@example.org, call +1 415 555 0100."}) + "\n")
    code, run_dir, summary = run_recipe({"name": "mail", "input": {"format": "jsonl", "path": str(src)},
                                         "steps": [{"pii": {}}]})
    assert code == 0 and summary["pii"] == {"email": 2, "phone": 1}
    code, out, _ = _out(capsys, "stats", str(run_dir))
    assert code == 0
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip("│ ").startswith("pii"))
    row = [lines[at]]
    while not lines[at + len(row)].split("│")[1].strip():  # the row's wrapped continuation lines
        row.append(lines[at + len(row)])
    reasons = " ".join(line.split("│")[7].strip() for line in row)  # the cell, wrapped in 80 columns
    assert reasons == "scrubbed email 2, phone 1"
    assert "pii: also scrubbed 0 removed and 0 rejected records" in out
