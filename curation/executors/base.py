"""The executor registry and the interface every executor kind implements.

The stages from `curation.build.build_stages` are the same on every engine; an executor kind only
decides how to run them. `execute` runs (or submits) them in order; `dry_run` shows what would run.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from curation.plugins import Registry


class ExecutorConfig(BaseModel):
    """The recipe's `executor:` section: what every kind accepts. A kind's own config subclasses it."""

    model_config = ConfigDict(extra="forbid")
    kind: str = "local"
    tasks: int = Field(1, ge=1, description="datatrove tasks (input files are split between them)")
    workers: int = Field(-1, description="tasks run at once (-1: min(tasks, CPU cores))")


class ExecutorKind:
    """One way of running stages. Subclasses set `name` and `config` (their recipe keys) and implement
    `executors` (and may override `execute` / `dry_run`)."""

    name: str = ""
    config: type[ExecutorConfig] = ExecutorConfig
    # `dry_run` writes into the run folder (slurm: scripts and pickled stages): the dry run then makes it a
    # run folder of this recipe (run.json), so the `curate run` after it resumes instead of refusing it
    dry_run_writes: bool = False

    def check(self, recipe, error: Callable) -> None:
        """Checks of the whole recipe that this kind needs (e.g. what it writes into scripts), run when
        the recipe is validated. `error(key_path, message)` returns the `RecipeError` to raise."""

    def before_run(self, recipe) -> None:
        """Called before the run folder is created, resumed or (`--force`) cleared: raise `UsageError`
        to refuse the run while nothing has been touched yet."""

    def executors(self, recipe, stages) -> list:
        """One datatrove executor per stage, chained with `depends=`."""
        raise NotImplementedError

    def execute(self, recipe, stages, on_stage: Callable | None = None) -> dict[str, str]:
        """Run every stage in order (blocking).

        Returns:
            `{stage: job id}` of work submitted to a cluster that is still to finish (the caller then
            writes no summary yet); empty when every stage has run.
        """
        for i, (stage, ex) in enumerate(zip(stages, self.executors(recipe, stages)), start=1):
            if on_stage is not None:
                on_stage(i, len(stages), stage)
            ex.run()
        return {}

    def dry_run(self, recipe, stages) -> list[Path]:
        """Write whatever lets a person check or launch the run by hand (e.g. sbatch scripts); returns
        the files written. Nothing is executed."""
        return []


# kind -> class. The shipped kinds are lazy entries added by the package (`curation/executors/__init__.py`,
# which Python runs before this module can be reached), so nothing here imports a kind module.
EXECUTORS: Registry[type[ExecutorKind]] = Registry("executor kind")


def register_executor(cls: type[ExecutorKind]) -> type[ExecutorKind]:
    """Class decorator: make `cls` the executor of `executor.kind: cls.name`."""
    EXECUTORS.add(cls.name, cls)
    return cls


def all_executors() -> dict[str, type[ExecutorKind]]:
    return dict(EXECUTORS.items())


def get_executor(kind: str) -> ExecutorKind:
    kinds = all_executors()
    if kind not in kinds:
        raise KeyError(f"unknown executor kind {kind!r}; known: {', '.join(kinds)}")
    return kinds[kind]()


# datatrove minor versions whose internals our two monkeypatches were checked against (the task logger in
# datatrove.executor.base, file_is_local in datatrove.executor.ray). pyproject pins the same range.
DATATROVE_CHECKED = ("0.10.",)


def datatrove_version() -> str:
    from importlib.metadata import version

    return version("datatrove")


def can_patch(module, name: str) -> bool:
    """Whether patching `module.name` (a datatrove internal) is known to be safe with this datatrove.

    On another version, or when the name is gone, the patch is skipped with a warning (the run goes on,
    only noisier), instead of silently patching something that may mean something else now.
    """
    ver = datatrove_version()
    if ver.startswith(DATATROVE_CHECKED) and hasattr(module, name):
        return True
    import warnings

    warnings.warn(
        f"datatrove {ver}: not patching {module.__name__}.{name} (checked against "
        f"{', '.join(v + 'x' for v in DATATROVE_CHECKED)}); see curation/executors/",
        stacklevel=2,
    )
    return False


DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def not_disk_full(record) -> bool:
    """Loguru filter for the terminal: drop datatrove's traceback of a full disk (`_run_for_rank` logs every
    task exception before re-raising it); the CLI says it in one line (`curation/cli.py`, `_guard`)."""
    exc = record["exception"]
    return not (exc is not None and isinstance(exc.value, OSError) and exc.value.errno in DISK_FULL)


def disk_full_tolerant(stream):
    """A loguru sink writing to `stream` that stays silent when the disk is full (loguru would print a
    "Logging error" traceback per message; the log file lives in the run folder, on the full disk)."""

    def write(message) -> None:
        try:
            stream.write(message)
            stream.flush()
        except OSError as e:
            if e.errno not in DISK_FULL:
                raise

    return write


def quiet_terminal_logging() -> None:
    """datatrove logs INFO to the terminal by default; keep warnings there and the rest in logs/."""
    from datatrove.utils.logging import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING", colorize=False, filter=not_disk_full)
