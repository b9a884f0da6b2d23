"""Eval documents that are also training documents: found by id and by exact text, refused by default.

A loss measured on text the model trained on is not a held-out loss, and nothing in the number says so
(the shipped example once evaluated on its own training input: 2.97 bits/byte there vs 3.75 on real
held-out text). So `curate tokenize` writes the keys of every train-split document next to the shards
(`train_keys.npy`: one row per document, [sha1-64 of the id, sha1-64 of the exact UTF-8 text]), and
`curate train` / `curate eval` compare each eval set against them before spending any compute: an
overlap is an error unless the config says `allow_eval_overlap: true` (`--allow-overlap` for eval), in
which case it is printed loudly and reported in eval.json under `eval_overlap` either way.

Exact matching only: near-duplicates are the ablation's MinHash decontamination (training/sample.py).
Tokenizations written before this file existed are checked against their run folder's output when it is
still there (every kept document, so a validation document counts too: conservative), else reported as
not checked.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from runfolder.token_folder import KEYS_FILE, key64  # the contract, shared with curate mix
from training.data import read_eval_set, read_run, set_name
from training.errors import ConfigError
from training.shard_manifest import save_array

MAX_EXAMPLES = 5  # ids named in a message or in eval.json


def save_keys(folder: Path, keys: list[tuple[int, int]], written: list[str]) -> str:
    """Write the train split's [id key, text key] rows as a new file listed in the folder's manifest
    (`written`, training/shard_manifest.py); returns the file name for index.json."""
    save_array(folder, KEYS_FILE, np.asarray(keys, dtype=np.uint64).reshape(-1, 2), written)
    return KEYS_FILE


def _train_keys(folder: Path, index: dict) -> tuple[set[int], set[int], str] | None:
    """(id keys, text keys, what they cover) of the training data, or None when they cannot be known."""
    if index.get("train_keys") and (folder / index["train_keys"]).exists():
        arr = np.load(folder / index["train_keys"])
        return set(arr[:, 0].tolist()), set(arr[:, 1].tolist()), "train split"
    run = index.get("run")
    if index.get("chat") or not run or not (Path(run) / "output").is_dir():
        return None
    ids, texts = set(), set()
    for d in read_run(run):
        ids.add(key64(d["id"]))
        texts.add(key64(d["text"]))
    return ids, texts, "run output (no train_keys.npy: tokenized before it existed)"


def find_overlap(folder: Path, index: dict, paths: list[str]) -> dict:
    """`{set name: {"docs", "in_training", "by_id", "by_text", "examples", "checked_against"}}` for each
    eval set path (`{"checked": False, ...}` when the training data's keys are unknown)."""
    if not paths:
        return {}
    known = _train_keys(folder, index)
    out = {}
    for p in paths:
        name = set_name(p)
        if known is None:
            out[name] = {"checked": False, "reason": "training keys unknown (chat shards or run folder gone)"}
            continue
        ids, texts, against = known
        try:
            docs = read_eval_set(p, bad=[])  # bad lines: counted where the set is evaluated
        except ConfigError as e:  # an empty or missing set fails where it is evaluated, after the others
            out[name] = {"checked": False, "reason": str(e)}
            continue
        by_id = by_text = 0
        hits = []
        for d in docs:
            i, t = key64(d["id"]) in ids, key64(d["text"]) in texts
            by_id, by_text = by_id + i, by_text + t
            if i or t:
                hits.append(d["id"])
        out[name] = {"checked": True, "checked_against": against, "docs": len(docs),
                     "in_training": len(hits), "by_id": by_id, "by_text": by_text,
                     "examples": hits[:MAX_EXAMPLES]}  # fmt: skip
    return out


def overlap_message(name: str, r: dict) -> str:
    return (
        f"eval set {name!r}: {r['in_training']:,} of {r['docs']:,} documents are in the training data "
        f"({r['by_id']:,} by id, {r['by_text']:,} by exact text; e.g. {', '.join(r['examples'])}), so its loss "
        "is not held-out"
    )


def check_overlap(report: dict, allow: bool, flag: str) -> None:
    """Refuse an overlap (ConfigError, exit 2) unless `allow` (`flag` names the setting that allows it);
    then warn loudly on stderr instead."""
    bad = {n: r for n, r in report.items() if r.get("in_training")}
    for n, r in report.items():
        if not r.get("checked", True):
            print(
                f"warning: eval set {n!r} not checked against the training data: {r['reason']}",
                file=sys.stderr,
            )
    if not bad:
        return
    msgs = [overlap_message(n, r) for n, r in bad.items()]
    if not allow:
        raise ConfigError(
            "; ".join(msgs) + f"; evaluate on text the model did not train on, or set {flag} to only warn"
        )
    for m in msgs:
        print(f"WARNING: {m} (allowed by {flag}; reported in eval.json under eval_overlap)", file=sys.stderr)
