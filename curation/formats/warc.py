"""`input.format: warc`: WARC responses; HTML -> text with trafilatura (through datatrove), keeping the
url and the WARC metadata.

Every response record becomes a document or a rejection with its byte offset in the file: a record
without `WARC-Target-URI`, an undecodable payload, a Content-Length that does not match the record
(warcio then warns "Record not followed by newline"), data warcio cannot parse (the rest of the file
is rejected from that offset) and a file cut short (the bytes after the last complete record). Records
that are not pages (warcinfo, request, metadata, non-HTML responses) are not documents and are skipped,
as in datatrove.
"""

from __future__ import annotations

from datatrove.pipeline.readers import WarcReader

from curation.formats.base import (
    STREAM_ERRORS,
    RecordError,
    RejectingReaderMixin,
    folder_and_glob,
    with_rejects,
)
from curation.registry import InputParams, ReaderContext, register_reader

PAGE_TYPES = ("text/html", "application/xhtml+xml")
TRAILING_SLACK = 8  # blank lines after the last record are not a truncated record


def record_to_dict(record) -> dict | None:
    """A WARC record -> `{text, id, url, date}`, None for a record that is not a page, RecordError for a
    page that cannot be read."""
    if record.length is None:  # mandatory: a record cut inside its headers (a truncated .warc.gz member)
        raise RecordError("truncated WARC record: no Content-Length header")
    if record.rec_type not in ("response", "conversion"):
        return None
    headers = record.rec_headers
    mime = headers.get_header("WARC-Identified-Payload-Type")
    if mime is None and record.http_headers is not None:
        mime = (record.http_headers.get_header("Content-Type") or "").split(";")[0].strip().lower() or None
    payload = record.content_stream().read()
    missing = getattr(record.raw_stream, "limit", 0)
    if missing and missing > 0:
        raise RecordError(f"truncated WARC record: {missing} bytes of its Content-Length are missing")
    if mime is None:
        import magic

        mime = magic.from_buffer(payload, mime=True)
    if mime not in PAGE_TYPES and not (record.rec_type == "conversion" and mime == "text/plain"):
        return None
    url = headers.get_header("WARC-Target-URI")
    if not url:
        raise RecordError(f"WARC {record.rec_type} record has no WARC-Target-URI")
    record_id = headers.get_header("WARC-Record-ID")
    if not record_id:
        raise RecordError("WARC record has no WARC-Record-ID")
    try:
        html = payload.decode("utf-8")
    except UnicodeDecodeError:
        import cchardet

        charset = cchardet.detect(payload)["encoding"]
        try:
            html = payload.decode(charset or "utf-8")
        except (UnicodeDecodeError, LookupError):
            raise RecordError(f"payload is not decodable text (detected charset {charset})") from None
    if b"\nWARC/1." in payload:
        raise RecordError("Content-Length too long: the record swallows the WARC record(s) after it")
    return {"text": html, "id": record_id, "url": url, "date": headers.get_header("WARC-Date")}


def _tolerate_missing_uri(iterator) -> None:
    """warcio crashes on a response record without WARC-Target-URI (`None.startswith`) and can then not
    go on; give it an empty URI so that the record parses and `record_to_dict` rejects it."""
    loader = iterator.loader
    parse = loader.load_http_headers

    def load_http_headers(rec_type, uri, stream, length):
        return parse(rec_type, uri or "", stream, length)

    loader.load_http_headers = load_http_headers


def _next_record_start(f, after: int, gz: bool) -> int | None:
    """Byte offset of the next record (a gzip member, or a `WARC/1.` line) after `after`, or None."""
    markers = (b"\x1f\x8b\x08",) if gz else (b"\nWARC/1.0\r\n", b"\nWARC/1.1\r\n")
    pos, tail, chunk = after + 1, b"", 1 << 20
    f.seek(pos)
    while block := f.read(chunk):
        data = tail + block
        hits = [i for i in (data.find(m) for m in markers) if i >= 0]
        if hits:
            return pos - len(tail) + min(hits) + (0 if gz else 1)
        tail = data[-16:]
        pos += len(block)
    return None


