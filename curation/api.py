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
import datetime as dt
import os
import shutil
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.errors import RecipeError, UsageError
from curation.recipe import Recipe
from curation.registry import run_after_hooks
from runfolder import (
    PRODUCED,
    RunFolder,
    RunFolderLocked,
    RunLock,
    atomic_write,
    atomic_write_json,
    iter_records,
    read_identity,
    read_summary,
    sample_records,
)

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


def check_output_path(recipe: Recipe) -> None:
    """Refuse an `output.path` that a run (or `--force`) could damage: `/`, the home folder, an input
    path, a folder above an input, a folder the input is read from recursively, an existing file, or
    an existing non-empty folder that no rootstock run wrote.

    Raises:
        RecipeError: at `output.path`.
    """
    from curation.formats.base import folder_and_glob
    from curation.recipe import RecipeContext
    from curation.remote_output import check_output_url, is_remote
    from curation.storage import is_url

    ctx = RecipeContext(recipe.source, recipe.lines or {})
    if is_remote(recipe) and (problem := check_output_url(recipe)):
        raise ctx.error(("output", "path"), problem)
    key = ("output", "control_path") if is_remote(recipe) else ("output", "path")
    try:
        out = Path(recipe.run_dir).expanduser().resolve()
    except (OSError, ValueError) as e:
        raise ctx.error(key, f"unusable path: {e}") from None
    if out == Path(out.anchor) or out == Path.home().resolve():
        raise ctx.error(key, f"refusing {out}: a run folder must be a folder of its own")
    try:
        if is_url(recipe.input.path):
            raise ValueError("an object-store input shares no folder with a local run folder")
        folder, pattern = folder_and_glob(recipe.input.path, recipe.input.glob)
        inputs = [Path(folder).resolve()]
        if Path(recipe.input.path).exists():
            inputs.append(Path(recipe.input.path).resolve())
    except (FileNotFoundError, OSError, ValueError):
        inputs, pattern = [], None
    for inp in inputs:
        if out == inp or out in inp.parents:
            raise ctx.error(key, f"refusing {out}: it is the input or holds it ({recipe.input.path})")
        recursive = inp.is_dir() and (pattern is None or "**" in pattern)
        if recursive and inp in out.parents:
            raise ctx.error(
                key,
                f"refusing {out}: it is inside the input folder {inp}, "
                "which is read recursively (the run would read its own output)",
            )
    if out.exists() and not out.is_dir():
        raise ctx.error(key, f"{out} exists and is not a folder")
    if out.is_dir() and not RunFolder(out).is_run_folder() and _foreign_entries(out):
        raise ctx.error(
            key,
            f"{out} exists, is not empty and is not a rootstock run folder "
            "(no run.json of rootstock's own); choose a new or empty folder",
        )


def _foreign_entries(out: Path) -> list[Path]:
    """What a folder holds besides a lock file left by a run that stopped before writing run.json."""
    return [p for p in out.iterdir() if not (p.name == "run.lock" and p.is_file() and not p.is_symlink())]


def check_run_paths(recipe: Recipe) -> None:
    """What `validate`, `--dry-run` and `run` check before anything is written: the input exists and
    the output path is safe (see `check_output_path`)."""
    from curation.recipe import check_input_paths

    check_input_paths(recipe)
    check_output_path(recipe)


def check_services(recipe: Recipe) -> None:
    """The services the steps use (a shared Redis index) accept us, before anything is written.

    Raises:
        curation.errors.ServiceError: one line (exit 1), secrets masked.
    """
    for step in recipe.steps:
        storage = getattr(step.params, "storage", None)
        if storage is not None and hasattr(storage, "check_connection"):
            storage.check_connection()


