"""The Filters what-if moves the value that applies to the documents shown (a one-language run: that
language's own value), labels values the recipe does not set as defaults, and exports only what changed.

Run: `.venv/bin/python -m pytest tests/dashboard/test_filters_whatif.py`
"""

import gzip
import json

import pytest
import yaml

from dashboard import analysis
from tests.dashboard.synthetic import write_synthetic_run
from tests.dashboard.test_pages import open_page, page_text

TH = analysis.Threshold(
    "roots_filters", "roots.char_rep_ratio", "max", 0.2, per_lang={"en": 0.106, "zh": 0.1}
)


def test_the_one_language_of_the_docs_is_the_value_that_applies():
    assert analysis.applying_lang(TH, {"en"}) == "en"
    assert analysis.applying_lang(TH, {"en", "zh"}) is None  # several: the top-level value and per-language
    assert analysis.applying_lang(TH, {"fr"}) is None  # no value of its own: the top-level one applies


def test_values_the_recipe_does_not_set_are_defaults():
    empty = {"max_char_rep_ratio": None, "per_lang": {}}  # `roots_filters: {}` resolved
    assert analysis.value_origin(TH, empty) == analysis.value_origin(TH, empty, "en") == "default"
    assert analysis.value_origin(TH, {"max_char_rep_ratio": 0.2, "per_lang": {}}) == "recipe"
    assert analysis.value_origin(TH, {"per_lang": {"en": {"max_char_rep_ratio": 0.1}}}, "en") == "recipe"


def test_export_holds_only_changed_values():
    unchanged = analysis.thresholds_yaml([(TH, 0.2, dict(TH.per_lang))], None, "r")
    assert "No threshold differs" in unchanged and "steps" not in (yaml.safe_load(unchanged) or {})
    text = analysis.thresholds_yaml([(TH, 0.2, {**TH.per_lang, "en": 0.12})], None, "r")
    assert yaml.safe_load(text)["steps"] == [
        {"roots_filters": {"per_lang": {"en": {"max_char_rep_ratio": 0.12}}}}
    ]


@pytest.fixture(scope="module")
def one_language_run(tmp_path_factory):
    """The synthetic run with every document in Chinese (whose char_rep_ratio has its own value, 0.1)."""
    path = tmp_path_factory.mktemp("zh") / "all-zh"
    write_synthetic_run(path, n_docs=800)
    for shard in [*path.glob("output/*.jsonl.gz"), *path.glob("removed/*/*.jsonl.gz")]:
        with gzip.open(shard, "rt") as f:
            docs = [json.loads(line) for line in f]
        for d in docs:
            d["metadata"]["lang"] = "zh"
        with gzip.open(shard, "wt") as f:
            f.writelines(json.dumps(d) + "\n" for d in docs)
    return path


def test_a_one_language_run_moves_its_languages_value(one_language_run, dashboard_args):
    dashboard_args(one_language_run)
    at = open_page("filters")
    slider = at.slider(key="th::roots_filters::roots.char_rep_ratio")
    assert slider.value == pytest.approx(0.1) and "for zh" in slider.label
    slider.set_value(0.05).run()
    assert not at.exception
    would = [m for m in at.metric if m.label == "Would fail (est.)"]
    assert any(m.delta not in (None, "no change") for m in would), [m.delta for m in would]
    snippet = next(c.value for c in at.code if c.value.startswith("# Thresholds chosen"))
    steps = {k: v for s in yaml.safe_load(snippet)["steps"] for k, v in s.items()}
    assert steps == {"roots_filters": {"per_lang": {"zh": {"max_char_rep_ratio": 0.05}}}}
    assert "roots_filters: ≤ 0.1 for zh, the only language" in page_text(at)
