"""Preparing a run folder before anything runs: is the output path safe, is an existing folder a run
of this recipe on unchanged input (resume) or must it be refused, and does it hold a planted link.

Split from `curation/api.py` (the API stays there); `curation.api.run` calls `check_run_paths` and
`prepare_run_dir`, and `curate validate` calls `check_run_paths`, before anything is written.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
from pathlib import Path

from curation.errors import UsageError
from curation.recipe import Recipe
from runfolder import PRODUCED, RunFolder, atomic_write, atomic_write_json, read_identity


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


def _changed(previous, current: dict) -> list[str]:
    """What differs between run.json's `inputs` and now; run.json is read from disk, so its record may
    be damaged (not an object, an entry that is not [size, mtime]): that is a change, never a crash."""
    if not isinstance(previous, dict):
        return [f"run.json's inputs is a {type(previous).__name__}, not the record rootstock writes"]
    changes = [f"{f} is new" for f in current if f not in previous]
    changes += [f"{f} is gone" for f in previous if f not in current]
    changes += [
        f"{f} changed (size {_size(previous[f])} -> {_size(current[f])})"
        for f in current
        if f in previous and previous[f] != current[f]
    ]
    return changes


def _size(entry) -> str:
    return str(entry[0]) if isinstance(entry, list) and entry else "unknown"


# Top-level names a run writes besides PRODUCED: the lock (written in place) and the dataset card.
_TOP_FILES = ("run.lock", "README.md")
_REFUSE_HINT = "refusing to write through it (remove it or rerun with --force)"


def _unsafe(st: os.stat_result) -> str | None:
    """Why a write at a path with this `lstat` could change something outside the run folder (None: it
    cannot). A hard link shares its bytes with another name, which may be anywhere on the filesystem,
    and datatrove's writers (shards, task logs, completions, stats) truncate in place."""
    if stat.S_ISLNK(st.st_mode):
        return "is a symlink"
    if stat.S_ISDIR(st.st_mode):
        return None
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file or folder (a FIFO, socket or device)"
    if st.st_nlink > 1:
        return f"is a hard link ({st.st_nlink} names share its bytes, maybe outside the run folder)"
    return None


def refuse_planted_links(root: Path) -> None:
    """Refuse a resume when anything a run writes in its folder could lead outside it: a top-level name
    (output/, logs/, summary.json, run.lock, ...) or any entry under output/ removed/ removed_units/
    rejected/ work/ logs/ that is a symlink, a hard-linked file or not a regular file.

    The writers (ours and datatrove's: shards, task logs, completions, stats.json, work/ segments) follow
    a planted folder link (`logs -> /elsewhere`) and truncate a planted shard link's target or a hard
    link's shared inode. One pass, `lstat` only, never following a link (a linked folder is refused, not
    entered), so a run folder with many files is checked in one walk.

    Raises:
        UsageError: one line naming the path and why.
    """
    walked = []
    for name in (*PRODUCED, *_TOP_FILES):
        try:
            st = os.lstat(root / name)
        except FileNotFoundError:
            continue
        if why := _unsafe(st):
            raise UsageError(f"{root / name}: {why}; {_REFUSE_HINT}")
        if stat.S_ISDIR(st.st_mode):
            walked.append(str(root / name))
    while walked:
        with os.scandir(walked.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):  # d_type: no system call for a folder
                    walked.append(entry.path)
                elif why := _unsafe(entry.stat(follow_symlinks=False)):
                    raise UsageError(f"{entry.path}: {why}; {_REFUSE_HINT}")


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
