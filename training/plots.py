"""Plot of an ablation's results.json: bits per byte vs training tokens, one panel per eval domain.

matplotlib with the Agg backend (no display needed). One colour per variant: the line joins seed
means, the band spans the seeds (min to max), hollow markers are points that repeat data (epochs > 1).
No fitted curves: the figure shows what was measured. One legend for all panels (below them, every
variant listed, whichever panel it appears in) and a caption that says what lines, bands and markers
are; the x axis is log-scaled (base 2), the y axis linear.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

CAPTION = (
    "Line: mean over seeds; band: lowest to highest seed; filled marker: a measured budget; hollow marker: "
    "that point repeats data (epochs > 1). x: training tokens, log scale (base 2); y: bits per byte on the "
    "held-out domain, linear scale (lower is better)."
)


def plot_results(results: dict, path: str | Path) -> Path:
    """Draw results["variants"] to `path` (PNG); returns the path."""
    import matplotlib.pyplot as plt

    fig = results_figure(results)
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def results_figure(results: dict):
    """The matplotlib figure of `plot_results` (one panel per eval domain, a shared legend, a caption)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    evals = results["evals"]
    evals = list(evals)  # a list of names, or evals.<name> in newer files
    fig, axes = plt.subplots(1, len(evals), figsize=(4.2 * len(evals), 4.6), dpi=110, squeeze=False)
    handles: dict[str, object] = {}
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
            (line,) = ax.plot(ds, mean, "-", color=f"C{i}", label=name, lw=1.4)
            handles.setdefault(name, line)
            ax.fill_between(
                ds, [min(by_d[d]) for d in ds], [max(by_d[d]) for d in ds], color=f"C{i}", alpha=0.2
            )
            for d, m in zip(ds, mean):
                ax.plot([d], [m], "o", color=f"C{i}", ms=3.5, mfc="white" if rep[d] else f"C{i}")
        ax.set_xscale("log", base=2)
        ax.set_title(ev, fontsize=10)
        ax.set_xlabel("training tokens (log scale)")
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel("bits per byte, held out (linear)")
    ncol = min(len(handles), 6) or 1
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=ncol, fontsize=7,
               frameon=False, bbox_to_anchor=(0.5, 0.07))  # fmt: skip
    fig.text(0.5, 0.01, CAPTION, ha="center", va="bottom", fontsize=6.5, wrap=True)
    rows = -(-len(handles) // ncol)
    fig.tight_layout(rect=(0, 0.1 + 0.04 * rows, 1, 1))
    return fig
