"""Scale-out: the same recipe on Ray and on Slurm gives the same documents as the local executor.

- `kind: ray` runs on a local Ray instance this module starts (skipped when `ray` is not installed:
  `pip install -e '.[ray]'`).
- `kind: slurm --dry-run` writes the sbatch scripts (checked: partition, time, cpus, memory, array
  size = tasks, afterok dependencies between stages, the pickled pipeline each script runs).
- `kind: slurm` end to end, without a cluster: fake `sbatch`/`srun`/`scontrol`/`squeue` on PATH run
  each submitted job array at once, task by task, as Slurm would (SLURM_ARRAY_TASK_ID, RUN_OFFSET).

Run: `.venv/bin/python -m pytest tests/curation/test_executors.py`
"""

import json
import os
import re
import stat
import sys
from pathlib import Path

import dill
import pytest

from curation.cli import main
from tests.conftest import SAMPLE, read_output

RECIPE = {
    "name": "scale",
    "input": {"format": "jsonl", "path": str(SAMPLE)},
    "steps": [{"length_filter": {"min_chars": 200}}, {"exact_dedup": {}}],
    "output": {"keep_removed": True},
}


def _run(write_recipe, tmp_path, name, executor, *args):
    run_dir = tmp_path / name
    recipe = dict(RECIPE, output={**RECIPE["output"], "path": str(run_dir)}, executor=executor)
    code = main(["run", str(write_recipe(recipe, name=f"{name}.yaml")), "--no-progress", *args])
    return code, run_dir


def _docs(run_dir: Path) -> list[tuple[str, str]]:
    return sorted((d["id"], d["text"]) for d in read_output(run_dir))


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


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install -e '.[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_matches_local(tmp_path, write_recipe, local_ray):
    code, local = _run(write_recipe, tmp_path, "local", {"kind": "local", "tasks": 2})
    assert code == 0
    code, on_ray = _run(write_recipe, tmp_path, "ray", {"kind": "ray", "tasks": 2})
    assert code == 0
    assert _docs(on_ray) == _docs(local) and len(_docs(local)) > 100
    assert _counts(on_ray) == _counts(local)
    assert _counts(local)["steps"][1]["removed"] > 0  # the dedup stage really ran across both tasks
    for stage in ("segment_0", "exact_dedup.stage_1", "segment_1"):  # datatrove's markers, per stage
        assert (on_ray / "logs" / stage / "completions").is_dir()


SLURM = {
    "kind": "slurm",
    "tasks": 3,
    "partition": "cpu-small",
    "time": "02:30:00",
    "cpus_per_task": 2,
    "mem_per_cpu_gb": 1.5,
    "sbatch_args": {"account": "data"},
}


def _directives(script: str) -> dict[str, str]:
    return dict(re.findall(r"^#SBATCH --([\w-]+)(?:=(.*))?$", script, flags=re.MULTILINE))


def test_slurm_dry_run_writes_scripts(tmp_path, write_recipe, capsys):
    code, run_dir = _run(write_recipe, tmp_path, "dry", SLURM, "--dry-run")
    assert code == 0
    scripts = sorted((run_dir / "slurm").glob("*.slurm"))
    assert [p.name for p in scripts] == [
        "00_segment_0.slurm",
        "01_exact_dedup.stage_1.slurm",
        "02_segment_1.slurm",
    ]
    assert str(scripts[0]) in capsys.readouterr().out.replace("\n", "")  # rich wraps long lines
    for path, tasks in zip(scripts, (3, 1, 3)):  # the cluster stage of exact_dedup is one task
        text = path.read_text()
        d = _directives(text)
        assert d["partition"] == "cpu-small" and d["time"] == "02:30:00" and d["account"] == "data"
        assert d["cpus-per-task"] == "2" and d["mem-per-cpu"] == "1536M"
        assert d["array"] == f"0-{tasks - 1}"
        assert d["chdir"] == os.getcwd() and "qos" not in d
        stage = path.stem[3:]
        assert d["job-name"] == f"scale-{stage}"
        pik = run_dir / "logs" / stage / "executor.pik"
        assert f"launch_pickled_pipeline {pik}" in text
        assert f"source {sys.prefix}/bin/activate" in text and "HF_HUB_OFFLINE=1" in text
        # the pickled executor runs this stage's pipeline
        with open(pik, "rb") as f:
            ex = dill.load(f)
        assert ex.tasks == tasks and ex.logging_dir.path == str(run_dir / "logs" / stage)
        names = [type(s).__name__ for s in ex.pipeline]
        expected = {
            "segment_0": ["LengthFilter", "ExactDedupSignature"],
            "exact_dedup.stage_1": ["ExactDedupCluster"],
            "segment_1": ["ExactDedupFilter", "ShardedJsonlWriter"],
        }[stage]
        assert all(n in names for n in expected), names
        assert json.loads((run_dir / "logs" / stage / "ranks_to_run.json").read_text()) == list(range(tasks))
    submit = (run_dir / "slurm" / "submit.sh").read_text().splitlines()
    sbatch = [line for line in submit if "sbatch" in line]
    assert len(sbatch) == 3 and "--dependency" not in sbatch[0]
    assert "--dependency=afterok:$job_0_0" in sbatch[1] and sbatch[1].endswith(
        '"/01_exact_dedup.stage_1.slurm)'
    )
    assert "--dependency=afterok:$job_1_0" in sbatch[2] and sbatch[2].endswith('"/02_segment_1.slurm)')
    assert not (run_dir / "output").exists()  # nothing ran


