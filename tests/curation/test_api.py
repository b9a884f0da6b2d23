"""The Python API as a notebook uses it: run a shipped recipe on tests/data, read its documents, load
them into `datasets`; user errors are typed exceptions, never `sys.exit`.

Run: `.venv/bin/python -m pytest tests/curation/test_api.py`
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import curation
from tests.conftest import DATA, SAMPLE

ROOT = Path(__file__).resolve().parents[2]


def test_notebook_session(tmp_path):
    """Run recipes/sample.yaml (2 tasks: datatrove's forkserver pool, started from a test function)."""
    recipe = curation.load_recipe(ROOT / "recipes" / "sample.yaml",
                                  {"input.path": str(SAMPLE), "output.path": str(tmp_path / "run"), "executor.tasks": 2})
    run = curation.run(recipe, force=True)
    summary = run.summary
    assert run.ok and summary["recipe"] == "sample"
    kept = list(run.kept())
    assert len(kept) == summary["output"]["docs"] > 0
    assert all(set(d) >= {"text", "id", "metadata"} for d in kept)
    removed = list(run.removed())
    assert len(removed) == sum(s["removed"] for s in summary["steps"]) > 0
    by_lang = list(run.removed(step="language_id", reason="lang_not_kept"))
    assert by_lang and all(d["metadata"]["reason"] == "lang_not_kept" for d in by_lang)
    ds = run.to_datasets()
    assert len(ds) == len(kept) and ds[0]["text"] == kept[0]["text"]

    again = curation.open_run(run.path)  # a later session
    assert again.summary == summary and [d["id"] for d in again.kept()] == [d["id"] for d in kept]
    sample = again.sample(5, seed=1)
    assert len(sample) == 5 and sample == again.sample(5, seed=1) and {d["id"] for d in sample} <= {d["id"] for d in kept}


def test_sample_is_uniform_over_shards(tmp_path):
    """Small shards: a sample of 20 reaches beyond the first shard (the old `curate sample` read the first n)."""
    run = curation.run({"name": "t", "input": {"format": "jsonl", "path": str(SAMPLE)}, "steps": [],
                        "output": {"path": str(tmp_path / "r"), "max_shard_docs": 10}})
    picked = run.sample(20, seed=0)
    first_shard = {d["id"] for d in list(run.kept())[:10]}
    assert len(picked) == 20 and not {d["id"] for d in picked} <= first_shard


def test_rejected_records_and_dict_recipe(tmp_path):
    run = curation.run({"name": "t", "input": {"format": "jsonl", "path": str(DATA / "hostile.jsonl")},
                        "steps": [], "output": {"path": str(tmp_path / "r"), "format": "parquet"}})
    rejected = list(run.rejected())
    assert rejected and len(rejected) == run.summary["rejected"]
    assert all({"source", "line", "error"} <= set(r) for r in rejected)
    assert all(isinstance(d["metadata"], dict) for d in run.kept())  # parquet metadata decoded


def test_recipe_error_is_typed_with_file_line_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: t\ninput: {format: jsonl, path: x}\nsteps:\n  - length_filter: {min_chars: 'many'}\n")
    with pytest.raises(curation.RecipeError) as e:
        curation.load_recipe(path)
    assert e.value.file == str(path) and e.value.line == 4 and e.value.key == "steps[0].length_filter.min_chars"
    with pytest.raises(curation.RecipeError) as e:
        curation.run({"name": "t", "input": {"format": "nope", "path": "x"}})
    assert e.value.file == "<dict>" and e.value.key == "input.format"


def test_changed_recipe_in_a_used_folder_is_a_usage_error(tmp_path):
    base = {"name": "t", "input": {"format": "jsonl", "path": str(SAMPLE)}, "output": {"path": str(tmp_path / "r")}}
    curation.run(base, limit=5)
    with pytest.raises(curation.UsageError, match="--force"):
        curation.run(base, limit=6)
    assert curation.run(base, limit=6, force=True).summary["input"]["docs"] == 6


def test_dry_run_plans_and_writes_nothing(tmp_path):
    run = curation.run(ROOT / "recipes" / "sample.yaml", {"output.path": str(tmp_path / "r")}, dry_run=True)
    assert [s.name for s in run.stages][:1] == ["segment_0"] and len(run.stages) > 1
    assert not (tmp_path / "r").exists() and not run.finished


def test_cli_uses_the_api_and_exits_2_on_user_errors(tmp_path, capsys):
    from rootstock.cli import main

    assert main(["run", str(tmp_path / "missing.yaml")]) == 2
    assert "error:" in capsys.readouterr().err
    assert main(["stats", str(tmp_path)]) == 2
    out = tmp_path / "r"
    assert main(["run", str(ROOT / "recipes" / "sample.yaml"), "--output", str(out), "--limit", "20", "--no-progress"]) == 0
    assert json.loads((out / "summary.json").read_text()) == curation.open_run(out).summary


def test_script_without_main_guard_is_refused_not_hung(tmp_path):
    """datatrove's forkserver workers import the main script again: an unguarded top-level run with
    several workers would hang; it is refused with the fix. The same call under a main guard runs."""
    import subprocess
    import sys

    call = (f"import curation\ncuration.run({{'name': 't', 'input': {{'format': 'jsonl', 'path': {str(SAMPLE)!r}}}, "
            f"'output': {{'path': {str(tmp_path / 'r')!r}}}, 'executor': {{'tasks': 2, 'workers': 2}}}}, limit=20)\n")
    bad, good = tmp_path / "bad.py", tmp_path / "good.py"
    bad.write_text(call)
    good.write_text("def main():\n" + "".join(f"    {line}\n" for line in call.splitlines())
                    + "\n\nif __name__ == '__main__':\n    main()\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(bad)], check=False, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 1 and 'put the call under `if __name__ == "__main__":`' in out.stderr
    out = subprocess.run([sys.executable, str(good)], check=False, capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert curation.open_run(tmp_path / "r").ok and curation.open_run(tmp_path / "r").summary["output"]["docs"] > 0
