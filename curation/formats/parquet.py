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
        """Rows in order; a row that cannot be a document (a binary column that is not UTF-8 text, a
        missing text) is rejected with `file:row` (1-based); an unreadable file or batch rejects the
        rest of the file from that row."""
        import pyarrow.parquet as pq

        row = 0
        try:
            with self.data_folder.open(filepath, "rb") as f, pq.ParquetFile(f) as pqf:
                columns = None if self.read_metadata else [self.text_key, self.id_key]
                for batch in pqf.iter_batches(batch_size=self.batch_size, columns=columns):
                    documents = []
                    with self.track_time("batch"):
                        for record in batch.to_pylist():
                            row += 1
                            doc = self.get_document_from_dict(record, filepath, row)
                            if doc is not None:
                                documents.append(doc)
                    yield from documents
        except Exception as e:  # noqa: BLE001 (pyarrow raises many types; the rest of the run goes on)
            self.reject(filepath, row + 1, f"unreadable parquet file: {type(e).__name__}: {e}")


@register_reader("parquet")
def parquet_reader(p: InputParams, ctx: ReaderContext):
    """Parquet files; `path` is a file, a folder or a glob."""
    return with_rejects(RejectingParquetReader(**disk_kwargs(p, ctx)), ctx, p)


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
