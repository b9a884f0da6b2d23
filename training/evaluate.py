"""Held-out loss and bits per byte of a causal LM on fixed eval sets, and `eval.json`.

Bits per byte (bpb) is tokenizer-independent: the summed negative log-likelihood (nats) of every
token of the eval text divided by ln 2 times the text's UTF-8 bytes. It is what lets two variants (or
two tokenizers) be compared on the same text; eval_loss (nats per token) depends on the tokenizer.

Eval documents are laid out as in training (`<|endoftext|> doc <|endoftext|> doc ...`) and cut into
non-overlapping windows of `seq_len`; every document token is predicted exactly once; predictions of
the separator are not counted (it has no bytes). When a set holds more than `max_tokens`, whole
documents are drawn in the order of sha1("eval" + id) until `max_tokens` (a sample across the file: a
file sorted by language is not judged on its first language) and evaluated in file order; a set that
fits is evaluated whole, in file order. Either way the same file always gives the same tokens.

`curate eval` sets unreadable lines aside (counted in eval.json `bad_lines` with file:line), writes
eval.json after each set (a failure later keeps the finished sets), and refuses eval documents that the
checkpoint trained on (training/overlap.py) unless `--allow-overlap`.
"""

from __future__ import annotations

import json
import math
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from training.checkpoint_check import check_checkpoint_folder, check_safetensors
from training.data import id_fraction, read_eval_set, set_name
from training.overlap import check_overlap, find_overlap
from training.tokenizer import encode_docs

METRIC_VERSION = 1  # bump when the definition of a metric below changes (DCLM-style versioned metrics)
METRICS = {
    "loss": "mean next-token NLL in nats over document tokens (separator targets excluded)",
    "bpb": "sum NLL (nats) / (ln 2 * UTF-8 bytes of the evaluated documents)",
}


def autocast(device: torch.device):
    """bf16 autocast on CUDA, nothing on CPU (fp32)."""
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()


@torch.no_grad()
def nll_windows(
    model: torch.nn.Module,
    stream: np.ndarray,
    seq_len: int,
    batch: int,
    device: torch.device,
    ignore_id: int | None,
) -> tuple[float, int]:
    """Sum of NLL (nats) and count of predicted targets over `stream` cut into windows of `seq_len`.

    Window k reads stream[kL : kL+L] and predicts stream[kL+1 : kL+L+1]; targets equal to
    `ignore_id` are not counted; the last window is padded and its padding ignored.
    """
    model.eval()
    n = len(stream) - 1
    starts = list(range(0, n, seq_len))
    total, count = 0.0, 0
    for b in range(0, len(starts), batch):
        xs = np.full((len(starts[b : b + batch]), seq_len), 0, dtype=np.int64)
        ys = np.full_like(xs, -100)
        for r, s in enumerate(starts[b : b + batch]):
            e = min(s + seq_len, n)
            xs[r, : e - s] = stream[s:e]
            ys[r, : e - s] = stream[s + 1 : e + 1]
        if ignore_id is not None:
            ys[ys == ignore_id] = -100
        x = torch.from_numpy(xs).to(device)
        y = torch.from_numpy(ys).to(device)
        with autocast(device):
            logits = model(input_ids=x).logits
        loss = F.cross_entropy(
            logits.float().view(-1, logits.size(-1)), y.view(-1), ignore_index=-100, reduction="sum"
        )
        total += float(loss)
        count += int((y != -100).sum())
    return total, count


def eval_docs(
    model, tok, docs: list[dict], seq_len: int, batch: int, device, max_tokens: int | None = None
) -> dict:
    """Loss and bpb of `model` on documents `[{"text", ...}]`.

    Returns:
        `{"loss", "bpb", "tokens", "bytes", "docs", "seconds"}` (tokens = predicted document tokens).
    """
    t0 = time.time()
    eot = tok.eos_token_id
    encoded = list(zip(docs, encode_docs(tok, [d["text"] for d in docs])))
    chosen = take_sample(encoded, max_tokens)
    parts, nbytes, ntok, ndocs = [], 0, 0, 0
    for doc, ids in encoded:
        if not chosen[doc["id"]]:
            continue
        parts.append(np.asarray([eot, *ids], dtype=np.int64))
        nbytes += len(doc["text"].encode("utf-8"))
        ntok += len(ids)
        ndocs += 1
    nats, count = nll_windows(model, np.concatenate(parts), seq_len, batch, device, ignore_id=eot)
    return {
        "loss": nats / max(count, 1),
        "bpb": nats / (math.log(2) * max(nbytes, 1)),
        "tokens": count,
        "bytes": nbytes,
        "docs": ndocs,
        "seconds": round(time.time() - t0, 2),
    }


def take_sample(encoded: list[tuple[dict, list[int]]], max_tokens: int | None) -> dict[str, bool]:
    """{id: chosen}: every document when the set fits in `max_tokens`; else whole documents in
    sha1("eval" + id) order until `max_tokens` tokens (the last one may pass it)."""
    total = sum(len(ids) for _, ids in encoded)
    if not max_tokens or total <= max_tokens:
        return {d["id"]: True for d, _ in encoded}
    chosen, ntok = {d["id"]: False for d, _ in encoded}, 0
    for d, ids in sorted(encoded, key=lambda e: id_fraction(e[0]["id"], "eval")):
        if ntok >= max_tokens:
            break
        chosen[d["id"]] = True
        ntok += len(ids)
    return chosen


