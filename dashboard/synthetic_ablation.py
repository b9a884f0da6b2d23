"""A synthetic ablation folder (results.json as training/ablate.py writes it), for dashboard tests and demos.

Three variants (baseline, roots, roots+dedup), two seeds and five token budgets drawn from known
scaling-law parameters, plus one comparison in each of the two spellings the dashboard reads.
The dashboard itself never imports this module: it only reads result folders.
"""

from __future__ import annotations

import json
import random
from pathlib import Path


def write_synthetic_ablation(folder: str | Path, seed: int = 0) -> dict:
    """Write an ablation folder with results.json (three variants, two seeds, five token budgets)."""
    rng = random.Random(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    truth = {"baseline": (2.0, 40.0, 0.30), "roots": (2.0, 34.0, 0.30), "roots+dedup": (1.99, 30.0, 0.298)}
    variants = {}
    for name, (e, b, beta) in truth.items():
        points = []
        for tokens in [1e6, 2e6, 4e6, 8e6, 16e6]:
            for s in (0, 1):
                loss = e + b * tokens**-beta + rng.gauss(0, 0.01)
                points.append(
                    {
                        "tokens": int(tokens),
                        "seed": s,
                        "eval_loss": round(loss, 4),
                        "bpb": round(loss / 0.693 / 4.2, 4),
                        "epochs": 1.0,
                        "tokens_per_s": round(rng.gauss(52_000, 1500)),
                    }
                )
        fit = {"metric": "eval_loss", "E": e, "B": b, "beta": beta, "r2": 0.995, "ok": True, "warnings": []}
        variants[name] = {"points": points, "fit": fit}
    multiplier = round((40.0 / 34.0) ** (1 / 0.3), 3)  # same E and beta: (B_base / B_roots)^(1/beta)
    at = [
        {"tokens": t, "multiplier": multiplier, "extrapolated": False, "note": ""} for t in (1e6, 4e6, 16e6)
    ]
    results = {  # the layout training/ablate.py writes, plus one comparison spelled differently
        "name": "ablation-demo",
        "fit_form": "L(D) = E + B * D^(-beta)",
        "variants": variants,
        "comparisons": [
            {"a": "roots", "b": "baseline", "metric": "eval_loss", "at": at},
            {
                "variant": "roots+dedup",
                "baseline": "baseline",
                "effective_data_multiplier": 2.6,
                "ci": [2.2, 3.0],
            },
        ],
    }
    (folder / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results
