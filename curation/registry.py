"""Recipe op registry: a step name in YAML -> a typed params model and a builder of datatrove steps.

Ops register themselves with `@register_op`; `curate ops` lists them and the recipe loader validates
every step's params against the op's pydantic model, so a typo is an error before anything runs.
Input formats register with `@register_reader`. Both are `curation.plugins.Registry`s that import
the plugin packages before their first read.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datatrove.pipeline.base import PipelineStep
from pydantic import BaseModel, ConfigDict, Field

from curation.plugins import Registry
from runfolder import RunFolder


class OpParams(BaseModel):
    """Base of every op's params: unknown keys are errors (a misspelled threshold must not be ignored)."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class StepContext:
    """What a builder knows about where its step runs.

    Attributes:
        run_dir: the run folder (recipe `output.path`).
        step_id: unique name of this step in the recipe (`op` or `op_2` for a repeated op); used for
            `removed/<step_id>/`, scratch dirs and removal metadata.
        tasks: number of datatrove tasks of the executor.
        keep_removed: whether removed documents are written to `removed/<step_id>/`.
    """

    run_dir: Path
    step_id: str
    tasks: int = 1
    keep_removed: bool = False
    removed_url: str | None = None  # with an object-store output: `<output.path>/removed`
    storage_options: dict | None = None

    @property
    def work_dir(self) -> Path:
        """Scratch folder for this step (signatures, cluster files)."""
        return RunFolder(self.run_dir).step_work(self.step_id)

    def removed_writer(self):
        """A writer for this step's removed documents, or None when the recipe does not keep them."""
        if not self.keep_removed:
            return None
        from curation.formats.writers import RemovedWriter

        if self.removed_url:
            from curation.storage import RemoteFolder, join

            return RemovedWriter(RemoteFolder(join(self.removed_url, self.step_id), self.storage_options), self.step_id)
        return RemovedWriter(str(RunFolder(self.run_dir).removed(self.step_id)), step_id=self.step_id)


@dataclass
class Barrier:
    """An op that must see every shard before deciding about any document (dedup, clustering).

    The builder ends the current pipeline segment after `before` (e.g. a pass-through step that writes
    signatures), runs each of `stages` as its own executor once *all* tasks of the segment finished,
    and starts the next segment with `filter`, whose counters (total/forwarded/dropped_<reason>) are
    this op's line in the ledger.

    Attributes:
        before: steps appended to the current segment (they must pass every document through).
        stages: `(pipeline, tasks)` pairs run in order after the segment; they yield no documents.
        filter: the step that removes documents in the next segment.
    """

    before: list[PipelineStep]
    stages: list[tuple[list[PipelineStep], int]]
    filter: PipelineStep


@dataclass
class Op:
    """A recipe op. `after_run`, when set, is a `"module:attr"` function `f(recipe) -> dict | None` that
    runs once every stage of a run has finished and before summary.json is written (the `pii` op's
    run-folder sweep); what it returns is merged into summary.json."""

    name: str
    params: type[OpParams]
    build: Callable[[OpParams, StepContext], PipelineStep | Barrier]
    doc: str = ""
    thresholds: Callable[[OpParams], dict] | None = None
    after_run: str | None = None


# Plugin packages: every public module in them (subpackages included) registers ops, readers or writers
# when imported. They are found by name (not imported here) so that they can import this module without
# an import cycle.
PLUGIN_PACKAGES = ("curation.formats", "curation.steps")
OPS: Registry[Op] = Registry("op", discover=PLUGIN_PACKAGES)


def register_op(
    name: str,
    params: type[OpParams],
    thresholds: Callable[[OpParams], dict] | None = None,
    after_run: str | None = None,
):
    """Register `fn(params, ctx) -> PipelineStep | Barrier` as the recipe op `name`.

    The builder's docstring is what `curate ops` prints, so it should say what the op is for.
    `thresholds(params)`, when given, returns the thresholds this op applies, keyed by metadata metric:
    `{"roots.word_rep_ratio": {"op": "max", "value": 0.19, "per_lang": {"ur": 0.2}}}`; they are written
    to summary.json so the dashboard can draw each metric against its threshold. `after_run` names the
    op's after-run hook (`"module:attr"`, see `Op`), so that `curation.api.run` names no op.
    """

    def deco(fn):
        OPS.add(name, Op(name=name, params=params, build=fn, doc=(fn.__doc__ or "").strip(),
                         thresholds=thresholds, after_run=after_run))
        return fn

    return deco


def all_ops() -> dict[str, Op]:
    """Every registered op, importing the step modules on first use."""
    return dict(OPS.items())


def get_op(name: str) -> Op:
    ops = all_ops()
    if name not in ops:
        close = difflib.get_close_matches(name, list(ops), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known ops: {', '.join(ops)}"
        raise KeyError(f"unknown op {name!r}{hint}")
    return ops[name]


# --- input formats -------------------------------------------------------------------------------


class InputParams(OpParams):
    """Fields every input format accepts; a format's own params model subclasses this."""

    format: str
    path: str
    text_key: str = "text"
    id_key: str = "id"
    glob: str | None = None  # a glob pattern inside `path` when `path` is a folder
    # Longer documents are rejected with the reason: one 500 MB line must not take a run down. 16 MiB is
    # far above any web page or book we know of (a whole bible is ~4.5 MB) yet bounds every step's memory.
    max_doc_bytes: int = Field(16 * 2**20, ge=1, le=2**40, description="reject documents whose text is longer (bytes)")
    storage_options: dict[str, Any] | None = Field(
        None, description="fsspec options for an s3:// (or other URL) path; secrets as ${ENV_VAR} only")


@dataclass
class ReaderContext:
    """Where a reader puts what it cannot read, and how much to read.

    Attributes:
        run_dir: the run folder; unreadable records go to `run_dir/rejected/`.
        limit: max documents per task (-1: all).
        progress: show a progress bar (only on a TTY).
    """

    run_dir: Path
    limit: int = -1
    progress: bool = False


@dataclass
class ReaderSpec:
    format: str
    params: type[InputParams]
    build: Callable[[InputParams, ReaderContext], PipelineStep]
    doc: str = ""


READERS: Registry[ReaderSpec] = Registry("reader", discover=PLUGIN_PACKAGES)


def register_reader(fmt: str, params: type[InputParams] = InputParams):
    """Register `fn(params, ctx) -> PipelineStep` (a datatrove reader) as `input.format: fmt`."""

    def deco(fn):
        READERS.add(fmt, ReaderSpec(format=fmt, params=params, build=fn, doc=(fn.__doc__ or "").strip()))
        return fn

    return deco


def all_readers() -> dict[str, ReaderSpec]:
    """Every input format, importing the format modules on first use."""
    return dict(READERS.items())


def run_after_hooks(recipe, removed_in: RunFolder | None = None) -> dict:
    """Run the after-run hook of each op in the recipe (`Op.after_run`, once per op, in step order)
    and return what they report, merged (sections of summary.json). `removed_in`: where removed/ is when
    not in the run folder (a local copy of an object-store output)."""
    from curation.plugins import load

    reports: dict = {}
    for name in dict.fromkeys(step.op for step in recipe.steps):
        hook = get_op(name).after_run
        if hook:
            fn = load(hook)  # `hook(recipe)`; one that rewrites removed/ also takes `removed_in`
            reports.update((fn(recipe) if removed_in is None else fn(recipe, removed_in=removed_in)) or {})
    return reports
