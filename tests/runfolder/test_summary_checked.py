"""summary.json is checked by its one reader (`read_summary`): a crafted file (steps a string, output a
list, invariant null, a step without counts) is a SummaryError naming the key, and `curate stats`
prints that as one line with exit 2, instead of a traceback.

Run: `.venv/bin/python -m pytest tests/runfolder/test_summary_checked.py`
"""

import json

import pytest

from curation.cli import main
from runfolder import SummaryError, read_summary

GOOD = {"schema": 1, "recipe": "t", "input": {"docs": 2}, "output": {"docs": 1, "bytes": 10, "shards": []},
        "rejected": 0, "steps": [{"name": "length_filter", "in": 2, "kept": 1, "removed": 1,
                                  "removed_by_reason": {"too_short": 1}, "seconds": 0.1}],
        "invariant": {"ok": True, "input": 2, "output": 1, "removed": 1, "rejected": 0, "problems": []}}


@pytest.mark.parametrize(("change", "key"), [
    ({"steps": "x"}, "steps"),
    ({"output": []}, "output"),
    ({"invariant": None}, "invariant"),
    ({"recipe": 3}, "recipe"),
    ({"steps": [{"name": "a"}]}, "steps[0].in"),
    ({"steps": [{**GOOD["steps"][0], "removed_by_reason": {"r": "many"}}]}, "steps[0].removed_by_reason"),
    ({"input": {"docs": "2"}}, "input.docs"),
    ({"invariant": {**GOOD["invariant"], "problems": [1]}}, "invariant.problems"),
    ({"languages": []}, "languages"),
])
def test_crafted_summary_is_refused_naming_the_key(tmp_path, capsys, change, key):
    (tmp_path / "summary.json").write_text(json.dumps({**GOOD, **change}))
    with pytest.raises(SummaryError, match=f"summary.json: {key.replace('[', '.').replace(']', '.')}"):
        read_summary(tmp_path)
    assert main(["stats", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and key in err and "Traceback" not in err


def test_sound_summary_reads_and_prints(tmp_path, capsys):
    (tmp_path / "summary.json").write_text(json.dumps(GOOD))
    assert read_summary(tmp_path) == GOOD
    assert main(["stats", str(tmp_path)]) == 0
    assert "length_filter" in capsys.readouterr().out
