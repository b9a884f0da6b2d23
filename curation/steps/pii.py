"""PII scrubbing: emails, IPs, phones, payment cards, IBANs, secrets and (optionally) @handles.

Why this module exists (rather than datatrove's `PIIFormatter`): datatrove scrubs only emails and
public IPv4s. Training data also leaks phone numbers, card numbers, bank accounts and, in code and
configs, credentials, and a model that memorises those can repeat them. Every detector here is a
regex plus a validator (Luhn for cards, mod-97 for IBANs, `ipaddress` for IPs, entropy and a
keyword for assigned secrets) and a few context rules for the known false positives: version and
section numbers that look like IPs, ISO dates that look like phones, timestamps and order numbers
that pass Luhn, git SHAs that look like keys.

Bounded work: patterns use bounded quantifiers only and never start inside a run of their own
characters, so each run of text is tried a constant number of times and the scan is linear in the
document (no catastrophic backtracking; overlaps are resolved by one sweep over sorted spans). Rare
anchors ("@", "PRIVATE KEY", vendor prefixes) are found with `str.find`/`in` before any regex runs.
Measured on a busy 2-core box: ~6 MB/s per core on real documents with the 6 default kinds
(`bench/pii.py`), and one 50 MB document (docs_en concatenated) in 24 s with 515 MB peak RSS. The
detectors live in `_pii_contacts.py`, `_pii_financial.py` and `_pii_secrets.py`; their docstrings give the context rules.

`scrub(text, kinds, replace)` is the plain function (the code recipe and `bench/pii.py` reuse it);
`find_pii(text, kinds)` returns the spans; the `pii` op wraps them in a datatrove step that writes
`pii.<kind>` counts to metadata and to summary.json's `pii` section.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal, NamedTuple

from datatrove.data import Document
from pydantic import Field, field_validator

from curation.registry import OpParams, StepContext, register_op
from curation.steps import _pii_contacts, _pii_financial, _pii_secrets
from curation.steps._pii_financial import card_ok, iban_ok, luhn_ok
from curation.steps._pii_secrets import shannon_entropy
from curation.steps.base import DocTransform, ledger_update

__all__ = [
    "DEFAULT_KINDS",
    "KINDS",
    "PIIScrubber",
    "PiiSpan",
    "card_ok",
    "find_pii",
    "iban_ok",
    "luhn_ok",
    "scrub",
    "shannon_entropy",
]

# Priority order: when two detections overlap, the earlier kind wins (a Luhn-valid card is not also a
# phone; a token inside a URL's userinfo is not also an email).
KINDS = ("secret", "email", "credit_card", "iban", "ip_address", "phone", "user")
DEFAULT_KINDS = ("email", "ip_address", "phone", "credit_card", "iban", "secret")  # `user` is opt-in
TAGS = {kind: f"<{kind.upper()}>" for kind in KINDS} | {"email": "<EMAIL>"}
Kind = Literal["email", "ip_address", "phone", "credit_card", "iban", "secret", "user"]
Replace = Literal["tag", "mask"]


class PiiSpan(NamedTuple):
    start: int
    end: int
    kind: str


_DETECTORS = _pii_contacts.DETECTORS | _pii_financial.DETECTORS | _pii_secrets.DETECTORS


# --- public API ------------------------------------------------------------------------------------


def _check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    kinds = tuple(kinds)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown PII kind(s) {unknown}; known: {', '.join(KINDS)}")
    return kinds


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of overlapping spans of one kind (a token inside a longer assigned value is one secret)."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def find_pii(text: str, kinds: Iterable[str] = DEFAULT_KINDS) -> list[PiiSpan]:
    """Non-overlapping PII spans in `text`, sorted by start.

    Overlaps are resolved by kind priority (`KINDS` order), then by earliest start.
    """
    wanted = set(_check_kinds(kinds))
    accepted: list[PiiSpan] = []  # sorted, non-overlapping
    for kind in KINDS:
        if kind not in wanted:
            continue
        # Keep this kind's spans that overlap no accepted (higher-priority) span: one linear sweep of
        # two sorted lists, so a document with a million matches stays O(n log n).
        new, i = [], 0
        for start, end in _merge(_DETECTORS[kind](text)):
            while i < len(accepted) and accepted[i].end <= start:
                i += 1
            if i < len(accepted) and accepted[i].start < end:
                continue
            new.append(PiiSpan(start, end, kind))
        if new:
            accepted = sorted(accepted + new)
    return accepted


def scrub(
    text: str, kinds: Iterable[str] = DEFAULT_KINDS, replace: Replace = "tag"
) -> tuple[str, dict[str, int]]:
    """Replace PII in `text`.

    Args:
        text: the document text.
        kinds: which kinds to scrub (see `KINDS`); default all but `user`.
        replace: `"tag"` puts `<EMAIL>`, `<IP_ADDRESS>`, `<PHONE>`, `<CREDIT_CARD>`, `<IBAN>`,
            `<SECRET>`, `<USER>` in place of each match; `"mask"` replaces every non-whitespace
            character of a match with `*`, so lengths, offsets and line breaks are unchanged.

    Returns:
        (scrubbed text, {kind: number of matches} for every requested kind, zeros included).
    """
    kinds = _check_kinds(kinds)
    if replace not in ("tag", "mask"):
        raise ValueError(f"replace must be 'tag' or 'mask', got {replace!r}")
    counts = dict.fromkeys(kinds, 0)
    spans = find_pii(text, kinds)
    if not spans:
        return text, counts
    out, pos = [], 0
    for start, end, kind in spans:
        out.append(text[pos:start])
        out.append(TAGS[kind] if replace == "tag" else re.sub(r"\S", "*", text[start:end]))
        counts[kind] += 1
        pos = end
    out.append(text[pos:])
    return "".join(out), counts


# --- the op ----------------------------------------------------------------------------------------


class PiiParams(OpParams):
    kinds: list[Kind] = Field(
        default=list(DEFAULT_KINDS),
        description="PII kinds to scrub: email, ip_address, phone, credit_card, iban, secret, user "
        "(@handles, off by default). A kind not listed is left as is.",
    )
    replace: Replace = Field(
        default="tag",
        description="tag: <EMAIL>, <IP_ADDRESS>, ... in place of each match; "
        "mask: each non-whitespace char of a match -> '*' (same length)",
    )

    @field_validator("kinds")
    @classmethod
    def _no_duplicates(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"duplicate kinds in {v}")
        return v


class PIIScrubber(DocTransform):
    """Scrubs PII in place; writes `pii.<kind>` counts (zeros included) and adds them to the ledger."""

    name = "🔒 PII scrub"

    def __init__(self, kinds: Iterable[str] = DEFAULT_KINDS, replace: Replace = "tag"):
        super().__init__()
        self.kinds = _check_kinds(kinds)
        self.replace = replace
        scrub("", self.kinds, replace)  # validate `replace` now, not on the first document

    def transform(self, doc: Document) -> Document:
        doc.text, counts = scrub(doc.text, self.kinds, self.replace)
        # Chat records are written from metadata.messages (instruct.py), so the turns are scrubbed too;
        # `text` is a rendering of the same turns, so its counts already include theirs.
        for turn in doc.metadata.get("messages") or []:
            if isinstance(turn, dict) and isinstance(turn.get("content"), str):
                turn["content"], _ = scrub(turn["content"], self.kinds, self.replace)
        for kind, n in counts.items():
            doc.metadata[f"pii.{kind}"] = n
            if n:
                ledger_update(self, "pii", kind, n)
        return doc


@register_op("pii", PiiParams)
def build_pii(params: PiiParams, ctx: StepContext) -> PIIScrubber:
    """Scrub emails, IPs, phones, payment cards (Luhn), IBANs (mod-97), secrets and optionally @handles."""
    return PIIScrubber(kinds=params.kinds, replace=params.replace)
