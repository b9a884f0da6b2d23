"""The parts every barrier op shares (an op that must see all shards before deciding: dedup, clustering).

A barrier op returns `registry.Barrier(before=[signature], stages=[([decide], 1)], filter=filter)`:

1. `BarrierSignature` (in the segment, every task): passes each document through unchanged except for
   its position `rank:index` stamped into `metadata[pos_key]`, collects one row per document from
   `sign(doc, pos)`, and writes the task's rows atomically to `work/<step>/<subdir>/<rank>.<ext>`
   once its shard is done (a resumed task rewrites its whole file, never half of it).
2. `BarrierDecide` (its own stage, one task, after every task of the segment finished): reads every
   rank's file (`rank_files`) and writes its decisions atomically (`runfolder.atomic_write`).
3. `BarrierFilter` (first step of the next segment): loads the decisions once per task and removes
   documents by position, popping `pos_key` so it never reaches `output/`.

Positions make decisions exact even when input ids repeat, and the same whatever the sharding; the
position is stamped on every document, so a value arriving with the input is always overwritten.
Exact dedup (`steps/dedup.py`) and MinHash dedup (`steps/minhash.py`: signatures as `.npz` rows, and a
`tasks`-wide band stage between signature and decision when sharded) are built on these classes.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path

import orjson
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter

from runfolder import atomic_write


def position(rank: int, index: int) -> str:
    """A document's place in the segment: `rank:index`, zero-padded so strings sort like the numbers."""
    return f"{rank:05d}:{index:010d}"


def parse_position(pos: str) -> tuple[int, int]:
    """`(rank, index)` of a `position` string."""
    rank, _, index = pos.partition(":")
    return int(rank), int(index)


def rank_files(folder: str | Path, suffix: str) -> list[Path]:
    """Every task's barrier file in `folder`, in rank order."""
    return sorted(Path(folder).glob(f"*{suffix}"))


class BarrierSignature(PipelineStep):
    """Pass-through that stamps positions and writes one file of rows per task (see the module doc)."""

    type = "🫂 - DEDUP"
    pos_key = "_barrier_pos"
    subdir = "rows"
    suffix = ".jsonl"

    def __init__(self, work_dir: str):
        super().__init__()
        self.work_dir = work_dir

    @abstractmethod
    def sign(self, doc: Document, pos: str):
        """The row this document contributes (e.g. `(hash, id, pos)`)."""

    def write_rows(self, path: Path, rows: list) -> None:
        """Write a task's rows atomically; JSON lines by default."""
        atomic_write(path, b"".join(orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in rows))

    def new_rows(self):
        """The container `run` appends each task's rows to (a list; a step may keep them on disk, and
        `run` calls its `close()`, if it has one, when the task ends or fails)."""
        return []

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        rows = self.new_rows()
        try:
            for i, doc in enumerate(data):
                with self.track_time():
                    pos = position(rank, i)
                    doc.metadata[self.pos_key] = pos
                    rows.append(self.sign(doc, pos))
                yield doc
            self.write_rows(Path(self.work_dir) / self.subdir / f"{rank:05d}{self.suffix}", rows)
        finally:
            if hasattr(rows, "close"):  # e.g. a spill file of rows kept on disk
                rows.close()


class BarrierDecide(PipelineStep):
    """The single-task stage: read every rank's rows, write the decisions; yields no documents."""

    type = "🫂 - DEDUP"

    def __init__(self, work_dir: str):
        super().__init__()
        self.work_dir = work_dir

    @abstractmethod
    def decide(self) -> None:
        """Read `rank_files(...)`, write the decisions with `runfolder.atomic_write`."""

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        self.decide()
        return iter(())


class BarrierFilter(BaseFilter):
    """Removes documents by position, from decisions loaded once per task."""

    pos_key = "_barrier_pos"

    def __init__(self, work_dir: str, exclusion_writer=None):
        super().__init__(exclusion_writer=exclusion_writer)
        self.work_dir = work_dir
        self._decisions = None

    @abstractmethod
    def load(self):
        """The decisions `BarrierDecide` wrote (called once, on the first document)."""

    @abstractmethod
    def filter_at(self, doc: Document, pos: str | None, decisions) -> bool | tuple[bool, str]:
        """Keep (True) or `(False, reason)` the document at `pos`."""

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self._decisions is None:
            self._decisions = self.load()
        return self.filter_at(doc, doc.metadata.pop(self.pos_key, None), self._decisions)
