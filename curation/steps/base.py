"""Shallow bases for our datatrove steps: score/decide filters and document transforms.

Both keep datatrove's counter names (`total`, `forwarded`, `dropped`, `dropped_<reason>`), so the
ledger reads our steps and datatrove's own filters (Gopher, C4, FineWeb) the same way.
"""

from __future__ import annotations

from abc import abstractmethod

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.utils.typeshelper import StatHints

LEDGER_PREFIX = "ledger:"


def ledger_update(step: PipelineStep, section: str, key: str, value: int = 1) -> None:
    """Add `value` to summary.json's `section[key]` (e.g. `pii.email`, `languages.fr`).

    The count travels through datatrove's per-task stats, so it survives multiprocessing and resume.
    """
    step.stat_update(f"{LEDGER_PREFIX}{section}:{key}", value=value)


class LazyFastTextModel:
    """`self.model`: the fastText model at `self.model_path`, loaded on first use in each worker.

    fastText models don't pickle and datatrove pickles steps to send them to its workers, so the model
    is dropped from the pickled state and loaded again where it is used.
    """

    model_path: str
    _model = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_model"] = None
        return state

    @property
    def model(self):
        if self._model is None:
            import fasttext

            self._model = fasttext.load_model(self.model_path)
        return self._model


class ScoredFilter(BaseFilter):
    """A filter split into `score` (metrics, written to metadata for every doc) and `decide`.

    Metrics are stored for kept *and* removed documents so the dashboard can draw each metric's
    distribution against its threshold.
    """

    type = "🔻 - FILTER"
    metric_prefix = ""

    def __init__(self, exclusion_writer=None):
        super().__init__(exclusion_writer=exclusion_writer)

    @abstractmethod
    def score(self, doc: Document) -> dict[str, float]:
        """Metrics of one document (no side effects)."""

    @abstractmethod
    def decide(self, doc: Document, scores: dict[str, float]) -> bool | tuple[bool, str]:
        """True to keep; `(False, reason)` to remove with a snake_case reason."""

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        scores = self.score(doc)
        for key, value in scores.items():
            doc.metadata[f"{self.metric_prefix}{key}"] = value
        return self.decide(doc, scores)


class DocTransform(PipelineStep):
    """A step that changes documents but never removes one (e.g. PII scrubbing)."""

    type = "✍️ - TRANSFORM"

    @abstractmethod
    def transform(self, doc: Document) -> Document:
        """Return the (possibly modified) document."""

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            self.stat_update(StatHints.total)
            with self.track_time():
                doc = self.transform(doc)
            self.stat_update(StatHints.forwarded)
            yield doc
