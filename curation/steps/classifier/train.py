"""Train a fastText quality classifier from any readable input: `train_classifier(config)`.

DCLM (Li et al. 2024, "DataComp-LM", arXiv:2406.11794) found a fastText classifier of "instruction /
curated text" (positives) against raw web (negatives) beat every heuristic filter. This module does the
same with the toolkit's own readers, offline, deterministically:

- Sources are read with the registered input formats, so files, globs, folders and run folders (their
  `output/`) all work, with metadata selection and deterministic sampling (`curation/steps/classifier/data.py`).
- Text goes through `normalize_text` with the parameters stored in the model card; the scoring op
  (`curation/steps/classifier/op.py`) reads them back, so training and scoring see the same text.
- Exact duplicates are dropped (and texts present under both labels are dropped from both); the
  held-out split is by a hash of the normalized text, so copies cannot leak across it.
- fastText with `thread: 1`, a fixed `seed`, a fresh process and a zeroed heap is deterministic: the same
  config gives the same bytes (`train_fasttext_file`).

The model (`output`) and `<output stem>.card.json` (sources, counts per label, parameters, held-out
precision/recall/F1/ROC-AUC, fastText version, the model's size and sha256) are written side by side.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from curation.recipe import RecipeContext, RecipeError, _suggest, _validate_model
from curation.recipe_yaml import load_yaml
from curation.steps.classifier.data import (
    LABEL_PREFIX,
    Normalization,
    Source,
    card_path,
    hash01,
    load_source,
    normalize_text,
    positive_probs,
    read_source,
)
from curation.steps.classifier.output import check_model_output, file_sha256, refuse_linked_rejected
from runfolder import atomic_write

CARD_VERSION = 1  # model card schema
# the bytes fastText's tokenizer splits on (not Python's str.split, which also splits on U+00A0, U+2028, ...)
_FASTTEXT_SPACE = re.compile("[ \t\n\r\v\f\x00]+")

# --- config --------------------------------------------------------------------------------------


class FastTextParams(BaseModel):
    """fastText `train_supervised` options (fastText's own names).

    Defaults are DCLM's classifier trainer (mlfoundations/dclm `baselines/train_fasttext_classifier.py`:
    lr 0.1, dim 100, epoch 5, minCount 1) with word bigrams, as their released `*_bigram_*` model used.
    `bucket` is fastText's default (2M hashed n-gram rows: an ~800 MB model at dim 100); small training
    sets do as well with far fewer (the shipped example uses 200k). `thread: 1` makes training
    deterministic (several threads update shared weights in a racy order).
    """

    model_config = ConfigDict(extra="forbid")
    lr: float = Field(0.1, gt=0)
    dim: int = Field(100, ge=1)
    epoch: int = Field(5, ge=1)
    wordNgrams: int = Field(2, ge=1)
    minCount: int = Field(1, ge=1)
    bucket: int = Field(2_000_000, ge=1)
    loss: Literal["softmax", "ns", "hs", "ova"] = "softmax"
    thread: int = Field(1, ge=1, description="1: deterministic; more: faster, run-to-run differences")


class ClassifierConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    label: str = Field("hq", description="positive label (DCLM: __label__hq)")
    negative_label: str = Field("cc", description="negative label (DCLM: __label__cc)")
    output: str | None = Field(None, description="model file (default runs/classifiers/<name>/model.bin)")
    valid_fraction: float = Field(0.1, ge=0, lt=1, description="held-out share, by hash of the text")
    seed: int = 0
    normalization: Normalization = Field(default_factory=Normalization)
    fasttext: FastTextParams = Field(default_factory=FastTextParams)


CONFIG_KEYS = set(ClassifierConfig.model_fields) | {"positives", "negatives"}


class TrainConfig(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    config: ClassifierConfig
    positives: list[Source]
    negatives: list[Source]
    source: str = ""  # the config file
    lines: dict = Field(default_factory=dict, exclude=True)  # key path -> (file, line), for errors

    @property
    def model_path(self) -> Path:
        return Path(self.config.output or Path("runs") / "classifiers" / self.config.name / "model.bin")

    def error(self, path: tuple, message: str) -> RecipeError:
        return RecipeContext(self.source, self.lines).error(path, message)


def load_train_config(file: str | Path) -> TrainConfig:
    """Read and validate a classifier training config; raises RecipeError (`file:line: key: message`)."""
    file = Path(file)
    data, lines = load_yaml(file)
    ctx = RecipeContext(str(file), lines)
    if not isinstance(data, dict):
        raise RecipeError(
            str(file), 1, "", "a classifier config must be a YAML mapping (name, positives, negatives)"
        )
    for key in data:
        if key not in CONFIG_KEYS:
            raise ctx.error(
                (key,), f"unknown key{_suggest(key, CONFIG_KEYS)}; allowed: {', '.join(sorted(CONFIG_KEYS))}"
            )
    nested = {
        "fasttext": FastTextParams,
        "normalization": Normalization,
    }  # validated alone: exact key suggestions
    parts = {k: _validate_model(m, data[k], (k,), ctx) for k, m in nested.items() if k in data}
    top = {k: v for k, v in data.items() if k in ClassifierConfig.model_fields and k not in nested}
    config = _validate_model(ClassifierConfig, top, (), ctx).model_copy(update=parts)
    if config.label == config.negative_label:
        raise ctx.error(("negative_label",), "must differ from `label`")
    for key in ("label", "negative_label"):
        if not re.fullmatch(r"[\w.-]+", getattr(config, key)):
            raise ctx.error((key,), "a label is one word (letters, digits, _ . -)")
    if config.name in (".", "..") or not re.fullmatch(r"[\w.-]+", config.name):
        raise ctx.error(
            ("name",), "one folder name (letters, digits, _ . -): the model goes to runs/classifiers/<name>/"
        )
    sets = {}
    for key in ("positives", "negatives"):
        raw = data.get(key)
        if not isinstance(raw, list) or not raw:
            raise ctx.error((key,), "required: a non-empty list of sources ({format, path, ...})")
        sets[key] = [load_source(item, (key, i), ctx) for i, item in enumerate(raw)]
    tc = TrainConfig(config=config, source=str(file), lines=lines, **sets)
    check_model_output(tc)
    return tc


# --- metrics -------------------------------------------------------------------------------------


def roc_auc(y: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with tied scores averaged); None with one class only."""
    y = np.asarray(y, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if not n_pos or not n_neg:
        return None
    order = np.argsort(scores, kind="mergesort")
    s = np.asarray(scores)[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i : j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty(len(s))
    r[order] = ranks
    return float((r[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def binary_metrics(y: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict:
    """Precision, recall, F1 of the positive class at `threshold`, and ROC-AUC."""
    y = np.asarray(y, dtype=bool)
    pred = np.asarray(scores) >= threshold
    tp, fp, fn = int((pred & y).sum()), int((pred & ~y).sum()), int((~pred & y).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    auc = roc_auc(y, scores)
    r = lambda x: round(x, 4)
    return {"n": len(y), "positives": int(y.sum()), "threshold": threshold, "precision": r(precision),
            "recall": r(recall), "f1": r(f1), "roc_auc": None if auc is None else r(auc)}  # fmt: skip


# --- training ------------------------------------------------------------------------------------


def _fasttext_version() -> str:
    for dist in ("fasttext", "fasttext-numpy2-wheel", "fasttext-wheel"):
        try:
            return f"{dist} {importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def gather(tc: TrainConfig, rejected_root: Path) -> tuple[dict[str, dict[str, str]], dict, dict]:
    """Per label `{fastText tokens: normalized line}` (de-duplicated); per-source counts; dropped counts."""
    cfg = tc.config
    per_label: dict[str, dict[str, str]] = {}
    sources: dict[str, list] = {}
    dropped = {"empty": 0, "duplicate": 0, "in_both_labels": 0}
    for key, label in (("positives", cfg.label), ("negatives", cfg.negative_label)):
        seen: dict[str, str] = {}  # fastText's tokens -> the line as scoring will see it (insertion-ordered)
        sources[key] = []
        for i, src in enumerate(getattr(tc, key)):
            texts, counts = read_source(src, rejected_root / f"{key}_{i}", cfg.seed)
            sources[key].append({**src.describe(), **counts})
            for text in texts:
                line = normalize_text(text, cfg.normalization)
                tokens = _FASTTEXT_SPACE.sub(" ", line).strip(" ")  # whitespace runs are one separator
                if not tokens:
                    dropped["empty"] += 1
                elif tokens in seen:
                    dropped["duplicate"] += 1
                else:
                    seen[tokens] = line
        if not seen:
            raise tc.error(
                (key,), f"no usable documents for label {label!r} (check paths, `where` and `min_chars`)"
            )
        per_label[label] = seen
    both = per_label[cfg.label].keys() & per_label[cfg.negative_label].keys()
    dropped["in_both_labels"] = len(both)
    lines = {lab: {tok: line for tok, line in s.items() if tok not in both} for lab, s in per_label.items()}
    for key, lab in (("positives", cfg.label), ("negatives", cfg.negative_label)):
        if not lines[lab]:
            raise tc.error((key,), f"every {lab!r} document is also a {key[:-1]} of the other label")
    return lines, sources, dropped


# glibc fills each fresh malloc block with this byte XOR 0xff: 255 -> zeros. fastText 0.9.2 reads heap
# memory it never initialized during `train_supervised`; with whatever the heap held, the same file,
# seed and `thread: 1` gave a different model each run and "Encountered NaN" in about half of them
# (measured, dim 10 on 400 short lines: 6 NaN and 3 distinct models in 10 runs). With fresh blocks
# zeroed, 10 of 10 runs gave the same bytes and none diverged. Other allocators ignore the variable.
_ZEROED_HEAP = {"MALLOC_PERTURB_": "255"}


def train_fasttext_file(train_file: Path, model_file: Path, params: dict) -> str | None:
    """fastText `train_supervised` in a new interpreter with a zeroed heap; None, or fastText's last
    error line when it failed.

    A new interpreter because fastText (fasttext-numpy2-wheel 0.9.2) also carries state from one training
    to the next in one process; a zeroed heap because it reads uninitialized memory (`_ZEROED_HEAP`).
    Together they make `thread: 1` + `seed` byte-for-byte reproducible.
    """
    cmd = [
        sys.executable,
        "-m",
        "curation.steps.classifier.train",
        str(train_file),
        str(model_file),
        json.dumps(params),
    ]
    env = {**os.environ, **_ZEROED_HEAP}
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode == 0:
        return None
    return (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]


def _train_fresh_process(train_file: Path, model_file: Path, params: dict, tc: TrainConfig) -> None:
    """Train (`train_fasttext_file`); a diverged training is a config error that names `lr`."""
    why = train_fasttext_file(train_file, model_file, params)
    if why is None:
        return
    if "NaN" in why:  # the learning rate is too high for this data
        raise tc.error(("fasttext", "lr"), f"fastText training diverged ({why}); try a lower lr")
    raise RuntimeError(f"fastText training failed: {why}")


def train_classifier(tc: TrainConfig | str | Path) -> dict:
    """Train the classifier a config describes; write the model and its card; return the card.

    Raises:
        RecipeError: the config is invalid or a label has no documents (exit 2 in the CLI).
    """
    import fasttext

    if not isinstance(tc, TrainConfig):
        tc = load_train_config(tc)
    cfg, t0 = tc.config, time.time()
    out = tc.model_path
    out.parent.mkdir(parents=True, exist_ok=True)
    refuse_linked_rejected(out.parent)  # the rejected writer follows linked folders
    lines, sources, dropped = gather(tc, out.parent / "rejected")
    split: dict[str, dict[str, list[str]]] = {"train": {}, "heldout": {}}
    for lab, items in lines.items():  # split by the tokens, so whitespace changes never move a document
        held = {tok: hash01("split", str(cfg.seed), tok) < cfg.valid_fraction for tok in items}
        split["heldout"][lab] = [line for tok, line in items.items() if held[tok]]
        split["train"][lab] = [line for tok, line in items.items() if not held[tok]]
    train = [f"{LABEL_PREFIX}{lab} {t}" for lab, items in split["train"].items() for t in items]
    np.random.default_rng(cfg.seed).shuffle(train)  # SGD over one label then the other learns neither
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        train_file = Path(tmp) / "train.txt"
        train_file.write_text("\n".join(train) + "\n", encoding="utf-8", errors="replace")
        params = {**cfg.fasttext.model_dump(), "seed": cfg.seed}
        tmp_model = Path(tmp) / "model.bin"
        _train_fresh_process(train_file, tmp_model, params, tc)
        model_sha256, model_bytes = file_sha256(tmp_model), tmp_model.stat().st_size
        os.replace(tmp_model, out)
    model = fasttext.load_model(str(out))
    held_lines = split["heldout"][cfg.label] + split["heldout"][cfg.negative_label]
    y = np.array([1] * len(split["heldout"][cfg.label]) + [0] * len(split["heldout"][cfg.negative_label]))
    heldout = binary_metrics(y, positive_probs(model, held_lines, cfg.label)) if len(held_lines) else None
    card = {
        "card": CARD_VERSION,
        "name": cfg.name,
        "description": cfg.description,
        "model": out.name,
        "model_bytes": model_bytes,  # with the hash: proof the file is ours to replace (output.py)
        "model_sha256": model_sha256,
        "config_file": tc.source,
        "labels": {"positive": cfg.label, "negative": cfg.negative_label},
        "normalization": cfg.normalization.model_dump(),
        "sources": sources,
        "counts": {
            lab: {"train": len(split["train"][lab]), "heldout": len(split["heldout"][lab])} for lab in lines
        },
        "dropped": dropped,
        "split": {
            "valid_fraction": cfg.valid_fraction,
            "seed": cfg.seed,
            "by": "blake2b(split, seed, normalized text)",
        },
        "fasttext": {"version": _fasttext_version(), "params": params},
        "heldout": heldout,
        "train_seconds": round(time.time() - t0, 2),
    }
    atomic_write(card_path(out), json.dumps(card, indent=2, ensure_ascii=False) + "\n")  # never via a link
    return card


def _train_worker(argv: list[str]) -> None:
    """`python -m curation.steps.classifier.train TRAIN_FILE MODEL_FILE PARAMS_JSON` (run by `_train_fresh_process`)."""
    import fasttext

    train_file, model_file, params = argv[0], argv[1], json.loads(argv[2])
    fasttext.train_supervised(input=train_file, verbose=0, **params).save_model(model_file)


if __name__ == "__main__":
    _train_worker(sys.argv[1:])
