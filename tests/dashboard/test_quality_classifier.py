"""The classifier score in the dashboard like any metric: histogram with its threshold, what-if slider,
recipe snippet export (no dashboard code knows about the op: `quality.*` metadata + summary thresholds).

A real `curate run` with a fastText model trained on the test fixtures (licenses: tests/data/README.md).
Run: `.venv/bin/python -m pytest tests/dashboard/test_quality_classifier.py`
"""

import pytest
import yaml

from dashboard import analysis, data
from tests.conftest import SAMPLE
from tests.curation.steps.test_classifier_train import train_small
from tests.dashboard.test_pages import open_page


@pytest.mark.parametrize("rule", [{"min_score": 0.3}, {"keep_top_fraction": 0.4}])
def test_classifier_score_has_threshold_slider_and_export(tmp_path, run_recipe, dashboard_args, rule):
    model, _ = train_small(tmp_path / "model")
    code, run_dir, summary = run_recipe({
        "name": "qc-dash",
        "input": {"format": "jsonl", "path": str(SAMPLE)},
        "steps": [{"quality_classifier": {"model_path": str(model), **rule}}],
        "output": {"keep_removed": True},
    })  # fmt: skip
    assert code == 0
    (th,) = analysis.thresholds_from_summary(summary)
    assert (th.step, th.metric, th.param, th.keeps_below) == (
        "quality_classifier",
        "quality.fixture",
        "min_score",
        False,
    )
    assert "quality.fixture" in data.metric_columns(data.sample_documents(run_dir))

    dashboard_args(run_dir)
    at = open_page("filters")
    assert not at.error, [e.value for e in at.error]
    heads = [m.value for m in at.markdown if m.value.startswith("**`quality.fixture`**")]
    assert heads and "quality_classifier: ≥" in heads[0]
    at.slider(key="th::quality_classifier::quality.fixture").set_value(0.6).run()
    assert not at.exception
    snippet = next(c.value for c in at.code if c.value.startswith("# Thresholds chosen"))
    steps = {k: v for s in yaml.safe_load(snippet)["steps"] for k, v in s.items()}
    assert steps["quality_classifier"] == {"min_score": pytest.approx(0.6, rel=0.05)}
