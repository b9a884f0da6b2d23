"""What the cluster kinds share, and `executor.kind: ray`: a recipe's stages on Ray, with datatrove's
own `RayPipelineExecutor` (Slurm is in `slurm.py`).

The stages from `build_stages` are the same on every engine; only the executor changes. `kind: ray`
runs one `RayPipelineExecutor` per stage on a local Ray instance (`address` unset) or on the cluster
at `address`; `run()` blocks until the stage is done.

A local instance binds 127.0.0.1 only: Ray's servers otherwise listen on every interface, and anyone
who reaches the port can submit work to them (see `_ray_init`).
"""

from __future__ import annotations

import json
import os
import re
import socket
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from datatrove.executor.ray import RayPipelineExecutor
from pydantic import Field, field_validator

from curation.executors import _slurm_grammar as grammar
from curation.executors.base import ExecutorConfig, ExecutorKind, can_patch, register_executor
from runfolder import RunFolder

if TYPE_CHECKING:  # only for annotations: recipe.py reads the executor registry, which loads this module
    from curation.recipe import Recipe

# Ray reads this when it starts: "0" makes it use 127.0.0.1 as the node address and bind its servers
# (GCS, raylet, workers) there, instead of this machine's network address on every interface.
RAY_LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def time_to_seconds(value: str | None) -> int | None:
    """Slurm time (`MM`, `MM:SS`, `HH:MM:SS`, `D-HH[:MM[:SS]]`) -> seconds, for Ray's per-task limit."""
    if not value or value in ("UNLIMITED", "INFINITE"):
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


def _loopback(address: str | None) -> bool:
    """Whether `address` (None: a local instance) is on this machine's loopback interface."""
    if not address:
        return True
    host = urlsplit(address if "://" in address else f"ray://{address}").hostname or ""
    return host in LOOPBACK_HOSTS


@contextmanager
def _ray_loopback_only():
    """Ray in this process (and the processes it starts) uses 127.0.0.1, not the network address.

    Why a private module: Ray has no public per-call way to keep a local instance on loopback. The
    environment variable is public (Ray documents `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER` for clusters on
    Windows and macOS) and the worker processes Ray starts read it, but this process read it once, when
    `ray._private.ray_constants` was first imported (maybe before us: a notebook that imported ray).
    `ray.init(_node_ip_address=...)` is itself private, and Ray rewrites 127.0.0.1 in it to the network
    address unless that module's `ENABLE_RAY_CLUSTER` is False (`resolve_ip_for_localhost`, Ray 2.60);
    `ray start --node-ip-address 127.0.0.1` is public but starts a separate head we would have to stop.
    So the flag is set here for the duration of `ray.init` and restored after (a later connection to a
    remote cluster in this process must not see it).
    """
    import ray._private.ray_constants as constants

    old_env, old_flag = os.environ.get(RAY_LOOPBACK_ENV), constants.ENABLE_RAY_CLUSTER
    os.environ[RAY_LOOPBACK_ENV] = "0"
    constants.ENABLE_RAY_CLUSTER = False  # read at call time; the env var is read once, at import
    try:
        yield
    finally:
        constants.ENABLE_RAY_CLUSTER = old_flag
        if old_env is None:
            os.environ.pop(RAY_LOOPBACK_ENV, None)
        else:
            os.environ[RAY_LOOPBACK_ENV] = old_env


def _ray_init(address: str | None) -> None:
    """Connect to the cluster at `address`, or start a local instance that listens on 127.0.0.1 only.

    For an address on 127.0.0.1 (a test cluster started with `--node-ip-address 127.0.0.1`), the
    client must not rewrite it to the machine's network address either (Ray's `resolve_ip_for_localhost`).
    """
    import ray

    if ray.is_initialized():
        return
    if address and not _loopback(address):
        ray.init(address=address, log_to_driver=False)
        return
    with _ray_loopback_only():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:  # a local instance sized to this machine; task logs are copied to logs/<stage>/logs/
            ray.init(include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")


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

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        """Run one task, first noting where (`logs/<stage>/nodes/<rank>`: host and the pid of the Ray
        node's raylet, which tells two nodes on one host apart).

        This runs in a process datatrove forks from the Ray worker, where calling Ray itself can hang:
        only the environment the raylet gave the worker is read.
        """
        where = {"host": socket.gethostname(), "raylet_pid": os.environ.get("RAY_RAYLET_PID")}
        with self.logging_dir.open(f"nodes/{rank:05d}", "w") as f:
            f.write(json.dumps(where))
        return super()._run_for_rank(rank, local_rank, node_rank)

    def run(self):
        _ray_init(self.address)
        super().run()
        missing = self.get_incomplete_ranks(skip_completed=True)
        if missing:
            raise RuntimeError(
                f"stage {self.stage_name}: task(s) {missing} did not complete on Ray; see "
                f"{self.logging_dir.resolve_paths('logs')}/ (run the same command again to retry them)"
            )


def prepare_segment_dirs(recipe: Recipe, stages) -> None:
    for k in range(len(stages)):  # a segment whose documents were all removed still has a folder
        RunFolder(recipe.run_dir).segment(k).mkdir(parents=True, exist_ok=True)


def stage_workers(recipe: Recipe, tasks: int) -> int:
    """`executor.workers` for one stage: -1 (no cap) or between 1 and the stage's tasks."""
    w = recipe.executor.workers
    return -1 if w == -1 else max(1, min(w, tasks))


def make_ray_executors(recipe: Recipe, stages) -> list:
    """One `RayStageExecutor` per stage, chained with `depends=`; `run()` each in order (each blocks)."""
    cfg = recipe.executor
    prepare_segment_dirs(recipe, stages)
    executors, previous = [], None
    for stage in stages:
        ex = RayStageExecutor(
            stage.pipeline,
            tasks=stage.tasks,
            workers=stage_workers(recipe, stage.tasks),
            cpus_per_task=cfg.cpus_per_task,
            mem_per_cpu_gb=cfg.mem_per_cpu_gb,
            time=time_to_seconds(cfg.time),
            logging_dir=str(RunFolder(recipe.run_dir).stage_logs(stage.name).absolute()),
            depends=previous,
            address=cfg.address,
            stage_name=stage.name,
        )
        executors.append(ex)
        previous = ex
    return executors


class ClusterConfig(ExecutorConfig):
    cpus_per_task: int = Field(1, ge=1)
    mem_per_cpu_gb: float = Field(2, gt=0)
    time: str | None = Field(None, description="time limit per task, Slurm syntax, e.g. 04:00:00")

    @field_validator("time")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        return value if value is None else grammar.check_time(value)


class RayConfig(ClusterConfig):
    kind: Literal["ray"] = "ray"
    address: str | None = Field(None, description="ray cluster address (default: a local Ray instance)")


@register_executor
class RayKind(ExecutorKind):
    """One Ray executor per stage on a local Ray instance or the cluster at `executor.address`."""

    name = "ray"
    config = RayConfig

    def executors(self, recipe, stages) -> list:
        return make_ray_executors(recipe, stages)
