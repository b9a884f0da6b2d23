"""Where `curate classifier train` may write its model: never over a user's file, an input, or into a
run folder or token-shard folder; an existing model is replaced only when its card says it is ours.

Split from `curation/steps/classifier/train.py` (the training itself stays there).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from curation.steps.classifier.data import card_path
from runfolder.layout import read_identity

if TYPE_CHECKING:
    from curation.steps.classifier.train import TrainConfig


def check_model_output(tc: TrainConfig) -> None:
    """Refuse a model path that would replace what the user owns: an input file (or a file inside an
    input folder), the config itself, a symlink or folder, or an existing file that no training wrote
    (a model is ours when the `.card.json` beside it records its size and sha256: the manifest of a
    classifier folder), or a path under a symlinked folder."""
    out = Path(os.path.normpath(tc.model_path.expanduser().absolute()))  # `missing/../run/m.bin` is run/m.bin
    where = ("output",) if tc.config.output else ("name",)
    paths = [str(src.reader.path) for src in tc.positives + tc.negatives]
    inputs = [Path(tc.source)] + [Path(re.split(r"[*?\[]", p)[0] or ".") for p in paths]  # a glob: its folder
    for inp in inputs:
        inp = inp.expanduser().resolve()
        if out.resolve() == inp or inp in out.resolve().parents or out.resolve() in inp.parents:
            raise tc.error(where, f"refusing {out}: it is an input of this training or holds one ({inp})")
    if out.is_symlink() or (out.exists() and not out.is_file()):
        raise tc.error(where, f"refusing {out}: it is a symlink or not a regular file")
    if out.exists() and not is_our_card(card_path(out), out):
        raise tc.error(
            where,
            f"refusing {out}: it exists and no classifier training wrote it (no rootstock "
            f"{card_path(out).name} beside it recording this file's sha256); choose a new output",
        )
    if linked := linked_ancestor(out):
        raise tc.error(where, f"refusing {out}: its folder {linked} is a symlink")
    for parent in out.parents:
        if read_identity(parent / "run.json") is not None or _is_token_shards(parent):
            raise tc.error(
                where,
                f"refusing {out}: it is inside {parent}, a rootstock run or token-shard "
                "folder; choose an output of its own",
            )


def linked_ancestor(out: Path) -> Path | None:
    """The first folder above `out` that is a symlink (or None), `lstat`-ing every component from `out`
    up to the anchor: the current directory when `out` is inside it (its own path has no links:
    `os.getcwd` is physical), else the filesystem root. Every component, not only the nearest existing
    one: a linked grandparent (`cls -> /elsewhere` in `cls/sub/m.bin`) would hide where the model lands
    from the run-folder and input checks."""
    cwd = Path.cwd()
    anchor = cwd if cwd in out.parents else Path(out.anchor)
    for parent in out.parents:
        if parent == anchor:
            return None
        try:
            if stat.S_ISLNK(os.lstat(parent).st_mode):
                return parent
        except FileNotFoundError:  # not created yet: nothing to follow
            continue
    return None


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (models are up to ~1 GB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def is_our_card(card: Path, model: Path) -> bool:
    """A `.card.json` this trainer wrote for the `model` on disk: a regular JSON file with the card's
    identity keys whose `model_bytes` and `model_sha256` match the file. Key types alone are not proof:
    a hand-written card beside a user's file must not make that file replaceable. A card forged with
    the file's real hash is out of scope (docs/reliability.md), like a forged run.json."""
    try:
        if card.is_symlink() or not card.is_file() or card.stat().st_size > 10_000_000:
            return False
        obj = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    if not (
        isinstance(obj, dict)
        and isinstance(obj.get("card"), int)
        and obj.get("model") == model.name
        and isinstance(obj.get("labels"), dict)
        and isinstance(obj.get("fasttext"), dict)
        and isinstance(obj.get("model_sha256"), str)
        and obj.get("model_bytes") == _size(model)
    ):
        return False
    try:
        return file_sha256(model) == obj["model_sha256"]
    except OSError:
        return False


def _size(path: Path) -> int | None:
    try:
        return os.lstat(path).st_size
    except OSError:
        return None


def _is_token_shards(folder: Path) -> bool:
    """True when `folder` holds a token-shard manifest.json (training/shard_manifest.py's identity)."""
    try:
        if not (folder / "manifest.json").is_file():
            return False
        obj = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(obj, dict) and obj.get("rootstock") == "token-shards"


def refuse_linked_rejected(folder: Path) -> None:
    """Refuse a `rejected/` tree beside the model that could lead outside it: the rejected writer opens
    its files with O_NOFOLLOW, but the folders above them (`rejected/`, `rejected/positives_0/`, ...) are
    followed, so a planted `rejected -> /elsewhere` would receive the rejected records. One walk, `lstat`
    only, never entering a link.

    Raises:
        UnsafePathError: one line naming the link.
    """
    from runfolder.atomic import UnsafePathError

    pending = [folder / "rejected"]
    while pending:
        path = pending.pop()
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(st.st_mode):
            raise UnsafePathError(f"{path}: refusing to write rejected records through it: it is a symlink")
        if stat.S_ISDIR(st.st_mode):
            pending += [Path(e.path) for e in os.scandir(path)]