FAKE = {
    # runs the array at once (in submission order, so afterok dependencies hold); job output to a file
    "sbatch": r"""#!/bin/bash
set -u
script="${@: -1}"; offset=0
for a in "$@"; do case "$a" in --export=*RUN_OFFSET=*) offset="${a##*RUN_OFFSET=}";; --dependency=*) echo "$a" >> "$FAKE_SLURM/dependencies";; esac; done
id=$(( $(cat "$FAKE_SLURM/next" 2>/dev/null || echo 100) + 1 )); echo $id > "$FAKE_SLURM/next"
cp "$script" "$FAKE_SLURM/job_$id.sh"
range=$(sed -n 's/^#SBATCH --array=\([0-9-]*\).*/\1/p' "$script"); range=${range:-0-0}
for i in $(seq ${range%-*} ${range#*-}); do
  SLURM_JOB_ID=$id SLURM_ARRAY_JOB_ID=$id SLURM_ARRAY_TASK_ID=$i SLURM_NODELIST=localhost RUN_OFFSET=$offset \
    bash "$script" > "$FAKE_SLURM/job_${id}_$i.out" 2>&1 || echo "job $id task $i failed" >> "$FAKE_SLURM/failures"
done
echo "Submitted batch job $id"
""",
    "srun": """#!/bin/bash
while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do case "$1" in -n|-N) shift 2;; *) shift;; esac; done
exec "$@"
""",
    "scontrol": "#!/bin/bash\necho localhost\n",
    "squeue": "#!/bin/bash\nexit 0\n",  # nothing queued: every fake job has finished
}


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    folder = tmp_path / "fake_slurm"
    folder.mkdir()
    for name, text in FAKE.items():
        (folder / name).write_text(text)
        (folder / name).chmod(stat.S_IRWXU)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM", str(folder))
    return folder


def test_slurm_run_submits_with_dependencies_then_summarizes(tmp_path, write_recipe, fake_slurm, capsys):
    code, local = _run(write_recipe, tmp_path, "local", {"kind": "local", "tasks": 2})
    assert code == 0
    executor = dict(SLURM, tasks=2)
    code, run_dir = _run(write_recipe, tmp_path, "slurm", executor)
    out = capsys.readouterr().out
    assert code == 0 and "submitted segment_0: slurm job 101" in out
    assert not (fake_slurm / "failures").exists(), (fake_slurm / "failures").read_text()
    assert not (run_dir / "summary.json").exists()  # submitted, not yet summarized
    jobs = json.loads((run_dir / "slurm" / "jobs.json").read_text())
    assert list(jobs) == ["segment_0", "exact_dedup.stage_1", "segment_1"]
    deps = (fake_slurm / "dependencies").read_text().split()
    # each stage waits for the previous stage's array (datatrove also submits a merge_stats job per stage)
    assert f"--dependency=afterok:{jobs['segment_0']}" in deps
    assert f"--dependency=afterok:{jobs['exact_dedup.stage_1']}" in deps
    # second run: every stage completed, so nothing is submitted and summary.json is written
    submitted = (fake_slurm / "next").read_text()
    code, _ = _run(write_recipe, tmp_path, "slurm", executor)
    assert code == 0 and (fake_slurm / "next").read_text() == submitted
    assert _docs(run_dir) == _docs(local)
    assert _counts(run_dir) == _counts(local)


