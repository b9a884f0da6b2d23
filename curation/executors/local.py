"""`executor.kind: local`: datatrove's LocalPipelineExecutor, one per stage, on this machine."""

from __future__ import annotations

import os
import sys
from typing import Literal

from datatrove.executor import LocalPipelineExecutor

from curation.executors.base import (
    ExecutorConfig,
    ExecutorKind,
    can_patch,
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
    logger.add(sys.stderr, level="WARNING" if local_rank == 0 else "ERROR", format=fmt, colorize=False)
    logger.add(logfile, level="DEBUG", format=fmt, colorize=False)
    logger.info(f"Launching pipeline for {rank=}")
    return logfile


def _quiet_close_task_logger(logfile):
    from datatrove.utils.logging import logger

    logger.complete()
    quiet_terminal_logging()
    logfile.close()


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
            workers = recipe.executor.workers
            if workers == -1:
                workers = min(stage.tasks, os.cpu_count() or 1)
            workers = max(1, min(workers, stage.tasks))
            ex = QuietLocalExecutor(
                stage.pipeline,
                tasks=stage.tasks,
                workers=workers,
                logging_dir=str(folder.stage_logs(stage.name)),
                depends=previous,
            )
            executors.append(ex)
            previous = ex
        return executors
