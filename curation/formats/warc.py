"""`input.format: warc`: WARC responses; HTML -> text with trafilatura (through datatrove), keeping the
url and the WARC metadata.
"""

from __future__ import annotations

from datatrove.pipeline.readers import WarcReader

from curation.formats.base import RejectingReaderMixin, folder_and_glob, with_rejects
from curation.registry import InputParams, ReaderContext, register_reader


class RejectingWarcReader(RejectingReaderMixin, WarcReader):
    name = "🕷 Warc (ledger)"


class WarcParams(InputParams):
    text_key: str = "text"
    extractor: str = "trafilatura"  # HTML -> text; "none" keeps raw HTML in `text`
    favour_precision: bool = True
    timeout_s: float = 5.0  # per page; trafilatura can hang on pathological HTML


@register_reader("warc", WarcParams)
def warc_reader(p: WarcParams, ctx: ReaderContext):
    """WARC (.warc/.warc.gz) responses; HTML -> text with trafilatura through datatrove; keeps url + WARC metadata."""
    from datatrove.pipeline.extractors import Trafilatura

    folder, glob = folder_and_glob(p.path, p.glob)
    reader = with_rejects(
        RejectingWarcReader(data_folder=folder, glob_pattern=glob, limit=ctx.limit, doc_progress=ctx.progress),
        ctx,
    )
    if p.extractor == "none":
        return reader
    return [reader, Trafilatura(favour_precision=p.favour_precision, timeout=p.timeout_s)]
