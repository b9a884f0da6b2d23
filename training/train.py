"""Train a Llama-style LM on a tokenized run: one readable loop, config as a dataclass (nanoGPT style).

    python -m training.cli train CONFIG.yaml    # or: curate train CONFIG.yaml

Plain torch: AdamW, gradient clipping, fixed seeds, and one of two schedules:

* `cosine`: linear warmup, cosine decay to `min_lr_frac` of the peak at `tokens`.
* `wsd` (warmup-stable-decay; Hu et al. 2024 "MiniCPM", Hägele et al. 2024): linear warmup, a constant
  stable phase, and a linear decay to 0 over the last `decay_frac` of the steps. Its stable phase does
  not depend on the budget, so one run serves every budget: at each of `branch_tokens` the loop copies
  model + optimizer + data position at the start of that budget's decay, trains the copy through its
  decay, evaluates it and throws it away, then continues the stable phase. A branch is the same
  computation as a standalone run with `tokens` = that budget (tests/training/test_train.py checks it),
  at ~`decay_frac` of the cost. On CUDA: bf16 autocast and torch.compile; on CPU: fp32, no compile. The data are
non-overlapping windows of the train split in a fresh seeded order every epoch, so a budget larger
than the data repeats it, and `epochs` says how often. Writes to `out_dir`:

    metrics.jsonl      {"step", "tokens", "loss", "lr", "tokens_per_s", "epochs", "elapsed_s"} every log_every steps
    eval.json          validation-split loss + loss/bpb per eval set (training/evaluate.py), metric_version,
                       eval_overlap (eval documents found in the train split, training/overlap.py);
                       with `branch_tokens`: "budgets": [{"tokens", "steps", "epochs", "validation", "eval_sets"}]
    checkpoint/        config.json + model.safetensors + tokenizer + train_state.json (+ optimizer.pt when resumable)
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from training.checkpoint_check import check_safetensors, check_torch_zip
from training.data import load_yaml
from training.errors import ConfigError
from training.evaluate import autocast, eval_sets, eval_tokens, write_eval_json
from training.model import build_model, count_params, get_preset
from training.overlap import check_overlap, find_overlap
from training.schedule import decay_steps, lr_at, wsd_lr
from training.shards import index_tokenizer, load_index, load_split
from training.tokenizer import load_tokenizer
from training.windows import WindowLoader


@dataclass
class TrainConfig:
    """Everything a training run depends on; written next to the results (train_config.json)."""

    data: str  # tokenized folder (index.json) or a run folder holding tokenized/
    out_dir: str  # metrics.jsonl, eval.json and checkpoint/ go here
    model: str = "tiny"  # preset: tiny | small | base (training/model.py)
    tokens: int = 1_000_000  # training budget in tokens (repeats the data when it exceeds the train split)
    seed: int = 0
    seq_len: int | None = None  # tokens per sequence; default: the preset's
    micro_batch: int | None = None  # sequences per forward pass; default: the preset's
    batch_tokens: int | None = (
        None  # tokens per optimizer step (multiple of micro_batch*seq_len); default: one micro-batch
    )
    lr: float | None = None  # peak learning rate; default: the preset's
    schedule: str = "cosine"  # cosine | wsd (warmup-stable-decay, see the module docstring)
    min_lr_frac: float = 0.1  # cosine decays to min_lr_frac * lr (Chinchilla uses 10%)
    decay_frac: float = 0.2  # wsd: share of each budget's steps spent decaying linearly to 0
    branch_tokens: list[int] = field(default_factory=list)  # wsd: also evaluate these smaller budgets
    warmup_frac: float = 0.05  # share of steps (of the smallest budget) spent warming up linearly
    max_warmup_steps: int = 1000
    warmup_steps: int | None = None  # explicit warmup steps (overrides warmup_frac)
    weight_decay: float = 0.1  # on matrices only, not on norms
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0  # max global grad norm
    eval_sets: list[str] = field(default_factory=list)  # .jsonl/.jsonl.gz/.txt files for loss + bpb
    # an eval document that is also a training document (same id or exact text) is an error; true: warn
    # loudly instead and report it (eval.json `eval_overlap`; training/overlap.py)
    allow_eval_overlap: bool = False
    eval_max_tokens: int | None = 200_000  # per eval set, whole documents
    val_max_tokens: int = 100_000  # of the run's validation split
    log_every: int = 10  # steps between metrics.jsonl lines
    checkpoint_every: int = 0  # steps between resumable checkpoints (0: only the final one)
    save_checkpoint: bool = True  # write checkpoint/ at the end
    resume: bool = False  # continue from checkpoint/ when it holds optimizer state
    device: str = "auto"  # auto | cpu | cuda
    compile: bool | None = None  # torch.compile; default: on CUDA only
    threads: int = 0  # torch.set_num_threads on CPU (0: torch's default)
    max_minutes: float | None = None  # wall-clock limit on training: stop there, checkpoint (resumable), evaluate
    quiet: bool = False
    # fine-tuning (training/finetune.py): start from this checkpoint; on chat shards (training/chat.py)
    # one example fills one sequence, so `examples` (if set) is the budget: tokens = examples * seq_len
    init_from: str | None = None
    examples: int | None = None
    # repetition studies: train on a fixed random pool of this many tokens of the train split (whole
    # windows, drawn by a permutation seeded by `seed`: see WindowLoader), repeated as often as the budget needs
    pool_tokens: int | None = None

    @classmethod
    def from_dict(cls, d: dict, where: str = "config") -> TrainConfig:
        """Strict: unknown keys and missing required keys are ConfigErrors naming the key."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}"
            )
        missing = [n for n in ("data", "out_dir") if n not in d]
        if missing:
            raise ConfigError(f"{where}: missing required key(s) {', '.join(missing)}")
        cfg = cls(**d)
        get_preset(cfg.model)  # validates the name
        if cfg.tokens <= 0:
            raise ConfigError(f"{where}: tokens must be > 0")
        if cfg.pool_tokens is not None and (not isinstance(cfg.pool_tokens, int) or cfg.pool_tokens <= 0):
            raise ConfigError(f"{where}: pool_tokens must be a positive integer, got {cfg.pool_tokens!r}")
        if cfg.max_minutes is not None and not cfg.max_minutes > 0:
            raise ConfigError(f"{where}: max_minutes must be > 0, got {cfg.max_minutes}")
        if cfg.schedule not in ("cosine", "wsd"):
            raise ConfigError(f"{where}: schedule must be cosine or wsd, got {cfg.schedule!r}")
        if not 0.0 < cfg.decay_frac <= 1.0:
            raise ConfigError(f"{where}: decay_frac must be in (0, 1], got {cfg.decay_frac}")
        if cfg.branch_tokens and cfg.schedule != "wsd":
            raise ConfigError(
                f"{where}: branch_tokens needs schedule: wsd (a cosine run has no stable phase)"
            )
        if any(not isinstance(b, int) or not 0 < b < cfg.tokens for b in cfg.branch_tokens):
            raise ConfigError(f"{where}: branch_tokens must be integers in (0, tokens={cfg.tokens})")
        return cfg


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _optimizer(model: torch.nn.Module, cfg: TrainConfig, lr: float, fused: bool) -> torch.optim.AdamW:
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(cfg.beta1, cfg.beta2), fused=fused)


