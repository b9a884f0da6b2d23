"""`input.format: parquet` and `output.format: parquet`.

Reading: a corrupt file is one rejected record and the run goes on. Writing: columns text, id and
metadata (a JSON string: per-document metadata keys differ between documents and steps, and a struct
column would make pyarrow refuse the second batch with a schema mismatch).
"""

from __future__ import annotations

import orjson
from datatrove.data import Document
from datatrove.pipeline.readers import ParquetReader
from datatrove.pipeline.writers import ParquetWriter

from curation.formats.base import RejectingReaderMixin, disk_kwargs, with_rejects
from curation.formats.writers import ShardRollover, register_writer
from curation.registry import InputParams, ReaderContext, register_reader


class RejectingParquetReader(RejectingReaderMixin, ParquetReader):
    name = "📒 Parquet (ledger)"

    def read_file(self, filepath: str):
        try:
            yield from super().read_file(filepath)
        except Exception as e:  # a corrupt file is one rejected record; the rest of the run goes on
            self.reject(filepath, None, f"unreadable parquet file: {type(e).__name__}: {e}")


@register_reader("parquet")
def parquet_reader(p: InputParams, ctx: ReaderContext):
    """Parquet files; `path` is a file, a folder or a glob."""
    return with_rejects(RejectingParquetReader(**disk_kwargs(p, ctx)), ctx)


def parquet_adapter(_writer, doc: Document) -> dict:
    return {"text": doc.text, "id": doc.id, "metadata": orjson.dumps(doc.metadata, default=str).decode()}


class ShardedParquetWriter(ShardRollover, ParquetWriter):
    name = "📒 Parquet (sharded)"

    def __init__(self, output_folder, max_shard_docs=None, max_shard_bytes=None, adapter=None):
        super().__init__(
            output_folder,
            output_filename="${rank}_${shard}.parquet",
            adapter=adapter or parquet_adapter,
            max_file_size=-1,
            use_content_defined_chunking=False,
        )
        self._init_rollover(max_shard_docs, max_shard_bytes)


@register_writer("parquet")
def parquet_writer(folder, max_shard_docs=None, max_shard_bytes=None):
    """Columns text, id, metadata (JSON string)."""
    return ShardedParquetWriter(folder, max_shard_docs, max_shard_bytes)
