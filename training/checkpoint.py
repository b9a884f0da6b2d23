"""Writing a training run's checkpoint and resuming from it.

    checkpoint/   config.json + model.safetensors + tokenizer + train_config.json + train_state.json
                  (+ optimizer.pt when resumable: optimizer state, step, data position, torch RNG, budgets)

A checkpoint is written to `checkpoint.tmp/` and renamed into place, so a crash mid-write leaves the
previous one whole. Resuming reads the weights from safetensors and optimizer.pt with
`weights_only=True`: a planted pickle is refused, never executed.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers.utils import logging as hf_logging

from training.checkpoint_check import check_safetensors, check_torch_zip
from training.errors import ConfigError


def save_checkpoint(model, tok, out: Path, cfg, state: dict, optimizer=None) -> None:
    """`out/checkpoint/`: the model, its tokenizer, the config (a dataclass) and `state`; with
    `optimizer`, also optimizer.pt, which makes the checkpoint resumable."""
    hf_logging.disable_progress_bar()  # "Writing model shards" bars are noise in logs
    ckpt = out / "checkpoint"
    tmp = out / "checkpoint.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    tok.save_pretrained(str(tmp))
    (tmp / "train_config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2) + "\n")
    (tmp / "train_state.json").write_text(json.dumps(state, indent=2) + "\n")
    if optimizer is not None:
        torch.save({"optimizer": optimizer.state_dict(), **state}, tmp / "optimizer.pt")
    shutil.rmtree(ckpt, ignore_errors=True)
    tmp.rename(ckpt)


def resume_state(step: int, loader, budgets: list[dict]) -> dict:
    """What a resumed run needs besides weights and optimizer: the step, the data position (windows or
    examples taken), the torch RNG and the budgets already evaluated."""
    return {"step": step, "windows": loader.taken, "torch_rng": torch.get_rng_state().tolist(),
            "budgets": list(budgets)}  # fmt: skip


def resume(model, optimizer, loader, out: Path, device) -> tuple[int, list[dict]]:
    """Restore `out/checkpoint` into model, optimizer, loader and the torch RNG; drop the lines of
    metrics.jsonl logged after it. Returns (step to continue from, budgets evaluated so far)."""
    st = load_resume_state(model, optimizer, out / "checkpoint", device)
    start, loader.taken, budgets = st["step"], st["windows"], st.get("budgets", [])
    torch.set_rng_state(torch.tensor(st["torch_rng"], dtype=torch.uint8))
    if start:
        metrics = out / "metrics.jsonl"
        lines = metrics.read_text().splitlines() if metrics.exists() else []
        metrics.write_text("".join(x + "\n" for x in lines if json.loads(x)["step"] <= start))
    return start, budgets


def load_resume_state(model, optimizer, ckpt: Path, device) -> dict:
    """Weights and optimizer state of a resumable checkpoint. Strict: the only key allowed to be missing is
    the tied lm_head (stored once, as the embedding). optimizer.pt is read with weights_only=True, so a
    planted pickle is refused, never executed."""
    check_safetensors(ckpt / "model.safetensors")  # a cut-short file: one line naming it, not a library trace
    check_torch_zip(ckpt / "optimizer.pt")
    missing, unexpected = model.load_state_dict(load_file(str(ckpt / "model.safetensors")), strict=False)
    tied = {"lm_head.weight"} if model.config.tie_word_embeddings else set()
    if unexpected or set(missing) - tied:
        raise ConfigError(
            f"{ckpt}: checkpoint does not match the model (missing {sorted(set(missing) - tied)}, "
            f"unexpected {sorted(unexpected)})"
        )
    if tied:
        model.tie_weights()
    try:
        st = torch.load(ckpt / "optimizer.pt", map_location=device, weights_only=True)
    except Exception as e:  # noqa: BLE001 - an UnpicklingError or a corrupt file: refuse, say why
        raise ConfigError(f"{ckpt / 'optimizer.pt'}: refused to load ({type(e).__name__}: {e})") from None
    optimizer.load_state_dict(st["optimizer"])
    return st
