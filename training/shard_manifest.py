"""Which files of a token-shard folder rootstock wrote: `manifest.json`, so that re-tokenizing replaces
exactly those and nothing else.

Why: `curate tokenize RUN --out DIR` used to delete every `*.npy` in DIR, a user's `my_embeddings.npy`
included. Now a folder is ours only if its manifest (or, for folders written before the manifest, its
index.json) says so, and only the names it lists are removed. A folder that is not empty and holds
neither is refused (ConfigError), and a shard is created with O_EXCL | O_NOFOLLOW, so a file or a
symlink that is not ours is never overwritten. The manifest is rewritten (atomically) before each file
is created, so a tokenization cut short still lists everything it left behind.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from runfolder import UnsafePathError, atomic_write_json, open_new
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
    atomic_write_json(out / MANIFEST, {"rootstock": KIND, "files": sorted(set(files))})


def create_file(out: Path, name: str, written: list[str]):
    """A new file `out/name` opened for writing, listed in the manifest first; never overwrites.

    Raises:
        ConfigError: a file or link of that name is already there (not ours: ours were removed).
    """
    written.append(name)
    write_manifest(out, written)
    try:
        return os.fdopen(open_new(out / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL), "wb")
    except (FileExistsError, UnsafePathError):
        written.remove(name)
        write_manifest(out, written)
        raise ConfigError(f"{out / name} already exists and rootstock did not write it; not overwriting it") from None
