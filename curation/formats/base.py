"""What every input format shares: unreadable records are set aside (rejected/), never dropped.

datatrove's readers log and skip bad JSON lines, and a UnicodeDecodeError aborts the rest of a file.
Our readers subclass them so that each unreadable record (bad JSON, bad UTF-8, missing or non-string
text, a truncated compressed stream) is written to `rejected/` with the error and `file:line`, and
counted (`rejected` stat) so the ledger balances: input = output + removed + rejected.

Each format is one module of this package that registers its reader (and, for output formats, its
writer); this module holds the shared parts: `RejectingReaderMixin`, path/glob splitting, and the
keyword arguments every disk reader takes.
"""

from __future__ import annotations

import gzip
import io
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import orjson
from datatrove.data import Document, DocumentsPipeline
from tqdm import tqdm

from curation.formats.rejects import MAX_RAW_CHARS, write_rejected
from curation.registry import InputParams, ReaderContext
from runfolder import RunFolder

# Deepest nesting of a record's fields we accept. orjson reads up to 1024 levels but writes at most 255,
# so a record nested between the two would be read and then crash the writer at the end of the run;
# the document and its `metadata` add two levels, a margin leaves room for steps that add one.
MAX_DEPTH = 200
UTF8_BOM = b"\xef\xbb\xbf"
# What a truncated or corrupt compressed stream raises while being read (gzip, zstd, bz2, xz).
STREAM_ERRORS: tuple[type[BaseException], ...] = (EOFError, zlib.error, gzip.BadGzipFile, OSError)
try:
    import zstandard

    STREAM_ERRORS += (zstandard.ZstdError,)
except ImportError:  # pragma: no cover (a datatrove dependency)
    pass


class RecordError(ValueError):
    """A record that cannot become a document (rejected with this message, never raised past a reader)."""


def json_safe(value, depth: int = 0, field: str = ""):
    """`value` made writable as JSON, or RecordError.

    Bytes (a parquet binary column, a text stored as bytes) become text when they are UTF-8 and are
    rejected otherwise; nesting deeper than MAX_DEPTH is rejected (the writer could not write it).
    Mappings and lists are only copied when something inside them changed.
    """
    if depth > MAX_DEPTH:
        raise RecordError(f"nested deeper than {MAX_DEPTH} levels{f' in field {field!r}' if field else ''}")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise RecordError(f"binary value in field {field or '?'!r} (not UTF-8 text)") from None
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                k = str(k)
            out[k] = json_safe(v, depth + 1, field or k)
        return out
    if isinstance(value, (list, tuple)):
        return [json_safe(v, depth + 1, field) for v in value]
    return value  # dates, numpy scalars...: the writers know how to write them


@contextmanager
def open_stream(data_folder, filepath: str, compression: str | None = "infer"):
    """A binary stream of `filepath` that supports line iteration whatever its compression.

    zstandard's reader has no readline (line iteration raised UnsupportedOperation, so a valid
    `.jsonl.zst` read as 0 documents): wrap it in a BufferedReader.
    """
    with data_folder.open(filepath, "rb", compression=compression) as f:
        if not hasattr(f, "readline") or type(f).__module__.startswith("zstandard"):
            f = io.BufferedReader(f)
        yield f


def folder_and_glob(path: str, glob: str | None, storage_options: dict | None = None) -> tuple[str, str | None]:
    """Split a recipe `path` (file, folder or glob; local or `s3://...`) into datatrove's data_folder +
    glob_pattern."""
    from curation.storage import is_url, split_glob

    if is_url(path):
        return split_glob(path, glob, storage_options)
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


class RecordLimitReached(BaseException):
    """Raised by `reject()` at the record limit to end the task's read from inside a format's loop
    (a BaseException, so a format's `except Exception` cannot swallow it)."""


def input_path(reader, source: str) -> str:
    """A rejected record's file: for a single-file input, the path the recipe gave (datatrove passes the
    bare file name around, which says nothing in a folder of many runs' inputs); for a folder or glob,
    the path relative to the input root, as datatrove gives it."""
    folder = getattr(getattr(reader, "data_folder", None), "path", None)
    if not folder or source != getattr(reader, "glob_pattern", None):
        return source
    return f"{folder.rstrip('/')}/{source}"


