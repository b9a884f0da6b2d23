r"""PII detectors for contact data: emails, IPs, phones, @handles (payment data: `pii/financial.py`).

Each detector is `fn(text) -> iterable of (start, end)`; `curation.steps.pii` resolves overlaps and
replaces. Context rules against the known false positives:
- IPv4: not after a version/section word ("version 2.0.1.3", "§ 1.2.3.4", "see 4.4.6.4 and ..."), not
  outline numbering at a line start ("1.2.3.4 Scope"), not all one-digit parts ("GCC 2.7.2.2"), not
  part of a longer dotted run (OIDs). Private and reserved ranges are found here; `pii.scan.IpPolicy`
  leaves non-public ones alone by default.
- Phones: international (+CC), NANP and trunk-0 national formats count anywhere; any other digit
  grouping only next to a phone word. Dates, the US SSN shape, decimals, integer limits, tables and
  byte dumps are not phones.

Patterns use bounded quantifiers only and never start inside a run of their own characters, so the
scan is linear in the document. Speed: `re` skips quickly to a pattern's first literal or
character class, so patterns open with one (e.g. `\d`) and put the "not inside a run" look-behind
right after it (`\d(?<![\w.]\d)`), not in front, where it would run at every character.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

_EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_EMAIL_DOMAIN = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
)


def _emails(text: str) -> Iterable[tuple[int, int]]:
    # Anchored on each "@" (rare) rather than a regex tried at every character.
    at = text.find("@")
    while at >= 0:
        start = at
        while start > at - 64 and start > 0 and text[start - 1] in _EMAIL_LOCAL:  # RFC 5321: local <= 64
            start -= 1
        if start < at and not (start > 0 and text[start - 1] in _EMAIL_LOCAL) and text[start] != ".":
            m = _EMAIL_DOMAIN.match(text, at + 1)
            if m:
                yield start, m.end()
                at = m.end()
        at = text.find("@", at + 1)


_IPV4 = re.compile(r"\d(?<![\w.]\d)\d{0,2}(?:\.\d{1,3}){3}(?!\.?\d|\w)", re.ASCII)  # octets checked below
# Words that make "1.2.3.4" a version, section or figure number rather than an address.
_NUMBERING_BEFORE = re.compile(
    r"(?i)(?:\b(?:versions?|ver|v|releases?|rel|revisions?|rev|builds?|patch|update|firmware|kernel|linux|"
    r"python|gcc|sections?|sec|sect|chapters?|ch|clauses?|articles?|art|para|paragraphs?|appendix|annex|"
    r"figs?|figures?|tables?|tab|steps?|rules?|items?|no|nr|oid|isbn|see|cf|siehe|voir|véase|vedi|zie|"
    r"abschnitt|kapitel|chapitre|capítulo|capitolo|sección|sezione|rozdział|bölüm|раздел|глава|قسم)|§§?|节|章)"
    r"[ \t]*[.:#]?[ \t]*"
    r"(?:[\d.]{1,20}[ \t]*(?:,|and|or|to|through|-|–)[ \t]*){0,3}$"  # "sections 4.4.6.4 and 8.12.1.4"
)
_LINE_START = re.compile(r"(?:^|\n)[ \t#*>\-]*$")  # only markup between the line start and the match
_HEADING_AFTER = re.compile(r"[.):]?[^\S\n]+[\u200e\u200f]?[^\W\d_]")  # then a word, in any script


def _is_numbering(text: str, start: int, end: int, octets: list[str]) -> bool:
    if _NUMBERING_BEFORE.search(text, max(0, start - 64), start):
        return True
    # "1.2.3.4 Scope" at a line start is outline numbering; an access log's "10.0.0.7 - -" is not.
    return (
        all(1 <= int(o) <= 50 for o in octets)
        and _LINE_START.search(text, max(0, start - 16), start) is not None
        and _HEADING_AFTER.match(text, end) is not None
    )


_IPV6_SEED = re.compile(r":[0-9A-Fa-f]{0,4}:")  # every IPv6 address has one; rare in prose
_IPV6 = re.compile(
    r"(?:[0-9A-Fa-f:]{2,30}?(?<=:)\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]{2,39})(?![\w:]|\.\d)", re.ASCII
)
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")
_IPV6_RUN = frozenset("0123456789abcdefABCDEF:.")


def _ips(text: str) -> Iterable[tuple[int, int]]:
    if "." in text:
        for m in _IPV4.finditer(text):
            # "2.7.2.2" (all one-digit parts) is a version; the public resolvers it misses
            # (1.1.1.1, 8.8.8.8) are not personal data.
            octets = m.group().split(".")
            if any(int(o) > 255 or (o[0] == "0" and len(o) > 1) for o in octets):
                continue
            if m.end() - m.start() == 7 or _is_numbering(text, m.start(), m.end(), octets):
                continue
            yield m.span()
    last = -1
    for seed in _IPV6_SEED.finditer(text):
        if seed.start() < last:
            continue
        # The whole run of hex digits, colons and dots around the seed, scanned once (seeds inside it
        # are skipped), so "a:a:a:..." stays linear. A run longer than an address is not one.
        start, end = seed.start(), seed.end()
        while start > 0 and text[start - 1] in _HEX_COLON and seed.start() - start < 40:
            start -= 1
        while end < len(text) and text[end] in _IPV6_RUN:
            end += 1
        last = end
        while text[end - 1] == ".":  # a sentence's full stop
            end -= 1
        if end - start > 45 or (start and (text[start - 1].isalnum() or text[start - 1] in "_.:")):
            continue
        m = _IPV6.match(text, start, end)
        if m is None or m.end() != end:
            continue
        s = m.group()
        # Need 3+ groups and a digit: rules out C++ `Foo::Bar`-style hex words and bare "::1".
        if len([g for g in s.split(":") if g]) + ("." in s) < 3 or not any(c.isdigit() for c in s):
            continue
        try:
            ipaddress.IPv6Address(s)
        except ValueError:
            continue
        yield m.span()


_NB = r"(?<![\w+.\-/:=#$€£%].)"  # (after the first char) the char before the match is not part of a token
_PHONE = re.compile(
    rf"(?:\+{_NB}\d{{1,4}}[ .\-]?(?:\(\d{{1,5}}\)[ .\-]?)?"  # +CC, maybe (0) or (area)
    rf"|\({_NB}\d{{1,5}}\)[ .\-]?"  # (area)
    rf"|\d{_NB}(?:\d{{0,3}}[ .\-]?\(\d{{1,5}}\)[ .\-]?)?)"  # a digit, maybe CC (area)
    r"(?:\d{6,15}|\d{0,8}(?:[ .\-]\d{1,8}){1,6})"  # 7+ digits, or groups with one separator between
    r"(?:[ ]?(?:x|ext\.?)[ ]?\d{1,6})?"  # extension
    r"(?![\w]|[.\-/:,]\d)",
    re.ASCII,
)
_NANP = re.compile(
    r"(?:\+?1[ .\-]?|001[ .\-])?(?:\(\d{3}\)[ ]?\d{3}[\-.]\d{4}|\d{3}(?P<s>[\-.])\d{3}(?P=s)\d{4})", re.ASCII
)
_DATE_START = re.compile(
    r"(\d{4})([\-./ ])(\d{1,2})\2(\d{1,2})(?!\d)|(\d{1,2})([\-./ ])(\d{1,2})\6(?:19|20)\d\d$", re.ASCII
)
_PHONE_WORDS = (
    r"\b(?:phone|phones|tel|telephone|mobile|mob|cell|cellphone|fax|call|calls|calling|sms|"
    r"messages?|whatsapp|contact|dial|desk|office|hotline|helpline|landline|ph|tlf|telefon|"
    r"téléphone|teléfono|telefone|telefono)\b"
)
_PHONE_CTX_BEFORE = re.compile(_PHONE_WORDS + r"[^\n]{0,24}$", re.IGNORECASE)
_PHONE_CTX_AFTER = re.compile(r"[ \t\-,:]{0,3}" + _PHONE_WORDS, re.IGNORECASE)


def _is_date(core: str) -> bool:
    m = _DATE_START.match(core)
    if not m:
        return False
    if m.group(1):
        return 1 <= int(m.group(3)) <= 12 and 1 <= int(m.group(4)) <= 31
    a, b = int(m.group(5)), int(m.group(7))
    return 1 <= min(a, b) <= 12 and max(a, b) <= 31


def _phone_ok(text: str, start: int, end: int, strong_only: bool = False) -> bool:
    s = text[start:end]
    core = re.split(r"[ ]?(?:x|ext\.?)[ ]?(?=\d)", s, maxsplit=1)[0]
    digits = "".join(c for c in core if c.isdigit())
    if not 7 <= len(digits) <= 15 or len(set(digits)) < 3 or _is_date(core):
        return False
    groups = re.findall(r"\d+", core)
    seps = set(re.findall(r"(?<=\d)[ .\-](?=\d)", core))
    if len(groups) > 1 and len(groups[-1]) < 2:  # "+1.5 2", "+35236450.6": not a phone's last group
        return False
    if "." in seps and len(groups) == 2:  # "01234.000000", "+1.4142135623731": a decimal number
        return False
    if core.startswith("+") and digits[0] != "0" and len(digits) >= 8:  # international format
        # ... unless a signed integer limit in code: +2147483647, +4294967296 (2**n or 2**n - 1)
        return len(groups) > 1 or not (
            int(digits) & (int(digits) - 1) == 0 or int(digits) & (int(digits) + 1) == 0
        )
    if _NANP.fullmatch(core):
        return True
    if re.fullmatch(r"\d{3}-\d{2}-\d{4}", core):  # the US SSN shape is not a phone number
        return False
    # National format with a trunk 0: "07700 900123", "0490 75 40 81", "03.93.92.16.85" (10-12 digits;
    # groups of one length only in the 0X XX XX XX XX style, so "012 013 023 123" is not one).
    if (
        digits[0] == "0" and digits[1] != "0" and 10 <= len(digits) <= 12
        and len(groups) >= 2 and len(groups[0]) >= 2 and len(seps) == 1 and "(" not in core
        and (len({len(g) for g in groups}) > 1 or re.fullmatch(r"0\d(?:[ .\-]\d\d){4}", core))
        and (seps != {"."} or re.fullmatch(r"0\d(?:\.\d\d){4}", core))  # dotted: only 0X.XX.XX.XX.XX
    ):  # fmt: skip
        return True
    # Anything else ("467 3395", "99 668472") is a phone only next to a phone word.
    if strong_only or len(groups[0]) < 2 and not core.startswith("("):
        return False
    if len(groups) == 1 and len(digits) not in (10, 11):
        return False
    return (
        _PHONE_CTX_BEFORE.search(text, max(0, start - 40), start) is not None
        or _PHONE_CTX_AFTER.match(text, end, min(len(text), end + 16)) is not None
    )


_PHONE_TOKEN = re.compile(r"\+?\(?\d+\)?(?:[ ]?(?:x|ext\.?)[ ]?\d+)?")
# A digit (or hex byte) group right next to a candidate: the candidate is a slice of a longer table
# or hex dump ("00 00 08 00 00 00 00 02 00"), not a phone.
_GROUP_BEFORE = re.compile(
    r"(?:\d|(?<![\w])(?:\d[0-9A-Fa-f]|[0-9A-Fa-f]\d|[A-F]{2})|(?<![\w])[0-9A-Fa-f]{2} [0-9A-Fa-f]{2})[ .\-]$"
)
_GROUP_AFTER = re.compile(r"[ .\-](?:\d|(?:\d[0-9A-Fa-f]|[0-9A-Fa-f]\d|[A-F]{2})(?![\w]))")


def _phones(text: str) -> Iterable[tuple[int, int]]:
    for m in _PHONE.finditer(text):
        if _GROUP_BEFORE.search(text, max(0, m.start() - 6), m.start()) or _GROUP_AFTER.match(text, m.end()):
            continue
        if _phone_ok(text, m.start(), m.end()):
            yield m.span()
            continue
        # A rejected run may still hold a phone after a ZIP code ("AE 44085 0688 843 79 56": drop a
        # leading group of 4+ digits) or a full-format phone before a house number ("834.345.1254 155
        # Elm St": drop trailing groups). Runs of 2-digit groups only are byte dumps: no retry.
        toks = [(m.start() + t.start(), m.start() + t.end()) for t in _PHONE_TOKEN.finditer(m.group())]
        if all(len(re.sub(r"\D", "", text[a:b])) <= 2 for a, b in toks):
            continue
        n = len(toks)
        if (
            n > 2
            and toks[0][1] - toks[0][0] >= 4
            and text[toks[0][1]] == " "
            and _phone_ok(text, toks[1][0], m.end())
        ):
            yield toks[1][0], m.end()
            continue
        for j in range(n - 2, 0, -1):
            if text[toks[j][1]] == " " and _phone_ok(text, m.start(), toks[j][1], strong_only=True):
                yield m.start(), toks[j][1]
                break


_USER = re.compile(
    r"@(?<![\w@.\-/].)(?P<name>[A-Za-z0-9_](?:[A-Za-z0-9_.\-]{0,37}[A-Za-z0-9_])?)(?![\w@]|\.\w)"
)
# "@name" that is code, not a person: Javadoc/JSDoc tags, Python decorators, CSS/Sass at-rules.
_NOT_HANDLES = frozenset((
    "param", "return", "returns", "throws", "throw", "exception", "see", "since", "author", "version",
    "deprecated", "override", "link", "code", "inheritdoc", "type", "property", "staticmethod",
    "classmethod", "dataclass", "abstractmethod", "interface", "implementation", "end", "media",
    "import", "font-face", "keyframes", "charset", "supports", "page", "namespace", "mixin", "include",
    "extend", "each", "if", "else", "echo", "pytest", "fixture", "app",
))  # fmt: skip


def _users(text: str) -> Iterable[tuple[int, int]]:
    if "@" in text:
        for m in _USER.finditer(text):
            if m.group("name").lower() not in _NOT_HANDLES:
                yield m.span()


DETECTORS = {
    "email": _emails,
    "ip_address": _ips,
    "phone": _phones,
    "user": _users,
}
