"""After-run hooks: an op declares one (`register_op(..., after_run="module:attr")`); `curation.run` runs
the hooks of the recipe's ops once every stage finished, before summary.json, and merges what they
report into it. The `pii` op's run-folder sweep is one (tests/curation/steps/test_pii_sweep.py)."""

from __future__ import annotations

from pathlib import Path

import orjson

import curation
from curation import registry
from curation.steps.length import LengthFilter
from tests.conftest import SAMPLE

CALLS: list[str] = []


def count_output_shards(recipe) -> dict:
    """The test op's hook: sees the finished output/ (and no summary.json yet)."""
    CALLS.append(recipe.name)
    assert not (Path(recipe.run_dir) / "summary.json").exists()
    return {"hooked": {"shards": len(list((Path(recipe.run_dir) / "output").glob("*")))}}


def test_an_ops_after_run_hook_runs_once_and_reports_into_the_summary(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "OPS", registry.OPS.copy())
    registry.register_op("t_hooked", registry.OpParams,
                         after_run="tests.curation.test_after_run:count_output_shards")(
        lambda p, ctx: LengthFilter(min_chars=1, max_chars=10**9))
    CALLS.clear()
    curation.run({
        "name": "hooked",
        "input": {"format": "jsonl", "path": str(SAMPLE)},
        "steps": [{"t_hooked": {}}, {"t_hooked": {}}],
        "output": {"path": str(tmp_path / "run")},
    }, limit=20)
    summary = orjson.loads((tmp_path / "run" / "summary.json").read_bytes())
    assert CALLS == ["hooked"]  # once per op, not per step
    assert summary["hooked"]["shards"] >= 1


def test_the_run_loop_imports_no_step_module():
    """`curation.api` is generic: which ops have hooks is the registry's business, not the run loop's."""
    import curation.api

    assert "curation.steps" not in Path(curation.api.__file__).read_text()
