"""A synthetic ablation folder (results.json in the docs/CONTRACTS.md contract), a test fixture.

Three variants plus a planted-duplicates control pair, two seeds, six log2 budgets and three eval
domains, drawn from known curves; the comparisons, multipliers, controls and fit are computed by the
real training/analysis.py, so the fixture cannot drift from what `curate ablate` writes. By
construction it holds an extrapolated multiplier (roots+dedup beats the baseline's best) and a failed
control (the planted pair has no effect on the multilingual domain).

`new_fields` (default) adds what newer files carry: a multiplicity-adjusted verdict per comparison
(`resolved`, `adjust`; here a stand-in that leaves the smallest budget unresolved, so some CIs that
exclude 0 are not resolved), control kinds with a negative (A/A) control, `evals.<name>` (what each domain
scored, one out-of-pool domain) and a `transfer[]` table. Without it the file is what `curate ablate`
wrote before those fields existed, which the page must still render.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from training import analysis

BUDGETS = [16384 * 2**k for k in range(6)]
EVALS = ["en_prose", "tech_docs", "multilingual"]


def write_synthetic_ablation(folder: str | Path, seed: int = 0, new_fields: bool = True) -> dict:
    """Write an ablation folder with results.json; returns the results."""
    rng = random.Random(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # bpb = E + B * (m * D)^-0.3 with per-domain offsets; m is the true data multiplier
    truth = {"baseline": 1.0, "roots": 1.6, "roots+dedup": 6.0, "planted": 0.5, "planted_dedup": 1.0}
    variants = {}
    for name, m in truth.items():
        points = []
        for t in BUDGETS:
            for s in (0, 1):
                bpb = {}
                for k, ev in enumerate(EVALS):
                    mm = 1.0 if ev == "multilingual" and name.startswith("planted") else m
                    bpb[ev] = 1.5 + 0.3 * k + 12.0 * (mm * t) ** -0.3 + rng.gauss(0, 0.004)
                points.append(
                    {"tokens": t, "bytes": 3 * t, "seed": s, "epochs": 0.4 * t / BUDGETS[-1], "bpb": bpb}
                )
        variants[name] = {"points": points, "bytes_per_token": 3.0}
    variants["planted"]["points"][-1]["epochs"] = 1.3  # one point that repeats data, to be flagged
    pairs = [(v, "baseline") for v in ("roots", "roots+dedup")] + [("planted_dedup", "planted")]
    comps = analysis.comparisons(variants, pairs, EVALS)
    controls = [
        {
            "name": "planted_duplicates",
            "variant": "planted_dedup",
            "baseline": "planted",
            "eval": "tech_docs",
        },
        {
            "name": "planted_multilingual",
            "variant": "planted_dedup",
            "baseline": "planted",
            "eval": "multilingual",
        },
    ]
    results = {
        "schema": 2,
        "name": "ablation-demo",
        "model": "micro",
        "baseline": "baseline",
        "evals": EVALS,
        "budgets": BUDGETS,
        "seeds": [0, 1],
        "variants": variants,
        "comparisons": comps,
        "comparisons_bytes": analysis.comparisons_bytes(variants, pairs, EVALS),
        "multipliers": analysis.multipliers(variants, comps, "baseline", EVALS),
        "controls": analysis.check_controls(controls, comps),
        "fit": analysis.joint_fit(
            {k: variants[k] for k in ("baseline", "roots", "roots+dedup")}, "baseline", EVALS[0]
        ),
        "wall_seconds": 600.0,
    }
    if new_fields:
        _add_new_fields(results)
    (folder / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


def _add_new_fields(results: dict) -> None:
    for c in results["comparisons"]:
        lo, hi = c["ci95"] or (0.0, 0.0)
        c["resolved"] = (lo > 0 or hi < 0) and c["tokens"] > BUDGETS[0]
        c["adjust"] = "holm"
    results["adjust"] = "holm"
    for c in results["controls"]:
        c["kind"] = "positive"
    results["controls"].append(
        {"name": "same_recipe_other_sample", "kind": "negative", "passed": True,
         "detail": "roots_alt - roots: none of 18 comparisons resolved after holm"}
    )  # fmt: skip
    results["evals"] = {
        "en_prose": {"docs": 48, "bytes": 96000, "sources": {"nltk-brown": 30, "nltk-abc": 18}, "out_of_pool": False},
        "tech_docs": {"docs": 44, "bytes": 88000, "sources": {"linux-doc": 24, "git-doc": 20}, "out_of_pool": False},
        "multilingual": {"docs": 41, "bytes": 90000, "sources": {"fr": 14, "es": 14, "zh": 13}, "out_of_pool": True},
    }  # fmt: skip
    results["transfer"] = [
        {"eval": ev, "sizes": ["micro", "tiny"], "variants": 3, "kendall_tau": 1.0 - k / 3,
         "ci95": [-0.33, 1.0], "decision_agreement": 1.0 - k / 6,
         "ranking": {"micro": ["roots+dedup", "roots", "baseline"], "tiny": ["roots", "roots+dedup", "baseline"]}}
        for k, ev in enumerate(EVALS)
    ]  # fmt: skip


def write_synthetic_scale_study(folder: str | Path) -> dict:
    """A scale study folder (training/scale_ablate.py): results.json with `kind: scale`, `sizes` and
    `transfer[]`, and one synthetic ablation folder per size."""
    folder = Path(folder)
    sizes = {}
    for i, size in enumerate(("micro", "tiny")):
        res = write_synthetic_ablation(folder / size, seed=i)
        sizes[size] = {
            "params": 463424 * 3**i,
            "budgets": res["budgets"],
            "results": str(folder / size / "results.json"),
        }
    top = {"schema": 2, "kind": "scale", "name": "scale", "sizes": sizes, "tokens_per_param": [0.05, 0.1],
           "evals": EVALS, "transfer": res["transfer"], "wall_seconds": 900.0}  # fmt: skip
    (folder / "results.json").write_text(json.dumps(top, indent=2) + "\n")
    return top
