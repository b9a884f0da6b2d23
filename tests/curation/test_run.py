"""End-to-end runs: sharded writers load with `datasets`, determinism, exact dedup across tasks,
resume after `kill -9`, refusal of a changed recipe, and the CLI's read-only commands.

Run: `.venv/bin/python -m pytest tests/curation/test_run.py`
"""

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curation.cli import main
from tests.conftest import SAMPLE, read_output

ROOT = Path(__file__).resolve().parents[2]


def sample_docs():
    with gzip.open(SAMPLE, "rt") as f:
        return [json.loads(line) for line in f]


def split_input(folder: Path, parts: int, copies: int = 1) -> Path:
    """The sample corpus spread over `parts` files (optionally repeated with new ids)."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = sample_docs()
    rows = [dict(d, id=f"{d['id']}@{c}") if c else d for c in range(copies) for d in docs]
    for i in range(parts):
        with gzip.open(folder / f"part{i:02d}.jsonl.gz", "wt") as f:
            for d in rows[i::parts]:
                f.write(json.dumps(d) + "\n")
    return folder


@pytest.mark.parametrize("fmt", ["jsonl.gz", "parquet"])
def test_sharded_output_loads_with_datasets(run_recipe, fmt):
    from datasets import load_dataset

    recipe = {"name": "t", "input": {"format": "jsonl", "path": str(SAMPLE)}, "steps": [],
              "output": {"format": fmt, "max_shard_docs": 50}}
    code, run_dir, summary = run_recipe(recipe)
    assert code == 0
    n = len(sample_docs())
    assert len(summary["output"]["shards"]) == -(-n // 50)
    files = [str(run_dir / s) for s in summary["output"]["shards"]]
    ds = load_dataset("json" if fmt == "jsonl.gz" else "parquet", data_files=files, split="train")
    assert len(ds) == n and set(ds.column_names) >= {"text", "id", "metadata"}


def test_max_shard_bytes_rolls_over(run_recipe):
    code, run_dir, summary = run_recipe({"name": "t", "input": {"format": "jsonl", "path": str(SAMPLE)}, "steps": [],
                                         "output": {"max_shard_bytes": 100_000, "max_shard_docs": None}})
    total = summary["output"]["bytes"]
    assert total // 100_000 <= len(summary["output"]["shards"]) <= total // 100_000 + 2


def test_exact_dedup_across_tasks_is_deterministic(tmp_path, write_recipe):
    inp = split_input(tmp_path / "in", parts=4, copies=1)
    # plant cross-file duplicates: part03 gets copies of part00's first 5 docs under new ids
    first = [json.loads(line) for line in gzip.open(inp / "part00.jsonl.gz", "rt")][:5]
    with gzip.open(inp / "part03.jsonl.gz", "at") as f:
        for d in first:
            f.write(json.dumps(dict(d, id="zz-" + d["id"], text="  " + d["text"].replace(" ", "\n", 3))) + "\n")
    outs = []
    for tasks in (4, 4, 2):
        run_dir = tmp_path / f"run{len(outs)}"
        path = write_recipe({"name": "t", "input": {"format": "jsonl", "path": str(inp)}, "steps": [{"exact_dedup": {}}],
                             "output": {"path": str(run_dir), "keep_removed": True}, "executor": {"tasks": tasks}},
                            name=f"r{len(outs)}.yaml")
        assert main(["run", str(path)]) == 0
        summary = json.loads((run_dir / "summary.json").read_text())
        removed = [json.loads(line) for p in sorted((run_dir / "removed" / "exact_dedup").glob("*.gz")) for line in gzip.open(p)]
        outs.append((run_dir, summary, removed))
    (r0, s0, rem0), (r1, s1, _), (r2, s2, rem2) = outs
    # 5 planted + the 5 people-written copies + 1 natural duplicate already in the corpus
    assert s0["steps"][0]["removed"] == s2["steps"][0]["removed"] == 11
    assert {d["id"] for d in rem0 if d["id"].startswith("zz-")} == {"zz-" + d["id"] for d in first}
    assert all(d["metadata"]["dup_of"] < d["id"] for d in rem0)  # the smallest id is kept
    assert {d["id"] for d in rem0} == {d["id"] for d in rem2}  # same decision whatever the task count
    files0 = sorted(p.name for p in (r0 / "output").iterdir())
    assert files0 == sorted(p.name for p in (r1 / "output").iterdir())
    for name in files0:  # same input + recipe -> the same documents in the same shards
        assert gzip.open(r0 / "output" / name).read() == gzip.open(r1 / "output" / name).read()


def _curate(*args, **kw):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "curation.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, **kw)


def test_resume_after_kill_gives_identical_output(tmp_path, write_recipe):
    inp = split_input(tmp_path / "in", parts=8, copies=6)

    def recipe(run_dir):
        return write_recipe({"name": "resume", "input": {"format": "jsonl", "path": str(inp)},
                             "steps": [{"length_filter": {"min_chars": 100}}, {"exact_dedup": {}}],
                             "output": {"path": str(run_dir), "max_shard_docs": 300},
                             "executor": {"tasks": 8, "workers": 1}}, name=f"{run_dir.name}.yaml")

    clean = tmp_path / "clean"
    assert _curate("run", str(recipe(clean))).wait(timeout=300) == 0

    crashed = tmp_path / "crashed"
    path = recipe(crashed)
    proc = _curate("run", str(path))
    completions = crashed / "logs" / "segment_0" / "completions"
    deadline = time.time() + 120
    while time.time() < deadline and not (completions.exists() and len(list(completions.iterdir())) >= 2):
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_at_kill = len(list(completions.iterdir()))
    assert 2 <= done_at_kill < 8, "the kill must land in the middle of the first stage"
    assert not (crashed / "summary.json").exists()

    assert _curate("run", str(path)).wait(timeout=300) == 0
    a, b = (json.loads((d / "summary.json").read_text()) for d in (clean, crashed))
    for key in ("input", "steps", "output", "rejected", "dedup", "invariant"):
        strip = (lambda v: [{k: x for k, x in s.items() if k not in ("seconds", "cpu_seconds")} for s in v]) if key == "steps" else (lambda v: v)
        assert strip(a[key]) == strip(b[key]), key
    names = sorted(p.name for p in (clean / "output").iterdir())
    assert names == sorted(p.name for p in (crashed / "output").iterdir())
    for name in names:
        assert (clean / "output" / name).read_bytes() == (crashed / "output" / name).read_bytes()  # gzip header too


def test_changed_recipe_refused_unless_force(run_recipe, capsys):
    base = {"name": "t", "input": {"format": "jsonl", "path": str(SAMPLE)}, "steps": [{"length_filter": {"min_chars": 10}}]}
    assert run_recipe(base)[0] == 0
    assert run_recipe(base)[0] == 0  # same recipe: resumes (nothing left to do), same summary
    changed = dict(base, steps=[{"length_filter": {"min_chars": 500}}])
    code, _, _ = run_recipe(changed)
    assert code == 2 and "different recipe" in capsys.readouterr().err
    code, _, summary = run_recipe(changed, "--force")
    assert code == 0 and summary["steps"][0]["removed_by_reason"]["too_short"] > 8


def test_limit_and_dry_run(run_recipe, capsys):
    recipe = {"name": "t", "input": {"format": "jsonl", "path": str(SAMPLE)}, "steps": [{"exact_dedup": {}}]}
    code, run_dir, summary = run_recipe(recipe, "--dry-run")
    assert code == 0 and summary is None and not (run_dir / "output").exists()
    assert "exact_dedup.stage_1" in capsys.readouterr().out
    code, run_dir, summary = run_recipe(recipe, "--limit", "20")
    assert code == 0 and summary["input"]["docs"] == 20


def test_stats_and_ops_commands(run_recipe, capsys):
    _, run_dir, summary = run_recipe({"name": "t", "input": {"format": "jsonl", "path": str(SAMPLE)},
                                      "steps": [{"length_filter": {"min_chars": 200}}]})
    capsys.readouterr()
    assert main(["stats", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "length_filter" in out and f"{summary['output']['docs']:,}" in out and "ok" in out
    assert main(["stats", str(run_dir / "nope")]) == 2
    capsys.readouterr()
    assert main(["ops"]) == 0
    out = capsys.readouterr().out
    assert "length_filter" in out and "min_chars: 0" in out and "exact_dedup" in out and "jsonl" in out


def test_sample_command_shows_removed_with_reason(run_recipe, capsys):
    _, run_dir, _ = run_recipe({"name": "t", "input": {"format": "jsonl", "path": str(SAMPLE)},
                                "steps": [{"length_filter": {"min_chars": 200}}], "output": {"keep_removed": True}})
    capsys.readouterr()
    assert main(["sample", str(run_dir), "--removed", "length_filter", "-n", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("removed by length_filter: too_short") == 2
    assert main(["sample", str(run_dir), "--removed", "nope"]) == 2
