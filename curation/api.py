"""The Python API: run a recipe and read its run folder from a notebook or a script.

The `curate` command is a thin layer over these functions (it parses arguments, calls them and prints).
User errors raise `RecipeError` (recipe file, line and key) or `UsageError`; nothing here calls
`sys.exit`, so a notebook cell shows the message and the kernel lives on.

    import curation
    run = curation.run("recipes/sample.yaml", overrides={"output.path": "/tmp/sample"}, force=True)
    run.summary["output"]["docs"]
    next(run.kept())["text"]
    ds = run.to_datasets()
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.errors import RecipeError, UsageError
from curation.recipe import Recipe
from curation.registry import run_after_hooks
from curation.run_dir import check_run_paths, check_services, input_stats, prepare_run_dir
from runfolder import RunFolder, RunFolderLocked, RunLock, iter_records, read_summary, sample_records

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach a hub at run time
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def load_recipe(
    source: str | Path | dict | Recipe, overrides: list[str] | dict[str, Any] | None = None
) -> Recipe:
    """A validated recipe from a YAML file or a dict, with overrides applied.

    Args:
        source: a recipe file, a dict of the same shape (its `extends` is relative to the current
            directory), or an already loaded `Recipe` (returned as is when there are no overrides).
        overrides: `["input.path=data/x.jsonl", ...]` (values parsed as YAML, as `--set`) or
            `{"input.path": "data/x.jsonl", "steps.0.language_id.min_score": 0.7}` (values as is).

    Raises:
        RecipeError: with `.file`, `.line` and `.key` of the first problem.
    """
    from curation import recipe as recipe_mod

    if isinstance(source, Recipe):
        if not overrides:
            return source
        source = source.resolved()
    return recipe_mod.load_recipe(source, overrides)


@dataclass
class Run:
    """A run folder, finished or not: paths, summary and its documents.

    Attributes:
        path: the run folder.
        recipe: the recipe it was run with (None for `open_run`).
        stages: the planned stages (only after `run(..., dry_run=True)` or `run`).
        jobs: `{stage: slurm job id}` when the run was submitted to Slurm and is not finished.
        seconds: wall time of `run()`.
    """

    path: Path
    recipe: Recipe | None = None
    stages: list = field(default_factory=list)
    jobs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def __post_init__(self):
        self.path = Path(self.path)

    @property
    def folder(self) -> RunFolder:
        """All paths of the run folder (output, removed(step), rejected, summary, ...)."""
        return RunFolder(self.path)

    @property
    def finished(self) -> bool:
        return self.folder.summary.is_file()

    @property
    def summary(self) -> dict:
        """summary.json (docs/CONTRACTS.md). Raises runfolder.SummaryError before the run finished."""
        return read_summary(self.path)

    @property
    def ok(self) -> bool:
        """The ledger balances: input = output + removed + rejected."""
        return bool(self.summary["invariant"]["ok"])

    def kept(self) -> Iterator[dict]:
        """Kept documents `{"text", "id", "metadata"}`, shard by shard."""
        return iter_records(self.folder.output)

    def removed(self, step: str | None = None, reason: str | None = None) -> Iterator[dict]:
        """Removed documents (kept on disk only with `output.keep_removed: true`), optionally of one
        step and/or one reason; `metadata.removed_by` and `metadata.reason` say why."""
        steps = [step] if step else self.folder.removed_steps()
        if step and not self.folder.removed(step).is_dir():
            raise UsageError(
                f"{self.folder.removed(step)}: no such folder (steps with removed documents: "
                f"{', '.join(self.folder.removed_steps()) or 'none; set output.keep_removed: true'})"
            )
        for s in steps:
            for rec in iter_records(self.folder.removed(s)):
                if reason is None or rec.get("metadata", {}).get("reason") == reason:
                    yield rec

    def rejected(self) -> Iterator[dict]:
        """Unreadable input records `{"source", "line", "error", "raw"}`."""
        return iter_records(self.folder.rejected)

    def sample(
        self,
        n: int = 5,
        seed: int = 0,
        removed: str | None = None,
        reason: str | None = None,
        rejected: bool = False,
    ) -> list[dict]:
        """`n` records drawn uniformly over all shards (same seed, same sample)."""
        if rejected:
            return sample_records(self.folder.rejected, n, seed)
        if removed is None and reason is None:
            return sample_records(self.folder.output, n, seed)
        return _sample_iter(self.removed(removed, reason), n, seed)

    def to_datasets(self):
        """The kept documents as a `datasets.Dataset` (columns text, id, metadata)."""
        from datasets import Dataset

        def gen():
            yield from self.kept()

        rows = list(gen())
        if not rows:
            return Dataset.from_dict({"text": [], "id": [], "metadata": []})
        return Dataset.from_list(rows)


def _sample_iter(records: Iterator[dict], n: int, seed: int) -> list[dict]:
    import random

    rng = random.Random(seed)
    out: list[tuple[int, dict]] = []
    for i, rec in enumerate(records):
        if len(out) < n:
            out.append((i, rec))
        elif (j := rng.randrange(i + 1)) < n:
            out[j] = (i, rec)
    return [r for _, r in sorted(out, key=lambda t: t[0])]


def open_run(path: str | Path) -> Run:
    """An existing run folder (finished or not).

    Raises:
        UsageError: `path` is not a folder.
    """
    path = Path(path)
    if not path.is_dir():
        raise UsageError(f"{path}: no such run folder")
    return Run(path)


def plan(recipe: Recipe, limit: int = -1, progress: bool = False) -> list:
    """The stages a run of `recipe` would execute (datatrove pipelines split at barrier ops)."""
    from curation.build import build_stages

    return build_stages(recipe, limit=limit, progress=progress)


def run(
    recipe: str | Path | dict | Recipe,
    overrides: list[str] | dict[str, Any] | None = None,
    limit: int | None = None,
    force: bool = False,
    dry_run: bool = False,
    progress: bool = False,
    on_stage=None,
) -> Run:
    """Run a recipe into its run folder (resuming an interrupted run) and return the `Run`.

    Args:
        recipe: a recipe file, dict or `Recipe`.
        overrides: see `load_recipe` (e.g. `{"output.path": "/tmp/run", "executor.tasks": 2}`).
        limit: read at most this many documents (split evenly over tasks).
        force: discard an existing run folder and start over.
        dry_run: plan only: the returned `Run` has `stages` and nothing is executed or written
            (for `executor.kind: slurm`, the sbatch scripts are written under `slurm/`, with run.json:
            the run folder is then one that `run` resumes).
        progress: progress bars (only useful on a terminal).
        on_stage: called as `on_stage(i, n, stage)` before each stage runs (the CLI prints with it).

    Raises:
        RecipeError, UsageError: bad recipe, overrides or run folder.
    """
    from curation import remote_output
    from curation.card import write_run_card
    from curation.executors import get_executor
    from curation.executors.base import quiet_terminal_logging
    from curation.formats.output_schema import uniform_output
    from curation.ledger import build_summary, collect_thresholds, write_summary
    from curation.recipe import check_recipe

    recipe = load_recipe(recipe, overrides)
    limit = -1 if limit is None else limit
    executor = get_executor(recipe.executor.kind)
    check_recipe(recipe)  # again: the caller may have changed it after loading (curate run --output)
    check_run_paths(recipe)  # before anything is written: a run that cannot start leaves nothing behind
    if dry_run:
        stages = plan(recipe, limit)
        result = Run(recipe.run_dir, recipe, stages)
        if executor.dry_run_writes:  # its scripts go into the run folder: one `curate run` then resumes
            executor.before_run(recipe)
            prepare_run_dir(recipe, limit, False, input_stats(stages))
        result.scripts = executor.dry_run(recipe, stages)
        return result
    check_services(recipe)
    stages = plan(recipe, limit, progress)
    folder = RunFolder(recipe.run_dir)
    remote = remote_output.is_remote(recipe)
    created = not folder.root.exists()
    lock = RunLock(folder.root)
    try:
        lock.acquire()
    except RunFolderLocked as e:
        raise UsageError(str(e)) from None
    try:
        try:
            executor.before_run(
                recipe
            )  # e.g. Slurm jobs of this run still queued: refuse before --force deletes
            if remote:
                remote_output.check_claim(recipe, force)
            started = prepare_run_dir(recipe, limit, force, input_stats(stages))
            if remote:
                remote_output.take(recipe, limit, force)
        except BaseException:
            if created:  # nothing of this run may stay behind: the corrected rerun needs no --force
                lock.release()
                folder.lock.unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    folder.root.rmdir()
            raise
        quiet_terminal_logging()
        t0 = time.time()
        result = Run(recipe.run_dir, recipe, stages)
        result.jobs = executor.execute(recipe, stages, on_stage=on_stage)
        if result.jobs:  # submitted to a cluster: summary.json is written by a later call, once they finished
            return result
        if remote:  # output/, removed/ and summary.json in the bucket (curation/remote_output.py)
            remote_output.finish(recipe, stages, started)
            result.seconds = time.time() - t0
            return result
        uniform_output(folder.output)  # one schema: datasets.load_dataset loads every shard
        reports = run_after_hooks(recipe)  # before summary.json: a hook may change the folder (the PII sweep)
        summary = build_summary(recipe.run_dir, stages, recipe, started, collect_thresholds(recipe))
        summary.update(reports)
        write_summary(recipe.run_dir, summary)
        if write_run_card(recipe, summary) is None:
            warnings.warn(
                f"{folder.root / 'README.md'} was not written by rootstock: left as it is, no card",
                stacklevel=2,
            )
        result.seconds = time.time() - t0
        return result
    finally:
        lock.release()


__all__ = ["RecipeError", "Run", "UsageError", "check_run_paths", "load_recipe", "open_run", "plan", "run"]