def eval_tokens(model, arrays: list[np.ndarray], seq_len: int, batch: int, device, max_tokens: int) -> dict:
    """Mean loss (nats/token, separators included as in training) on token arrays, e.g. a run's
    validation split, up to `max_tokens` targets."""
    total, count = 0.0, 0
    for arr in arrays:
        if count >= max_tokens:
            break
        take = np.asarray(arr[: max_tokens - count + 1], dtype=np.int64)
        if len(take) < 2:
            continue
        nats, n = nll_windows(model, take, seq_len, batch, device, ignore_id=None)
        total, count = total + nats, count + n
    return {"loss": total / count if count else None, "tokens": count}


def eval_sets(
    model, tok, paths: list[str], seq_len: int, batch: int, device, max_tokens: int | None, on_set=None
) -> dict:
    """`{name: eval_docs(...) + {"path", "bad_lines"}}` for each eval set path; unreadable lines are set
    aside (`bad_lines`: count and the first few file:line); `on_set(results so far)` after each set."""
    out = {}
    for p in paths:
        bad: list[str] = []
        res = eval_docs(model, tok, read_eval_set(p, bad=bad), seq_len, batch, device, max_tokens=max_tokens)
        out[set_name(p)] = {"path": str(p), **res, "bad_lines": {"count": len(bad), "first": bad[:5]}}
        if bad:
            print(f"warning: {p}: {len(bad):,} unreadable line(s) set aside, e.g. {bad[0]}", file=sys.stderr)
        if on_set is not None:
            on_set(out)
    return out


def write_eval_json(path: str | Path, **fields) -> dict:
    """Write eval.json with `metric_version` and the metric definitions next to the numbers."""
    rec = {"metric_version": METRIC_VERSION, "metrics": METRICS, **fields}
    Path(path).write_text(json.dumps(rec, indent=2) + "\n")
    return rec


def evaluate_checkpoint(
    checkpoint: str | Path,
    paths: list[str],
    out: str | Path | None = None,
    max_tokens: int | None = None,
    batch: int = 8,
    device: str = "auto",
    allow_overlap: bool = False,
) -> dict:
    """Load a checkpoint folder written by training/train.py and evaluate it on eval set files.

    Args:
        checkpoint: folder with config.json + model.safetensors + tokenizer files.
        paths: eval set files (.jsonl, .jsonl.gz, .txt).
        out: where to write eval.json (default: `<checkpoint>/eval.json`).
        max_tokens: cap per eval set (whole documents, sampled across the file by id hash).
        batch: windows per forward pass.
        device: "auto" (CUDA when present), "cpu" or "cuda".
        allow_overlap: warn about eval documents the checkpoint trained on instead of refusing them.

    Returns:
        The eval.json record.
    """
    from transformers import LlamaForCausalLM
    from transformers.utils import logging as hf_logging

    from training.errors import ConfigError
    from training.tokenizer import load_tokenizer

    ckpt = Path(checkpoint)
    if not (ckpt / "config.json").exists():
        raise ConfigError(f"{ckpt} is not a checkpoint folder (no config.json)")
    if (ckpt / "model.safetensors").exists():
        check_safetensors(ckpt / "model.safetensors")
    check_checkpoint_folder(ckpt)
    dev = torch.device(
        "cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device)
    )
    hf_logging.disable_progress_bar()
    model = LlamaForCausalLM.from_pretrained(str(ckpt), local_files_only=True).to(dev)
    tok = load_tokenizer(ckpt)
    seq_len = model.config.max_position_embeddings
    meta = json.loads((ckpt / "train_state.json").read_text()) if (ckpt / "train_state.json").exists() else {}
    overlap = checkpoint_overlap(ckpt, paths)
    check_overlap(overlap, allow_overlap, "--allow-overlap")
    dest = Path(out) if out else ckpt / "eval.json"

    def write(sets: dict) -> dict:  # after every set: a later failure keeps the finished ones
        return write_eval_json(dest, checkpoint=str(ckpt), tokens=meta.get("tokens"), eval_sets=sets,
                               eval_overlap=overlap, complete=len(sets) == len(paths))  # fmt: skip

    return write(eval_sets(model, tok, paths, seq_len, batch, dev, max_tokens, on_set=write))


def checkpoint_overlap(ckpt: Path, paths: list[str]) -> dict:
    """training/overlap.py's report for a checkpoint, against the tokenized data its train_config.json
    names (`{name: {"checked": False}}` when that data is gone). A data folder that is there but whose
    index.json is damaged is a ConfigError (exit 2): reporting it as "gone" turned the overlap check off
    with a warning that named another cause."""
    from training.shards import load_index

    try:
        data = Path(json.loads((ckpt / "train_config.json").read_text())["data"])
    except (OSError, KeyError, TypeError, ValueError, RecursionError):
        return find_overlap(ckpt, {}, paths)
    if not any((f / "index.json").exists() for f in (data, data / "tokenized")):
        return find_overlap(ckpt, {}, paths)  # the training data is gone: each set reported as not checked
    folder, index = load_index(data)
    return find_overlap(folder, index, paths)
