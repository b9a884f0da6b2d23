"""The ablation YAML (`curate ablate FILE`): a strict schema, validated before anything runs.

    name: demo
    model: tiny                      # the one dial: tiny | small | base
    budgets: [25000, 50000, 100000]  # training tokens per point
    seeds: [0, 1]
    variants:                        # name -> {recipe, run, limit}
      raw: {recipe: recipes/ablations/demo_raw.yaml}
      mine: {run: runs/mine}
    eval_sets: [{path: heldout.jsonl.gz}]   # or {path, name, holdout_fraction, max_docs, max_chars}
    train: {lr: 0.003}               # TrainConfig fields fixed across variants

Unknown keys are errors naming the key; see the dataclasses below for every field and its default.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from training.data import ConfigError, load_yaml
from training.model import get_preset
from training.train import TrainConfig

FIT_METRICS = ("bpb", "eval_loss")


@dataclass
class Variant:
    recipe: str | None = None  # recipe YAML run with `curate run` when the run folder has no summary.json
    run: str | None = None  # run folder (default: <out>/runs/<variant>)
    limit: int | None = None  # `curate run --limit`: documents read (split over tasks)


@dataclass
class EvalSet:
    path: str  # .jsonl/.jsonl.gz/.txt
    name: str | None = None  # default: file name without extension
    holdout_fraction: float | None = None  # take this id-hash slice of `path` and keep it out of training
    max_docs: int | None = None  # cap on documents (hold-out: in id-hash order, spread over the file)
    max_chars: int | None = None  # hold-out: truncate each document to this many characters


@dataclass
class Sample:
    inputs: list[str]  # jsonl(.gz) files with `id` and `text`
    fraction: float  # share of documents kept, by sha1("sample" + id)
    path: str  # where the sample is written (.jsonl.gz): the variant recipes' `input.path`


@dataclass
class AblationConfig:
    name: str
    variants: dict[str, Variant]
    budgets: list[int]  # training tokens per point
    eval_sets: list[EvalSet]
    seeds: list[int] = field(default_factory=lambda: [0])
    model: str = "tiny"  # the one dial: tiny | small | base
    out: str | None = None  # default runs/ablations/<name>
    vocab_size: int | None = None  # shared tokenizer vocabulary (default: the preset's)
    tokenizer: str | None = None  # an existing tokenizer folder instead of training one
    tokenizer_sample_bytes: int = 20_000_000  # text to train the tokenizer on, split over the variants
    val_fraction: float = 0.01  # run validation split (by id hash)
    sample: Sample | None = None  # optional shared, hash-sampled input for the variant recipes
    # TrainConfig fields fixed across variants (lr, batch_tokens, eval_max_tokens, threads, ...)
    train: dict = field(default_factory=dict)
    fit_on: str = "bpb"  # bpb | eval_loss, on the first eval set
    baseline: str | None = None  # comparisons are variant vs baseline (default: the first variant)
    save_checkpoints: bool = False  # keep each point's checkpoint (disk: ~8 MB per tiny point)


def _strict(cls, d, where: str):
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(d).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    try:
        return cls(**d)
    except TypeError as e:
        raise ConfigError(f"{where}: {e}") from None


def load_ablation(path: str | Path, out: str | None = None) -> AblationConfig:
    """Parse and validate an ablation YAML (unknown keys are errors naming the key)."""
    w = str(path)
    d = load_yaml(path) or {}
    cfg = _strict(AblationConfig, d, w)
    if not isinstance(cfg.train, dict):
        raise ConfigError(f"{w}: train must be a mapping of TrainConfig fields")
    if not isinstance(cfg.variants, dict) or not cfg.variants:
        raise ConfigError(f"{w}: variants must be a non-empty mapping name -> {{recipe, run, limit}}")
    cfg.variants = {k: _strict(Variant, v or {}, f"{w}: variants.{k}") for k, v in cfg.variants.items()}
    for k, v in cfg.variants.items():
        if not v.recipe and not v.run:
            raise ConfigError(f"{w}: variants.{k} needs `recipe` or `run`")
    cfg.eval_sets = [
        _strict(EvalSet, {"path": e} if isinstance(e, str) else e, f"{w}: eval_sets[{i}]")
        for i, e in enumerate(cfg.eval_sets or [])
    ]
    if not cfg.eval_sets:
        raise ConfigError(f"{w}: eval_sets must name at least one eval file")
    if cfg.sample is not None:
        cfg.sample = _strict(Sample, cfg.sample, f"{w}: sample")
    if not cfg.budgets or any(not isinstance(b, int) or b <= 0 for b in cfg.budgets):
        raise ConfigError(f"{w}: budgets must be a list of positive integers (tokens)")
    cfg.budgets = sorted(set(cfg.budgets))
    if cfg.fit_on not in FIT_METRICS:
        raise ConfigError(f"{w}: fit_on must be one of {FIT_METRICS}")
    if cfg.baseline and cfg.baseline not in cfg.variants:
        raise ConfigError(f"{w}: baseline {cfg.baseline!r} is not a variant ({', '.join(cfg.variants)})")
    try:
        get_preset(cfg.model)
    except ValueError as e:
        raise ConfigError(f"{w}: {e}") from None
    fixed = {"data", "out_dir", "model", "tokens", "seed", "eval_sets", "save_checkpoint"}
    bad = sorted(set(cfg.train) & fixed)
    if bad:
        raise ConfigError(
            f"{w}: train.{bad[0]} is set by the ablation itself (keys set per point: {sorted(fixed)})"
        )
    TrainConfig.from_dict({"data": ".", "out_dir": ".", **cfg.train}, where=f"{w}: train")
    if out:
        cfg.out = out
    cfg.out = cfg.out or str(Path("runs") / "ablations" / cfg.name)
    return cfg
