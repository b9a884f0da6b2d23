"""Input formats -> datatrove Documents, with every unreadable record set aside instead of dropped.

datatrove's readers log and skip bad JSON lines, and a UnicodeDecodeError aborts the rest of a file.
Our readers subclass them so that each unreadable record (bad JSON, bad UTF-8, missing or non-string
text, a truncated compressed stream) is written to `rejected/` with the error and `file:line`, and
counted (`rejected` stat) so the ledger balances: input = output + removed + rejected.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import IO

import orjson
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.readers import JsonlReader, ParquetReader, WarcReader
from datatrove.pipeline.readers.base import BaseDiskReader, BaseReader

from curation.registry import InputParams, ReaderContext, register_reader
from runfolder import RunFolder

MAX_RAW_CHARS = 2000  # how much of an unreadable record is kept in rejected/ (enough to debug, bounded)


def _folder_and_glob(path: str, glob: str | None) -> tuple[str, str | None]:
    """Split a recipe `path` (file, folder or glob) into datatrove's data_folder + glob_pattern."""
    if any(ch in path for ch in "*?["):
        head, parts = [], Path(path).parts
        for i, part in enumerate(parts):
            if any(ch in part for ch in "*?["):
                return (str(Path(*head)) if head else "."), str(Path(*parts[i:]))
            head.append(part)
    p = Path(path)
    if p.is_file():
        return str(p.parent), p.name
    if not p.exists():
        raise FileNotFoundError(f"input path does not exist: {path}")
    return str(p), glob


class RejectingReaderMixin:
    """Adds `reject()` and strict text validation to a datatrove reader.

    Rejected records go to `<run>/rejected/<rank>.jsonl` as `{source, line, error, raw}`.
    """

    rejected_dir: str | None = None
    _rank: int = 0
    _rejected_fh: IO | None = None

    def reject(self, source: str, line: int | None, error: str, raw: object = None) -> None:
        self.stat_update("rejected")
        if isinstance(raw, bytes):
            raw = raw[:MAX_RAW_CHARS].decode("utf-8", errors="backslashreplace")
        elif raw is not None and not isinstance(raw, str):
            raw = orjson.dumps(raw, default=repr).decode()
        record = {"source": source, "line": line, "error": error, "raw": (raw or "")[:MAX_RAW_CHARS]}
        if self.rejected_dir:
            if self._rejected_fh is None:
                os.makedirs(self.rejected_dir, exist_ok=True)
                name = f"{self._rank:05d}.jsonl"
                self._rejected_fh = open(os.path.join(self.rejected_dir, name), "wb")
            self._rejected_fh.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
            self._rejected_fh.flush()

    def get_document_from_dict(self, data, source_file: str, id_in_file):
        if not isinstance(data, dict):
            self.reject(source_file, id_in_file, f"record is a {type(data).__name__}, not an object", data)
            return None
        if self.text_key not in data:
            self.reject(source_file, id_in_file, f"missing text field {self.text_key!r}", data)
            return None
        text = data[self.text_key]
        if not isinstance(text, str):
            self.reject(source_file, id_in_file, f"text field {self.text_key!r} is {type(text).__name__}", data)
            return None
        if self.id_key in data and not isinstance(data[self.id_key], str):
            data[self.id_key] = str(data[self.id_key])
        parsed = self.adapter(data, source_file, id_in_file)
        doc = Document(text=parsed["text"], id=parsed["id"], metadata=parsed.get("metadata") or {})
        if getattr(self, "add_file_path", False):
            doc.metadata.setdefault("file_path", source_file)
        self.stat_update("input_bytes", value=len(doc.text.encode("utf-8", errors="surrogatepass")))
        return doc

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self._rank = rank
        try:
            yield from super().run(data, rank, world_size)
        finally:
            self.close_rejected()

    def close_rejected(self) -> None:
        if self._rejected_fh is not None:
            self._rejected_fh.close()
            self._rejected_fh = None


class LedgerJsonlReader(RejectingReaderMixin, JsonlReader):
    """JSON lines (plain, .gz, .zst); a bad line is rejected and reading goes on with the next one."""

    name = "🐿 Jsonl (ledger)"

    def read_file(self, filepath: str):
        line_no = 0
        with self.data_folder.open(filepath, "rb", compression=self.compression) as f:
            try:
                for line_no, raw in enumerate(f, start=1):
                    if not raw.strip():
                        continue
                    with self.track_time():
                        try:
                            data = orjson.loads(raw)  # orjson rejects invalid UTF-8 itself
                        except orjson.JSONDecodeError as e:
                            try:
                                raw.decode("utf-8")
                                err = f"malformed JSON: {e}"
                            except UnicodeDecodeError as ue:
                                err = f"invalid UTF-8: {ue}"
                            self.reject(filepath, line_no, err, raw)
                            continue
                        doc = self.get_document_from_dict(data, filepath, line_no)
                    if doc is not None:
                        yield doc
            except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as e:
                self.reject(filepath, line_no + 1, f"truncated or corrupt compressed stream: {e}")

    def _default_adapter(self, data: dict, path: str, id_in_file):
        has_id = self.id_key in data
        out = super()._default_adapter(data, path, id_in_file)
        if not has_id:
            out["id"] = f"{path}:{id_in_file}"  # derived ids: file:line (1-based), stable across runs
        return out


