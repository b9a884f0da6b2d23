"""Recipe -> ordered datatrove stages (pipelines + executors), split at barrier ops.

A recipe is one pipeline until an op needs every shard before deciding (dedup). There the builder
ends the segment (after the op's `before` steps, documents go to intermediate shards under
`work/segments/<k>/`), runs the op's own stages once all tasks finished, and starts the next segment
by reading those shards back, beginning with the op's filter. Each stage has its own datatrove
logging folder under `logs/`, so datatrove's completion markers make every stage resumable.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.writers import JsonlWriter

from curation.readers import SegmentReader
from curation.recipe import Recipe
from curation.registry import Barrier, ReaderContext, StepContext, all_readers, get_op
from curation.writers import _adapter, make_output_writer


@dataclass
class Stage:
    """One datatrove executor's worth of work.

    Attributes:
        name: folder name under logs/ (e.g. `segment_0`, `exact_dedup.stage_1`).
        pipeline: the datatrove steps.
        tasks: number of tasks.
        roles: per pipeline position, `(role, step_id)`; roles are `reader`, `segment_reader`,
            `step` (a ledger line), `aux` (helper part of a step), `intermediate`, `output`.
    """

    name: str
    pipeline: list
    tasks: int
    roles: list[tuple[str, str | None]] = field(default_factory=list)


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


def quiet_terminal_logging() -> None:
    """datatrove logs INFO to the terminal by default; keep warnings there and the rest in logs/."""
    from datatrove.utils.logging import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING", colorize=False)


class QuietLocalExecutor(LocalPipelineExecutor):
    """LocalPipelineExecutor whose workers log to files and only warnings to the terminal."""

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        import datatrove.executor.base as base

        base.add_task_logger = _quiet_task_logger
        base.close_task_logger = _quiet_close_task_logger
        quiet_terminal_logging()
        return super()._run_for_rank(rank, local_rank, node_rank)


def _segment_dir(run_dir: Path, k: int) -> Path:
    return run_dir / "work" / "segments" / f"{k:02d}"


def build_stages(recipe: Recipe, limit: int = -1, progress: bool = False) -> list[Stage]:
    """Turn a validated recipe into stages to run in order."""
    run_dir = recipe.run_dir
    tasks = recipe.executor.tasks
    reader_spec = all_readers()[recipe.input.format]
    per_task_limit = -1 if limit is None or limit < 0 else max(1, -(-limit // tasks))
    built = reader_spec.build(recipe.input, ReaderContext(run_dir, per_task_limit, progress))
    readers = built if isinstance(built, list) else [built]
    pipeline = list(readers)
    roles = [("reader", None)] + [("step", f"{recipe.input.format}_extract")] * (len(readers) - 1)

    stages: list[Stage] = []
    segment = 0
    for step in recipe.steps:
        ctx = StepContext(run_dir=run_dir, step_id=step.id, tasks=tasks, keep_removed=recipe.output.keep_removed)
        part = get_op(step.op).build(step.params, ctx)
        if not isinstance(part, Barrier):
            pipeline.append(part)
            roles.append(("step", step.id))
            continue
        seg_dir = _segment_dir(run_dir, segment)
        pipeline += part.before
        roles += [("aux", step.id)] * len(part.before)
        pipeline.append(JsonlWriter(str(seg_dir), output_filename="${rank}.jsonl.gz", adapter=_adapter))
        roles.append(("intermediate", None))
        stages.append(Stage(f"segment_{segment}", pipeline, tasks, roles))
        for j, (pipe, n) in enumerate(part.stages, start=1):
            stages.append(Stage(f"{step.id}.stage_{j}", list(pipe), n, [("aux", step.id)] * len(pipe)))
        segment += 1
        reader = SegmentReader(str(seg_dir), glob_pattern="*.jsonl.gz", add_file_path=False)
        reader.rejected_dir = str(run_dir / "rejected")
        pipeline = [reader, part.filter]
        roles = [("segment_reader", None), ("step", step.id)]
    out = recipe.output
    pipeline.append(make_output_writer(str(run_dir / "output"), out.format, out.max_shard_docs, out.max_shard_bytes))
    roles.append(("output", None))
    stages.append(Stage(f"segment_{segment}", pipeline, tasks, roles))
    return stages


def make_executors(recipe: Recipe, stages: list[Stage]) -> list:
    """One datatrove executor per stage, chained with `depends=` (local executor)."""
    if recipe.executor.kind != "local":
        from curation.scaleout import make_cluster_executors

        return make_cluster_executors(recipe, stages)
    for k in range(len(stages)):  # a segment whose documents were all removed still has a folder
        _segment_dir(recipe.run_dir, k).mkdir(parents=True, exist_ok=True)
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
            logging_dir=str(recipe.run_dir / "logs" / stage.name),
            depends=previous,
        )
        executors.append(ex)
        previous = ex
    return executors
