"""Recipe -> ordered datatrove stages (pipelines), split at barrier ops; `curation.executors` runs them.

A recipe is one pipeline until an op needs every shard before deciding (dedup). There the builder
ends the segment (after the op's `before` steps, documents go to intermediate shards under
`work/segments/<k>/`), runs the op's own stages once all tasks finished, and starts the next segment
by reading those shards back, beginning with the op's filter. Each stage has its own datatrove
logging folder under `logs/`, so datatrove's completion markers make every stage resumable.
"""

from __future__ import annotations

from dataclasses import dataclass

from datatrove.pipeline.writers import JsonlWriter

from curation.formats.jsonl import SegmentReader
from curation.formats.writers import make_output_writer, record_adapter, reproducible
from curation.recipe import Recipe
from curation.registry import Barrier, ReaderContext, StepContext, all_readers, get_op
from curation.storage import RemoteFolder, is_url, join
from curation.timing import measure_own_time
from runfolder import RunFolder

ROLES = ("reader", "segment_reader", "step", "aux", "intermediate", "output")


@dataclass
class Stage:
    """One datatrove executor's worth of work.

    Attributes:
        name: folder name under logs/ (e.g. `segment_0`, `exact_dedup.stage_1`).
        pipeline: the datatrove steps, each labelled with `tag` (its ledger role and recipe step id).
        tasks: number of tasks.
    """

    name: str
    pipeline: list
    tasks: int


def tag(step, role: str, step_id: str | None = None):
    """Label a pipeline step's stats with its ledger role and recipe step id, e.g. `step:language_id | ...`.

    datatrove writes each step's counters under its stats name; the ledger reads the label back, so a
    counter reaches the right funnel line by name, whatever its position (datatrove leaves steps without
    stats out of the stats file, which would shift positions). Roles: `reader`, `segment_reader`, `step`
    (a funnel line), `aux` (a helper part of a step: its time counts, its documents do not),
    `intermediate` (a barrier's segment writer), `output`. Every tagged step also records its own
    time, exclusive of the steps around it (`curation.timing`).
    """
    assert role in ROLES, role
    measure_own_time(step)
    display = step.__dict__.setdefault("_ledger_display_name", step.stats.name)
    step.stats.name = f"{role}:{step_id or ''} | {display}"
    return step


def parse_tag(stats_name: str) -> tuple[str, str | None]:
    """`(role, step_id)` of a stats name written by `tag` (ValueError for an untagged one)."""
    label, sep, _ = stats_name.partition(" | ")
    role, colon, step_id = label.partition(":")
    if not sep or not colon or role not in ROLES:
        raise ValueError(f"pipeline step without a ledger tag: {stats_name!r}")
    return role, step_id or None


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
    pipeline = [tag(readers[0], "reader")] + [tag(r, "step", f"{recipe.input.format}_extract") for r in readers[1:]]

    stages: list[Stage] = []
    segment = 0
    out = recipe.output
    for step in recipe.steps:
        ctx = StepContext(run_dir=run_dir, step_id=step.id, tasks=tasks, keep_removed=recipe.output.keep_removed,
                          removed_url=join(out.path, "removed") if is_url(out.path) else None,
                          storage_options=out.storage_options)
        part = get_op(step.op).build(step.params, ctx)
        if not isinstance(part, Barrier):
            pipeline.append(tag(part, "step", step.id))
            continue
        seg_dir = RunFolder(run_dir).segment(segment)
        pipeline += [tag(p, "aux", step.id) for p in part.before]
        writer = reproducible(JsonlWriter(str(seg_dir), output_filename="${rank}.jsonl.gz", adapter=record_adapter))
        pipeline.append(tag(writer, "intermediate"))
        stages.append(Stage(f"segment_{segment}", pipeline, tasks))
        for j, (pipe, n) in enumerate(part.stages, start=1):
            stages.append(Stage(f"{step.id}.stage_{j}", [tag(p, "aux", step.id) for p in pipe], n))
        segment += 1
        reader = SegmentReader(str(seg_dir), glob_pattern="*.jsonl.gz", add_file_path=False)
        reader.rejected_dir = str(RunFolder(run_dir).rejected)
        reader.rejected_name = f"{{rank:05d}}.segment{segment:02d}.jsonl"  # never the first reader's file
        pipeline = [tag(reader, "segment_reader"), tag(part.filter, "step", step.id)]
    target = RemoteFolder(join(out.path, "output"), out.storage_options) if is_url(out.path) else str(RunFolder(run_dir).output)
    writer = make_output_writer(target, out.format, out.max_shard_docs, out.max_shard_bytes)
    writer.rejected_dir = str(RunFolder(run_dir).rejected)  # a document the format cannot write
    pipeline.append(tag(writer, "output"))
    stages.append(Stage(f"segment_{segment}", pipeline, tasks))
    return stages
