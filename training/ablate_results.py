"""results.json of a data ablation (docs/CONTRACTS.md) from its points: which pairs form the comparisons
table, the analysis (training/analysis.py) over it, and what was scored.

Split from training/ablate.py, which runs the grid; this module only computes.
"""

from __future__ import annotations

import dataclasses

from training import analysis
from training.ablation_config import AblationConfig
from training.intervals import ADJUST, CI_METHOD
from training.model import build_model, count_params, get_preset


def scored_evals(described: dict, recs: list, file_names: dict) -> dict:
    """`evals.<name>` of results.json: the materialized documents, checked against what every point
    actually scored (eval.json `docs`/`bytes`): a field never reports documents that were not scored."""
    for _, rec in recs:
        for b in rec["budgets"]:
            for k, v in b["eval_sets"].items():
                d = described[file_names[k]]
                if (v["docs"], v["bytes"]) != (d["docs"], d["bytes"]):
                    raise RuntimeError(f"eval {file_names[k]}: scored {v['docs']} docs / {v['bytes']} bytes, "
                                       f"materialized {d['docs']} / {d['bytes']}")  # fmt: skip
    return described


def comparison_pairs(cfg: AblationConfig, names: list[str], baseline: str) -> list[tuple[str, str]]:
    """The comparisons table: every variant on the baseline's input vs the baseline, every filter vs
    its retention-matched random baseline, the `compare` pairs and every control's pair. Variants on
    another input (the planted copies) are compared only as their controls say: against raw they
    would mix two effects."""
    base_input = cfg.variants[baseline].input
    pairs = [(v, baseline) for v in names if v != baseline and cfg.variants[v].input == base_input]
    pairs += [(cfg.variants[v].random_of, v) for v in names if cfg.variants[v].random_of]
    pairs += [tuple(p) for p in cfg.compare if tuple(p) not in pairs]
    for c in cfg.controls:
        if (c.variant, c.baseline) not in pairs:
            pairs.append((c.variant, c.baseline))
    return pairs


def analyze(cfg: AblationConfig, variants: dict, evals: list[str]) -> dict:
    """results.json (docs/CONTRACTS.md) from the contract points."""
    baseline = cfg.baseline or next(iter(variants))
    pairs = comparison_pairs(cfg, list(variants), baseline)
    comps = analysis.comparisons(variants, pairs, evals)
    res = {
        "schema": 3,
        "name": cfg.name,
        "model": cfg.model,
        "params": count_params_of(cfg.model, cfg.vocab_size),
        "baseline": baseline,
        "evals": evals,
        "budgets": cfg.budgets,
        "seeds": cfg.seeds,
        "variants": variants,
        "comparisons": comps,
        "comparisons_bytes": analysis.comparisons_bytes(variants, pairs, evals),
        "multipliers": analysis.multipliers(variants, comps, baseline, evals),
        "controls": analysis.check_controls([dataclasses.asdict(c) for c in cfg.controls], comps),
        "ci_method": CI_METHOD,
        "adjust": ADJUST,
    }
    main_variants = {
        n: v
        for n, v in variants.items()
        if cfg.variants[n].input == "sample" and not cfg.variants[n].random_of
    } or variants
    if len(cfg.budgets) >= 4:
        res["fit"] = analysis.joint_fit(main_variants, baseline, evals[0])
    return res


def count_params_of(model: str, vocab_size: int | None) -> int:
    """Parameters of the preset (with the ablation's vocabulary): for tokens per parameter."""
    return count_params(build_model(model, vocab_size or get_preset(model).vocab_size))