def test_slurm_dry_run_leaves_a_run_folder_that_run_resumes(tmp_path, write_recipe, fake_slurm, capsys):
    """The scripts `--dry-run` writes, submitted by hand, then `curate run` without --force: it writes the
    summary of those jobs (the dry run used to leave a folder without run.json, refused as not a run's)."""
    import subprocess

    code, local = _run(write_recipe, tmp_path, "local", {"kind": "local", "tasks": 2})
    assert code == 0
    executor = dict(SLURM, tasks=2)
    code, run_dir = _run(write_recipe, tmp_path, "slurm", executor, "--dry-run")
    assert code == 0 and (run_dir / "run.json").is_file() and not (fake_slurm / "next").exists()
    subprocess.run(["bash", str(run_dir / "slurm" / "submit.sh")], check=True, capture_output=True)
    assert not (fake_slurm / "failures").exists(), (fake_slurm / "failures").read_text()
    submitted = (fake_slurm / "next").read_text()
    capsys.readouterr()
    code, _ = _run(write_recipe, tmp_path, "slurm", executor)
    assert code == 0, capsys.readouterr().err
    assert (fake_slurm / "next").read_text() == submitted  # every task had completed: nothing resubmitted
    assert _counts(run_dir) == _counts(local) and _docs(run_dir) == _docs(local)


# --- the executor registry and per-kind config ----------------------------------------------------


def test_each_kind_accepts_only_its_own_keys(write_recipe):
    from curation.errors import RecipeError
    from curation.recipe import load_recipe

    base = {"name": "t", "input": {"format": "jsonl", "path": str(SAMPLE)}}
    with pytest.raises(RecipeError, match="executor.partition: unknown key; allowed: kind, tasks, workers"):
        load_recipe(write_recipe({**base, "executor": {"kind": "local", "partition": "gpu"}}))
    with pytest.raises(RecipeError, match="executor.address: unknown key"):
        load_recipe(write_recipe({**base, "executor": {"kind": "slurm", "address": "ray://x"}}))
    with pytest.raises(RecipeError, match=r"executor.kind: unknown executor kind 'slrum' \(did you mean slurm\?\)"):
        load_recipe(write_recipe({**base, "executor": {"kind": "slrum"}}))
    r = load_recipe(write_recipe({**base, "executor": {"kind": "ray", "address": "auto", "time": "01:00"}}))
    assert r.executor.address == "auto" and r.executor.cpus_per_task == 1


def test_a_new_executor_kind_is_one_class(tmp_path, write_recipe, monkeypatch):
    """Registering a kind (here: every stage in this process, one task after another) is all it takes."""
    from typing import Literal

    from curation.executors import base
    from curation.executors.local import LocalKind

    monkeypatch.setattr(base, "EXECUTORS", base.EXECUTORS.copy())

    class InlineConfig(base.ExecutorConfig):
        kind: Literal["inline"] = "inline"

    ran = []

    @base.register_executor
    class InlineKind(base.ExecutorKind):
        name = "inline"
        config = InlineConfig

        def executors(self, recipe, stages):
            exs = LocalKind().executors(recipe, stages)
            for ex in exs:
                ex.workers = 1
            return exs

        def execute(self, recipe, stages, on_stage=None):
            ran.extend(s.name for s in stages)
            return super().execute(recipe, stages, on_stage)

    code, run_dir = _run(write_recipe, tmp_path, "inline", {"kind": "inline", "tasks": 2})
    assert code == 0 and ran == ["segment_0", "exact_dedup.stage_1", "segment_1"]
    _, local_dir = _run(write_recipe, tmp_path, "local", {"kind": "local", "tasks": 2})
    assert _docs(run_dir) == _docs(local_dir) and _counts(run_dir) == _counts(local_dir)


def test_datatrove_internals_are_patched_only_on_checked_versions(monkeypatch):
    from datatrove.executor import base as dt_base

    from curation.executors import base

    assert base.can_patch(dt_base, "add_task_logger")  # the pinned datatrove: patched
    monkeypatch.setattr(base, "datatrove_version", lambda: "0.11.0")
    with pytest.warns(UserWarning, match="not patching datatrove.executor.base.add_task_logger"):
        assert not base.can_patch(dt_base, "add_task_logger")
    monkeypatch.undo()
    with pytest.warns(UserWarning):
        assert not base.can_patch(dt_base, "a_name_datatrove_dropped")
