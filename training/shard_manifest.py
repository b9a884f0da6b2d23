"""Which files of a token-shard folder rootstock wrote: `manifest.json`, so that re-tokenizing replaces
exactly those and nothing else.

Why: `curate tokenize RUN --out DIR` used to delete every `*.npy` in DIR, a user's `my_embeddings.npy`
included. The rules (a folder is ours only if its manifest or legacy index.json says so; only listed
names are removed; files are created with O_EXCL | O_NOFOLLOW) are the token-shard folder's contract and
live in `runfolder/token_folder.py`, which `curate mix` (format: tokens) uses too; here they raise
training's ConfigError (exit 2 at the CLI).
"""

from __future__ import annotations

from pathlib import Path

from runfolder import token_folder as _folder
from runfolder.token_folder import KIND, MANIFEST, listed_files, write_manifest
from training.data import ConfigError

__all__ = ["KIND", "MANIFEST", "claim_folder", "create_file", "listed_files", "write_manifest"]


def claim_folder(out: Path) -> None:
    """Create `out`, or remove what a previous tokenization listed (ConfigError: not ours)."""
    try:
        _folder.claim_folder(out)
    except _folder.TokenFolderError as e:
        raise ConfigError(str(e)) from None


def create_file(out: Path, name: str, written: list[str]):
    """A new file `out/name` listed in the manifest first; ConfigError when one is already there."""
    try:
        return _folder.create_file(out, name, written)
    except _folder.TokenFolderError as e:
        raise ConfigError(str(e)) from None
