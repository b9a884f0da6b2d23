"""Sharded output writers (jsonl.gz, parquet), the removed-documents writer and format adapters.

datatrove's writers drop falsy fields (an empty text would vanish) and only roll files over by
size; ours always keep `text`, and roll over by documents *or* bytes, naming shards
`<rank:05d>_<shard:05d>.<ext>` so the same input gives the same files.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import orjson
from datatrove.data import Document
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter

OUTPUT_FORMATS: dict[str, tuple[str, Callable[[Document], dict] | None]] = {}


def document_record(doc: Document) -> dict:
    """The run-folder record: text (always, even empty), id, metadata."""
    return {"text": doc.text, "id": doc.id, "metadata": doc.metadata}


def _adapter(_writer, doc: Document) -> dict:
    return document_record(doc)


def _parquet_adapter(_writer, doc: Document) -> dict:
    # One JSON string column: per-document metadata keys differ between documents and steps, and a
    # struct column would make pyarrow refuse the second batch with a schema mismatch.
    return {"text": doc.text, "id": doc.id, "metadata": orjson.dumps(doc.metadata, default=str).decode()}


class ShardRollover:
    """Mixin: start a new shard after `max_shard_docs` documents or `max_shard_bytes` of text."""

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
        self._current = self._get_output_filename(document, rank, shard=f"{self._shard:05d}")
        super().write(document, rank, shard=f"{self._shard:05d}")
        self._shard_docs += 1
        self._shard_bytes += nbytes
        self.stat_update("output_bytes", value=nbytes)


class ShardedJsonlWriter(ShardRollover, JsonlWriter):
    name = "🐿 Jsonl (sharded)"

    def __init__(self, output_folder, max_shard_docs=None, max_shard_bytes=None, adapter=None, compression="gzip"):
        ext = ".jsonl.gz" if compression == "gzip" else ".jsonl"
        super().__init__(
            output_folder,
            output_filename="${rank}_${shard}" + ext,
            compression=compression,
            adapter=adapter or _adapter,
        )
        self._init_rollover(max_shard_docs, max_shard_bytes)


class ShardedParquetWriter(ShardRollover, ParquetWriter):
    name = "📒 Parquet (sharded)"

    def __init__(self, output_folder, max_shard_docs=None, max_shard_bytes=None, adapter=None):
        super().__init__(
            output_folder,
            output_filename="${rank}_${shard}.parquet",
            adapter=adapter or _parquet_adapter,
            max_file_size=-1,
            use_content_defined_chunking=False,
        )
        self._init_rollover(max_shard_docs, max_shard_bytes)


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


def _format_adapter(fn, _writer, doc: Document) -> dict:
    return fn(doc)


def register_output_format(name: str, ext: str, adapter: Callable[[Document], dict]) -> None:
    """Register a jsonl output layout (e.g. chat formats): `adapter(doc) -> dict` is one output line."""
    OUTPUT_FORMATS[name] = (ext, adapter)


def make_output_writer(folder, fmt: str, max_shard_docs=None, max_shard_bytes=None):
    """The final writer of a run, by `output.format`."""
    if fmt == "parquet":
        return ShardedParquetWriter(folder, max_shard_docs, max_shard_bytes)
    if fmt in ("jsonl.gz", "jsonl"):
        return ShardedJsonlWriter(
            folder, max_shard_docs, max_shard_bytes, compression="gzip" if fmt == "jsonl.gz" else None
        )
    if fmt in OUTPUT_FORMATS:
        _, fn = OUTPUT_FORMATS[fmt]
        return ShardedJsonlWriter(folder, max_shard_docs, max_shard_bytes, adapter=partial(_format_adapter, fn))
    raise ValueError(f"unknown output format {fmt!r}")
