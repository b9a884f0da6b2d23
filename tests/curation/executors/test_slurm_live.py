"""`executor: {kind: slurm}` on a live slurmctld + slurmd (conftest.py starts them on 127.0.0.1).

Real `sbatch`, `squeue` and `scancel`: the output is byte-identical to the local executor's and the
ledger balances; each stage's array waits for the previous one (`afterok`); a cancelled array task is
resubmitted alone by the next `curate run`; `--force` refuses while jobs are live and deletes nothing.
Skipped (with the reason) where the daemons cannot start.

Run: `.venv/bin/python -m pytest tests/curation/executors/test_slurm_live.py`
"""

from __future__ import annotations

import gzip
import itertools
import json
import subprocess
from pathlib import Path

import pytest

from curation.cli import main
from tests.conftest import SAMPLE
from tests.curation.executors.conftest import squeue, wait_for_queue

# language ID, ROOTS filters, PII, exact dedup and band-sharded MinHash: 8 stages on Slurm
FULL_STEPS = [
    {"language_id": {"keep": ["en", "fr", "es"]}},
    {"roots_filters": {}},
    {"pii": {"replace": "tag"}},
    {"exact_dedup": {}},
    {"minhash_dedup": {"mode": "sharded"}},
]
SMALL_STEPS = [{"length_filter": {"min_chars": 200}}, {"exact_dedup": {}}]


@pytest.fixture(scope="module")
def two_shards(tmp_path_factory) -> Path:
    """The sample corpus as two input files, so that both tasks of a stage have work."""
    folder = tmp_path_factory.mktemp("input")
    with gzip.open(SAMPLE, "rt") as f:
        lines = f.readlines()
    half = len(lines) // 2
    for i, part in enumerate((lines[:half], lines[half:])):
        with gzip.open(folder / f"part_{i}.jsonl.gz", "wt") as f:
            f.writelines(part)
    return folder


def _recipe(write_recipe, tmp_path, name, inputs, steps, executor):
    run_dir = tmp_path / name
    recipe = {
        "name": "live",
        "input": {"format": "jsonl", "path": str(inputs)},
        "steps": steps,
        "output": {"path": str(run_dir), "keep_removed": True},
        "executor": executor,
    }
    return write_recipe(recipe, name=f"{name}.yaml"), run_dir


def _curate(recipe: Path, *args) -> int:
    return main(["run", str(recipe), "--no-progress", *args])


def _files(run_dir: Path) -> dict[str, bytes]:
    """Every output and removed shard, decompressed (gzip headers carry a time), by relative path."""
    out = {}
    for sub in ("output", "removed"):
        for p in sorted((run_dir / sub).rglob("*")):
            if p.is_file():
                data = p.read_bytes()
                out[str(p.relative_to(run_dir))] = gzip.decompress(data) if p.suffix == ".gz" else data
    return out


def _counts(run_dir: Path) -> dict:
    s = json.loads((run_dir / "summary.json").read_text())
    steps = [{k: v for k, v in st.items() if k not in ("seconds", "cpu_seconds")} for st in s["steps"]]
    return {
        "input": s["input"],
        "steps": steps,
        "output": s["output"]["docs"],
        "rejected": s["rejected"],
        "invariant": s["invariant"],
    }


