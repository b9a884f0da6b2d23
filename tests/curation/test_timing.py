"""Per-step seconds in summary.json are each step's own time, not its neighbours' (issue 14, item 4).

A deliberately slow step runs after two upstream steps: a real filter (`length_filter`) and a step
that times its whole loop, yields included (as datatrove's CSV reader does): datatrove's own
`time_stats` charges that one for the slow step's sleeps. Neither upstream step may be charged.

Run: `.venv/bin/python -m pytest tests/curation/test_timing.py`
"""

from __future__ import annotations

import time

import pytest
from datatrove.pipeline.base import PipelineStep

import curation
from curation import registry
from curation.registry import Op, OpParams
from tests.conftest import SAMPLE

SLEEP = 0.02
DOCS = 25


class SlowStep(PipelineStep):
    """Sleeps SLEEP seconds per document inside its own timed block (wall time, no CPU)."""

    name = "slow"

    def run(self, data, rank: int = 0, world_size: int = 1):
        for doc in data:
            self.stat_update("total")
            with self.track_time():
                time.sleep(SLEEP)
            self.stat_update("forwarded")
            yield doc


class WholeLoopTimer(PipelineStep):
    """Times its whole loop, the yield included: datatrove's time_stats charges it for downstream work."""

    name = "whole loop"

    def run(self, data, rank: int = 0, world_size: int = 1):
        with self.track_time():
            for doc in data:
                self.stat_update("total")
                self.stat_update("forwarded")
                yield doc


@pytest.fixture
def test_ops(monkeypatch):
    ops = registry.all_ops()  # plugins imported first, so the real ops are there too
    for name, cls in (("t_slow", SlowStep), ("t_whole_loop", WholeLoopTimer)):
        assert name not in ops
        monkeypatch.setattr(registry, "OPS", registry.OPS.copy())
        registry.OPS.add(name, Op(name, OpParams, lambda p, ctx, cls=cls: cls(), cls.__doc__, None))


def test_a_slow_downstream_step_is_not_charged_upstream(tmp_path, test_ops):
    run = curation.run(
        {
            "name": "timing",
            "input": {"format": "jsonl", "path": str(SAMPLE)},
            "steps": [{"length_filter": {"min_chars": 1}}, {"t_whole_loop": {}}, {"t_slow": {}}],
            "output": {"path": str(tmp_path / "run")},
            "executor": {"kind": "local", "tasks": 1},
        },
        limit=DOCS,
    )
    steps = {s["name"]: s for s in run.summary["steps"]}
    slept = steps["t_slow"]["in"] * SLEEP
    assert steps["t_slow"]["in"] == DOCS
    assert steps["t_slow"]["seconds"] >= 0.9 * slept
    assert steps["t_slow"]["cpu_seconds"] < 0.5 * slept  # sleeping is wall time, not CPU
    # the upstream steps: well under the downstream sleep (before the fix, t_whole_loop got all of it)
    assert steps["t_whole_loop"]["seconds"] < 0.2 * slept
    assert steps["length_filter"]["seconds"] < 0.2 * slept
    assert steps["length_filter"]["cpu_seconds"] <= steps["length_filter"]["seconds"] + 0.05
