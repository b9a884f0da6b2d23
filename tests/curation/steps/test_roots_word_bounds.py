"""`roots_filters`' word count has two bounds; the removal reason and summary.json name the one that
failed (issue 14, item 8: a 143,668-word document was removed as `roots_n_words`, shown as "≥ 10").

Run: `.venv/bin/python -m pytest tests/curation/steps/test_roots_word_bounds.py`
"""

from __future__ import annotations

from datatrove.data import Document

import runfolder
from curation.registry import get_op
from curation.steps.roots import make_filter
from curation.steps.roots.params import RootsParams

OPEN = {"max_char_rep_ratio": 1.0, "max_word_rep_ratio": 1.0, "max_special_char_ratio": 1.0,
        "min_stopword_ratio": 0.0, "max_flagged_word_ratio": 1.0, "min_lang_score": 0.0}  # fmt: skip


def _decide(text: str, **params):
    step = make_filter(RootsParams(**OPEN, skip=["lang_score"], **params))
    doc = Document(text=text, id="0", metadata={"lang": "en", "lang_score": 0.99})
    return step.decide(doc, step.score(doc))


def test_the_reason_names_the_bound_that_failed():
    words = " ".join(f"w{i}x" for i in range(30))
    assert _decide(words, min_words=50, max_words=100) == (False, "roots_n_words_too_few")
    assert _decide(words, min_words=5, max_words=20) == (False, "roots_n_words_too_many")
    assert _decide(words, min_words=30, max_words=30) is True  # both bounds inclusive, as in ROOTS


def test_summary_thresholds_carry_both_bounds():
    th = get_op("roots_filters").thresholds(RootsParams(max_words=5000, per_lang={"fr": {"min_words": 3}}))
    parsed = {t.key: t for t in runfolder.parse_thresholds({"roots_filters": th})}
    low, high = parsed["roots.n_words"], parsed["roots.n_words_max"]
    assert (low.op, low.metric, low.param, low.per_lang["fr"]) == ("min", "roots.n_words", "min_words", 3)
    assert (high.op, high.metric, high.param, high.value) == ("max", "roots.n_words", "max_words", 5000)
    assert high.per_lang["en"] == 5000  # a top-level override applies to every language
