"""`curate bench`: each benchmark gets only the flags it declares, every one has a --quick mode, and a
script's own JSON report (not rows) does not stop the combined table.

The times themselves are measured by running `python -m bench --quick`, never here.
Run: `.venv/bin/python -m pytest tests/bench/test_cli.py`
"""

import json
import sys
from pathlib import Path

from bench import cli


def test_every_benchmark_has_a_quick_mode():
    names = cli.discover()
    assert "object_storage" in names and "minhash" in names
    assert [n for n in names if not cli._accepts(n, "--quick")] == []


def test_a_benchmark_gets_only_the_flags_it_declares():
    data = Path("/data")
    assert cli.command("object_storage", data, quick=True) == [
        sys.executable,
        "-m",
        "bench.object_storage",
        "--quick",
    ]
    assert cli.command("e2e", data, quick=True)[3:] == ["--data", "/data", "--quick"]
    assert "--quick" not in cli.command("e2e", data, quick=False)


def test_rows_are_a_list_of_objects_and_other_reports_are_printed_output(tmp_path):
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps([{"component": "x", "ours": {"docs_per_s": 2}}]))
    assert cli.read_rows(rows) == ([{"component": "x", "ours": {"docs_per_s": 2}}], None)
    report = tmp_path / "report.json"  # bench.roots_agreement writes {set: {lang: counts}}
    report.write_text(json.dumps({"web": {"en": {"docs": 3}}}))
    assert cli.read_rows(report) == (None, None)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert cli.read_rows(bad)[1].startswith("bad --json output")
    assert cli.read_rows(tmp_path / "none.json") == (None, None)
    table = cli.combined_table([{"bench": "roots_agreement", "rows": None}])
    assert table == "(no benchmark wrote --json rows)"
