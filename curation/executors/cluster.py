"""`executor.kind: slurm | ray`: a recipe's stages on a cluster, with datatrove's own executors.

The stages from `build_stages` are the same on every engine; only the executor changes:

- `kind: slurm` -> one `SlurmPipelineExecutor` per stage (a job array of `tasks` tasks), chained with
  `depends=` so each stage's array waits for the previous one (`--dependency=afterok:<job id>`).
  Submitting returns at once: the jobs run on the cluster, and `curate run` is run again afterwards
  to write summary.json (it submits nothing when every stage's completion markers exist).
- `kind: ray` -> one `RayPipelineExecutor` per stage on a local Ray instance (`address` unset) or
  on the cluster at `address`. `run()` blocks until the stage is done.

`write_slurm_scripts` writes the sbatch scripts the Slurm executors would submit, plus `submit.sh`
that submits them in order with job dependencies, without calling sbatch (`curate run --dry-run`).
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
from copy import deepcopy
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from datatrove.executor.ray import RayPipelineExecutor
from datatrove.executor.slurm import SlurmPipelineExecutor
from pydantic import Field

from curation.errors import UsageError
from curation.executors.base import ExecutorConfig, ExecutorKind, can_patch, register_executor
from runfolder import RunFolder

if TYPE_CHECKING:  # only for annotations: recipe.py reads the executor registry, which loads this module
    from curation.recipe import Recipe

# What every cluster task needs besides the venv: never reach a model hub at run time (docs/design.md).
OFFLINE_ENV = "export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1"


def _env_command() -> str:
    """Shell line that puts this interpreter's environment (venv or conda prefix) first on PATH."""
    activate = Path(sys.prefix) / "bin" / "activate"
    first = (
        f"source {shlex.quote(str(activate))}"
        if activate.exists()
        else f"export PATH={shlex.quote(sys.prefix + '/bin')}:$PATH"
    )
    return f"{first} && {OFFLINE_ENV}"


def _mem(gb: float) -> str:
    """Slurm wants an integer with a unit: 2 -> `2G`, 1.5 -> `1536M`."""
    return f"{int(gb)}G" if float(gb).is_integer() else f"{math.ceil(gb * 1024)}M"


def time_to_seconds(value: str | None) -> int | None:
    """Slurm time (`MM`, `MM:SS`, `HH:MM:SS`, `D-HH[:MM[:SS]]`) -> seconds, for Ray's per-task limit."""
    if not value:
        return None
    m = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", value.strip())
    if not m:
        raise ValueError(f"executor.time: {value!r} is not a Slurm time such as 04:00:00 or 1-00:00:00")
    days, a, b, c = m.groups()
    if days is not None:  # D-HH[:MM[:SS]]
        h, mi, s = int(a), int(b or 0), int(c or 0)
    elif c is not None:  # HH:MM:SS
        h, mi, s = int(a), int(b), int(c)
    else:  # MM or MM:SS
        h, mi, s = 0, int(a), int(b or 0)
    return ((int(days or 0) * 24 + h) * 60 + mi) * 60 + s


class SlurmStageExecutor(SlurmPipelineExecutor):
    """datatrove's Slurm executor with portable defaults.

    Unset options (partition, time) are left out of the script so the cluster's defaults apply
    (datatrove would write `--partition=None`), memory is written as an integer with a unit, and the
    job starts in the directory `curate` ran from (recipes use paths relative to it).
    """

    def __init__(self, *args, workdir: str, stage_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.workdir = workdir
        self.stage_name = stage_name

    def get_sbatch_args(self, max_array: int = 1) -> dict:
        args = super().get_sbatch_args(max_array)
        args["mem-per-cpu"] = _mem(self.mem_per_cpu_gb)
        args.setdefault("chdir", self.workdir)  # sbatch_args may name another
        return {k: v for k, v in args.items() if v is not None}

    def run_command(self) -> str:
        """The command each array task runs (the same line datatrove's `launch_job` writes)."""
        pik = self.logging_dir.resolve_paths("executor.pik")
        srun = " ".join(f"--{k}={v}" for k, v in (self.srun_args or {}).items())
        if self.with_srun:
            return f"srun {srun} -l -n {self.nodes_per_task} launch_pickled_pipeline {pik}"
        return f"launch_pickled_pipeline {pik}"


def _ray_init(address: str | None) -> None:
    import ray

    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False)
    else:  # a local instance sized to this machine; task logs are copied to logs/<stage>/logs/
        ray.init(include_dashboard=False, log_to_driver=False)


