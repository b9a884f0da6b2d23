"""Fuzz the run-folder readers (Hypothesis): a generated summary.json either reads (and then `curate
stats` prints it and the dashboard's analysis helpers use it without raising) or is a SummaryError; a
generated results.json either loads (and the Ablations page's frames build) or is a ResultsError.

Run: `.venv/bin/python -m pytest tests/runfolder/test_fuzz_runfolder.py`
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("hypothesis")
from hypothesis import given
from hypothesis import strategies as st

from runfolder import SummaryError, read_summary
from runfolder.results import ResultsError, load_results
from tests.runfolder.test_summary_checked import GOOD
from tests.sandbox import freeze, sandbox

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
                      max_leaves=10)


@st.composite
def summaries(draw):
    """The sound summary with some keys replaced (at the top, in a section or in a step) or dropped."""
    s = json.loads(json.dumps(GOOD))
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from(["top", "input", "output", "invariant", "step"]))
        obj = s if target == "top" else s["steps"][0] if target == "step" and isinstance(s.get("steps"), list) and s["steps"] \
            and isinstance(s["steps"][0], dict) else s.get(target)
        if not isinstance(obj, dict):
            continue
        key = draw(st.sampled_from(sorted(obj) + ["languages", "pii", "shards", "problems", "readable_docs"]))
        if draw(st.booleans()):
            obj[key] = draw(values)
        else:
            obj.pop(key, None)
    return s


@given(summaries() | values)
def test_fuzz_summary_json(summary):
    from curation.cli_display import funnel_table, print_summary
    from dashboard import analysis

    with sandbox() as (inp, _, holder):
        (inp / "summary.json").write_text(json.dumps(summary))
        freeze(inp, holder)
        try:
            s = read_summary(inp)
        except SummaryError:
            return
        funnel_table(s)
        print_summary(s)
        analysis.thresholds(s) if hasattr(analysis, "thresholds") else None


@given(st.fixed_dictionaries({k: values for k in ("variants", "comparisons", "multipliers", "controls", "evals",
                                                  "wall_seconds")}, optional={"fit": values, "name": values}) | values)
def test_fuzz_results_json(results):
    from dashboard import ablations

    with sandbox() as (inp, _, holder):
        (inp / "results.json").write_text(json.dumps(results))
        freeze(inp, holder)
        try:
            res = load_results(inp)
        except ResultsError:
            return
        ablations.controls_frame(res)
        ablations.fit_status(res)
        for ev in res["evals"]:
            ablations.comparisons_frame(res, ev)
            ablations.multipliers_frame(res, ev)
            ablations.seed_band(res, ev)
