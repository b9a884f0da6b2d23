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

import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import torch

from training.checkpoint import resume, resume_state, save_checkpoint
from training.data import load_yaml
from training.errors import ConfigError
from training.evaluate import eval_sets, eval_tokens, write_eval_json
from training.instruct_train import ChatData, load_init
from training.loop import (
    MetricsLog,
    Plan,
    branch,
    budget_record,
    make_optimizer,
    make_plan,
    pick_device,
    seed_everything,
    train_step,
)
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
    max_minutes: float | None = None  # wall-clock limit: stop there, checkpoint (resumable), evaluate
    quiet: bool = False
    # fine-tuning (training/instruct_train.py): start from this checkpoint; on chat shards
    # (training/instruct_shards.py) one example fills one sequence, so `examples` (if set) is the
    # budget: tokens = examples * seq_len
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


class TextData:
    """What train() trains and evaluates on text shards: packed windows of the train split (`loader`),
    and `evaluate(model) -> (validation, eval sets)`: validation-split loss, loss/bpb per eval set.
    Chat shards plug in ChatData (training/instruct_train.py), which has the same two members."""

    def __init__(self, folder: Path, index: dict, cfg: TrainConfig, seq_len: int, batch: int, device):
        pool = max(1, round(cfg.pool_tokens / seq_len)) if cfg.pool_tokens else None
        self.loader = WindowLoader(load_split(folder, index, "train"), seq_len, cfg.seed, pool)
        self.tok = load_tokenizer(index_tokenizer(folder, index))
        self.folder, self.index, self.cfg, self.seq_len, self.batch, self.device = (
            folder, index, cfg, seq_len, batch, device)  # fmt: skip

    def evaluate(self, m: torch.nn.Module) -> tuple[dict, dict]:
        val = eval_tokens(m, load_split(self.folder, self.index, "validation"), self.seq_len, self.batch,
                          self.device, self.cfg.val_max_tokens)  # fmt: skip
        return val, eval_sets(m, self.tok, self.cfg.eval_sets, self.seq_len, self.batch, self.device,
                              self.cfg.eval_max_tokens)  # fmt: skip


def lr_schedule(cfg: TrainConfig, plan: Plan):
    """lr(step, total steps): cosine, or wsd (each budget decays over its own last `decay_frac`)."""
    if cfg.schedule == "wsd":
        return lambda s, n: wsd_lr(s, n, plan.peak_lr, plan.warmup, decay_steps(n, cfg.decay_frac))
    return lambda s, n: lr_at(s, n, plan.peak_lr, plan.warmup, cfg.min_lr_frac)