class RayStageExecutor(RayPipelineExecutor):
    """datatrove's Ray executor that connects to Ray itself and fails loudly.

    datatrove's `run()` only logs a warning when a task fails, and a dependent stage then polls the
    missing completion markers forever; here a stage with missing ranks raises instead.
    """

    def __init__(self, *args, address: str | None = None, stage_name: str = "", **kwargs):
        import datatrove.executor.ray as dt_ray

        if address or not can_patch(dt_ray, "file_is_local"):
            # a cluster: datatrove warns when logging_dir is not on a shared filesystem
            super().__init__(*args, **kwargs)
        else:  # a local instance shares this machine's filesystem: the warning does not apply
            is_local, dt_ray.file_is_local = dt_ray.file_is_local, lambda path: False
            try:
                super().__init__(*args, **kwargs)
            finally:
                dt_ray.file_is_local = is_local
        self.address = address
        self.stage_name = stage_name

    def run(self):
        _ray_init(self.address)
        super().run()
        missing = self.get_incomplete_ranks(skip_completed=True)
        if missing:
            raise RuntimeError(
                f"stage {self.stage_name}: task(s) {missing} did not complete on Ray; see "
                f"{self.logging_dir.resolve_paths('logs')}/ (run the same command again to retry them)"
            )


def _prepare_segment_dirs(recipe: Recipe, stages) -> None:
    for k in range(len(stages)):  # a segment whose documents were all removed still has a folder
        RunFolder(recipe.run_dir).segment(k).mkdir(parents=True, exist_ok=True)


def _workers(recipe: Recipe, tasks: int) -> int:
    w = recipe.executor.workers
    return -1 if w == -1 else max(1, min(w, tasks))


def make_cluster_executors(recipe: Recipe, stages) -> list:
    """One datatrove executor per stage for `executor.kind` slurm or ray, chained with `depends=`.

    Args:
        recipe: the validated recipe (its `executor` section sets the cluster options).
        stages: `curation.build.build_stages(recipe)`.

    Returns:
        The executors in stage order. For Ray, `run()` each in order (each blocks). For Slurm, use
        `submit_slurm(recipe, executors)`, which submits every stage at once with job dependencies.
    """
    ex_cfg = recipe.executor
    _prepare_segment_dirs(recipe, stages)
    executors, previous = [], None
    for stage in stages:
        logging_dir = str(RunFolder(recipe.run_dir).stage_logs(stage.name).absolute())
        if ex_cfg.kind == "slurm":
            sbatch_args = dict(ex_cfg.sbatch_args)
            qos = sbatch_args.pop("qos", None)  # datatrove forces qos=normal, which many clusters lack
            ex = SlurmStageExecutor(
                stage.pipeline,
                tasks=stage.tasks,
                time=ex_cfg.time,
                partition=ex_cfg.partition,
                cpus_per_task=ex_cfg.cpus_per_task,
                mem_per_cpu_gb=ex_cfg.mem_per_cpu_gb,
                workers=_workers(recipe, stage.tasks),
                job_name=f"{recipe.name}-{stage.name}",
                qos=qos,
                # datatrove writes `source {venv_path}` (a file), so the activate line is env_command
                env_command=_env_command(),
                venv_path=sys.prefix,
                sbatch_args=sbatch_args,
                logging_dir=logging_dir,
                depends=previous,
                workdir=os.getcwd(),
                stage_name=stage.name,
            )
        elif ex_cfg.kind == "ray":
            ex = RayStageExecutor(
                stage.pipeline,
                tasks=stage.tasks,
                workers=_workers(recipe, stage.tasks),
                cpus_per_task=ex_cfg.cpus_per_task,
                mem_per_cpu_gb=ex_cfg.mem_per_cpu_gb,
                time=time_to_seconds(ex_cfg.time),
                logging_dir=logging_dir,
                depends=previous,
                address=ex_cfg.address,
                stage_name=stage.name,
            )
        else:
            raise ValueError(f"executor.kind {ex_cfg.kind!r} is not a cluster kind (slurm, ray)")
        executors.append(ex)
        previous = ex
    return executors


# --- Slurm: submit, and scripts without a cluster -------------------------------------------------


def _jobs_file(recipe: Recipe) -> Path:
    return recipe.run_dir / "slurm" / "jobs.json"


def _live_jobs(job_ids: list[str]) -> list[str]:
    """The ids among `job_ids` that Slurm still has queued or running (empty without squeue)."""
    if not job_ids or shutil.which("squeue") is None:
        return []
    out = subprocess.run(
        ["squeue", "-h", "-o", "%i", "-j", ",".join(job_ids)], capture_output=True, text=True, check=False
    )
    live = {line.split("_")[0].strip() for line in out.stdout.splitlines() if line.strip()}
    return [j for j in job_ids if j in live]


def submit_slurm(recipe: Recipe, executors: list) -> dict[str, str]:
    """Submit every stage that still has incomplete tasks, each depending on the previous one.

    Returns:
        `{stage name: job id}` of the submitted arrays; empty when every stage already completed
        (then the caller writes summary.json).

    Raises:
        curation.errors.UsageError: jobs of an earlier submission are still queued or running
            (submitting again would run their tasks twice).
    """
    if shutil.which("sbatch") is None:
        raise UsageError(
            "sbatch not found: submit from a Slurm login node (--dry-run writes the scripts anywhere)"
        )
    jobs_file = _jobs_file(recipe)
    if jobs_file.exists():
        live = _live_jobs([str(j) for j in json.loads(jobs_file.read_text()).values()])
        if live:
            raise UsageError(
                f"slurm jobs {', '.join(live)} of this run are still queued or running; wait for them "
                f"(squeue -j {','.join(live)}) or scancel them, then run the same command again"
            )
    executors[-1].launch_job()  # launches its `depends` chain first, each with --dependency=afterok
    jobs = {ex.stage_name: str(ex.job_id) for ex in executors if ex.job_id not in (None, -1)}
    if jobs:
        jobs_file.parent.mkdir(parents=True, exist_ok=True)
        jobs_file.write_text(json.dumps(jobs, indent=2))
    return jobs


