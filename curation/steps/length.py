"""Length filter: the simplest ScoredFilter, and the one every recipe can start with."""

from __future__ import annotations

from pydantic import Field

from curation.registry import OpParams, StepContext, register_op
from curation.steps.base import ScoredFilter


class LengthParams(OpParams):
    min_chars: int = Field(0, ge=0, description="remove documents shorter than this (characters)")
    max_chars: int | None = Field(None, ge=1, description="remove documents longer than this (characters)")


class LengthFilter(ScoredFilter):
    name = "📏 Length"
    metric_prefix = "quality."

    def __init__(self, min_chars: int = 0, max_chars: int | None = None, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.min_chars, self.max_chars = min_chars, max_chars

    def score(self, doc):
        return {"chars": len(doc.text)}

    def decide(self, doc, scores):
        if scores["chars"] < self.min_chars:
            return False, "too_short"
        if self.max_chars is not None and scores["chars"] > self.max_chars:
            return False, "too_long"
        return True


def _thresholds(p: LengthParams) -> dict:
    out = {"quality.chars": {"op": "min", "value": p.min_chars}}
    if p.max_chars is not None:
        out["quality.chars_max"] = {"op": "max", "value": p.max_chars, "metric": "quality.chars"}
    return out


@register_op("length_filter", LengthParams, thresholds=_thresholds)
def length_filter(p: LengthParams, ctx: StepContext):
    """Remove documents outside [min_chars, max_chars] characters (reasons too_short / too_long)."""
    return LengthFilter(p.min_chars, p.max_chars, exclusion_writer=ctx.removed_writer())
