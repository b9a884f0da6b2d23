"""The instruction-ablation YAML (`curate ablate FILE` with `kind: instructions`): a strict schema.

    name: instructions
    kind: instructions
    model: micro
    seq_len: 256                     # one example per sequence (longer ones are truncated)
    budgets: [500, 1000, 2000]       # fine-tuning examples per point (one wsd run per seed, branches below)
    seeds: [0, 1, 2]
    pretrain: {inputs: [web.jsonl.gz], max_bytes: 3000000, tokens: 1000000}   # or {checkpoint: DIR}
    variants: {raw: {recipe: ...}, filtered: {recipe: ...}}
    controls: [{name: shuffled_responses, from: filtered, corrupt: shuffle_responses, fraction: 0.3,
                eval: prompt_use}]
    heldout: {from: raw, fraction: 0.04, max_examples: 200, threshold: 0.5, prompt_use: true}
    train: {lr: 0.001, micro_batch: 8}

Unknown keys are errors naming the key (file: key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from training.ablation_config import Variant, check_grid, strict
from training.data import load_yaml
from training.errors import ConfigError


@dataclass
class Pretrain:
    """The starting checkpoint: an existing one, or a short pretraining run on plain text (cached)."""

    checkpoint: str | None = None  # an existing `curate train` checkpoint (its tokenizer is used)
    inputs: list[str] = field(default_factory=list)  # jsonl(.gz) files with `id` and `text`
    max_bytes: int = 3_000_000  # of text, sampled by sha1("pretrain" + id)
    tokens: int = 1_000_000
    train: dict = field(default_factory=dict)  # TrainConfig overrides for pretraining


@dataclass
class ShuffleControl:
    """Positive control: the `from` variant with `fraction` of its examples (seeded choice) corrupted, and
    the clean variant must beat it, CI excluding 0. `corrupt`: `shuffle_responses` moves those responses
    to other prompts of the chosen subset (tests whether the model uses the prompt); `scramble_words`
    puts each chosen response's words in a random order (tests whether response quality shows)."""

    name: str
    source: str  # YAML key `from`
    corrupt: str = "shuffle_responses"
    fraction: float = 0.3
    seed: int = 0
    eval: str = "heldout"  # the metric that judges it: heldout (response bpb) | prompt_use


@dataclass
class Heldout:
    """A fixed held-out instruction set drawn from one variant's run, kept out of every variant by
    near-duplicate matching of the prompt (MinHash LSH on word 3-grams)."""

    source: str  # YAML key `from`: the variant whose run the examples are drawn from
    fraction: float = 0.04  # by sha1("heldout" + id); every example of the slice is excluded from training
    max_examples: int = 200  # evaluated (those that fit in seq_len, in id-hash order)
    threshold: float = 0.5  # estimated Jaccard of prompt word 3-grams that counts as a near-duplicate
    name: str = "instruct_heldout"
    # also evaluate each held-out response after another held-out example's prompt (a cyclic shift); metric
    # `<name>_prompt_use` = response bpb (true prompts) - response bpb (other prompts): negative when the
    # model uses the prompt. It is what a shuffled-response control harms.
    prompt_use: bool = False


@dataclass
class InstructAblation:
    name: str
    variants: dict
    budgets: list[int]  # fine-tuning examples per point
    heldout: Heldout
    pretrain: Pretrain
    kind: str = "instructions"
    seeds: list[int] = field(default_factory=lambda: [0, 1])
    workers: int = 1  # fine-tuning runs trained in parallel processes (CPU: one thread each)
    model: str = "micro"
    seq_len: int = 256
    controls: list[ShuffleControl] = field(default_factory=list)
    baseline: str | None = None  # default: the first variant
    chain: bool = True  # also compare each variant with the one before it (raw -> filtered -> ...)
    out: str | None = None
    vocab_size: int | None = None
    tokenizer_sample_bytes: int = 4_000_000  # half web text, half instruction text
    val_fraction: float = 0.02
    train: dict = field(default_factory=dict)


def is_instruct_ablation(path: str | Path) -> bool:
    d = load_yaml(path)
    return isinstance(d, dict) and d.get("kind") == "instructions"


def load_instruct_ablation(path: str | Path, out: str | None = None) -> InstructAblation:
    w = str(path)
    d = load_yaml(path) or {}
    d = {**d, "heldout": d.get("heldout") or {}, "pretrain": d.get("pretrain") or {}}
    cfg = strict(InstructAblation, d, w)
    cfg.heldout = strict(Heldout, cfg.heldout, f"{w}: heldout", {"from": "source"})
    cfg.pretrain = strict(Pretrain, cfg.pretrain, f"{w}: pretrain")
    if not isinstance(cfg.variants, dict) or not cfg.variants:
        raise ConfigError(f"{w}: variants must be a non-empty mapping name -> {{recipe, run}}")
    cfg.variants = {k: strict(Variant, v or {}, f"{w}: variants.{k}") for k, v in cfg.variants.items()}
    for k, v in cfg.variants.items():
        if not v.recipe and not v.run:
            raise ConfigError(f"{w}: variants.{k} needs `recipe` or `run`")
    cfg.controls = [
        strict(ShuffleControl, c, f"{w}: controls[{i}]", {"from": "source"})
        for i, c in enumerate(cfg.controls)
    ]
    for c in cfg.controls:
        if c.source not in cfg.variants:
            raise ConfigError(f"{w}: controls.{c.name}.from: {c.source!r} is not a variant")
        if not 0 < c.fraction <= 1:
            raise ConfigError(f"{w}: controls.{c.name}.fraction must be in (0, 1]")
        if c.corrupt not in ("shuffle_responses", "scramble_words"):
            raise ConfigError(f"{w}: controls.{c.name}.corrupt must be shuffle_responses or scramble_words")
        if c.eval not in ("heldout", "prompt_use"):
            raise ConfigError(f"{w}: controls.{c.name}.eval must be heldout or prompt_use")
        if c.eval == "prompt_use" and not cfg.heldout.prompt_use:
            raise ConfigError(f"{w}: controls.{c.name}.eval: prompt_use needs heldout.prompt_use: true")
        if c.name in cfg.variants:
            raise ConfigError(f"{w}: controls.{c.name}: the name is already a variant")
    if cfg.heldout.source not in cfg.variants:
        raise ConfigError(f"{w}: heldout.from: {cfg.heldout.source!r} is not a variant")
    if not cfg.pretrain.checkpoint and not cfg.pretrain.inputs:
        raise ConfigError(f"{w}: pretrain needs `checkpoint` or `inputs`")
    if not isinstance(cfg.workers, int) or cfg.workers < 1:
        raise ConfigError(f"{w}: workers must be an integer >= 1")
    check_grid(cfg, w, "examples", {"init_from", "examples", "seq_len"})
    cfg.out = out or cfg.out or str(Path("runs") / "ablations" / cfg.name)
    return cfg
