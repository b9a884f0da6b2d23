"""A synthetic ablation folder (results.json in the docs/CONTRACTS.md contract), a test fixture.

Three variants plus a planted-duplicates control pair, two seeds, six log2 budgets and three eval
domains, drawn from known curves; the comparisons, multipliers, controls and fit are computed by the
real training/analysis.py, so the fixture cannot drift from what `curate ablate` writes. By
construction it holds an extrapolated multiplier (roots+dedup beats the baseline's best) and a failed
control (the planted pair has no effect on the multilingual domain).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from training import analysis

BUDGETS = [16384 * 2**k for k in range(6)]
EVALS = ["en_prose", "tech_docs", "multilingual"]


def write_synthetic_ablation(folder: str | Path, seed: int = 0) -> dict:
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
                    # seed noise small enough that 2 seeds (1 df) resolve the true effects after Holm
                    bpb[ev] = 1.5 + 0.3 * k + 12.0 * (mm * t) ** -0.3 + rng.gauss(0, 0.00001)
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
    (folder / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return results