class SegmentReader(LedgerJsonlReader):
    """Reads a barrier's intermediate shards back; an empty segment (all removed) is not an error."""

    name = "🔁 Segment"

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if not self.data_folder.get_shard(rank, world_size, glob_pattern=self.glob_pattern):
            return  # this task's share of the segment is empty (e.g. one input file, several tasks)
        yield from super().run(data, rank, world_size)


class LedgerParquetReader(RejectingReaderMixin, ParquetReader):
    name = "📒 Parquet (ledger)"

    def read_file(self, filepath: str):
        try:
            yield from super().read_file(filepath)
        except Exception as e:  # a corrupt file is one rejected record; the rest of the run goes on
            self.reject(filepath, None, f"unreadable parquet file: {type(e).__name__}: {e}")


class TextFileReader(RejectingReaderMixin, BaseDiskReader):
    """One document per text file; the id is the file's path relative to the input folder."""

    name = "📄 Text files"

    def read_file(self, filepath: str):
        with self.data_folder.open(filepath, "rb") as f:
            raw = f.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            self.reject(filepath, None, f"invalid UTF-8: {e}", raw)
            return
        doc = self.get_document_from_dict({"text": text, "id": filepath}, filepath, 0)
        if doc is not None:
            yield doc


class HFDiskReader(RejectingReaderMixin, BaseReader):
    """A local `datasets.Dataset.save_to_disk` folder (never a hub name: rootstock runs offline)."""

    name = "🤗 HF dataset (local)"

    def __init__(self, path: str, **kwargs):
        super().__init__(**kwargs)
        self.path = path

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self._rank = rank
        from datasets import load_from_disk

        ds = load_from_disk(self.path)
        if hasattr(ds, "keys"):  # DatasetDict: read every split, in name order
            from datasets import concatenate_datasets

            ds = concatenate_datasets([ds[k] for k in sorted(ds.keys())])
        shard = ds.shard(num_shards=world_size, index=rank, contiguous=True)
        offset = sum(len(ds.shard(world_size, r, contiguous=True)) for r in range(rank))
        n = 0
        try:
            for i, row in enumerate(shard):
                if self.limit != -1 and n >= self.limit:
                    break
                doc = self.get_document_from_dict(dict(row), self.path, offset + i)
                if doc is not None:
                    self.stat_update("documents")
                    self.update_doc_stats(doc)
                    n += 1
                    yield doc
        finally:
            self.close_rejected()

    def _default_adapter(self, data: dict, path: str, id_in_file):
        has_id = self.id_key in data
        out = super()._default_adapter(data, path, id_in_file)
        if not has_id:
            out["id"] = f"{Path(path).name}:{id_in_file}"
        return out


class LedgerWarcReader(RejectingReaderMixin, WarcReader):
    name = "🕷 Warc (ledger)"


def _disk_kwargs(p: InputParams, ctx: ReaderContext) -> dict:
    folder, glob = _folder_and_glob(p.path, p.glob)
    return dict(
        data_folder=folder,
        glob_pattern=glob,
        limit=ctx.limit,
        text_key=p.text_key,
        id_key=p.id_key,
        doc_progress=ctx.progress,
    )


def _with_rejects(reader, ctx: ReaderContext):
    reader.rejected_dir = str(RunFolder(ctx.run_dir).rejected)
    return reader


@register_reader("jsonl")
def jsonl_reader(p: InputParams, ctx: ReaderContext):
    """JSON lines, plain or .gz/.zst; `path` is a file, a folder or a glob."""
    return _with_rejects(LedgerJsonlReader(**_disk_kwargs(p, ctx)), ctx)


@register_reader("parquet")
def parquet_reader(p: InputParams, ctx: ReaderContext):
    """Parquet files; `path` is a file, a folder or a glob."""
    return _with_rejects(LedgerParquetReader(**_disk_kwargs(p, ctx)), ctx)


@register_reader("text")
def text_reader(p: InputParams, ctx: ReaderContext):
    """Plain text, one document per file (UTF-8; other encodings are rejected, not guessed)."""
    return _with_rejects(TextFileReader(**_disk_kwargs(p, ctx)), ctx)


@register_reader("hf")
def hf_reader(p: InputParams, ctx: ReaderContext):
    """A local folder written by `datasets.Dataset.save_to_disk` (all splits of a DatasetDict)."""
    if not Path(p.path).is_dir():
        raise FileNotFoundError(f"hf input must be a local save_to_disk folder: {p.path}")
    reader = HFDiskReader(p.path, limit=ctx.limit, text_key=p.text_key, id_key=p.id_key)
    return _with_rejects(reader, ctx)


class WarcParams(InputParams):
    text_key: str = "text"
    extractor: str = "trafilatura"  # HTML -> text; "none" keeps raw HTML in `text`
    favour_precision: bool = True
    timeout_s: float = 5.0  # per page; trafilatura can hang on pathological HTML


@register_reader("warc", WarcParams)
def warc_reader(p: WarcParams, ctx: ReaderContext):
    """WARC (.warc/.warc.gz) responses; HTML -> text with trafilatura through datatrove; keeps url + WARC metadata."""
    from datatrove.pipeline.extractors import Trafilatura

    folder, glob = _folder_and_glob(p.path, p.glob)
    reader = _with_rejects(
        LedgerWarcReader(data_folder=folder, glob_pattern=glob, limit=ctx.limit, doc_progress=ctx.progress),
        ctx,
    )
    if p.extractor == "none":
        return reader
    return [reader, Trafilatura(favour_precision=p.favour_precision, timeout=p.timeout_s)]