class RejectingReaderMixin:
    """Adds `reject()` and strict text validation to a datatrove reader.

    Rejected records go to `<run>/rejected/<rank>.jsonl` as `{source, line, error, raw}`.
    """

    rejected_dir: str | None = None
    rejected_name: str = "{rank:05d}.jsonl"  # one file per task and per step that rejects
    max_doc_bytes: int | None = None  # input.max_doc_bytes: longer texts are rejected
    _rank: int = 0
    _rejected_fh: IO | None = None

    def reject(self, source: str, line: int | None, error: str, raw: object = None, offset: int | None = None) -> None:
        """Count one unreadable record and write it to rejected/ (`offset`: byte offset, for WARC)."""
        self.stat_update("rejected")
        write_rejected(self, {"source": input_path(self, source), "line": line, "error": error, "raw": raw,
                              "offset": offset})
        self._records_read = getattr(self, "_records_read", 0) + 1
        if 0 < getattr(self, "_limit_records", -1) <= self._records_read:
            raise RecordLimitReached

    def read_files_shard(self, shard):
        """datatrove's loop, with `limit` counting records (documents and rejections), not documents only:
        `--limit 50` on a file of bad records reads 50 of them, not all."""
        if self.limit == -1:
            yield from super().read_files_shard(shard)
            return
        self._limit_records, self._records_read = self.limit, 0
        with tqdm(total=self.limit, desc="Document progress", unit="doc", disable=not self.doc_progress) as bar:
            for filepath in shard:
                self.stat_update("input_files")
                ndocs = 0
                try:
                    for doc in self.read_file(filepath):
                        yield doc
                        bar.update()
                        ndocs += 1
                        self._records_read += 1
                        if self._records_read >= self.limit:
                            break
                except RecordLimitReached:  # reject() counted the record that reached the limit
                    pass
                self.stat_update("documents", value=ndocs, unit="input_file")
                if self._records_read >= self.limit:
                    break
        self._limit_records = -1

    def get_document_from_dict(self, data, source_file: str, id_in_file):
        if not isinstance(data, dict):
            self.reject(source_file, id_in_file, f"record is a {type(data).__name__}, not an object", data)
            return None
        if self.text_key not in data:
            self.reject(source_file, id_in_file, f"missing text field {self.text_key!r}", data)
            return None
        try:
            data = json_safe(data)
        except RecordError as e:
            self.reject(source_file, id_in_file, str(e), _short(data, self.text_key))
            return None
        text = data[self.text_key]
        if not isinstance(text, str):
            self.reject(source_file, id_in_file, f"text field {self.text_key!r} is {type(text).__name__}", data)
            return None
        nbytes = len(text.encode("utf-8", errors="surrogatepass"))
        if self.max_doc_bytes and nbytes > self.max_doc_bytes:
            self.reject(source_file, id_in_file, f"document too large: {nbytes} bytes of text > input.max_doc_bytes "
                        f"{self.max_doc_bytes}", _short(data, self.text_key))
            return None
        if self.id_key in data and not isinstance(data[self.id_key], str):
            data[self.id_key] = str(data[self.id_key])
        parsed = self.adapter(data, source_file, id_in_file)
        doc = Document(text=parsed["text"], id=parsed["id"], metadata=parsed.get("metadata") or {})
        if getattr(self, "add_file_path", False):
            doc.metadata.setdefault("file_path", source_file)
        self.stat_update("input_bytes", value=nbytes)
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


def _short(data: dict, text_key: str) -> dict:
    """A rejected record's fields, its text cut to what rejected/ keeps (never a copy of 50 MB)."""
    out = {k: v for k, v in data.items() if k != text_key}
    text = data.get(text_key)
    if isinstance(text, (str, bytes)):
        out[text_key] = text[:MAX_RAW_CHARS]
    try:
        orjson.dumps(out, default=repr)
    except (TypeError, orjson.JSONEncodeError):
        return repr(out)[:MAX_RAW_CHARS]
    return out


def disk_kwargs(p: InputParams, ctx: ReaderContext) -> dict:
    from curation.storage import folder as data_folder

    folder, glob = folder_and_glob(p.path, p.glob, p.storage_options)
    return {
        "data_folder": data_folder(folder, p.storage_options),
        "glob_pattern": glob,
        "limit": ctx.limit,
        "text_key": p.text_key,
        "id_key": p.id_key,
        "doc_progress": ctx.progress,
    }


def with_rejects(reader, ctx: ReaderContext, p: InputParams | None = None):
    """Point the reader's rejections at the run's rejected/ and give it `input.max_doc_bytes`."""
    reader.rejected_dir = str(RunFolder(ctx.run_dir).rejected)
    if p is not None:
        reader.max_doc_bytes = p.max_doc_bytes
    return reader