class RejectingWarcReader(RejectingReaderMixin, WarcReader):
    name = "🕷 Warc (ledger)"

    def read_file(self, filepath: str):
        # warcio decompresses gzip members itself, so offsets are byte offsets in the file as stored
        compression = "zstd" if filepath.endswith(".zst") else None
        start = 0
        with self.data_folder.open(filepath, "rb", compression=compression) as f:
            while start is not None:
                start = yield from self._read_from(f, filepath, start, seekable=compression is None)

    def _read_from(self, f, filepath: str, start: int, seekable: bool):
        """Records from byte `start`; returns where to go on after unparsable data (None: done)."""
        from warcio.archiveiterator import ArchiveIterator

        if start:
            f.seek(start)
        records = ArchiveIterator(f)
        _tolerate_missing_uri(records)
        held = None  # (offset, doc): yielded once the next record shows this one ended where it said
        errors, offset = 0, start

        def release():
            if records.err_count != errors:
                self.reject(filepath, None, "Content-Length does not match the record", held[1].text,
                            offset=held[0])
                return None
            return held[1]

        try:
            for record in records:
                if held is not None and (doc := release()) is not None:
                    yield doc
                held = None
                errors, offset = records.err_count, records.offset
                with self.track_time():
                    try:
                        data = record_to_dict(record)
                    except (RecordError, *STREAM_ERRORS, ValueError) as e:
                        self.reject(filepath, None, str(e), offset=offset)
                        continue
                    if data is None:
                        continue
                    doc = self.get_document_from_dict(data, filepath, offset)
                if doc is not None:
                    held = (offset, doc)
        except Exception as e:  # noqa: BLE001 (warcio raises anything on garbage; the run goes on)
            bad = max(records.offset, start)  # warcio reports a negative offset for some broken gzip members
            if held is not None:  # the garbage starts where this record said it ended: its length is wrong
                self.reject(filepath, None, "Content-Length does not match the record", held[1].text, offset=held[0])
            nxt = _next_record_start(f, bad, gz=filepath.endswith(".gz")) if seekable else None
            skipped = "the rest of the file" if nxt is None else f"bytes {bad}-{nxt}"
            self.reject(filepath, None, f"unreadable WARC data: {type(e).__name__}: {e} ({skipped} skipped)", offset=bad)
            return nxt
        if held is not None and (doc := release()) is not None:
            yield doc
        if seekable:
            size = self.data_folder.size(filepath)
            if size - records.offset > TRAILING_SLACK:
                self.reject(filepath, None, f"truncated WARC: {size - records.offset} bytes after the last "
                            f"complete record (byte offset {records.offset}) could not be read",
                            offset=records.offset)
        return None


class WarcParams(InputParams):
    text_key: str = "text"
    extractor: str = "trafilatura"  # HTML -> text; "none" keeps raw HTML in `text`
    favour_precision: bool = True
    timeout_s: float = 5.0  # per page; trafilatura can hang on pathological HTML


@register_reader("warc", WarcParams)
def warc_reader(p: WarcParams, ctx: ReaderContext):
    """WARC (.warc/.warc.gz) responses; HTML -> text with trafilatura through datatrove; keeps url + WARC metadata."""
    from datatrove.pipeline.extractors import Trafilatura

    from curation.storage import folder as data_folder

    folder, glob = folder_and_glob(p.path, p.glob, p.storage_options)
    reader = with_rejects(
        RejectingWarcReader(data_folder=data_folder(folder, p.storage_options), glob_pattern=glob, limit=ctx.limit, doc_progress=ctx.progress),
        ctx,
        p,
    )
    if p.extractor == "none":
        return reader
    return [reader, Trafilatura(favour_precision=p.favour_precision, timeout=p.timeout_s)]