def train(cfg: TrainConfig) -> dict:
    """Run one training job; returns the summary (also in eval.json):
    `{"tokens", "steps", "epochs", "tokens_per_s", "params", "validation", "eval_sets", "budgets", ...}`,
    where `budgets` holds one evaluation per budget (the branches of a wsd run, then the final one)."""
    folder, index = load_index(cfg.data)
    overlap = find_overlap(folder, index, cfg.eval_sets)  # before any compute: refused unless allowed
    check_overlap(overlap, cfg.allow_eval_overlap, "allow_eval_overlap: true")
    if cfg.examples:  # fine-tuning: one example fills one sequence, so the budget is in examples
        seq_len = cfg.seq_len or get_preset(cfg.model).seq_len
        cfg = dataclasses.replace(cfg, tokens=cfg.examples * seq_len)
    plan = make_plan(cfg)
    lr_fn = lr_schedule(cfg, plan)
    device = pick_device(cfg.device, cfg.threads)
    cuda = device.type == "cuda"
    use_compile = cfg.compile if cfg.compile is not None else cuda

    tok = load_tokenizer(index_tokenizer(folder, index))  # saved with the checkpoint
    seed_everything(cfg.seed)
    if cfg.init_from:  # fine-tuning starts from a checkpoint (training/instruct_train.py)
        model = load_init(cfg.init_from, folder, index, plan.seq_len, index_tokenizer(folder, index))
    else:
        model = build_model(cfg.model, index["vocab_size"], plan.seq_len, bos_id=index["eot_id"])
    model = model.to(device)
    optimizer = make_optimizer(model, cfg, plan.peak_lr, fused=cuda)
    # chat shards: one masked example per row and response bpb; text shards: packed windows and bpb
    eval_batch = max(plan.micro, 8)  # no gradients: a larger batch costs little memory
    data = (ChatData if index.get("chat") else TextData)(folder, index, cfg, plan.seq_len, eval_batch, device)
    loader = data.loader

    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2) + "\n")
    start, budgets = 0, []
    if cfg.resume and (out / "checkpoint" / "optimizer.pt").exists():
        start, budgets = resume(model, optimizer, loader, out, device)
    fwd = torch.compile(model) if use_compile else model

    step = partial(train_step, micro=plan.micro, accum=plan.accum, device=device, grad_clip=cfg.grad_clip)
    log = print if not cfg.quiet else (lambda *a, **k: None)
    tokens = plan.steps * plan.batch_tokens
    log(f"train: {cfg.model} ({count_params(model) / 1e6:.2f}M params) on {device}, {plan.steps} steps x "
        f"{plan.batch_tokens} tokens = {tokens:,} tokens, {loader.tokens_per_epoch:,} train tokens/epoch, lr "
        f"{plan.peak_lr:g} ({cfg.schedule}{f', {len(plan.branches)} branches' if plan.branches else ''})")  # fmt: skip
    epochs = tokens / max(loader.tokens_per_epoch, 1)
    if epochs > 1:  # a budget past the data repeats it (ablations, quiet, flag such points themselves)
        log(f"note: the budget of {tokens:,} tokens is {epochs:.1f} epochs of the {loader.tokens_per_epoch:,}"
            f"-token train split: every window is seen ~{epochs:.0f} times")  # fmt: skip

    train_time, trained_tokens, loss = 0.0, 0, float("nan")
    # max_minutes: checked after each optimizer step (a step, or a wsd branch, is never cut short)
    deadline = time.time() + 60 * cfg.max_minutes if cfg.max_minutes else None
    done = start
    with MetricsLog(out / "metrics.jsonl", start > 0, plan.batch_tokens, start) as metrics:
        for s in range(start, plan.steps):
            for first, total in plan.branches:  # wsd: a cooldown branch for each smaller budget
                if first == s:
                    t0 = time.time()
                    bm, bl, bloss = branch(model, optimizer, loader, step, lr_fn, first, total, use_compile)
                    budgets.append(budget_record(total, plan.batch_tokens, bl, bloss, *data.evaluate(bm)))
                    bpbs = ", ".join(f"{k} bpb {v['bpb']:.4f}" for k, v in budgets[-1]["eval_sets"].items())
                    log(f"branch {total * plan.batch_tokens:,} tokens: {bpbs}")
                    train_time += time.time() - t0
                    trained_tokens += (total - first) * plan.batch_tokens
            t0 = time.time()
            lr_now = lr_fn(s, plan.steps)
            loss = step(model, fwd, optimizer, loader, lr_now)
            if cuda:
                torch.cuda.synchronize()
            train_time += time.time() - t0
            trained_tokens += plan.batch_tokens
            done = s + 1
            if done % cfg.log_every == 0 or done == plan.steps or done == 1:
                rec = metrics.write(done, loss, lr_now, loader.epochs, train_time)
                log(f"step {done}/{plan.steps} loss {loss:.4f} lr {lr_now:.2e} {rec['tokens_per_s']:,.0f} tok/s")  # fmt: skip
            if cfg.checkpoint_every and done % cfg.checkpoint_every == 0 and done < plan.steps:
                save_checkpoint(model, tok, out, cfg, resume_state(done, loader, budgets), optimizer)
            if deadline is not None and time.time() >= deadline and done < plan.steps:
                log(f"max_minutes={cfg.max_minutes:g} reached after step {done}/{plan.steps}: checkpoint and evaluate")  # fmt: skip
                break
    stopped = done < plan.steps  # at the wall-clock limit; `resume: true` continues from the checkpoint
    steps_run = done if stopped else plan.steps
    state = resume_state(done, loader, budgets)

    val, sets = data.evaluate(model)
    budgets.append(budget_record(steps_run, plan.batch_tokens, loader, loss, val, sets))
    summary = run_summary(cfg, plan, model, loader, steps_run, loss, (trained_tokens, train_time), device,
                          folder, index)  # fmt: skip
    if cfg.save_checkpoint and stopped:  # resumable: optimizer state and the data position too
        save_checkpoint(model, tok, out, cfg, {**summary, **state}, optimizer)
    elif cfg.save_checkpoint:
        save_checkpoint(model, tok, out, cfg, summary)
    if cfg.save_checkpoint:
        summary["checkpoint"] = str(out / "checkpoint")
    rec = write_eval_json(
        out / "eval.json", **summary, validation=val, eval_sets=sets, eval_overlap=overlap, budgets=budgets
    )
    for name, r in sets.items():
        log(f"eval {name}: loss {r['loss']:.4f} bpb {r['bpb']:.4f} ({r['tokens']:,} tokens)")
    return rec


def run_summary(cfg: TrainConfig, plan: Plan, model, loader, steps_run: int, loss: float, timing: tuple,
                device, folder: Path, index: dict) -> dict:  # fmt: skip
    """eval.json's fields besides the evaluations: what was trained, how fast, on what. `timing` is
    (tokens trained, seconds) with the wsd branches counted."""
    trained_tokens, train_time = timing
    return {
        "model": cfg.model,
        "params": count_params(model),
        "seq_len": plan.seq_len,
        "batch_tokens": plan.batch_tokens,
        "lr": plan.peak_lr,
        "schedule": cfg.schedule,
        "warmup_steps": plan.warmup,
        "tokens": steps_run * plan.batch_tokens,
        "steps": steps_run,
        "planned_steps": plan.steps,
        "stopped_at_max_minutes": steps_run < plan.steps,
        "epochs": round(loader.epochs, 4),
        "train_tokens_per_epoch": loader.tokens_per_epoch,
        "tokens_per_s": round(trained_tokens / max(train_time, 1e-9), 1),
        "train_seconds": round(train_time, 2),
        "device": str(device),
        "seed": cfg.seed,
        "data": str(folder),
        "tokenizer_sha1": index.get("tokenizer_sha1"),
        "final_train_loss": round(loss, 5),
        **({"init_from": cfg.init_from} if cfg.init_from else {}),
        **loader.stats(),
    }


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
