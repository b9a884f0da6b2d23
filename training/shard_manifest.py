"""Which files of a token-shard folder rootstock wrote: `manifest.json`, so that re-tokenizing replaces
exactly those and nothing else.

Why: `curate tokenize RUN --out DIR` used to delete every `*.npy` in DIR, a user's `my_embeddings.npy`
included. The rules (a folder is ours only if its manifest or legacy index.json says so; only listed
names are removed; files are created with O_EXCL | O_NOFOLLOW, whole under a temporary name, then
linked into place) are the token-shard folder's contract and
live in `runfolder/token_folder.py`, which `curate mix` (format: tokens) uses too; here they raise
training's ConfigError (exit 2 at the CLI).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from runfolder import token_folder as _folder
from runfolder.token_folder import KIND, MANIFEST, listed_files, naming, write_index, write_manifest
from training.errors import ConfigError

__all__ = [
    "KIND",
    "MANIFEST",
    "claim_folder",
    "create_file",
    "listed_files",
    "naming",
    "save_array",
    "write_index",
    "write_manifest",
]


def claim_folder(out: Path) -> None:
    """Create `out`, or remove what a previous tokenization listed (ConfigError: not ours)."""
    try:
        _folder.claim_folder(out)
    except _folder.TokenFolderError as e:
        raise ConfigError(str(e)) from None


@contextmanager
def create_file(out: Path, name: str, written: list[str]) -> Iterator[IO[bytes]]:
    """A new file `out/name`, listed first and linked into place when whole (runfolder/token_folder.py);
    ConfigError when one is already there, OSError naming the file when the disk is full."""
    try:
        with _folder.create_file(out, name, written) as f:
            yield f
    except _folder.TokenFolderError as e:  # raised before the body runs: a name that is not ours
        raise ConfigError(str(e)) from None


def save_array(out: Path, name: str, arr, written: list[str]) -> None:
    """`np.save` of `arr` as a new manifest-listed file `out/name` (see `create_file`)."""
    import numpy as np

    with create_file(out, name, written) as f:
        np.save(_folder.PlainWriter(f), arr)
