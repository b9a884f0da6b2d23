"""`executor.kind: slurm`: one datatrove `SlurmPipelineExecutor` job array per stage.

Each stage's array is chained to the previous one with `--dependency=afterok:<job id>` (and
`--kill-on-invalid-dep=yes`, so that when a task fails or is cancelled the stages after it leave the
queue instead of waiting forever). Submitting returns at once: the jobs run on the cluster, and
`curate run` is run again afterwards: it writes summary.json, or resubmits only the tasks without a
completion marker (datatrove's `get_incomplete_ranks`).

Every value of the recipe that ends up in a script is checked against Slurm's grammar when the recipe
is validated (`SlurmKind.check`, `_slurm_grammar.py`) and `shlex.quote`d when the script is written
(`SlurmStageExecutor.get_launch_file_contents`): nothing a recipe says reaches a shell unquoted.

`write_slurm_scripts` writes the scripts and `submit.sh` without calling sbatch (`--dry-run`).
"""

from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import subprocess
import sys
from copy import deepcopy
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from datatrove.executor.slurm import SlurmPipelineExecutor
from pydantic import Field, field_validator

from curation.errors import UsageError
from curation.executors import _slurm_grammar as grammar
from curation.executors.base import ExecutorKind, register_executor
from curation.executors.cluster import ClusterConfig, prepare_segment_dirs, stage_workers
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


