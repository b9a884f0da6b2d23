"""Which files of a token-shard folder rootstock wrote: `manifest.json`, so that re-tokenizing replaces
exactly those and nothing else.

Why: `curate tokenize RUN --out DIR` used to delete every `*.npy` in DIR, a user's `my_embeddings.npy`
included. Now a folder is ours only if its manifest (or, for folders written before the manifest, its
index.json) says so, and only the names it lists are removed. A folder that is not empty and holds
neither is refused (ConfigError), and a shard is created with O_EXCL | O_NOFOLLOW, so a file or a
symlink that is not ours is never overwritten. The manifest is rewritten (atomically) before each file
is created, so a tokenization cut short still lists everything it left behind. A shard is written under
a temporary name and linked into place when whole, and index.json is written atomically, last: a full
disk leaves no truncated file under a shard's name.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from runfolder import UnsafePathError, atomic_write, atomic_write_json, open_new
from training.errors import ConfigError

MANIFEST = "manifest.json"
KIND = "token-shards"  # the identity key: {"rootstock": KIND, "files": [...]}


def _plain_name(name) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name


def listed_files(folder: Path) -> list[str] | None:
    """Names rootstock wrote in `folder` (manifest.json, else a legacy index.json); None if not ours."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if isinstance(manifest, dict) and manifest.get("rootstock") == KIND and isinstance(manifest.get("files"), list):
            return [n for n in manifest["files"] if _plain_name(n)] + [MANIFEST]
    except (OSError, ValueError, RecursionError):
        pass
    try:
        index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        splits = index["splits"] if isinstance(index, dict) and "tokenizer_sha1" in index else None
        names = ["index.json", "tokenizer"]
        for split in splits.values():
            for shard in split["shards"]:
                stem = str(shard["file"]).removesuffix(".npy")
                names += [f"{stem}.npy"] + ([f"{stem}.{x}.npy" for x in ("mask", "offsets", "keys")] if "chat" in index else [])
        return [n for n in names if _plain_name(n)]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


def claim_folder(out: Path) -> None:
    """Make `out` ready for a new tokenization: create it, or remove what a previous one listed.

    Raises:
        ConfigError: `out` is a file, or a non-empty folder rootstock did not write.
    """
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ConfigError(f"{out}: not a folder (the token-shard output must be a folder of its own)")
    out.mkdir(parents=True, exist_ok=True)
    names = listed_files(out)
    if names is None:
        if any(out.iterdir()):
            raise ConfigError(f"{out} is not empty and holds no rootstock {MANIFEST} or index.json; "
                              "nothing there is replaced: choose a new or empty folder for --out")
        names = []
    for name in names:
        p = out / name
        if p.is_dir() and not p.is_symlink() and name == "tokenizer":
            shutil.rmtree(p)
        elif p.is_file() or p.is_symlink():
            p.unlink()
    write_manifest(out, [])


def write_manifest(out: Path, files: list[str]) -> None:
    with naming(out / MANIFEST):
        atomic_write_json(out / MANIFEST, {"rootstock": KIND, "files": sorted(set(files))})


@contextmanager
def naming(path: Path) -> Iterator[None]:
    """An OSError raised inside names `path` when it names no file (a write on a full disk raises
    `[Errno 28] No space left on device` without saying which file)."""
    try:
        yield
    except OSError as e:
        if e.filename is None and e.errno is not None:
            raise OSError(e.errno, e.strerror, str(path)) from None
        raise


@contextmanager
def create_file(out: Path, name: str, written: list[str]) -> Iterator[IO[bytes]]:
    """A new file `out/name`, written whole under a temporary name and then linked into place, so a file
    at a listed name is always complete: a full disk or a crash leaves at most the temporary file
    (listed too, so the next tokenization removes it). Never overwrites.

    Raises:
        ConfigError: a file or link of that name is already there (not ours: ours were removed).
        OSError: the write failed (a full disk: ENOSPC), naming the file; the temporary file is removed.
    """
    final, tmp = out / name, out / f"{name}.tmp"
    written += [name, tmp.name]
    write_manifest(out, written)  # listed before anything exists: a crash leaves nothing unlisted
    try:
        if os.path.lexists(final):
            raise FileExistsError(final)
        fd = open_new(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except (FileExistsError, UnsafePathError):
        del written[-2:]
        write_manifest(out, written)
        bad = final if os.path.lexists(final) else tmp
        raise ConfigError(f"{bad} already exists and rootstock did not write it; not overwriting") from None
    try:
        with naming(final), os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, final)  # unlike a rename, never replaces a file that appeared at `final` meanwhile
    finally:
        tmp.unlink(missing_ok=True)
    written.remove(tmp.name)
    write_manifest(out, written)


class _PlainWriter:
    """A file as numpy sees a plain writer: `np.save` then writes through `write` in chunks, so a full
    disk raises OSError(ENOSPC). Given the real file, numpy's `tofile` raises `OSError: 43385 requested
    and 26560 written`, which names neither the cause nor the file."""

    def __init__(self, f: IO[bytes]):
        self.write = f.write


def save_array(out: Path, name: str, arr, written: list[str]) -> None:
    """`np.save` of `arr` as a new manifest-listed file `out/name` (see `create_file`)."""
    import numpy as np

    with create_file(out, name, written) as f:
        np.save(_PlainWriter(f), arr)


def write_index(out: Path, index: dict) -> None:
    """index.json, atomically (a full disk leaves the previous state, never a truncated index)."""
    with naming(out / "index.json"):
        atomic_write(out / "index.json", json.dumps(index, indent=2) + "\n")