def input_stats(stages: list) -> dict[str, list[int]]:
    """`{input file: [size, mtime_ns]}` of the files the run reads (recorded in run.json: a rerun after
    the input changed is refused instead of returning stale output)."""
    from curation.storage import RemoteFolder

    reader = stages[0].pipeline[0] if stages and stages[0].pipeline else None
    if isinstance(getattr(reader, "data_folder", None), RemoteFolder):
        from curation.remote_output import input_stats as remote_input_stats

        return remote_input_stats(reader)
    files: list[Path] = []
    if getattr(reader, "data_folder", None) is not None and hasattr(reader.data_folder, "list_files"):
        root = Path(reader.data_folder.path)
        listed = reader.data_folder.list_files(
            glob_pattern=getattr(reader, "glob_pattern", None), recursive=getattr(reader, "recursive", True)
        )
        files = [root / f for f in listed]
    elif isinstance(getattr(reader, "path", None), str) and Path(reader.path).is_dir():
        files = sorted(p for p in Path(reader.path).rglob("*") if p.is_file())
    out = {}
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        out[str(f)] = [st.st_size, st.st_mtime_ns]
    return out


def _changed(previous: dict, current: dict) -> list[str]:
    changes = [f"{f} is new" for f in current if f not in previous]
    changes += [f"{f} is gone" for f in previous if f not in current]
    changes += [
        f"{f} changed (size {previous[f][0]} -> {current[f][0]})"
        for f in current
        if f in previous and previous[f] != current[f]
    ]
    return changes


def refuse_planted_links(root: Path) -> None:
    """Refuse a resume when a name rootstock writes in the run folder (output/, rejected/, ...), or any
    file under output/ removed/ rejected/, is a symlink: the writers would follow a planted folder link
    (`rejected -> /elsewhere`) or overwrite a planted shard link's target outside the run folder."""
    for name in PRODUCED:
        if (root / name).is_symlink():
            raise UsageError(
                f"{root / name}: is a symlink; refusing to write through it (remove it or rerun with --force)"
            )
    for name in ("output", "removed", "removed_units", "rejected"):
        top = root / name
        if not top.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(top):  # os.walk does not descend into linked folders
            for entry in dirnames + filenames:
                if os.path.islink(os.path.join(dirpath, entry)):
                    raise UsageError(
                        f"{os.path.join(dirpath, entry)}: is a symlink; refusing to write through it "
                        "(remove it or rerun with --force)"
                    )


def prepare_run_dir(recipe: Recipe, limit: int, force: bool, inputs: dict | None = None) -> str:
    """Create or resume the run folder; refuse one that holds another recipe's run, or whose input
    changed since, unless `force`. `force` deletes only what runs write (PRODUCED, as listed in the
    folder's run.json), never other files.

    Returns the start time of the run (the earlier one when resuming).
    """
    folder = RunFolder(recipe.run_dir)
    identity = {"fingerprint": recipe.fingerprint(), "limit": limit}
    inputs = inputs or {}
    previous = None
    if os.path.lexists(folder.run_json):
        previous = read_identity(folder.run_json)
        if previous is None:  # another tool's run.json: its folder is not ours to resume or clean
            raise UsageError(
                f"{folder.run_json} is not a rootstock run.json (no fingerprint/limit/started/"
                "produced); refusing to touch this folder, even with --force; set output.path elsewhere"
            )
    if previous is not None and not force:
        same = {k: previous.get(k) for k in identity} == identity
        if not same:
            raise UsageError(
                f"{folder.root} holds a run of a different recipe or --limit (fingerprint "
                f"{previous.get('fingerprint')} limit {previous.get('limit')}, now {identity['fingerprint']} "
                f"limit {limit}); rerun with --force to start over, or set output.path elsewhere"
            )
        changes = _changed(previous.get("inputs") or {}, inputs) if "inputs" in previous else []
        if changes:
            more = f" (and {len(changes) - 3} more)" if len(changes) > 3 else ""
            raise UsageError(
                f"the input changed since {folder.root} was written: {'; '.join(changes[:3])}{more}; "
                "rerun with --force to start over"
            )
        refuse_planted_links(folder.root)
        return previous["started"]  # resume: datatrove skips completed tasks
    if force and previous is not None:
        names = set(previous.get("produced") or PRODUCED) & set(PRODUCED)  # never a name run.json invents
        for name in sorted(names):
            p = folder.root / name
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            elif p.exists() or p.is_symlink():
                p.unlink()
    folder.root.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    atomic_write_json(
        folder.run_json,
        {
            **identity,
            "started": started,
            "recipe_file": recipe.source,
            "produced": list(PRODUCED),
            "inputs": inputs,
        },
    )
    atomic_write(folder.recipe, recipe.resolved_yaml())
    return started


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