def _save(model, tok, out: Path, cfg: TrainConfig, state: dict, optimizer=None) -> None:
    from transformers.utils import logging as hf_logging

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


def _train_step(model, fwd, optimizer, loader, micro, accum, device, lr: float, grad_clip: float) -> float:
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


def _load_resume_state(model, optimizer, ckpt: Path, device) -> dict:
    """Weights and optimizer state of a resumable checkpoint. Strict: the only key allowed to be missing is
    the tied lm_head (stored once, as the embedding). optimizer.pt is read with weights_only=True, so a
    planted pickle is refused, never executed."""
    from safetensors.torch import load_file

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


def train(cfg: TrainConfig) -> dict:
    """Run one training job; returns the summary (also in eval.json):
    `{"tokens", "steps", "epochs", "tokens_per_s", "params", "validation", "eval_sets", "budgets", ...}`,
    where `budgets` holds one evaluation per budget (the branches of a wsd run, then the final one)."""
    folder, index = load_index(cfg.data)
    overlap = find_overlap(folder, index, cfg.eval_sets)  # before any compute: refused unless allowed
    check_overlap(overlap, cfg.allow_eval_overlap, "allow_eval_overlap: true")
    preset = get_preset(cfg.model)
    seq_len = cfg.seq_len or preset.seq_len
    micro = cfg.micro_batch or preset.micro_batch
    batch_tokens = cfg.batch_tokens or micro * seq_len
    if batch_tokens % (micro * seq_len):
        raise ConfigError(
            f"batch_tokens={batch_tokens} must be a multiple of micro_batch*seq_len={micro * seq_len}"
        )
    accum = batch_tokens // (micro * seq_len)
    if cfg.examples:
        cfg = dataclasses.replace(cfg, tokens=cfg.examples * seq_len)
    steps = max(1, round(cfg.tokens / batch_tokens))
    branch_steps = sorted({max(1, round(b / batch_tokens)) for b in cfg.branch_tokens} - {steps})
    # warmup is a number of steps shared by every budget (a share of the smallest), so branches and
    # standalone runs of the same budget see the same schedule
    smallest = branch_steps[0] if branch_steps else steps
    warmup = cfg.warmup_steps or max(1, min(cfg.max_warmup_steps, int(cfg.warmup_frac * smallest)))
    peak_lr = cfg.lr or preset.lr
    if cfg.schedule == "wsd":

        def lr_fn(step: int, total: int = steps) -> float:
            return wsd_lr(step, total, peak_lr, warmup, decay_steps(total, cfg.decay_frac))
    else:

        def lr_fn(step: int, total: int = steps) -> float:
            return lr_at(step, total, peak_lr, warmup, cfg.min_lr_frac)

    branches = [(n - decay_steps(n, cfg.decay_frac), n) for n in branch_steps]  # (decay start, steps)

    if cfg.device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device must be auto, cpu or cuda, got {cfg.device!r}")
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device: cuda requested but torch sees no CUDA device")
    cuda = torch.cuda.is_available() if cfg.device == "auto" else cfg.device == "cuda"
    device = torch.device("cuda" if cuda else "cpu")
    if cfg.threads and not cuda:
        torch.set_num_threads(cfg.threads)
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    tok = load_tokenizer(index_tokenizer(folder, index))
    seed_everything(cfg.seed)
    if cfg.init_from:  # issue 18: fine-tuning starts from a checkpoint (training/finetune.py)
        from training.finetune import load_init

        model = load_init(cfg.init_from, folder, index, seq_len, index_tokenizer(folder, index)).to(device)
    else:
        model = build_model(
            cfg.model, vocab_size=index["vocab_size"], seq_len=seq_len, bos_id=index["eot_id"]
        ).to(device)
    n_params = count_params(model)
    optimizer = _optimizer(model, cfg, peak_lr, fused=cuda)
    eval_batch = max(micro, 8)  # no gradients: a larger batch costs little memory
    chat_eval = None
    if index.get("chat"):  # chat shards: one masked example per row, response bpb (training/finetune.py)
        from training.finetune import ChatEvaluator, chat_loader

        loader = chat_loader(folder, index, seq_len, cfg.seed)
        chat_eval = ChatEvaluator(folder, index, index_tokenizer(folder, index), seq_len, eval_batch, device, cfg)
    else:
        pool = max(1, round(cfg.pool_tokens / seq_len)) if cfg.pool_tokens else None
        loader = WindowLoader(load_split(folder, index, "train"), seq_len, cfg.seed, pool)
    use_compile = cfg.compile if cfg.compile is not None else cuda

    def evaluate(m: torch.nn.Module) -> tuple[dict, dict]:
        if chat_eval is not None:
            return chat_eval(m)
        val = eval_tokens(
            m, load_split(folder, index, "validation"), seq_len, eval_batch, device, cfg.val_max_tokens
        )
        return val, eval_sets(m, tok, cfg.eval_sets, seq_len, eval_batch, device, cfg.eval_max_tokens)

    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2) + "\n")
    start, budgets = 0, []
    if cfg.resume and (out / "checkpoint" / "optimizer.pt").exists():
        st = _load_resume_state(model, optimizer, out / "checkpoint", device)
        start, loader.taken, budgets = st["step"], st["windows"], st.get("budgets", [])
        torch.set_rng_state(torch.tensor(st["torch_rng"], dtype=torch.uint8))
    if start:  # drop metrics logged after the checkpoint we resume from
        lines = (out / "metrics.jsonl").read_text().splitlines() if (out / "metrics.jsonl").exists() else []
        kept = [x for x in lines if json.loads(x)["step"] <= start]
        (out / "metrics.jsonl").write_text("".join(x + "\n" for x in kept))
    metrics_mode = "a" if start else "w"
    fwd = torch.compile(model) if use_compile else model

    log = print if not cfg.quiet else (lambda *a, **k: None)
    log(
        f"train: {cfg.model} ({n_params / 1e6:.2f}M params) on {device}, {steps} steps x {batch_tokens} tokens "
        f"= {steps * batch_tokens:,} tokens, {loader.tokens_per_epoch:,} train tokens/epoch, lr {peak_lr:g} "
        f"({cfg.schedule}{f', {len(branches)} branches' if branches else ''})"
    )
    epochs = steps * batch_tokens / max(loader.tokens_per_epoch, 1)
    if epochs > 1:  # a budget past the data repeats it (ablations, quiet, flag such points themselves)
        log(
            f"note: the budget of {steps * batch_tokens:,} tokens is {epochs:.1f} epochs of the "
            f"{loader.tokens_per_epoch:,}-token train split: every window is seen ~{epochs:.0f} times"
        )

    def branch(first: int, total: int) -> dict:
        """Train a copy of the current state through budget `total`'s decay, evaluate it, discard it."""
        bm, bo = copy.deepcopy((model, optimizer))  # one deepcopy: the optimizer keeps pointing at bm
        bl = copy.copy(loader)  # shares the token arrays; its position `taken` is its own
        bfwd = torch.compile(bm) if use_compile else bm
        loss = float("nan")
        for s in range(first, total):
            loss = _train_step(bm, bfwd, bo, bl, micro, accum, device, lr_fn(s, total), cfg.grad_clip)
        val, sets = evaluate(bm)
        rec = {
            "tokens": total * batch_tokens,
            "steps": total,
            "epochs": round(bl.epochs, 4),
            "final_train_loss": round(loss, 5),
            "validation": val,
            "eval_sets": sets,
            **(bl.stats() if hasattr(bl, "stats") else {}),
        }
        log(
            f"branch {total * batch_tokens:,} tokens: "
            + ", ".join(f"{k} bpb {v['bpb']:.4f}" for k, v in sets.items())
        )
        return rec

    train_time, trained_tokens, t_log, tok_log = 0.0, 0, time.time(), 0
    loss_sum = float("nan")
    # max_minutes: checked after each optimizer step (a step, or a wsd branch, is never cut short)
    deadline = time.time() + 60 * cfg.max_minutes if cfg.max_minutes else None
    done = start
    with open(out / "metrics.jsonl", metrics_mode) as mf:
        for step in range(start, steps):
            for first, total in branches:
                if first == step:
                    t0 = time.time()
                    budgets.append(branch(first, total))
                    train_time += time.time() - t0
                    trained_tokens += (total - first) * batch_tokens
            t0 = time.time()
            lr = lr_fn(step)
            loss_sum = _train_step(model, fwd, optimizer, loader, micro, accum, device, lr, cfg.grad_clip)
            if cuda:
                torch.cuda.synchronize()
            train_time += time.time() - t0
            trained_tokens += batch_tokens
            tok_log += batch_tokens
            done = step + 1
            if done % cfg.log_every == 0 or done == steps or done == 1:
                now = time.time()
                rec = {
                    "step": done,
                    "tokens": done * batch_tokens,
                    "loss": round(loss_sum, 5),
                    "lr": lr,
                    "tokens_per_s": round(tok_log / max(now - t_log, 1e-9), 1),
                    "epochs": round(loader.epochs, 4),
                    "elapsed_s": round(train_time, 2),
                }
                mf.write(json.dumps(rec) + "\n")
                mf.flush()
                log(f"step {done}/{steps} loss {loss_sum:.4f} lr {lr:.2e} {rec['tokens_per_s']:,.0f} tok/s")
                t_log, tok_log = time.time(), 0
            if cfg.checkpoint_every and done % cfg.checkpoint_every == 0 and done < steps:
                state = {
                    "step": done,
                    "windows": loader.taken,
                    "torch_rng": torch.get_rng_state().tolist(),
                    "budgets": budgets,
                }
                _save(model, tok, out, cfg, state, optimizer)
            if deadline is not None and time.time() >= deadline and done < steps:
                log(f"max_minutes={cfg.max_minutes:g} reached after step {done}/{steps}: checkpoint and evaluate")
                break
    stopped = done < steps  # at the wall-clock limit; `resume: true` continues from the checkpoint
    steps_run = done if stopped else steps
    resume_state = {"step": done, "windows": loader.taken, "torch_rng": torch.get_rng_state().tolist(),
                    "budgets": list(budgets)}  # fmt: skip

    val, sets = evaluate(model)
    budgets.append(
        {
            "tokens": steps_run * batch_tokens,
            "steps": steps_run,
            "epochs": round(loader.epochs, 4),
            "final_train_loss": round(loss_sum, 5),
            "validation": val,
            "eval_sets": sets,
            **(loader.stats() if hasattr(loader, "stats") else {}),
        }
    )
    summary = {
        "model": cfg.model,
        "params": n_params,
        "seq_len": seq_len,
        "batch_tokens": batch_tokens,
        "lr": peak_lr,
        "schedule": cfg.schedule,
        "warmup_steps": warmup,
        "tokens": steps_run * batch_tokens,
        "steps": steps_run,
        "planned_steps": steps,
        "stopped_at_max_minutes": stopped,
        "epochs": round(loader.epochs, 4),
        "train_tokens_per_epoch": loader.tokens_per_epoch,
        "tokens_per_s": round(trained_tokens / max(train_time, 1e-9), 1),
        "train_seconds": round(train_time, 2),
        "device": str(device),
        "seed": cfg.seed,
        "data": str(folder),
        "tokenizer_sha1": index.get("tokenizer_sha1"),
        "final_train_loss": round(loss_sum, 5),
        **({"init_from": cfg.init_from} if cfg.init_from else {}),
        **(loader.stats() if hasattr(loader, "stats") else {}),
    }
    if cfg.save_checkpoint and stopped:  # resumable: optimizer state and the data position too
        _save(model, tok, out, cfg, {**summary, **resume_state}, optimizer)
        summary["checkpoint"] = str(out / "checkpoint")
    elif cfg.save_checkpoint:
        _save(model, tok, out, cfg, summary)
        summary["checkpoint"] = str(out / "checkpoint")
    rec = write_eval_json(
        out / "eval.json", **summary, validation=val, eval_sets=sets, eval_overlap=overlap, budgets=budgets
    )
    for name, r in sets.items():
        log(f"eval {name}: loss {r['loss']:.4f} bpb {r['bpb']:.4f} ({r['tokens']:,} tokens)")
    return rec


def load_config(path: str | Path, overrides: dict | None = None) -> TrainConfig:
    """A TrainConfig from YAML; relative paths in it stay relative to the current directory."""
    d = load_yaml(path) or {}
    if not isinstance(d, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys")
    d.update(overrides or {})
    try:
        return TrainConfig.from_dict(d, where=str(path))
    except TypeError as e:
        raise ConfigError(f"{path}: {e}") from None


if __name__ == "__main__":  # the command lives in training/cli.py; importing it here would be a cycle
    sys.exit("usage: python -m training.cli train CONFIG.yaml  (or: curate train CONFIG.yaml)")
