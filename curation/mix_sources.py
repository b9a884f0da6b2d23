"""Reading one source of a mixture: a run folder's output/ shards, or any input the curation readers
read (`path:` + `format:`, the reader registry of a recipe's `input:`), with the size of each document
in the mix's unit.

Why its own module: the plan pass and every emit pass read a source the same way, so what counts as a
document (a string text whose metadata matches `where`), what is set aside (an unreadable record, with
file:line, into the mixture's `rejected/<source>.jsonl`) and what a document weighs (1, its tokens by
the mix's tokenizer, or UTF-8 bytes / 4) are decided in one place. The plan pass only counts rejections
(nothing is written before the plan holds); the first emit pass over a source writes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from curation.errors import UsageError
from curation.formats.rejects import write_rejected
from curation.mix_config import MixSource
from runfolder import RunFolder
from runfolder.documents import iter_shard_checked, shards

BATCH = 256  # documents tokenized at once (the tokenizer's batch API is several times faster)


def doc_tokens(text: str) -> int:
    """Estimated tokens of a text: UTF-8 bytes / 4, rounded up (when the mix names no tokenizer)."""
    return (len(text.encode("utf-8")) + 3) // 4


def matches(metadata: dict, where: dict) -> bool:
    """`where` holds for a document: each key equals the value, or is one of the list's values."""
    for key, want in where.items():
        if key not in metadata:
            return False
        have = metadata[key]
        if isinstance(want, list):
            if have not in want:
                return False
        elif have != want:
            return False
    return True


@dataclass
class Tally:
    """What one pass over a source met: records = documents + unmatched (by `where`) + rejected."""

    documents: int = 0
    unmatched: int = 0
    rejected: int = 0

    @property
    def records(self) -> int:
        return self.documents + self.unmatched + self.rejected


class _RejectSink:
    """The attributes `write_rejected` expects of a reader, for records of a run folder's shards."""

    def __init__(self, folder: str | None, name: str):
        self.rejected_dir, self.rejected_name, self._rank, self._rejected_fh = folder, name, 0, None

    def close(self) -> None:
        if self._rejected_fh is not None:
            self._rejected_fh.close()
            self._rejected_fh = None


class SourceReader:
    """Streams the documents of one source that match its `where`, as `(record, token ids or None)`.

    `rejected_dir`: where unreadable records go (`<source>.jsonl`), or None to count them only."""

    def __init__(self, src: MixSource, tokenizer=None):
        self.src, self.tokenizer = src, tokenizer

    def check(self) -> None:
        """UsageError when the source cannot be read at all (no shards, a missing input path)."""
        if self.src.run is not None:
            if not shards(RunFolder(self.src.run).output):
                raise UsageError(
                    f"source {self.src.name}: {self.src.run} has no output shards (run its recipe first)"
                )
        else:
            self._reader(None)

    def read(self, tally: Tally, rejected_dir: str | None = None) -> Iterator[tuple[dict, list[int] | None]]:
        batch: list[dict] = []
        for rec in self._records(tally, rejected_dir):
            if matches(rec.get("metadata") or {}, self.src.where):
                tally.documents += 1
                batch.append(rec)
                if len(batch) >= BATCH:
                    yield from self._sized(batch)
                    batch = []
            else:
                tally.unmatched += 1
        yield from self._sized(batch)

    def _sized(self, batch: list[dict]) -> Iterator[tuple[dict, list[int] | None]]:
        if not batch:
            return
        if self.tokenizer is None:
            yield from ((rec, None) for rec in batch)
            return
        encoded = self.tokenizer.backend_tokenizer.encode_batch(
            [r["text"] for r in batch], add_special_tokens=False
        )
        yield from zip(batch, (e.ids for e in encoded))

    def _records(self, tally: Tally, rejected_dir: str | None) -> Iterator[dict]:
        if self.src.run is not None:
            yield from self._run_records(tally, rejected_dir)
            return
        reader = self._reader(rejected_dir)
        reject = reader.reject

        def counted(*args, **kwargs):  # every record the reader sets aside is counted in the ledger
            tally.rejected += 1
            return reject(*args, **kwargs)

        reader.reject = counted
        from datatrove.utils.logging import logger

        logger.disable("datatrove.pipeline.readers")  # "Reading input file ..." per file and pass: noise here
        try:
            for doc in reader.run(None, 0, 1):
                yield {"text": doc.text, "id": doc.id, "metadata": dict(doc.metadata)}
        finally:
            logger.enable("datatrove.pipeline.readers")

    def _run_records(self, tally: Tally, rejected_dir: str | None) -> Iterator[dict]:
        """A run's kept shards; a damaged line or a record without a string text (not what rootstock
        writes) is set aside with its shard and record number, never dropped silently."""
        sink = _RejectSink(rejected_dir, f"{self.src.name}.jsonl")
        try:
            for shard in shards(RunFolder(self.src.run).output):
                for n, rec, raw in iter_shard_checked(shard):
                    if rec is not None and isinstance(rec.get("text"), str):
                        yield rec
                        continue
                    tally.rejected += 1
                    if rec is None:
                        error = "malformed record: not a JSON object"
                    else:
                        error, raw = f"text is {type(rec.get('text')).__name__}, not a string", rec
                    write_rejected(sink, {"source": str(shard), "line": n, "error": error, "raw": raw})
        finally:
            sink.close()

    def _reader(self, rejected_dir: str | None):
        """The registry's reader of the source's input format, its rejections pointed at `rejected_dir`."""
        from curation.registry import ReaderContext, all_readers

        inp = self.src.input
        try:
            reader = all_readers()[inp.format].build(inp, ReaderContext(run_dir=Path(".")))
        except FileNotFoundError as e:
            raise UsageError(f"source {self.src.name}: {e}") from None
        reader.rejected_dir = rejected_dir
        reader.rejected_name = f"{self.src.name}.jsonl"
        return reader