class SlurmStageExecutor(SlurmPipelineExecutor):
    """datatrove's Slurm executor with portable defaults and a script in which every value is quoted.

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
        args["kill-on-invalid-dep"] = "yes"  # a failed stage takes the stages after it out of the queue
        return {k: v for k, v in args.items() if v is not None}

    def run_command(self) -> str:
        """The command each array task runs (the same line datatrove's `launch_job` writes, quoted)."""
        pik = shlex.quote(self.logging_dir.resolve_paths("executor.pik"))
        if self.with_srun:
            srun = " ".join(shlex.quote(f"--{k}={v}") for k, v in (self.srun_args or {}).items())
            return f"srun {srun} -l -n {self.nodes_per_task} launch_pickled_pipeline {pik}"
        return f"launch_pickled_pipeline {pik}"

    def _datatrove_run_command(self) -> str:
        """The unquoted line datatrove's `launch_job` passes to `get_launch_file_contents`."""
        pik = self.logging_dir.resolve_paths("executor.pik")
        srun = " ".join(f"--{k}={v}" for k, v in self.srun_args.items()) if self.srun_args else ""
        if self.with_srun:
            return f"srun {srun} -l -n {self.nodes_per_task} launch_pickled_pipeline {pik}"
        return f"launch_pickled_pipeline {pik}"

    def get_launch_file_contents(self, sbatch_args: dict, run_script: str) -> str:
        """The sbatch script: every directive value and the job name quoted, nothing else interpolated.

        datatrove writes values as they are (`#SBATCH --time={time}`, `echo "... {job_name}"`,
        `launch_pickled_pipeline {path}`), so a newline, a space or `$(...)` in one became a command;
        here its launch line is replaced by `run_command()`, built from quoted parts.
        """
        if run_script == self._datatrove_run_command():
            run_script = self.run_command()
        lines = ["#!/bin/bash"]
        for key, value in sbatch_args.items():
            value = str(value)
            bad = grammar.control_character(key + value)
            if bad:  # validation refuses these first; this is the last line of defence
                raise UsageError(f"sbatch --{key}: the value contains the control character {bad}")
            lines.append(f"#SBATCH --{key}={shlex.quote(value)}" if value else f"#SBATCH --{key}")
        lines += [
            f"echo {shlex.quote(f'Starting data processing job {self.job_name}')}",
            self.env_command,
            "set -xe",
            "export PYTHONUNBUFFERED=TRUE",
            run_script,
        ]
        return "\n".join(lines) + "\n"

    def launch_merge_stats(self):
        """No stats-merging job: the ledger sums the per-task stats files itself (`load_stage_stats`),
        and datatrove's extra job per stage would cost a scheduler slot and a Python start each."""


def make_slurm_executors(recipe: Recipe, stages) -> list[SlurmStageExecutor]:
    """One `SlurmStageExecutor` per stage, each with `depends=` the previous one."""
    cfg = recipe.executor
    prepare_segment_dirs(recipe, stages)
    executors, previous = [], None
    sbatch_args = grammar.check_sbatch_args(cfg.sbatch_args)
    qos = sbatch_args.pop("qos", None)  # datatrove forces qos=normal, which many clusters lack
    for stage in stages:
        ex = SlurmStageExecutor(
            stage.pipeline,
            tasks=stage.tasks,
            time=cfg.time,
            partition=cfg.partition,
            cpus_per_task=cfg.cpus_per_task,
            mem_per_cpu_gb=cfg.mem_per_cpu_gb,
            workers=stage_workers(recipe, stage.tasks),
            job_name=f"{recipe.name}-{stage.name}",
            qos=qos,
            # datatrove writes `source {venv_path}` (a file), so the activate line is env_command
            env_command=_env_command(),
            venv_path=sys.prefix,
            sbatch_args=dict(sbatch_args),
            logging_dir=str(RunFolder(recipe.run_dir).stage_logs(stage.name).absolute()),
            depends=previous,
            workdir=os.getcwd(),
            stage_name=stage.name,
        )
        executors.append(ex)
        previous = ex
    return executors


# --- submit, and scripts without a cluster --------------------------------------------------------


def _jobs_file(recipe: Recipe) -> Path:
    return recipe.run_dir / "slurm" / "jobs.json"


def live_jobs(recipe: Recipe) -> list[str]:
    """Job ids of this run's last submission that Slurm still has queued or running (empty without
    squeue or without a submission)."""
    jobs_file = _jobs_file(recipe)
    if not jobs_file.exists() or shutil.which("squeue") is None:
        return []
    try:
        job_ids = [str(j) for j in json.loads(jobs_file.read_text()).values()]
    except (ValueError, AttributeError):
        return []
    if not job_ids:
        return []
    out = subprocess.run(
        ["squeue", "-h", "-o", "%i", "-j", ",".join(job_ids)], capture_output=True, text=True, check=False
    )
    live = {line.split("_")[0].strip() for line in out.stdout.splitlines() if line.strip()}
    return [j for j in job_ids if j in live]


def refuse_if_live(recipe: Recipe) -> None:
    """Raise UsageError while jobs of this run's last submission are queued or running (submitting
    again, or `--force` deleting the folder they read, would break them)."""
    live = live_jobs(recipe)
    if live:
        raise UsageError(
            f"slurm jobs {', '.join(live)} of this run are still queued or running; wait for them "
            f"(squeue -j {','.join(live)}) or scancel them, then run the same command again"
        )


def submit_slurm(recipe: Recipe, executors: list) -> dict[str, str]:
    """Submit every stage that still has incomplete tasks, each depending on the previous one.

    Returns:
        `{stage name: job id}` of the submitted arrays; empty when every stage already completed
        (then the caller writes summary.json).

    Raises:
        curation.errors.UsageError: no sbatch here, or jobs of an earlier submission are still queued
            or running (submitting again would run their tasks twice).
    """
    if shutil.which("sbatch") is None:
        raise UsageError(
            "sbatch not found: submit from a Slurm login node (--dry-run writes the scripts anywhere)"
        )
    refuse_if_live(recipe)
    executors[-1].launch_job()  # launches its `depends` chain first, each with --dependency=afterok
    jobs = {ex.stage_name: str(ex.job_id) for ex in executors if ex.job_id not in (None, -1)}
    if jobs:
        jobs_file = _jobs_file(recipe)
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

    executors = make_slurm_executors(recipe, stages)
    out = recipe.run_dir / "slurm"
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    submit = [
        "#!/bin/bash",
        f"# Submit the {len(stages)} stage(s) of recipe {shlex.quote(recipe.name)}; each stage waits for the previous one.",
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
            script = shlex.quote(path.name)
            submit.append(
                f'{var}=$(sbatch --parsable --export=ALL,RUN_OFFSET={offset}{dep} "$here"/{script})'
            )
            submit.append(f'{var}="${{{var}%%;*}}"; echo {shlex.quote(ex.stage_name)}": job ${var}"')
            current.append(f"${var}")
        previous = current
    submit_path = out / "submit.sh"
    submit_path.write_text("\n".join(submit) + "\n")
    submit_path.chmod(0o755)
    return paths + [submit_path]


class SlurmConfig(ClusterConfig):
    kind: Literal["slurm"] = "slurm"
    partition: str | None = Field(None, description="Slurm partition (several joined by commas)")
    sbatch_args: dict[str, str | int | bool | None] = Field(
        default_factory=dict, description="more sbatch options, e.g. {account: myproj, qos: normal}"
    )

    @field_validator("partition")
    @classmethod
    def _partition(cls, value: str | None) -> str | None:
        return value if value is None else grammar.check_partition(value)


@register_executor
class SlurmKind(ExecutorKind):
    """One job array per stage, submitted with `--dependency=afterok` on the previous stage's job."""

    name = "slurm"
    config = SlurmConfig
    dry_run_writes = True

    def check(self, recipe, error) -> None:
        """Whatever of the recipe is written into a script: the job name, the run folder, sbatch_args."""
        why = grammar.check_job_name(recipe.name)
        if why:
            raise error(("name",), f"{why} (got {recipe.name!r})")
        why = grammar.check_path(str(Path(recipe.output.path).absolute()))
        if why:
            raise error(("output", "path"), why)
        for key, value in recipe.executor.sbatch_args.items():
            try:
                grammar.check_sbatch_args({key: value})
            except ValueError as e:
                raise error(("executor", "sbatch_args", key), str(e)) from None
        why = grammar.check_path(os.getcwd())
        if why:
            raise UsageError(f"the current directory (where the jobs start): {why}")

    def before_run(self, recipe) -> None:
        refuse_if_live(recipe)  # before `--force` deletes logs/, which the queued jobs read

    def executors(self, recipe, stages) -> list:
        return make_slurm_executors(recipe, stages)

    def execute(self, recipe, stages, on_stage=None) -> dict[str, str]:
        """Submit (sbatch returns at once); `{}` when every stage's tasks have already completed."""
        return submit_slurm(recipe, self.executors(recipe, stages))

    def dry_run(self, recipe, stages) -> list[Path]:
        return write_slurm_scripts(recipe, stages)
