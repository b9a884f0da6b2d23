"""summary.json is checked by its one reader (`read_summary`): a crafted file (steps a string, output a
list, invariant null, a step without counts) is a SummaryError naming the key, and `curate stats`
prints that as one line with exit 2, instead of a traceback.

Run: `.venv/bin/python -m pytest tests/runfolder/test_summary_checked.py`
"""

import json

import pytest

from curation.cli import main
from runfolder import RunFolder, SummaryError, read_summary

GOOD = {
    "schema": 1,
    "recipe": "t",
    "input": {"docs": 2},
    "output": {"docs": 1, "bytes": 10, "shards": []},
    "rejected": 0,
    "steps": [
        {
            "name": "length_filter",
            "in": 2,
            "kept": 1,
            "removed": 1,
            "removed_by_reason": {"too_short": 1},
            "seconds": 0.1,
        }
    ],
    "invariant": {"ok": True, "input": 2, "output": 1, "removed": 1, "rejected": 0, "problems": []},
}


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"steps": "x"}, "steps"),
        ({"output": []}, "output"),
        ({"invariant": None}, "invariant"),
        ({"recipe": 3}, "recipe"),
        ({"steps": [{"name": "a"}]}, "steps[0].in"),
        ({"steps": [{**GOOD["steps"][0], "removed_by_reason": {"r": "many"}}]}, "steps[0].removed_by_reason"),
        ({"input": {"docs": "2"}}, "input.docs"),
        ({"invariant": {**GOOD["invariant"], "problems": [1]}}, "invariant.problems"),
        ({"languages": []}, "languages"),
    ],
)
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


@pytest.mark.parametrize(
    "body",
    [
        '{"schema": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"schema": 1, "rejected": ' + "9" * 5_001 + "}",
    ],
)
def test_json_nested_too_deep_or_with_a_huge_integer_is_one_clear_error(tmp_path, body):
    """Found by hand on the merged main: json.loads raises RecursionError (nesting) or ValueError (an
    integer past Python's 4,300-digit limit), which escaped as tracebacks from `curate stats`."""
    from runfolder import SummaryError, read_summary
    from runfolder.layout import read_identity
    from runfolder.results import ResultsError, load_results

    (tmp_path / "summary.json").write_text(body)
    with pytest.raises(SummaryError, match="not valid JSON"):
        read_summary(tmp_path)
    (tmp_path / "results.json").write_text(body)
    with pytest.raises(ResultsError, match="not valid JSON"):
        load_results(tmp_path)
    (tmp_path / "run.json").write_text(body)
    assert read_identity(tmp_path / "run.json") is None


@pytest.mark.parametrize(
    "body",
    [
        '[{"count": 3}]',
        '{"unit": 1}',
        '[{"unit": "a", "count": "x", "example_id": 1}]',
        "[1, 2]",
        "not json",
        '[{"unit": ["a"], "count": 1, "example_id": "x"}]',
        '[{"unit": "a", "count": true, "example_id": "x"}]',
    ],
)
def test_a_damaged_removed_units_file_is_one_error_naming_it(tmp_path, body):
    """The line_dedup removed-lines view reads removed_units/<step>/*.json; a hand-edited one is a
    SummaryError naming the file (the dashboard page said KeyError / TypeError / JSONDecodeError)."""
    folder = tmp_path / "run" / "removed_units" / "line_dedup"
    folder.mkdir(parents=True)
    (folder / "00000.json").write_text('[{"unit": "ok", "count": 2, "example_id": "d"}]')
    (folder / "00001.json").write_text(body)
    with pytest.raises(SummaryError, match="00001.json"):
        RunFolder(tmp_path / "run").removed_unit_examples("line_dedup")


def test_removed_units_of_good_files_are_summed(tmp_path):
    folder = tmp_path / "run" / "removed_units" / "line_dedup"
    folder.mkdir(parents=True)
    for i in range(2):
        (folder / f"0000{i}.json").write_text('[{"unit": "nav", "count": 2, "example_id": "d"}]')
    assert RunFolder(tmp_path / "run").removed_unit_examples("line_dedup") == [
        {"unit": "nav", "count": 4, "example_id": "d"}
    ]