def write_slurm_scripts(recipe: Recipe, stages) -> list[Path]:
    """Write the sbatch scripts `kind: slurm` would submit, without calling sbatch.

    Under `run_dir/slurm/`: `NN_<stage>.slurm` per stage (exactly the text datatrove submits) and
    `submit.sh`, which submits them in order, each with `--dependency=afterok:<previous job id>`.
    The pickled executors the scripts load (`logs/<stage>/executor.pik`, `ranks_to_run.json`) are
    written too, so `bash run_dir/slurm/submit.sh` on a login node runs the recipe.

    Returns:
        The paths of the stage scripts in order, then `submit.sh`.
    """
    import dill
    from dill import CONTENTS_FMODE

    if recipe.executor.kind != "slurm":
        raise ValueError("write_slurm_scripts needs executor.kind: slurm")
    executors = make_cluster_executors(recipe, stages)
    out = recipe.run_dir / "slurm"
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    submit = [
        "#!/bin/bash",
        f"# Submit the {len(stages)} stage(s) of recipe {recipe.name!r}; each stage waits for the previous one.",
        "# Written by `curate run --dry-run`; `curate run` submits the same scripts itself.",
        "set -euo pipefail",
        f"cd {shlex.quote(os.getcwd())}",
        'here="$(cd "$(dirname "$0")" && pwd)"',
    ]
    previous: list[str] = []
    for k, ex in enumerate(executors):
        ex.depends = None  # what datatrove pickles: no chain, the dependency is an sbatch argument
        ranks = ex.get_incomplete_ranks()
        if not ranks:
            submit.append(f"# {ex.stage_name}: every task already completed")
            continue
        with ex.logging_dir.open("executor.pik", "wb") as f:
            dill.dump(deepcopy(ex), f, fmode=CONTENTS_FMODE)
        ex.save_executor_as_json()
        with ex.logging_dir.open("ranks_to_run.json", "w") as f:
            json.dump(ranks, f)
        n_jobs = math.ceil(len(ranks) / ex.tasks_per_job)
        max_array = min(n_jobs, ex.max_array_size) if ex.max_array_size != -1 else n_jobs
        path = out / f"{k:02d}_{ex.stage_name}.slurm"
        path.write_text(ex.get_launch_file_contents(ex.get_sbatch_args(max_array), ex.run_command()))
        paths.append(path)
        dep = f" --dependency=afterok:{':'.join(previous)}" if previous else ""
        current = []
        for offset in range(math.ceil(n_jobs / max_array)):  # arrays over max_array_size: several jobs
            var = f"job_{k}_{offset}"
            submit.append(
                f'{var}=$(sbatch --parsable --export=ALL,RUN_OFFSET={offset}{dep} "$here/{path.name}")'
            )
            submit.append(f'{var}="${{{var}%%;*}}"; echo "{ex.stage_name}: job ${var}"')
            current.append(f"${var}")
        previous = current
    submit_path = out / "submit.sh"
    submit_path.write_text("\n".join(submit) + "\n")
    submit_path.chmod(0o755)
    return paths + [submit_path]


class ClusterConfig(ExecutorConfig):
    cpus_per_task: int = Field(1, ge=1)
    mem_per_cpu_gb: float = Field(2, gt=0)
    time: str | None = Field(None, description="time limit per task, Slurm syntax, e.g. 04:00:00")


class SlurmConfig(ClusterConfig):
    kind: Literal["slurm"] = "slurm"
    partition: str | None = None
    sbatch_args: dict[str, str] = Field(default_factory=dict)


class RayConfig(ClusterConfig):
    kind: Literal["ray"] = "ray"
    address: str | None = Field(None, description="ray cluster address (default: a local Ray instance)")


@register_executor
class SlurmKind(ExecutorKind):
    """One job array per stage, submitted with `--dependency=afterok` on the previous stage's job."""

    name = "slurm"
    config = SlurmConfig

    def executors(self, recipe, stages) -> list:
        return make_cluster_executors(recipe, stages)

    def execute(self, recipe, stages, on_stage=None) -> dict[str, str]:
        """Submit (sbatch returns at once); `{}` when every stage's tasks have already completed."""
        return submit_slurm(recipe, self.executors(recipe, stages))

    def dry_run(self, recipe, stages) -> list[Path]:
        return write_slurm_scripts(recipe, stages)


@register_executor
class RayKind(ExecutorKind):
    """One Ray executor per stage on a local Ray instance or the cluster at `executor.address`."""

    name = "ray"
    config = RayConfig

    def executors(self, recipe, stages) -> list:
        return make_cluster_executors(recipe, stages)
