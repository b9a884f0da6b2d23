"""A run that keeps nothing ends with a clear message and exit 1 (unless `output.allow_empty`), `--limit`
counts input records (rejected ones too), and a rejected record names its input file by the path the
recipe gave, not by its bare name.

Run: `.venv/bin/python -m pytest tests/curation/test_empty_run.py`
"""

import gzip
import json

from curation.cli import main
from curation.outcome import empty_run_problem


def _write(path, records):
    with gzip.open(path, "wt") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


def _recipe(tmp_path, keep="en", text_key="text", extra="") -> str:
    p = tmp_path / "r.yaml"
    p.write_text(
        f"name: t\ninput: {{format: jsonl, path: {tmp_path / 'in' / 'docs.jsonl.gz'}, text_key: {text_key}}}\n"
        f"steps:\n  - language_id: {{keep: [{keep}]}}\noutput: {{path: {tmp_path / 'run'}{extra}}}\n"
        "executor: {tasks: 1}\n"
    )
    return str(p)


def _docs(n):
    return [{"id": str(i), "text": f"This is an ordinary English sentence, number {i}."} for i in range(n)]


def test_a_run_that_rejects_every_record_exits_1_and_says_why(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    _write(tmp_path / "in" / "docs.jsonl.gz", _docs(40))
    assert main(["run", _recipe(tmp_path, text_key="body"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "every one of the 40 input records was rejected (40 x missing text field 'body')" in err
    assert "output.allow_empty: true" in err
    rejected = [
        json.loads(x) for x in next((tmp_path / "run" / "rejected").glob("*.jsonl")).read_text().splitlines()
    ]
    assert rejected[0]["source"] == str(tmp_path / "in" / "docs.jsonl.gz")  # the path, not "docs.jsonl.gz"


def test_a_run_that_keeps_nothing_exits_1_unless_allowed(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    _write(tmp_path / "in" / "docs.jsonl.gz", _docs(10))
    assert main(["run", _recipe(tmp_path, keep="fy"), "--no-progress"]) == 1
    assert (
        "kept no documents of 10 input records (0 rejected); language_id removed 10 (lang_not_kept 10)"
        in (capsys.readouterr().err)
    )
    # allow_empty does not change what the run computes: the finished run is reused, and it exits 0
    assert main(["run", _recipe(tmp_path, keep="fy", extra=", allow_empty: true"), "--no-progress"]) == 0
    assert main(["run", _recipe(tmp_path, keep="en"), "--no-progress", "--force"]) == 0


def test_limit_counts_records_not_only_readable_documents(tmp_path):
    (tmp_path / "in").mkdir()
    bad = [{"id": f"b{i}", "body": "no text field"} for i in range(30)]
    _write(tmp_path / "in" / "docs.jsonl.gz", bad + _docs(30))
    assert main(["run", _recipe(tmp_path), "--no-progress", "--limit", "20"]) == 1  # 20 records, all rejected
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["input"]["docs"] == 20 and summary["rejected"] == 20
    assert main(["run", _recipe(tmp_path), "--no-progress", "--limit", "40", "--force"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (summary["input"]["docs"], summary["rejected"], summary["output"]["docs"]) == (40, 30, 10)


def test_no_problem_when_something_was_kept_or_nothing_came_in():
    base = {"input": {"docs": 5}, "output": {"docs": 1}, "rejected": 0, "steps": []}
    assert empty_run_problem(base) is None
    assert empty_run_problem({**base, "input": {"docs": 0}, "output": {"docs": 0}}) is None
