"""Finding and replacing PII in strings and in nested values: the plain functions behind the `pii` op.

Kept free of datatrove and pydantic so that whatever must hide PII without running a pipeline (the
run-folder sweep after a run, the dashboard, `bench/pii.py`) can import it cheaply. The detectors live
in `pii/contacts.py`, `pii/financial.py` and `pii/secrets.py`; this module resolves their overlaps, applies the IP policy
and replaces matches.

IP policy: by default only public addresses are PII. Loopback (127.0.0.1, ::1), unspecified
(0.0.0.0), private (10/8, 172.16/12, 192.168/16, fc00::/7), carrier-grade NAT, link-local, multicast,
reserved and documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32) name no
one and fill manuals, configs and code; datatrove's `PIIFormatter` keeps non-public IPs too. An
allow-list keeps further addresses or networks (a public resolver, a project's own servers).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from curation.steps.pii import contacts, financial, secrets

# Priority order: when two detections overlap, the earlier kind wins (a Luhn-valid card is not also a
# phone; a token inside a URL's userinfo is not also an email).
KINDS = ("secret", "email", "credit_card", "iban", "ip_address", "phone", "user")
DEFAULT_KINDS = ("email", "ip_address", "phone", "credit_card", "iban", "secret")  # `user` is opt-in
TAGS = {kind: f"<{kind.upper()}>" for kind in KINDS}
_DETECTORS = contacts.DETECTORS | financial.DETECTORS | secrets.DETECTORS

# Addresses that identify no one (IANA special-purpose registries); see the module docstring.
NON_PUBLIC_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
        "203.0.113.0/24", "224.0.0.0/3",  # multicast, reserved and broadcast
        "::/127", "fc00::/7", "fe80::/10", "ff00::/8", "2001:db8::/32", "64:ff9b:1::/48",
    )
)  # fmt: skip


class PiiSpan(NamedTuple):
    start: int
    end: int
    kind: str


def is_public_ip(address: str) -> bool:
    """True for an address that routes on the public internet (IPv4-mapped IPv6 judged as IPv4)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return True  # the detector accepted it; when unsure, treat it as PII
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not any(ip in net for net in NON_PUBLIC_NETWORKS if net.version == ip.version)


class IpPolicy(NamedTuple):
    """Which detected IP addresses are left as they are.

    Attributes:
        public_only: leave non-public addresses (see `NON_PUBLIC_NETWORKS`) alone.
        allow: further addresses or networks to leave alone (`ipaddress` network objects).
    """

    public_only: bool = True
    allow: tuple = ()

    @classmethod
    def make(cls, public_only: bool = True, allow: Iterable[str] = ()) -> IpPolicy:
        """From strings like `"8.8.8.8"`, `"198.51.100.0/24"`, `"2001:4860::/32"`; ValueError if bad."""
        return cls(public_only, tuple(ipaddress.ip_network(a, strict=False) for a in allow))

    def keeps(self, address: str) -> bool:
        if self.public_only and not is_public_ip(address):
            return True
        if self.allow:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                return False
            return any(ip in net for net in self.allow if net.version == ip.version)
        return False


DEFAULT_IP_POLICY = IpPolicy()
MAX_DEPTH = 64


def check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
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


def find_pii(text: str, kinds: Iterable[str] = DEFAULT_KINDS, ip_policy: IpPolicy = DEFAULT_IP_POLICY) -> list[PiiSpan]:
    """Non-overlapping PII spans in `text`, sorted by start.

    Overlaps are resolved by kind priority (`KINDS` order), then by earliest start. IP addresses that
    `ip_policy` keeps are not reported (and so do not block a lower-priority kind either).
    """
    wanted = set(check_kinds(kinds))
    accepted: list[PiiSpan] = []  # sorted, non-overlapping
    for kind in KINDS:
        if kind not in wanted:
            continue
        spans = _merge(_DETECTORS[kind](text))
        if kind == "ip_address":
            spans = [(s, e) for s, e in spans if not ip_policy.keeps(text[s:e])]
        # Keep this kind's spans that overlap no accepted (higher-priority) span: one linear sweep of
        # two sorted lists, so a document with a million matches stays O(n log n).
        new, i = [], 0
        for start, end in spans:
            while i < len(accepted) and accepted[i].end <= start:
                i += 1
            if i < len(accepted) and accepted[i].start < end:
                continue
            new.append(PiiSpan(start, end, kind))
        if new:
            accepted = sorted(accepted + new)
    return accepted


def scrub(
    text: str,
    kinds: Iterable[str] = DEFAULT_KINDS,
    replace: str = "tag",
    ip_policy: IpPolicy = DEFAULT_IP_POLICY,
) -> tuple[str, dict[str, int]]:
    """Replace PII in `text`.

    Args:
        text: the document text.
        kinds: which kinds to scrub (see `KINDS`); default all but `user`.
        replace: `"tag"` puts `<EMAIL>`, `<IP_ADDRESS>`, `<PHONE>`, `<CREDIT_CARD>`, `<IBAN>`,
            `<SECRET>`, `<USER>` in place of each match; `"mask"` replaces every non-whitespace
            character of a match with `*`, so lengths, offsets and line breaks are unchanged.
        ip_policy: which IP addresses stay (default: every non-public one).

    Returns:
        (scrubbed text, {kind: number of matches} for every requested kind, zeros included).
    """
    kinds = check_kinds(kinds)
    if replace not in ("tag", "mask"):
        raise ValueError(f"replace must be 'tag' or 'mask', got {replace!r}")
    counts = dict.fromkeys(kinds, 0)
    spans = find_pii(text, kinds, ip_policy)
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


def unique_key(key, taken) -> object:
    """`key`, or `key#2`, `key#3`, ... when a scrubbed key collides with one already in `taken` (two
    addresses in one header map both become `<EMAIL>`: neither value may be lost)."""
    if key not in taken:
        return key
    n = 2
    while f"{key}#{n}" in taken:
        n += 1
    return f"{key}#{n}"


def scrub_value(
    value: Any,
    kinds: Iterable[str] = DEFAULT_KINDS,
    replace: str = "tag",
    ip_policy: IpPolicy = DEFAULT_IP_POLICY,
    counts: dict[str, int] | None = None,
    _depth: int = 0,
) -> Any:
    """`value` with every string in it scrubbed: strings, and the keys and values of dicts and lists,
    at any depth (a header map keyed by e-mail address is as personal as its values). Numbers, booleans and None pass through. Matches are added to `counts` if given.
    Below `MAX_DEPTH` levels a nested value is scrubbed as its JSON text (no recursion limit to hit)."""
    if _depth > MAX_DEPTH and isinstance(value, (dict, list, tuple)):
        value = json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, str):
        if not value:
            return value
        new, found = scrub(value, kinds, replace, ip_policy)
        if counts is not None:
            for kind, n in found.items():
                counts[kind] = counts.get(kind, 0) + n
        return new
    if isinstance(value, dict):
        out: dict = {}
        for k, v in value.items():
            key = scrub_value(k, kinds, replace, ip_policy, counts, _depth + 1) if isinstance(k, str) else k
            out[unique_key(key, out)] = scrub_value(v, kinds, replace, ip_policy, counts, _depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [scrub_value(v, kinds, replace, ip_policy, counts, _depth + 1) for v in value]
    return value
