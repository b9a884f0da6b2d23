"""`input.format: jsonl` and `output.format: jsonl.gz | jsonl`: JSON lines, one document a line.

Reading: plain, .gz or .zst; a bad line (malformed JSON, invalid UTF-8, no string text) is rejected with
`file:line` and reading goes on; a truncated compressed stream rejects the rest of that file. Writing:
`{"text", "id", "metadata"}` per line in shards `<rank:05d>_<shard:05d>.jsonl[.gz]` (see writers.py).
"""

from __future__ import annotations

import orjson
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

from curation.formats.base import (
    STREAM_ERRORS,
    UTF8_BOM,
    RejectingReaderMixin,
    disk_kwargs,
    open_stream,
    with_rejects,
)
from curation.formats.writers import ShardRollover, record_adapter, register_writer, reproducible
from curation.registry import InputParams, ReaderContext, register_reader


class RejectingJsonlReader(RejectingReaderMixin, JsonlReader):
    """JSON lines (plain, .gz, .zst); a bad line is rejected and reading goes on with the next one."""

    name = "🐿 Jsonl (ledger)"

    def read_file(self, filepath: str):
        line_no = 0
        with open_stream(self.data_folder, filepath, self.compression) as f:
            try:
                for line_no, raw in enumerate(f, start=1):
                    if line_no == 1 and raw.startswith(UTF8_BOM):
                        raw = raw[len(UTF8_BOM):]  # a byte-order mark is not part of the first record
                    if not raw.strip():
                        continue
                    with self.track_time():
                        doc = self._parse_line(raw, filepath, line_no)
                    if doc is not None:
                        yield doc
            except STREAM_ERRORS as e:
                self.reject(filepath, line_no + 1, f"truncated or corrupt compressed stream: {e}")

    def _parse_line(self, raw: bytes, filepath: str, line_no: int):
        if self.max_doc_bytes and len(raw) > 2 * self.max_doc_bytes + 2**20:
            # far past the bound whatever the escaping: not worth parsing (memory)
            self.reject(filepath, line_no, f"document too large: a {len(raw)}-byte line > input.max_doc_bytes "
                        f"{self.max_doc_bytes}", raw)
            return None
        try:
            data = orjson.loads(raw)  # orjson rejects invalid UTF-8 itself
        except orjson.JSONDecodeError as e:
            try:
                raw.decode("utf-8")
                err = f"malformed JSON: {e}"
            except UnicodeDecodeError as ue:
                err = f"invalid UTF-8: {ue}"
            self.reject(filepath, line_no, err, raw)
            return None
        return self.get_document_from_dict(data, filepath, line_no)

    def _default_adapter(self, data: dict, path: str, id_in_file):
        has_id = self.id_key in data
        out = super()._default_adapter(data, path, id_in_file)
        if not has_id:
            out["id"] = f"{path}:{id_in_file}"  # derived ids: file:line (1-based), stable across runs
        return out


class SegmentReader(RejectingJsonlReader):
    """Reads a barrier's intermediate shards back; an empty segment (all removed) is not an error."""

    name = "🔁 Segment"

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if not self.data_folder.get_shard(rank, world_size, glob_pattern=self.glob_pattern):
            return  # this task's share of the segment is empty (e.g. one input file, several tasks)
        yield from super().run(data, rank, world_size)


@register_reader("jsonl")
def jsonl_reader(p: InputParams, ctx: ReaderContext):
    """JSON lines, plain or .gz/.zst; `path` is a file, a folder or a glob."""
    return with_rejects(RejectingJsonlReader(**disk_kwargs(p, ctx)), ctx, p)


class ShardedJsonlWriter(ShardRollover, JsonlWriter):
    name = "🐿 Jsonl (sharded)"

    def __init__(self, output_folder, max_shard_docs=None, max_shard_bytes=None, adapter=None, compression="gzip"):
        ext = ".jsonl.gz" if compression == "gzip" else ".jsonl"
        super().__init__(
            output_folder,
            output_filename="${rank}_${shard}" + ext,
            compression=compression,
            adapter=adapter or record_adapter,
        )
        reproducible(self)
        self._init_rollover(max_shard_docs, max_shard_bytes)


@register_writer("jsonl.gz")
def jsonl_gz_writer(folder, max_shard_docs=None, max_shard_bytes=None):
    """`{"text", "id", "metadata"}` per line, gzip-compressed shards."""
    return ShardedJsonlWriter(folder, max_shard_docs, max_shard_bytes, compression="gzip")


@register_writer("jsonl")
def jsonl_writer(folder, max_shard_docs=None, max_shard_bytes=None):
    """`{"text", "id", "metadata"}` per line, uncompressed shards."""
    return ShardedJsonlWriter(folder, max_shard_docs, max_shard_bytes, compression=None)
