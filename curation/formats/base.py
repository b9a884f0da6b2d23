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

import os
from pathlib import Path
from typing import IO

import orjson
from datatrove.data import Document, DocumentsPipeline

from curation.registry import InputParams, ReaderContext
from runfolder import RunFolder

MAX_RAW_CHARS = 2000  # how much of an unreadable record is kept in rejected/ (enough to debug, bounded)


def folder_and_glob(path: str, glob: str | None) -> tuple[str, str | None]:
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


def disk_kwargs(p: InputParams, ctx: ReaderContext) -> dict:
    folder, glob = folder_and_glob(p.path, p.glob)
    return dict(
        data_folder=folder,
        glob_pattern=glob,
        limit=ctx.limit,
        text_key=p.text_key,
        id_key=p.id_key,
        doc_progress=ctx.progress,
    )


def with_rejects(reader, ctx: ReaderContext):
    reader.rejected_dir = str(RunFolder(ctx.run_dir).rejected)
    return reader
