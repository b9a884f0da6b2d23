"""Recipe -> ordered datatrove stages (pipelines), split at barrier ops; `curation.executors` runs them.

A recipe is one pipeline until an op needs every shard before deciding (dedup). There the builder
ends the segment (after the op's `before` steps, documents go to intermediate shards under
`work/segments/<k>/`), runs the op's own stages once all tasks finished, and starts the next segment
by reading those shards back, beginning with the op's filter. Each stage has its own datatrove
logging folder under `logs/`, so datatrove's completion markers make every stage resumable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from datatrove.pipeline.writers import JsonlWriter

from curation.formats.jsonl import SegmentReader
from curation.formats.writers import make_output_writer, record_adapter, reproducible
from curation.recipe import Recipe
from curation.registry import Barrier, ReaderContext, StepContext, all_readers, get_op
from runfolder import RunFolder


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


def _tasks_with_input(reader, tasks: int) -> int:
    """How many of `tasks` get at least one input file (datatrove gives task r the files r::tasks)."""
    folder = getattr(reader, "data_folder", None)
    if folder is None or getattr(reader, "paths_file", None):
        return tasks  # e.g. a local HF dataset: its rows are split over every task
    if hasattr(reader, "list_shard"):
        return max(1, sum(1 for r in range(tasks) if reader.list_shard(r, tasks)))
    files = folder.list_files(glob_pattern=reader.glob_pattern, recursive=reader.recursive)
    return max(1, min(tasks, len(files)))


def build_stages(recipe: Recipe, limit: int = -1, progress: bool = False) -> list[Stage]:
    """Turn a validated recipe into stages to run in order."""
    run_dir = recipe.run_dir
    tasks = recipe.executor.tasks
    reader_spec = all_readers()[recipe.input.format]
    built = reader_spec.build(recipe.input, ReaderContext(run_dir, -1, progress))
    readers = built if isinstance(built, list) else [built]
    if limit is not None and limit >= 0:  # split over the tasks that have input (1 file, 2 tasks: all to one)
        readers[0].limit = max(1, -(-limit // _tasks_with_input(readers[0], tasks)))
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
        seg_dir = RunFolder(run_dir).segment(segment)
        pipeline += part.before
        roles += [("aux", step.id)] * len(part.before)
        pipeline.append(reproducible(JsonlWriter(str(seg_dir), output_filename="${rank}.jsonl.gz", adapter=record_adapter)))
        roles.append(("intermediate", None))
        stages.append(Stage(f"segment_{segment}", pipeline, tasks, roles))
        for j, (pipe, n) in enumerate(part.stages, start=1):
            stages.append(Stage(f"{step.id}.stage_{j}", list(pipe), n, [("aux", step.id)] * len(pipe)))
        segment += 1
        reader = SegmentReader(str(seg_dir), glob_pattern="*.jsonl.gz", add_file_path=False)
        reader.rejected_dir = str(RunFolder(run_dir).rejected)
        pipeline = [reader, part.filter]
        roles = [("segment_reader", None), ("step", step.id)]
    out = recipe.output
    writer = make_output_writer(str(RunFolder(run_dir).output), out.format, out.max_shard_docs, out.max_shard_bytes)
    writer.rejected_dir = str(RunFolder(run_dir).rejected)  # a document the format cannot write
    pipeline.append(writer)
    roles.append(("output", None))
    stages.append(Stage(f"segment_{segment}", pipeline, tasks, roles))
    return stages
