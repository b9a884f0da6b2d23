"""The ablation YAML (`curate ablate FILE`): a strict schema, validated before anything runs.

    name: demo
    model: micro                     # the one dial: micro | tiny | small | base
    budgets: [16384, 32768, 65536]   # training tokens per point: one wsd run per (variant, seed) covers all
    seeds: [0, 1]
    workers: 2                       # training runs in parallel (one thread each on CPU)
    sample: {inputs: [...], fraction: 0.04, block_docs: 16, path: ..., plant: {fraction, copies, path}}
    variants:                        # name -> {recipe, run, limit, input: sample | planted}
      raw: {recipe: recipes/ablations/demo_raw.yaml}
      mine: {run: runs/mine}
    eval_sets: [{path: heldout.jsonl.gz}]   # or {path, name, sources, langs, holdout_fraction, max_docs, max_chars}
    controls: [{name, variant, baseline, eval}]   # must show variant < baseline with a CI excluding 0
    train: {lr: 0.003}               # TrainConfig fields fixed across variants

docs/training.md ("Ablation file") documents every key.

Unknown keys are errors naming the key; see the dataclasses below for every field and its default.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from training.data import load_yaml
from training.errors import ConfigError
from training.model import get_preset
from training.train import TrainConfig


@dataclass
class Variant:
    recipe: str | None = None  # recipe YAML run with `curate run` when the run folder has no summary.json
    mix: str | None = None  # or a mix file (docs/mixtures.md) run with `curate mix` when it has no mixture.json
    run: str | None = None  # run folder (default: <out>/runs/<variant>), or the name of an earlier variant
    limit: int | None = None  # `curate run --limit`: documents read (split over tasks)
    # repetition studies: train on a fixed random pool of this many tokens of the run (whole windows drawn
    # per seed; pools of one seed are nested), repeated as the budget needs (TrainConfig.pool_tokens)
    pool_tokens: int | None = None
    input: str = "sample"  # recipe variants read the ablation's `sample` (or its `planted` copy): set
    # on the command line (`--set input.path=...`), so the recipe's own input.path does not matter
    # (inputs: sample | planted | planted_fresh | alt, the last three made by `sample.plant`/`alt_path`)
    # retention-matched random baseline of an earlier filter variant: the same number of documents as
    # that variant kept, drawn at random (by id hash) from the same input (training/baselines.py)
    random_of: str | None = None


@dataclass
class EvalSet:
    path: str  # .jsonl/.jsonl.gz/.txt
    name: str | None = None  # default: file name without extension
    holdout_fraction: float | None = None  # take this id-hash slice of `path` and keep it out of training
    max_docs: int | None = None  # cap on documents (hold-out: in id-hash order, spread over the file)
    max_chars: int | None = None  # hold-out: truncate each document to this many characters
    sources: list[str] | None = None  # hold-out: only records whose `source` field is one of these
    langs: list[str] | None = None  # hold-out: only records whose `lang` field is one of these
    # field names of the records (webis pairs: text_a / doc_a / corpus); documents are drawn in id-hash
    # order round-robin over the values of `source_field`, so every source is represented
    text_field: str = "text"
    id_field: str = "id"
    source_field: str = "source"


@dataclass
class Plant:
    """Positive control: `fraction` of the sample's documents (by id hash; of `sources` only, when
    given) repeated `copies` times. `fresh_path` gets the counterpart: the sample plus the same extra
    bytes as unique documents of the same sources from outside the sample, so that planted vs
    planted_fresh differ by repetition alone."""

    fraction: float
    copies: int
    path: str  # where the planted sample goes (.jsonl.gz); variants with `input: planted` read it
    sources: list[str] | None = None  # plant only documents of these sources (the judging domain's)
    fresh_path: str | None = None  # variants with `input: planted_fresh` read it


@dataclass
class Control:
    """kind positive: `variant` must come out better than `baseline` on `eval` at the top budget,
    resolved after the multiplicity adjustment (a failed one means the setup cannot see effects of
    this size). kind negative (an A/A pair: the same recipe on two samples): no comparison of the pair
    may be resolved at any budget and eval domain (`eval`: that domain only)."""

    name: str
    variant: str
    baseline: str
    eval: str | None = None
    kind: str = "positive"


@dataclass
class Decontam:
    """Containment decontamination (training/sample.py): a training document is dropped when it
    contains >= `threshold` of the n-gram shingles of any evaluated eval text."""

    threshold: float = 0.5  # share of an evaluated text's word n-grams found in one training document
    ngram: int = 5


@dataclass
class Sample:
    inputs: list[str]  # jsonl(.gz) files with `id` and `text`
    fraction: float  # share of units (duplicate clusters or blocks) kept, by sha1("sample" + unit key)
    path: str  # where the sample is written (.jsonl.gz): the variant recipes' `input.path`
    unit: str = "cluster"  # cluster (content key, training/sample.py) | block (consecutive documents)
    block_docs: int = 16  # unit: block: documents per block
    plant: Plant | None = None
    # a second sample drawn with another salt (same fraction, same exclusions): the input of an A/A
    # variant (`input: alt`), the negative control
    alt_path: str | None = None


@dataclass
class AblationConfig:
    name: str
    variants: dict[str, Variant]
    budgets: list[int]  # training tokens per point
    eval_sets: list[EvalSet]
    seeds: list[int] = field(default_factory=lambda: [0])
    model: str = "micro"  # the one dial: micro | tiny | small | base
    workers: int = 1  # (variant, seed) runs trained in parallel processes
    controls: list[Control] = field(default_factory=list)
    decontam: Decontam = field(default_factory=Decontam)
    out: str | None = None  # default runs/ablations/<name>
    vocab_size: int | None = None  # shared tokenizer vocabulary (default: the preset's)
    tokenizer: str | None = None  # an existing tokenizer folder instead of training one
    tokenizer_sample_bytes: int = 20_000_000  # text to train the tokenizer on
    # what the tokenizer is trained on: `sample` = the shared input sample before any curation (fixed
    # whatever the variants are, so adding a variant cannot move the others' results), `variants` = an
    # equal byte share of each variant's output; `auto`: sample when there is one
    tokenizer_sample: str = "auto"
    val_fraction: float = 0.01  # run validation split (by id hash)
    sample: Sample | None = None  # optional shared, hash-sampled input for the variant recipes
    # TrainConfig fields fixed across variants (lr, batch_tokens, eval_max_tokens, threads, ...)
    train: dict = field(default_factory=dict)
    baseline: str | None = None  # comparisons are variant vs baseline (default: the first variant)
    compare: list[list[str]] = field(default_factory=list)  # extra [variant, baseline] pairs for the table
    save_checkpoints: bool = False  # keep each point's checkpoint (disk: ~8 MB per tiny point)


def strict(cls, d, where: str, rename: dict | None = None):
    """`cls(**d)` for a dataclass, every mistake a ConfigError naming `where` (unknown keys listed with
    the known ones); `rename` maps YAML keys to field names (`from` is a Python keyword)."""
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(d).__name__}")
    d = {(rename or {}).get(k, k): v for k, v in d.items()}
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
    cfg = strict(AblationConfig, d, w)
    if not isinstance(cfg.train, dict):
        raise ConfigError(f"{w}: train must be a mapping of TrainConfig fields")
    if not isinstance(cfg.variants, dict) or not cfg.variants:
        raise ConfigError(f"{w}: variants must be a non-empty mapping name -> {{recipe, run, limit}}")
    cfg.variants = {k: strict(Variant, v or {}, f"{w}: variants.{k}") for k, v in cfg.variants.items()}
    order = list(cfg.variants)
    for k, v in cfg.variants.items():
        if not v.recipe and not v.run and not v.random_of and not v.mix:
            raise ConfigError(f"{w}: variants.{k} needs `recipe`, `mix`, `run` or `random_of`")
        if v.recipe and v.mix:
            raise ConfigError(f"{w}: variants.{k}: `recipe` and `mix` exclude each other (a variant is one or the other)")
        if v.run in cfg.variants and order.index(v.run) >= order.index(k):
            raise ConfigError(f"{w}: variants.{k}.run: variant {v.run!r} must be listed before {k!r}")
    cfg.eval_sets = [
        strict(EvalSet, {"path": e} if isinstance(e, str) else e, f"{w}: eval_sets[{i}]")
        for i, e in enumerate(cfg.eval_sets or [])
    ]
    if not cfg.eval_sets:
        raise ConfigError(f"{w}: eval_sets must name at least one eval file")
    if cfg.sample is not None:
        cfg.sample = strict(Sample, cfg.sample, f"{w}: sample")
        if cfg.sample.unit not in ("cluster", "block"):
            raise ConfigError(f"{w}: sample.unit must be cluster or block, got {cfg.sample.unit!r}")
        if cfg.sample.plant is not None:
            cfg.sample.plant = strict(Plant, cfg.sample.plant, f"{w}: sample.plant")
    cfg.decontam = (
        strict(Decontam, cfg.decontam, f"{w}: decontam") if isinstance(cfg.decontam, dict) else cfg.decontam
    )
    cfg.controls = [strict(Control, c, f"{w}: controls[{i}]") for i, c in enumerate(cfg.controls or [])]
    names = {eval_name(e) for e in cfg.eval_sets}
    for i, c in enumerate(cfg.controls):
        for key in ("variant", "baseline"):
            if getattr(c, key) not in cfg.variants:
                raise ConfigError(f"{w}: controls[{i}].{key}: {getattr(c, key)!r} is not a variant")
        if c.kind not in ("positive", "negative"):
            raise ConfigError(f"{w}: controls[{i}].kind must be positive or negative, got {c.kind!r}")
        if c.eval is None and c.kind == "positive":
            raise ConfigError(
                f"{w}: controls[{i}].eval: a positive control names the eval set that judges it"
            )
        if c.eval is not None and c.eval not in names:
            raise ConfigError(f"{w}: controls[{i}].eval: {c.eval!r} is not a named eval set")
    if cfg.tokenizer_sample not in ("auto", "sample", "variants"):
        raise ConfigError(
            f"{w}: tokenizer_sample must be auto, sample or variants, got {cfg.tokenizer_sample!r}"
        )
    if cfg.tokenizer_sample == "sample" and not cfg.sample:
        raise ConfigError(f"{w}: tokenizer_sample: sample needs a `sample:` section")
    if cfg.tokenizer_sample == "auto":
        cfg.tokenizer_sample = "sample" if cfg.sample else "variants"
    for k, v in cfg.variants.items():
        if v.pool_tokens is not None and (not isinstance(v.pool_tokens, int) or v.pool_tokens <= 0):
            raise ConfigError(f"{w}: variants.{k}.pool_tokens must be a positive integer")
    if cfg.workers < 1:
        raise ConfigError(f"{w}: workers must be >= 1")
    _check_inputs_and_controls(cfg, w)
    for i, pair in enumerate(cfg.compare or []):
        if not (isinstance(pair, list) and len(pair) == 2 and all(x in cfg.variants for x in pair)):
            raise ConfigError(
                f"{w}: compare[{i}]: expected [variant, baseline] of two variants, got {pair!r}"
            )
    check_grid(cfg, w, "tokens", {"save_checkpoint", "branch_tokens", "eval_max_tokens"})
    check_warmup(cfg, w)
    if out:
        cfg.out = out
        sample_under_out(cfg.sample, Path(out))
    cfg.out = cfg.out or str(Path("runs") / "ablations" / cfg.name)
    return cfg


def sample_under_out(sample: Sample | None, out: Path) -> None:
    """With `--out DIR`, the relative paths the sample is written to (`path`, `alt_path`, `plant.path`,
    `plant.fresh_path`) are under DIR, like everything else the ablation writes (docs/training.md)."""
    if sample is None:
        return
    targets = [(sample, "path"), (sample, "alt_path")]
    if sample.plant is not None:
        targets += [(sample.plant, "path"), (sample.plant, "fresh_path")]
    for obj, key in targets:
        value = getattr(obj, key)
        if value and not Path(value).is_absolute():
            setattr(obj, key, str(out / value))


def _check_inputs_and_controls(cfg: AblationConfig, w: str) -> None:
    """Variant inputs exist in the sample section; random baselines name an earlier recipe variant."""
    smp, plant = cfg.sample, cfg.sample.plant if cfg.sample else None
    made = {
        "sample": True,
        "planted": bool(plant),
        "planted_fresh": bool(plant and plant.fresh_path),
        "alt": bool(smp and smp.alt_path),
    }
    order = list(cfg.variants)
    for k, v in cfg.variants.items():
        if v.input not in made:
            raise ConfigError(f"{w}: variants.{k}.input must be one of {', '.join(made)}, got {v.input!r}")
        if not made[v.input]:
            need = {
                "planted": "sample.plant",
                "planted_fresh": "sample.plant.fresh_path",
                "alt": "sample.alt_path",
            }
            raise ConfigError(f"{w}: variants.{k}.input: {v.input} needs {need[v.input]}")
        if v.random_of is not None:
            src = cfg.variants.get(v.random_of)
            if src is None or order.index(v.random_of) >= order.index(k):
                raise ConfigError(
                    f"{w}: variants.{k}.random_of: {v.random_of!r} must be a variant listed before {k!r}"
                )
            if not src.recipe or not cfg.sample:
                raise ConfigError(
                    f"{w}: variants.{k}.random_of: {v.random_of!r} must be a recipe variant on the sample"
                )


def check_warmup(cfg: AblationConfig, w: str) -> None:
    """Warmup may take at most 25 % of the smallest budget's steps: a point that is mostly warmup
    measures the schedule, not the data (the 4k-token points used to be half warmup)."""
    preset = get_preset(cfg.model)
    t = cfg.train
    batch = t.get("batch_tokens") or (t.get("seq_len") or preset.seq_len) * (
        t.get("micro_batch") or preset.micro_batch
    )
    smallest = max(1, round(min(cfg.budgets) / batch))
    warmup = t.get("warmup_steps") or max(
        1, min(t.get("max_warmup_steps", 1000), int(t.get("warmup_frac", 0.05) * smallest))
    )
    if warmup > 0.25 * smallest:
        raise ConfigError(
            f"{w}: train.warmup_steps: {warmup} warmup steps are more than 25% of the smallest budget's "
            f"{smallest} steps ({min(cfg.budgets):,} tokens / {batch} per step); raise the smallest budget or "
            "lower warmup_steps"
        )


def eval_name(e: EvalSet) -> str:
    """The name results use for an eval set: `name`, else the file name (+ "_heldout" for a hold-out)."""
    if e.name:
        return e.name
    stem = Path(e.path).name
    for suffix in (".jsonl.gz", ".jsonl", ".txt"):
        stem = stem.removesuffix(suffix)
    return stem + "_heldout" if e.holdout_fraction is not None else stem


def check_grid(cfg, w: str, unit: str, fixed: set[str]) -> None:
    """The checks every ablation file shares: budgets (in `unit`), baseline, model preset, and the
    `train` keys the ablation sets per point (`fixed`, besides data, out_dir, model, tokens, seed,
    eval_sets). Sorts and de-duplicates `cfg.budgets`."""
    if not cfg.budgets or any(not isinstance(b, int) or b <= 0 for b in cfg.budgets):
        raise ConfigError(f"{w}: budgets must be a list of positive integers ({unit})")
    cfg.budgets = sorted(set(cfg.budgets))
    if cfg.baseline and cfg.baseline not in cfg.variants:
        raise ConfigError(f"{w}: baseline {cfg.baseline!r} is not a variant ({', '.join(cfg.variants)})")
    try:
        get_preset(cfg.model)
    except ValueError as e:
        raise ConfigError(f"{w}: {e}") from None
    fixed = {"data", "out_dir", "model", "tokens", "seed", "eval_sets", *fixed}
    bad = sorted(set(cfg.train) & fixed)
    if bad:
        raise ConfigError(
            f"{w}: train.{bad[0]} is set by the ablation itself (keys set per point: {sorted(fixed)})"
        )
    TrainConfig.from_dict({"data": ".", "out_dir": ".", **cfg.train}, where=f"{w}: train")
