"""`input.format: text`: plain text files, one document per file (UTF-8 only; other encodings are
rejected, not guessed).
"""

from __future__ import annotations

from datatrove.pipeline.readers.base import BaseDiskReader

from curation.formats.base import UTF8_BOM, RejectingReaderMixin, disk_kwargs, with_rejects
from curation.registry import InputParams, ReaderContext, register_reader


class TextFileReader(RejectingReaderMixin, BaseDiskReader):
    """One document per text file; the id is the file's path relative to the input folder."""

    name = "📄 Text files"

    def read_file(self, filepath: str):
        with self.data_folder.open(filepath, "rb") as f:
            raw = f.read()
        raw = raw.removeprefix(UTF8_BOM)  # a byte-order mark is not text
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            self.reject(filepath, None, f"invalid UTF-8: {e}", raw)
            return
        doc = self.get_document_from_dict({"text": text, "id": filepath}, filepath, 0)
        if doc is not None:
            yield doc


@register_reader("text")
def text_reader(p: InputParams, ctx: ReaderContext):
    """Plain text, one document per file (UTF-8; other encodings are rejected, not guessed)."""
    return with_rejects(TextFileReader(**disk_kwargs(p, ctx)), ctx, p)
