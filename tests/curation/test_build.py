"""Recipe -> stages: split at barrier ops, every pipeline step labelled for the ledger.

Run: `.venv/bin/python -m pytest tests/curation/test_build.py`
"""

from __future__ import annotations

from curation.build import build_stages, parse_tag
from curation.recipe import load_recipe
from tests.conftest import SAMPLE


def test_barrier_ops_split_the_recipe_into_labelled_stages(tmp_path):
    recipe = load_recipe({"name": "t", "input": {"format": "jsonl", "path": str(SAMPLE)},
                          "steps": [{"length_filter": {}}, {"exact_dedup": {}}, {"length_filter": {"min_chars": 5}}],
                          "output": {"path": str(tmp_path)}, "executor": {"tasks": 3}})
    stages = build_stages(recipe)
    assert [s.name for s in stages] == ["segment_0", "exact_dedup.stage_1", "segment_1"]
    assert [s.tasks for s in stages] == [3, 1, 3]
    labels = [[parse_tag(p.stats.name) for p in s.pipeline] for s in stages]
    assert labels[0][0] == ("reader", None) and labels[0][1] == ("step", "length_filter")
    assert labels[0][-1] == ("intermediate", None)
    assert all(role == "aux" and sid == "exact_dedup" for role, sid in labels[1])
    assert labels[2] == [("segment_reader", None), ("step", "exact_dedup"), ("step", "length_filter_2"),
                         ("output", None)]


def test_labelling_twice_keeps_one_label(tmp_path):
    from curation.build import tag

    step = build_stages(load_recipe({"name": "t", "input": {"format": "jsonl", "path": str(SAMPLE)},
                                     "output": {"path": str(tmp_path)}}))[0].pipeline[0]
    tag(step, "aux", "x")
    assert step.stats.name.count(" | ") == 1 and parse_tag(step.stats.name) == ("aux", "x")
