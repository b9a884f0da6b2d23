"""The `pii` op (params and datatrove step) of PII scrubbing: emails, IPs, phones, payment cards, IBANs, secrets and (optionally) @handles.

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
detectors live in `pii/contacts.py`, `pii/financial.py` and `pii/secrets.py`; their docstrings give the context rules.

`scrub(text, kinds, replace)` is the plain function (the code recipe and `bench/pii.py` reuse it);
`find_pii(text, kinds)` returns the spans (both in `pii/scan.py`, free of datatrove); the `pii` op
wraps them in a datatrove step that scrubs the text, the id and metadata string fields, and writes
`pii.<kind>` counts to metadata and to summary.json's `pii` section.

The whole run folder, not only output/: a run whose recipe has a `pii` step ends with a sweep
(`pii/sweep.py`) that scrubs removed/ of the steps before `pii`, rejected/ and logs/, and deletes
work/ (whose intermediate segments hold unscrubbed documents) unless `keep_work: true`. Opting out is
explicit: `run_folder: false`. Non-public IP addresses (loopback, private, link-local, documentation)
are left alone by default (`only_public_ips`), and `allow_ips` keeps more.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Literal

from datatrove.data import Document
from pydantic import Field, field_validator

from curation.registry import OpParams, StepContext, register_op
from curation.steps.base import DocTransform, ledger_update
from curation.steps.pii.financial import card_ok, iban_ok, luhn_ok
from curation.steps.pii.scan import (
    DEFAULT_IP_POLICY,
    DEFAULT_KINDS,
    KINDS,
    TAGS,
    IpPolicy,
    PiiSpan,
    check_kinds,
    find_pii,
    is_public_ip,
    scrub,
    scrub_value,
    unique_key,
)
from curation.steps.pii.secrets import shannon_entropy

__all__ = [
    "DEFAULT_KINDS",
    "KINDS",
    "TAGS",
    "IpPolicy",
    "PIIScrubber",
    "PiiSpan",
    "card_ok",
    "find_pii",
    "iban_ok",
    "is_public_ip",
    "luhn_ok",
    "scrub",
    "scrub_value",
    "shannon_entropy",
]

Kind = Literal["email", "ip_address", "phone", "credit_card", "iban", "secret", "user"]
Replace = Literal["tag", "mask"]
# Metadata the op itself writes (counts): never scrubbed, never counted.
_OWN_PREFIX = "pii."


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
    only_public_ips: bool = Field(
        default=True,
        description="leave loopback, private, link-local, multicast and documentation IP addresses alone "
        "(127.0.0.1, 0.0.0.0, 10.x, 192.168.x, fe80::, 2001:db8::); false scrubs every address",
    )
    allow_ips: list[str] = Field(
        default_factory=list,
        description="further IP addresses or networks to leave alone, e.g. [8.8.8.8, 198.18.0.0/15]",
    )
    ids: bool = Field(default=True, description="scrub document ids too")
    metadata: Literal["all"] | list[str] = Field(
        default="all",
        description="metadata fields whose strings are scrubbed (at any depth): all, or a list of keys "
        "([] = none). Chat turns (metadata.messages) are always scrubbed",
    )
    run_folder: bool = Field(
        default=True,
        description="after a successful run, scrub removed/ of the steps before pii, rejected/ and logs/ "
        "too (false is an explicit opt-out: they keep the original values)",
    )
    keep_work: bool = Field(
        default=False,
        description="keep work/ (scratch: intermediate segments hold unscrubbed documents) after a "
        "successful run; by default it is deleted",
    )

    @field_validator("kinds")
    @classmethod
    def _no_duplicates(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"duplicate kinds in {v}")
        return v

    @field_validator("allow_ips")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for item in v:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network (e.g. 8.8.8.8, 10.1.0.0/16)") from None
        return v

    def ip_policy(self) -> IpPolicy:
        return IpPolicy.make(self.only_public_ips, self.allow_ips)

    def scrubber(self) -> PIIScrubber:
        """The step these params build (the run-folder sweep scrubs with it, without importing this module)."""
        return PIIScrubber(self.kinds, self.replace, self.ip_policy(), self.ids, self.metadata)


class PIIScrubber(DocTransform):
    """Scrubs PII in place (text, id, metadata strings); writes `pii.<kind>` counts (zeros included)
    and adds them to the ledger."""

    name = "🔒 PII scrub"

    def __init__(
        self,
        kinds: Iterable[str] = DEFAULT_KINDS,
        replace: Replace = "tag",
        ip_policy: IpPolicy = DEFAULT_IP_POLICY,
        ids: bool = True,
        metadata: str | Iterable[str] = "all",
    ):
        super().__init__()
        self.kinds = check_kinds(kinds)
        self.replace = replace
        self.ip_policy = ip_policy
        self.ids = ids
        self.metadata = metadata if metadata == "all" else tuple(metadata)
        scrub("", self.kinds, replace)  # validate `replace` now, not on the first document

    def _scrub(self, value, counts: dict[str, int] | None):
        return scrub_value(value, self.kinds, self.replace, self.ip_policy, counts)

    def transform(self, doc: Document) -> Document:
        before = doc.text
        doc.text, counts = scrub(doc.text, self.kinds, self.replace, self.ip_policy)
        if doc.text != before:
            self.stat_update("modified")  # summary.json: documents whose text this step changed
        if self.ids and isinstance(doc.id, str):
            doc.id = self._scrub(doc.id, counts)
        # Chat records are written from metadata.messages (instruct.py), so the turns are always
        # scrubbed; `text` is a rendering of the same turns, so its counts already include theirs.
        if isinstance(doc.metadata.get("messages"), list):
            doc.metadata["messages"] = self._scrub(doc.metadata["messages"], None)
        keys = doc.metadata.keys() if self.metadata == "all" else [k for k in self.metadata if k in doc.metadata]
        for key in list(keys):
            if key != "messages" and not key.startswith(_OWN_PREFIX):
                doc.metadata[key] = self._scrub(doc.metadata[key], counts)
        if self.metadata == "all":  # the top-level key names too (a key named after an address)
            renamed: dict = {}
            for key, value in doc.metadata.items():
                new = key if not isinstance(key, str) or key.startswith(_OWN_PREFIX) else self._scrub(key, counts)
                renamed[unique_key(new, renamed)] = value
            doc.metadata = renamed
        for kind, n in counts.items():
            doc.metadata[f"pii.{kind}"] = n
            if n:
                ledger_update(self, "pii", kind, n)
        return doc


@register_op("pii", PiiParams, after_run="curation.steps.pii.sweep:after_run")
def build_pii(params: PiiParams, ctx: StepContext) -> PIIScrubber:
    """Scrub emails, IPs, phones, payment cards (Luhn), IBANs (mod-97), secrets and optionally @handles
    in text, ids and metadata; after the run, removed/, rejected/ and logs/ too, and delete work/."""
    return PIIScrubber(params.kinds, params.replace, params.ip_policy(), params.ids, params.metadata)
