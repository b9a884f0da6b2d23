"""training/plots.py: the loss-vs-tokens figure has one legend that lists every variant (whichever
panel it appears in), a caption saying what lines, bands and markers are, and axes named for their scale."""

import matplotlib.pyplot as plt

from training.plots import plot_results, results_figure


def _results():
    def pts(level, evs):
        return [{"tokens": t, "seed": s, "epochs": t / 4096, "bpb": {e: level + 1 / t + s * 0.01 for e in evs}}
                for t in (1024, 2048, 8192) for s in (0, 1)]  # fmt: skip

    return {
        "evals": {"en": {"docs": 40}, "code": {"docs": 41}},  # newer files: evals.<name>
        "variants": {
            "raw": {"points": pts(3.0, ["en", "code"])},
            "only_code": {"points": pts(2.5, ["code"])},
        },
    }


def test_one_shared_legend_lists_every_variant_and_a_caption_explains_the_bands(tmp_path):
    fig = results_figure(_results())
    assert len(fig.legends) == 1 and not any(ax.get_legend() for ax in fig.axes)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["raw", "only_code"]
    caption = " ".join(t.get_text() for t in fig.texts)
    assert "band: lowest to highest seed" in caption and "hollow marker" in caption
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_yscale() == "linear"
    assert "log" in fig.axes[0].get_xlabel() and "linear" in fig.axes[0].get_ylabel()
    plt.close(fig)
    assert plot_results(_results(), tmp_path / "p.png").stat().st_size > 10_000
