"""Score documents with a trained fastText quality classifier, as the `quality_classifier` op.

Every document gets `metadata["quality.<name>"]`: the model's probability of the positive `label`,
written on kept and removed documents alike (the dashboard draws both sides of the threshold). Text is
normalized exactly as at training time: the parameters come from the model card next to the model
(`curation/steps/classifier/train.py` writes it; without a card, the `Normalization` defaults apply).

Two ways to decide:
- `min_score`: a per-document threshold (removes `quality_score_low`), one pass, batched like `language_id`.
- `keep_top_fraction`: keep the best-scored share of the *whole* input. That threshold is a property of
  the score distribution, so this is a barrier op (like `exact_dedup`): each task scores its documents
  and writes the scores; one task picks the cutoff (the k-th highest score, k = ceil(fraction x n));
  the next segment removes documents below it (`quality_not_top`). Ties at the cutoff are all kept, so
  slightly more than the fraction can survive when many documents share the cutoff score.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import orjson
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from pydantic import Field, PrivateAttr, field_validator, model_validator

from curation.model_files import fasttext_labels
from curation.registry import Barrier, OpParams, StepContext, register_op
from curation.steps.base import LazyFastTextModel
from curation.steps.classifier.data import (
    LABEL_PREFIX,
    Normalization,
    card_path,
    normalize_text,
    positive_probs,
)
from runfolder.atomic import atomic_write


def model_labels(path: str) -> list[str]:
    """The labels of a fastText model file (without `__label__`); ValueError when it is not one.

    The checks (size against the header, a quantized model loaded in a bounded child, labels) are the
    shared ones of `curation.model_files`, the same as `language_id`'s.
    """
    if not Path(path).is_file():
        raise ValueError(f"model file not found: {path} (train one with `curate classifier train CONFIG`)")
    return [lab.removeprefix(LABEL_PREFIX) for lab in fasttext_labels(path)]


def load_normalization(model_path: str) -> tuple[Normalization, dict]:
    """The text normalization the model was trained with (from its card) and the card itself."""
    card_file = card_path(model_path)
    if not card_file.is_file():
        return Normalization(), {}
    try:
        card = orjson.loads(card_file.read_bytes())
        return Normalization(**card.get("normalization", {})), card
    except (orjson.JSONDecodeError, TypeError, ValueError) as e:
        raise ValueError(f"unreadable model card {card_file}: {e}") from None


class QualityClassifierFilter(LazyFastTextModel, BaseFilter):
    """Writes `quality.<name>` = P(label); removes documents below `min_score` (None: annotate only).

    Args:
        model_path: fastText supervised model file.
        label: the positive label (as trained, without `__label__`).
        metric: metadata key for the score, `quality.<name>`.
        min_score: remove documents whose score is below this (0-1); None keeps every document.
        scores_dir: when set, each task also writes its scores there (the keep_top_fraction barrier).
        batch_size: documents per fastText call (`filter_batch`: one C++ call per batch).
        exclusion_writer: where removed documents go.
    """

    name = "⭐ Quality classifier"

    def __init__(self, model_path: str, label: str, metric: str, min_score: float | None = None,
                 scores_dir: str | None = None, batch_size: int = 256, exclusion_writer=None):  # fmt: skip
        super().__init__(exclusion_writer=exclusion_writer, batch_size=batch_size)
        self.model_path, self.label, self.metric = str(model_path), label, metric
        self.min_score, self.scores_dir = min_score, scores_dir
        self.norm, _ = load_normalization(self.model_path)
        self._model = None
        self._scores: list[float] | None = None

    def score_texts(self, texts: list[str]) -> np.ndarray:
        """P(label) of raw document texts, normalized as at training (an empty text gets the model's prior)."""
        return positive_probs(self.model, [normalize_text(t, self.norm) for t in texts], self.label)

    def filter_batch(self, batch: list) -> list[bool | tuple[bool, str]]:
        """One fastText call per batch; datatrove's BaseFilter.run does the rest (counters, removed docs)."""
        scores = self.score_texts([d.text for d in batch]).tolist()
        results = []
        for doc, score in zip(batch, scores):
            doc.metadata[self.metric] = score
            results.append(self.min_score is None or score >= self.min_score or (False, "quality_score_low"))
        if self._scores is not None:
            self._scores += scores
        return results

    def filter(self, doc) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        """BaseFilter.run; with `scores_dir`, this task's scores are written once its shard is done."""
        self._scores = [] if self.scores_dir is not None else None
        yield from super().run(data, rank, world_size)
        if self._scores is not None:
            path = Path(self.scores_dir) / f"{rank:05d}.npy"
            atomic_write(path, np.asarray(self._scores, dtype=np.float64).tobytes())


class QualityCutoff(PipelineStep):
    """Single task: the score that keeps the top `fraction` of every task's documents."""

    type = "⭐ - QUALITY"
    name = "✂️ Quality cutoff"

    def __init__(self, work_dir: str, fraction: float):
        super().__init__()
        self.work_dir, self.fraction = work_dir, fraction

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        parts = [
            np.frombuffer(p.read_bytes(), dtype=np.float64)
            for p in sorted((Path(self.work_dir) / "scores").glob("*.npy"))
        ]
        scores = np.concatenate(parts) if parts else np.zeros(0)
        k = math.ceil(self.fraction * len(scores))
        cutoff = float(np.sort(scores)[::-1][k - 1]) if k else math.inf
        info = {"cutoff": cutoff if k else None, "scored": len(scores), "k": k, "fraction": self.fraction}
        atomic_write(Path(self.work_dir) / "cutoff.json", orjson.dumps(info))
        return iter(())


def read_cutoff(work_dir: str | Path) -> float | None:
    path = Path(work_dir) / "cutoff.json"
    return orjson.loads(path.read_bytes())["cutoff"] if path.is_file() else None


class QualityTopFilter(BaseFilter):
    """Removes documents whose score is below the barrier's cutoff (`quality_not_top`)."""

    name = "⭐ Quality top fraction"

    def __init__(self, work_dir: str, metric: str, exclusion_writer=None):
        super().__init__(exclusion_writer=exclusion_writer)
        self.work_dir, self.metric = work_dir, metric
        self._cutoff: float | None = None

    def filter(self, doc) -> bool | tuple[bool, str]:
        if self._cutoff is None:
            cutoff = read_cutoff(self.work_dir)
            self._cutoff = math.inf if cutoff is None else cutoff
        return doc.metadata.get(self.metric, -1.0) >= self._cutoff or (False, "quality_not_top")


class QualityClassifierParams(OpParams):
    model_path: str = Field(
        ..., description="fastText model from `curate classifier train` (its card is read too)"
    )
    label: str = Field("hq", description="the positive label whose probability is the score")
    name: str | None = Field(
        None, description="metric key quality.<name> (default: the card's name, else the file stem)"
    )
    min_score: float | None = Field(None, ge=0, le=1, description="remove docs scoring below this (0-1)")
    keep_top_fraction: float | None = Field(
        None,
        gt=0,
        le=1,
        description="keep this share of all docs, best scores first (a barrier: scores every shard first)",
    )
    _cutoff_file: Path | None = PrivateAttr(None)

    @field_validator("model_path")
    @classmethod
    def _model_loads(cls, v: str) -> str:
        model_labels(v)
        return v

    @field_validator("label")
    @classmethod
    def _label_known(cls, v: str, info) -> str:
        path = info.data.get("model_path")
        if path is not None:
            labels = model_labels(path)
            if v.removeprefix(LABEL_PREFIX) not in labels:
                raise ValueError(f"{path} has no label {v!r}; its labels: {', '.join(labels)}")
        return v.removeprefix(LABEL_PREFIX)

    @model_validator(mode="after")
    def _one_rule(self):
        if self.min_score is not None and self.keep_top_fraction is not None:
            raise ValueError("set min_score or keep_top_fraction, not both")
        if self.name is None:
            _, card = load_normalization(self.model_path)
            self.name = card.get("name") or Path(self.model_path).stem
        self.name = re.sub(r"[^\w-]+", "_", self.name)
        return self

    @property
    def metric(self) -> str:
        return f"quality.{self.name}"


def _thresholds(p: QualityClassifierParams) -> dict:
    if p.min_score is not None:
        return {p.metric: {"op": "min", "value": p.min_score, "param": "min_score"}}
    cutoff = read_cutoff(p._cutoff_file.parent) if p._cutoff_file is not None else None
    if cutoff is not None:  # keep_top_fraction: the cutoff the barrier computed (known after the run)
        return {p.metric: {"op": "min", "value": cutoff, "param": "min_score"}}
    return {}


@register_op("quality_classifier", QualityClassifierParams, thresholds=_thresholds)
def build_quality_classifier(p: QualityClassifierParams, ctx: StepContext):
    """Score docs with a trained fastText classifier (quality.<name> = P(label)); keep by min_score or top fraction."""
    if p.keep_top_fraction is None:
        return QualityClassifierFilter(
            p.model_path, p.label, p.metric, p.min_score, exclusion_writer=ctx.removed_writer()
        )
    work = ctx.work_dir
    p._cutoff_file = work / "cutoff.json"  # read by _thresholds when summary.json is written, after the run
    return Barrier(
        before=[
            QualityClassifierFilter(p.model_path, p.label, p.metric, None, scores_dir=str(work / "scores"))
        ],
        stages=[([QualityCutoff(str(work), p.keep_top_fraction)], 1)],
        filter=QualityTopFilter(str(work), p.metric, exclusion_writer=ctx.removed_writer()),
    )
