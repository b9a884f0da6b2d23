"""Plot of an ablation's results.json: bits per byte vs training tokens, one panel per eval domain.

matplotlib with the Agg backend (no display needed). One colour per variant: the line joins seed
means, the band spans the seeds (min to max), hollow markers are points that repeat data (epochs > 1).
No fitted curves: the figure shows what was measured.
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

    evals = results["evals"]
    fig, axes = plt.subplots(1, len(evals), figsize=(4.2 * len(evals), 3.8), dpi=110, squeeze=False)
    for ax, ev in zip(axes[0], evals):
        for i, (name, v) in enumerate(results["variants"].items()):
            by_d = defaultdict(list)
            rep = defaultdict(bool)
            for p in v["points"]:
                if p["bpb"].get(ev) is not None:
                    by_d[p["tokens"]].append(p["bpb"][ev])
                    rep[p["tokens"]] |= p["epochs"] > 1
            ds = sorted(by_d)
            if not ds:
                continue
            mean = [float(np.mean(by_d[d])) for d in ds]
            ax.plot(ds, mean, "-", color=f"C{i}", label=name, lw=1.4)
            ax.fill_between(
                ds, [min(by_d[d]) for d in ds], [max(by_d[d]) for d in ds], color=f"C{i}", alpha=0.2
            )
            for d, m in zip(ds, mean):
                ax.plot([d], [m], "o", color=f"C{i}", ms=3.5, mfc="white" if rep[d] else f"C{i}")
        ax.set_xscale("log", base=2)
        ax.set_title(ev, fontsize=10)
        ax.set_xlabel("training tokens")
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel("bits per byte (held out)")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
