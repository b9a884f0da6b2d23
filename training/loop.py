"""The parts train() (training/train.py) is made of, each short enough to read on its own: the step plan,
the device, AdamW, one optimizer step, a wsd cooldown branch, metrics.jsonl, and a budget's record."""

from __future__ import annotations

import copy
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from training.errors import ConfigError
from training.evaluate import autocast
from training.model import get_preset
from training.schedule import decay_steps


@dataclass(frozen=True)
class Plan:
    """How a budget becomes optimizer steps: sequences, micro-batches, accumulation, warmup, branches."""

    seq_len: int  # tokens per sequence
    micro: int  # sequences per forward pass
    accum: int  # micro-batches per optimizer step
    batch_tokens: int  # tokens per optimizer step
    steps: int  # optimizer steps of the whole budget
    warmup: int  # warmup steps, the same for every budget
    peak_lr: float
    branches: tuple[tuple[int, int], ...]  # wsd: (decay start, steps) of each smaller budget


def make_plan(cfg) -> Plan:
    """The step plan of a TrainConfig; preset values fill what the config leaves unset.

    Raises:
        ConfigError: batch_tokens is not a multiple of micro_batch * seq_len.
    """
    preset = get_preset(cfg.model)
    seq_len = cfg.seq_len or preset.seq_len
    micro = cfg.micro_batch or preset.micro_batch
    batch_tokens = cfg.batch_tokens or micro * seq_len
    if batch_tokens % (micro * seq_len):
        raise ConfigError(
            f"batch_tokens={batch_tokens} must be a multiple of micro_batch*seq_len={micro * seq_len}"
        )
    steps = max(1, round(cfg.tokens / batch_tokens))
    branch_steps = sorted({max(1, round(b / batch_tokens)) for b in cfg.branch_tokens} - {steps})
    # warmup is a number of steps shared by every budget (a share of the smallest), so branches and
    # standalone runs of the same budget see the same schedule
    smallest = branch_steps[0] if branch_steps else steps
    warmup = cfg.warmup_steps or max(1, min(cfg.max_warmup_steps, int(cfg.warmup_frac * smallest)))
    branches = tuple((n - decay_steps(n, cfg.decay_frac), n) for n in branch_steps)
    return Plan(seq_len, micro, batch_tokens // (micro * seq_len), batch_tokens, steps, warmup,
                cfg.lr or preset.lr, branches)  # fmt: skip


def pick_device(name: str, threads: int) -> torch.device:
    """auto | cpu | cuda -> the device; CPU threads and TF32 matmuls set for it."""
    if name not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device must be auto, cpu or cuda, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device: cuda requested but torch sees no CUDA device")
    cuda = torch.cuda.is_available() if name == "auto" else name == "cuda"
    if threads and not cuda:
        torch.set_num_threads(threads)
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return torch.device("cuda" if cuda else "cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_optimizer(model: torch.nn.Module, cfg, lr: float, fused: bool) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on norms)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(cfg.beta1, cfg.beta2), fused=fused)


def train_step(
    model, fwd, optimizer, loader, lr: float, *, micro: int, accum: int, device, grad_clip: float
) -> float:
    """One optimizer step (with `accum` micro-batches); returns the mean training loss."""
    for g in optimizer.param_groups:
        g["lr"] = lr
    model.train()
    loss_sum = 0.0
    for _ in range(accum):
        x, y = loader.next(micro)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast(device):
            logits = fwd(input_ids=x).logits
        loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), y.reshape(-1)) / accum
        loss.backward()
        loss_sum += float(loss.detach())
    if not math.isfinite(loss_sum):
        raise FloatingPointError(f"training loss is {loss_sum}; lower the learning rate?")
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss_sum


def branch(model, optimizer, loader, step: Callable, lr: Callable, first: int, total: int, compile_: bool):
    """A copy of the current state trained through budget `total`'s decay (steps first..total-1):
    returns (model, loader, last loss) of the copy; the caller evaluates it and throws it away."""
    bm, bo = copy.deepcopy((model, optimizer))  # one deepcopy: the optimizer keeps pointing at bm
    bl = copy.copy(loader)  # shares the token arrays; its position `taken` is its own
    bfwd = torch.compile(bm) if compile_ else bm
    loss = float("nan")
    for s in range(first, total):
        loss = step(bm, bfwd, bo, bl, lr(s, total))
    return bm, bl, loss


def budget_record(steps: int, batch_tokens: int, loader, loss: float, val: dict, sets: dict) -> dict:
    """One entry of eval.json's `budgets`: a budget's size, its data position and its evaluation."""
    return {"tokens": steps * batch_tokens, "steps": steps, "epochs": round(loader.epochs, 4),
            "final_train_loss": round(loss, 5), "validation": val, "eval_sets": sets, **loader.stats()}  # fmt: skip


class MetricsLog:
    """metrics.jsonl, one line per logged step (appended to when resuming); tokens/s since the last line."""

    def __init__(self, path: Path, append: bool, batch_tokens: int, first_step: int):
        self.file = open(path, "a" if append else "w")  # noqa: SIM115 - a context manager: closed on exit
        self.batch_tokens, self.last_step, self.last_time = batch_tokens, first_step, time.time()

    def write(self, step: int, loss: float, lr: float, epochs: float, elapsed: float) -> dict:
        now = time.time()
        tokens = (step - self.last_step) * self.batch_tokens
        rec = {"step": step, "tokens": step * self.batch_tokens, "loss": round(loss, 5), "lr": lr,
               "tokens_per_s": round(tokens / max(now - self.last_time, 1e-9), 1),
               "epochs": round(epochs, 4), "elapsed_s": round(elapsed, 2)}  # fmt: skip
        self.file.write(json.dumps(rec) + "\n")
        self.file.flush()
        self.last_step, self.last_time = step, time.time()
        return rec

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.file.close()
