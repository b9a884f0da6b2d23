"""URL deduplication across every shard: the same page crawled twice is one document.

Built on exact dedup's barrier (`steps/dedup.py`): the signature is the hash of the document's
normalized URL instead of its text, the cluster stage keeps the smallest `(id, position)` of each URL
(deterministic whatever the sharding; for WARC input the id is the `WARC-Record-ID`), and the filter
removes the others with reason `url_duplicate` and `dup_of` = the kept id. A document without a URL is
never a duplicate of anything (it gets a key of its own) and is counted under `dedup.no_url`.

Normalization (`normalize_url`), chosen to merge only spellings that name the same resource by RFC 3986
§6.2.2-6.2.3: scheme and host lowercased, the default port dropped (80 for http, 443 for https), an
empty path made `/`, the fragment dropped (it never reaches the server), surrounding whitespace
stripped. Path and query are kept as written (case-sensitive on most servers); `www.` is kept, and
http vs https stays two URLs unless `ignore_scheme` is set.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field

from curation.registry import Barrier, OpParams, StepContext, register_op
from curation.steps.base import ledger_update
from curation.steps.dedup import ExactDedupCluster, ExactDedupFilter, ExactDedupSignature

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url: str, ignore_scheme: bool = False) -> str:
    """The URL in the form two crawls of one page share (see the module doc); `""` for no URL."""
    url = url.strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # e.g. a non-numeric port: compare the string as it is
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()  # hostname drops user:password@ and lowercases
    if parts.username is not None:
        host = f"{parts.username}{':' + parts.password if parts.password else ''}@{host}"
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    if ignore_scheme and scheme in DEFAULT_PORTS:
        scheme = "http"
    return urlunsplit((scheme, host, parts.path or "/", parts.query, ""))


class UrlDedupSignature(ExactDedupSignature):
    """Pass-through: stamps each document's position and writes the hash of its normalized URL."""

    name = "🔗 URL hashes"

    def __init__(self, work_dir: str, field: str = "url", ignore_scheme: bool = False):
        super().__init__(work_dir)
        self.url_field, self.ignore_scheme = field, ignore_scheme

    def sign(self, doc, pos: str):
        value = doc.metadata.get(self.url_field)
        url = normalize_url(value, self.ignore_scheme) if isinstance(value, str) else ""
        if not url:
            ledger_update(self, "dedup", "no_url")
            return (f"no-url:{pos}", doc.id, pos)  # a key of its own: never grouped with another document
        return (
            hashlib.blake2b(url.encode("utf-8", errors="surrogatepass"), digest_size=16).hexdigest(),
            doc.id,
            pos,
        )


class UrlDedupFilter(ExactDedupFilter):
    """Removes every document whose normalized URL an earlier-kept document has; records `dup_of`."""

    name = "🔗 URL dedup"
    reason = "url_duplicate"


class UrlDedupParams(OpParams):
    field: str = Field(
        "url", description="metadata key holding the URL (WARC input stores `WARC-Target-URI` as `url`)"
    )
    ignore_scheme: bool = Field(False, description="treat http:// and https:// of the same URL as one")


@register_op("url_dedup", UrlDedupParams)
def url_dedup(p: UrlDedupParams, ctx: StepContext):
    """Keep one document per normalized URL (lowercase scheme/host, no default port or fragment) across
    all shards; the smallest id wins. Documents without a URL are kept."""
    work = str(ctx.work_dir)
    return Barrier(
        before=[UrlDedupSignature(work, p.field, p.ignore_scheme)],
        stages=[([ExactDedupCluster(work)], 1)],
        filter=UrlDedupFilter(work, exclusion_writer=ctx.removed_writer()),
    )
