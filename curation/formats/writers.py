"""Output writers: the registry of `output.format`s, shard rollover, and the removed-documents writer.

datatrove's writers drop falsy fields (an empty text would vanish) and only roll files over by
size; ours always keep `text`, and roll over by documents *or* bytes, naming shards
`<rank:05d>_<shard:05d>.<ext>` so the same input gives the same files. Each output format registers
its writer here from its own module (`jsonl.py`, `parquet.py`, `instruct.py`) with `@register_writer`.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable

from datatrove.data import Document
from datatrove.io import OutputFileManager
from datatrove.pipeline.writers import JsonlWriter

from curation.formats.rejects import write_rejected
from curation.plugins import Registry
from curation.steps.base import LEDGER_PREFIX

# What a document that cannot be written raises (orjson: nesting > 255, unknown types; pyarrow:
# ArrowInvalid/ArrowTypeError subclass these). Disk errors (OSError) still stop the run.
UNWRITABLE = (TypeError, ValueError, OverflowError, RecursionError)

# output.format -> fn(folder, max_shard_docs, max_shard_bytes) -> a datatrove writer; reading it imports
# the format modules first, so it is complete whoever reads it first
OUTPUT_FORMATS: Registry[Callable] = Registry("output format", discover=("curation.formats",))


def register_writer(fmt: str):
    """Register `fn(folder, max_shard_docs=None, max_shard_bytes=None) -> writer` as `output.format: fmt`."""

    def deco(fn):
        OUTPUT_FORMATS.add(fmt, fn)
        return fn

    return deco


def document_record(doc: Document) -> dict:
    """The run-folder record: text (always, even empty), id, metadata."""
    return {"text": doc.text, "id": doc.id, "metadata": doc.metadata}


def record_adapter(_writer, doc: Document) -> dict:
    """datatrove writer adapter that writes `document_record(doc)`."""
    return document_record(doc)


class _ReproducibleGzipFile(gzip.GzipFile):
    """gzip with mtime 0 and no file name in the header, closing the file under it too: the same
    documents give the same bytes (reruns and kill -9 resumes are byte-identical)."""

    def __init__(self, raw):
        super().__init__(filename="", mode="wb", fileobj=raw, mtime=0)
        self._raw = raw

    def close(self):
        try:
            super().close()
        finally:
            self._raw.close()


class ReproducibleGzipFiles(OutputFileManager):
    """datatrove's output file manager, writing gzip through `_ReproducibleGzipFile` (fsspec's gzip
    stamps the write time and the file name into every header)."""

    def get_file(self, filename):
        if filename not in self._output_files:
            self._output_files[filename] = _ReproducibleGzipFile(self.fs.open(filename, mode="wb"))
        return self._output_files[filename]


def reproducible(writer):
    """Make a datatrove disk writer's gzip output byte-reproducible (a no-op for other compressions)."""
    if getattr(writer, "compression", None) == "gzip":
        writer.output_mg = ReproducibleGzipFiles(writer.output_folder, mode="wb", compression=None)
    return writer


MAX_SOURCES = 200  # distinct `source` values counted per task (a per-document value is not a source)


class ShardRollover:
    """Mixin: start a new shard after `max_shard_docs` documents or `max_shard_bytes` of text, and
    reject (rejected/<rank>.output.jsonl, `rejected` stat) a document the format cannot write instead
    of failing the run."""

    rejected_dir: str | None = None
    rejected_name = "{rank:05d}.output.jsonl"
    _rejected_fh = None
    _rank = 0

    def _init_rollover(self, max_shard_docs: int | None, max_shard_bytes: int | None) -> None:
        self.max_shard_docs = max_shard_docs or 0
        self.max_shard_bytes = max_shard_bytes or 0
        self._shard, self._shard_docs, self._shard_bytes, self._current = 0, 0, 0, None

    def write(self, document: Document, rank: int = 0, **kwargs):
        full = (self.max_shard_docs and self._shard_docs >= self.max_shard_docs) or (
            self.max_shard_bytes and self._shard_bytes >= self.max_shard_bytes
        )
        if full and self._current is not None:
            self.close_file(self._current)
            self._shard += 1
            self._shard_docs, self._shard_bytes = 0, 0
        nbytes = len(document.text.encode("utf-8", errors="surrogatepass"))
        self._rank = rank
        try:
            super().write(document, rank, shard=f"{self._shard:05d}")
        except UNWRITABLE as e:
            self.stat_update("rejected")
            source = document.metadata.get("file_path") or document.id
            write_rejected(self, {"source": str(source), "line": None, "raw": document.text,
                                  "error": f"unwritable document: {type(e).__name__}: {e}"})
            return
        self._current = self._get_output_filename(document, rank, shard=f"{self._shard:05d}")
        self._shard_docs += 1
        self._shard_bytes += nbytes
        self.stat_update("output_bytes", value=nbytes)
        self._count_source(document.metadata.get("source"))

    def _count_source(self, source) -> None:
        """summary.json `sources`: kept documents per `source` metadata value (the dataset card's counts),
        at most MAX_SOURCES names per task; the rest are counted as `(other)`."""
        if not isinstance(source, str):
            return
        seen = self.__dict__.setdefault("_sources_seen", set())
        if source not in seen and len(seen) >= MAX_SOURCES:
            source = "(other)"
        seen.add(source)
        self.stat_update(f"{LEDGER_PREFIX}sources:{source}")

    def close(self):
        try:
            super().close()
        finally:
            if self._rejected_fh is not None:
                self._rejected_fh.close()
                self._rejected_fh = None


def _removed_adapter(writer, doc: Document) -> dict:
    doc.metadata["removed_by"] = writer.step_id
    doc.metadata["reason"] = doc.metadata.pop("filter_reason", None) or "removed"
    return document_record(doc)


class RemovedWriter(JsonlWriter):
    """Exclusion writer for a filter: `removed/<step_id>/<rank>.jsonl.gz` with removed_by and reason."""

    name = "🗑 Removed"

    def __init__(self, output_folder, step_id: str):
        super().__init__(output_folder, output_filename="${rank}.jsonl.gz", adapter=_removed_adapter)
        self.step_id = step_id
        reproducible(self)


def make_output_writer(folder, fmt: str, max_shard_docs=None, max_shard_bytes=None):
    """The final writer of a run, by `output.format`."""
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; known: {', '.join(sorted(OUTPUT_FORMATS))}")
    return OUTPUT_FORMATS[fmt](folder, max_shard_docs, max_shard_bytes)