@pytest.mark.timeout(900)  # ~1 min on an idle 2-core machine; the shared one is far slower
def test_slurm_output_is_byte_identical_to_local_and_stages_wait_afterok(
    tmp_path, write_recipe, two_shards, slurm_cluster, capsys
):
    local, local_dir = _recipe(
        write_recipe, tmp_path, "local", two_shards, FULL_STEPS, {"kind": "local", "tasks": 2}
    )
    assert _curate(local) == 0
    recipe, run_dir = _recipe(
        write_recipe, tmp_path, "slurm", two_shards, FULL_STEPS, {"kind": "slurm", "tasks": 2}
    )
    assert _curate(recipe) == 0
    jobs = json.loads((run_dir / "slurm" / "jobs.json").read_text())
    stages = list(jobs)
    assert stages[0] == "segment_0" and len(stages) >= 6 and "minhash_dedup.stage_1" in stages
    # the stages still waiting name the previous stage's array in `afterok` (Slurm shows the dependency
    # until it is satisfied; later stages cannot have started yet)
    pending = {row[0]: row[2] for row in squeue(*jobs.values(), fmt="%F %T %E") if row[1] == "PENDING"}
    checked = 0
    for prev, stage in itertools.pairwise(stages):
        if jobs[stage] in pending and pending[jobs[stage]] != "(null)":
            assert pending[jobs[stage]].startswith(f"afterok:{jobs[prev]}_*"), (stage, pending[jobs[stage]])
            checked += 1
    assert checked >= 3, pending
    assert not (run_dir / "summary.json").exists()  # submitted: the jobs run on the cluster
    wait_for_queue()
    assert _curate(recipe) == 0  # every stage completed: nothing submitted, summary.json written
    assert json.loads((run_dir / "slurm" / "jobs.json").read_text()) == jobs
    assert _files(run_dir) == _files(local_dir) and len(_files(local_dir)) >= 4
    assert _counts(run_dir) == _counts(local_dir) and _counts(run_dir)["invariant"]["ok"]
    removed_by = {st["op"]: st["removed"] for st in _counts(run_dir)["steps"]}
    assert removed_by["language_id"] > 0 and removed_by["minhash_dedup"] > 0  # the steps really ran
    # two tasks of the sharded MinHash stage each linked a share of the bands
    assert len(list((run_dir / "logs" / "minhash_dedup.stage_1" / "completions").iterdir())) == 2


def test_a_cancelled_array_task_is_resubmitted_alone(tmp_path, write_recipe, two_shards, slurm_cluster):
    executor = {"kind": "slurm", "tasks": 2, "workers": 1}  # `--array=0-1%1`: task 1 waits for task 0
    local, local_dir = _recipe(
        write_recipe, tmp_path, "local", two_shards, SMALL_STEPS, {"kind": "local", "tasks": 2}
    )
    assert _curate(local) == 0
    recipe, run_dir = _recipe(write_recipe, tmp_path, "slurm", two_shards, SMALL_STEPS, executor)
    assert _curate(recipe) == 0
    first = json.loads((run_dir / "slurm" / "jobs.json").read_text())
    subprocess.run(["scancel", f"{first['segment_0']}_1"], check=True, timeout=30)
    wait_for_queue()  # task 0 runs; the later stages leave the queue (--kill-on-invalid-dep=yes)
    completions = run_dir / "logs" / "segment_0" / "completions"
    assert sorted(p.name for p in completions.iterdir()) == ["00000"]
    assert not (run_dir / "logs" / "segment_1" / "completions").exists()

    assert _curate(recipe) == 0  # resubmits rank 1 of segment_0 only, and the stages after it
    second = json.loads((run_dir / "slurm" / "jobs.json").read_text())
    assert set(second) == set(first) and all(second[s] != first[s] for s in second)
    assert json.loads((run_dir / "logs" / "segment_0" / "ranks_to_run.json").read_text()) == [1]
    script = (run_dir / "logs" / "segment_0" / "launch_script.slurm").read_text()
    assert "#SBATCH --array=0-0%1" in script
    wait_for_queue()
    assert _curate(recipe) == 0
    assert (run_dir / "summary.json").exists()
    assert _files(run_dir) == _files(local_dir)
    assert _counts(run_dir) == _counts(local_dir)


def test_force_refuses_while_jobs_are_live_and_deletes_nothing(
    tmp_path, write_recipe, two_shards, slurm_cluster, capsys
):
    executor = {"kind": "slurm", "tasks": 2, "sbatch_args": {"begin": "now+1hour"}}  # held in the queue
    recipe, run_dir = _recipe(write_recipe, tmp_path, "held", two_shards, SMALL_STEPS, executor)
    assert _curate(recipe) == 0
    jobs = json.loads((run_dir / "slurm" / "jobs.json").read_text())
    try:
        before = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*"))
        assert "logs/segment_0/executor.pik" in before
        capsys.readouterr()
        assert _curate(recipe, "--force") == 2
        err = capsys.readouterr().err
        assert "still queued or running" in err and jobs["segment_0"] in err
        assert sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*")) == before
    finally:
        subprocess.run(["scancel", *jobs.values()], check=False, timeout=30)
    wait_for_queue()
    assert _curate(recipe, "--force") == 0  # nothing live: --force starts over (and submits again)
    assert not (run_dir / "logs" / "segment_0" / "completions").exists()
    subprocess.run(
        ["scancel", *json.loads((run_dir / "slurm" / "jobs.json").read_text()).values()], check=False
    )
    wait_for_queue()
