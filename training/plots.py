"""Plots of an ablation's results.json: loss vs tokens (log-log), seed spread and fitted curves.

matplotlib with the Agg backend (no display needed). One colour per variant: dots are single seeds,
the line joins seed means with min-max bars, the dashed curve is the fit L(D) = E + B * D^(-beta)
drawn a little beyond the trained budgets (dotted where it extrapolates).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np


def plot_results(results: dict, path: str | Path) -> Path:
    """Draw results["variants"] to `path` (PNG); returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    metric = None
    for i, (name, v) in enumerate(results["variants"].items()):
        color = f"C{i}"
        metric = v["fit"].get("metric", "bpb")
        by_d = defaultdict(list)
        for p in v["points"]:
            by_d[p["tokens"]].append(p[metric])
        ds = np.array(sorted(by_d))
        means = np.array([np.mean(by_d[d]) for d in ds])
        lo = means - np.array([min(by_d[d]) for d in ds])
        hi = np.array([max(by_d[d]) for d in ds]) - means
        ax.scatter(
            [p["tokens"] for p in v["points"]],
            [p[metric] for p in v["points"]],
            s=12,
            alpha=0.45,
            color=color,
        )
        ax.errorbar(ds, means, yerr=[lo, hi], color=color, marker="o", ms=4, lw=1.2, capsize=3, label=name)
        f = v["fit"]
        if f.get("E") is not None:
            grid = np.geomspace(ds.min(), ds.max(), 100)
            ax.plot(
                grid,
                f["E"] + f["B"] * grid ** (-f["beta"]),
                "--",
                color=color,
                lw=1,
                label=f"{name} fit: E={f['E']:.3g} beta={f['beta']:.2f}"
                + ("" if f.get("ok") else " (flagged)"),
            )
            ext = np.geomspace(ds.max(), ds.max() * 4, 30)
            ax.plot(ext, f["E"] + f["B"] * ext ** (-f["beta"]), ":", color=color, lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
    budgets = sorted({p["tokens"] for v in results["variants"].values() for p in v["points"]})
    ax.set_xticks(budgets, [f"{b / 1e6:.3g}M" if b >= 1e6 else f"{b / 1e3:.3g}k" for b in budgets])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)
    ax.set_xlabel("training tokens D")
    ax.set_ylabel(f"{metric} on {results.get('eval_set', 'eval')}")
    ax.set_title(f"{results.get('name', '')}: {metric} vs tokens ({results.get('model', '')})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
