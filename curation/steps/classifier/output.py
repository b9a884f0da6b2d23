"""Where `curate classifier train` may write its model: never over a user's file, an input, or into a
run folder or token-shard folder; an existing model is replaced only when its card says it is ours.

Split from `curation/steps/classifier/train.py` (the training itself stays there).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from curation.steps.classifier.data import card_path
from runfolder.layout import read_identity

if TYPE_CHECKING:
    from curation.steps.classifier.train import TrainConfig


def check_model_output(tc: TrainConfig) -> None:
    """Refuse a model path that would replace what the user owns: an input file (or a file inside an
    input folder), the config itself, a symlink or folder, or an existing file that no training wrote
    (a model is ours when its `.card.json` is beside it: the manifest of a classifier folder)."""
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
            f"{card_path(out).name} beside it); choose a new output",
        )
    for parent in out.parents:  # the nearest existing ancestor (and any dangling link below it)
        if parent.is_symlink():
            raise tc.error(where, f"refusing {out}: its folder {parent} is a symlink")
        if parent.exists():
            break
    for parent in out.parents:
        if read_identity(parent / "run.json") is not None or _is_token_shards(parent):
            raise tc.error(
                where,
                f"refusing {out}: it is inside {parent}, a rootstock run or token-shard "
                "folder; choose an output of its own",
            )


def is_our_card(card: Path, model: Path) -> bool:
    """A `.card.json` this trainer wrote for `model`: a regular JSON file with the card's identity keys
    (a file merely named like a card must not make a user's file replaceable)."""
    try:
        if card.is_symlink() or not card.is_file() or card.stat().st_size > 10_000_000:
            return False
        obj = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("card"), int)
        and obj.get("model") == model.name
        and isinstance(obj.get("labels"), dict)
        and isinstance(obj.get("fasttext"), dict)
    )


def _is_token_shards(folder: Path) -> bool:
    """True when `folder` holds a token-shard manifest.json (training/shard_manifest.py's identity)."""
    try:
        if not (folder / "manifest.json").is_file():
            return False
        obj = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(obj, dict) and obj.get("rootstock") == "token-shards"
