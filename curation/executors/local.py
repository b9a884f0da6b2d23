"""`executor.kind: local`: datatrove's LocalPipelineExecutor, one per stage, on this machine."""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path
from typing import Literal

from datatrove.executor import LocalPipelineExecutor

from curation.errors import UsageError
from curation.executors.base import (
    ExecutorConfig,
    ExecutorKind,
    can_patch,
    disk_full_tolerant,
    not_disk_full,
    quiet_terminal_logging,
    register_executor,
)
from runfolder import RunFolder


def _quiet_task_logger(logging_dir, rank: int, local_rank: int = 0, node_rank: int = -1):
    """datatrove's task logger, but only warnings reach the terminal (the full log stays in logs/)."""
    from datatrove.utils.logging import logger

    logger.remove()
    logfile = logging_dir.open(f"logs/task_{rank:05d}.log", "w")
    fmt = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{function}:{line} - {message}"
    logger.add(sys.stderr, level="WARNING" if local_rank == 0 else "ERROR", format=fmt, colorize=False,
               filter=not_disk_full)  # fmt: skip
    logger.add(disk_full_tolerant(logfile), level="DEBUG", format=fmt, colorize=False)
    logger.info(f"Launching pipeline for {rank=}")
    return logfile


def _quiet_close_task_logger(logfile):
    from datatrove.utils.logging import logger

    logger.complete()
    quiet_terminal_logging()
    logfile.close()


def _workers(recipe, tasks: int) -> int:
    """Tasks run at once: `executor.workers` (-1: min(tasks, CPU cores)), at least 1, at most tasks."""
    workers = recipe.executor.workers
    if workers == -1:
        workers = min(tasks, os.cpu_count() or 1)
    return max(1, min(workers, tasks))


class QuietLocalExecutor(LocalPipelineExecutor):
    """LocalPipelineExecutor whose workers log to files and only warnings to the terminal."""

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        from datatrove.executor import base

        if can_patch(base, "add_task_logger") and can_patch(base, "close_task_logger"):
            base.add_task_logger = _quiet_task_logger
            base.close_task_logger = _quiet_close_task_logger
        quiet_terminal_logging()
        return super()._run_for_rank(rank, local_rank, node_rank)


class LocalConfig(ExecutorConfig):
    kind: Literal["local"] = "local"


def _under_main_guard(path: str, lineno: int) -> bool:
    """Whether line `lineno` of the script is inside `if __name__ == "__main__":`."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return True  # cannot tell: do not get in the way
    for node in ast.walk(tree):
        if (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
                and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__"
                and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in node.test.comparators)
                and node.lineno <= lineno <= (node.end_lineno or node.lineno)):
            return True
    return False


def called_from_unguarded_script() -> bool:
    """Whether a script's top-level code, outside `if __name__ == "__main__":`, started this run.

    datatrove starts worker pools with forkserver, which imports the main script again in every worker;
    such a run would start again in each worker, fail there, and leave the pool waiting forever.
    Notebooks, `python -c`, pytest and code under a main guard are fine.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    frame = sys._getframe(1)
    while path and frame is not None:
        if frame.f_globals.get("__name__") == "__main__" and frame.f_code.co_name == "<module>":
            return not _under_main_guard(path, frame.f_lineno)
        frame = frame.f_back
    return False


@register_executor
class LocalKind(ExecutorKind):
    """Every stage on this machine, `workers` tasks at a time (-1: min(tasks, CPU cores))."""

    name = "local"
    config = LocalConfig

    def executors(self, recipe, stages) -> list:
        folder = RunFolder(recipe.run_dir)
        for k in range(len(stages)):  # a segment whose documents were all removed still has a folder
            folder.segment(k).mkdir(parents=True, exist_ok=True)
        executors, previous = [], None
        for stage in stages:
            ex = QuietLocalExecutor(
                stage.pipeline,
                tasks=stage.tasks,
                workers=_workers(recipe, stage.tasks),
                logging_dir=str(folder.stage_logs(stage.name)),
                depends=previous,
            )
            executors.append(ex)
            previous = ex
        return executors

    def execute(self, recipe, stages, on_stage=None) -> dict[str, str]:
        if any(min(s.tasks, _workers(recipe, s.tasks)) > 1 for s in stages) and called_from_unguarded_script():
            raise UsageError(
                "a run with several workers was started by a script's top-level code: put the call under "
                "`if __name__ == \"__main__\":` (datatrove's worker processes import the script again)"
            )
        return super().execute(recipe, stages, on_stage)
