r"""PII detectors for contact and payment data: emails, IPs, phones, payment cards, IBANs, @handles.

Each detector is `fn(text) -> iterable of (start, end)`; `curation.steps.pii` resolves overlaps and
replaces. Context rules against the known false positives:
- IPv4: not after a version/section word ("version 2.0.1.3", "§ 1.2.3.4", "see 4.4.6.4 and ..."), not
  outline numbering at a line start ("1.2.3.4 Scope"), not all one-digit parts ("GCC 2.7.2.2"), not
  part of a longer dotted run (OIDs). Private and reserved ranges are found here; `_pii_scan.IpPolicy`
  leaves non-public ones alone by default.
- Phones: international (+CC), NANP and trunk-0 national formats count anywhere; any other digit
  grouping only next to a phone word. Dates, the US SSN shape, decimals, integer limits, tables and
  byte dumps are not phones.
- Cards: Luhn, an issuer prefix (IIN) with a length it uses, printed grouping; a bare digit run also
  needs a card word before it (long integers pass Luhn one time in ten).
- IBANs: the country's length and mod-97, in one letter case.

Patterns use bounded quantifiers only and never start inside a run of their own characters, so the
scan is linear in the document. Speed: `re` skips quickly to a pattern's first literal or
character class, so patterns open with one (e.g. `\d`) and put the "not inside a run" look-behind
right after it (`\d(?<![\w.]\d)`), not in front, where it would run at every character.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable


def luhn_ok(digits: str) -> bool:
    """Luhn (mod-10) checksum of a digit string, as used by every payment card number (ISO/IEC 7812)."""
    if not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# Country code -> IBAN length (SWIFT IBAN registry); an IBAN of the wrong length is not an IBAN.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
    "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28,
    "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
    "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def iban_ok(iban: str) -> bool:
    """ISO 13616 check: known country, the country's length, and mod-97 of the rearranged number == 1."""
    s = iban.replace(" ", "").upper()
    if IBAN_LENGTHS.get(s[:2]) != len(s) or not s[2:4].isdigit() or not s.isalnum() or not s.isascii():
        return False
    return int("".join(str(int(ch, 36)) for ch in s[4:] + s[:4])) % 97 == 1


def card_ok(digits: str, card_context: bool = False) -> bool:
    """A payment card number: Luhn-valid, 13-19 digits, and a length that its issuer (IIN) uses.

    The IIN table rejects most Luhn-valid accidents: 13-digit millisecond timestamps start with 1,
    which no 13-digit card does. 12-digit Maestro numbers exist but are as common as order numbers,
    so they count only with `card_context` (a word like "card" just before).
    """
    n = len(digits)
    if not 12 <= n <= 19 or not luhn_ok(digits) or len(set(digits)) == 1:
        return False
    p2, p4, p6 = int(digits[:2]), int(digits[:4]), int(digits[:6])
    if n == 12:  # Maestro 50, 56-69 only, and only next to a card word
        return card_context and (p2 == 50 or 56 <= p2 <= 69)
    if digits[0] == "4":  # Visa
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:  # Mastercard
        return n == 16
    if p2 in (34, 37):  # Amex
        return n == 15
    if 300 <= p4 // 10 <= 305 or p4 == 3095 or p2 in (36, 38, 39):  # Diners
        return 14 <= n <= 19
    if 3528 <= p4 <= 3589:  # JCB
        return n >= 16
    if p4 in (2131, 1800):  # old JCB
        return n == 15
    if 2200 <= p4 <= 2204:  # Mir
        return n >= 16
    if p4 == 6011 or 644 <= p4 // 10 <= 649 or p2 == 65 or 622126 <= p6 <= 622925:  # Discover
        return n >= 16
    if p2 == 62:  # UnionPay
        return n >= 16
    return p2 == 50 or 56 <= p2 <= 69  # Maestro (13-19)


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


# Contiguous 12-19 digits, or the printed groupings: 4-4-4-4(-1..3), 4-4-4-1..3, 4-6-5 (Amex), 4-6-4
# (Diners), with one consistent separator. Loose digit soup ("1 2 3 4 ...") is not a card.
_CARD = re.compile(
    r"\d(?<![\w.,\-]\d)(?:\d{11,18}|\d{3}(?P<s>[ \-])\d{4}(?P=s)\d{4}(?P=s)\d{1,4}(?:(?P=s)\d{1,3})?"
    r"|\d{3}(?P<t>[ \-])\d{6}(?P=t)\d{4,5})(?![\w\-]|[.,]\d)",
    re.ASCII,
)
_CARD_WORD = re.compile(
    r"(?i)\b(?:cards?|cc|ccn|credit|debit|maestro|visa|mastercard|amex|american express|discover|jcb|"
    r"diners|pan|payment|kreditkarte|karte|carte|tarjeta|cartão|carta)\b"
)


def _cards(text: str) -> Iterable[tuple[int, int]]:
    for m in _CARD.finditer(text):
        digits = m.group().replace(" ", "").replace("-", "")
        # Printed groups ("4111 1111 1111 1111") are a card anywhere. A bare digit run needs a card word
        # within 60 chars before it: long integers (seeds, ids, tweet ids) pass Luhn 1 time in 10.
        if len(digits) == len(m.group()) and not _CARD_WORD.search(text, max(0, m.start() - 60), m.start()):
            continue
        if card_ok(digits, card_context=True):
            yield m.span()


_IBAN_START = re.compile(r"\d(?<=(?<![A-Za-z0-9])[A-Za-z]{2}\d)\d(?=[ ]?[A-Za-z0-9])", re.ASCII)


def _ibans(text: str) -> Iterable[tuple[int, int]]:
    for m in _IBAN_START.finditer(text):
        start = m.start() - 2
        length = IBAN_LENGTHS.get(text[start : start + 2].upper())
        if length is None:
            continue
        # Walk to exactly the country's length; a space may separate the printed groups of 4.
        n, i, limit = 0, start, min(len(text), start + length + length // 4)
        while n < length and i < limit:
            ch = text[i]
            if ch == " " and n % 4 == 0 and n and i + 1 < limit and text[i + 1].isalnum():
                i += 1
                continue
            if not (ch.isascii() and ch.isalnum()):
                break
            n, i = n + 1, i + 1
        if n != length or (i < len(text) and text[i].isalnum()):
            continue
        cand = text[start:i]
        if (cand.upper() == cand or cand.lower() == cand) and iban_ok(cand):
            yield start, i


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
    "credit_card": _cards,
    "iban": _ibans,
    "ip_address": _ips,
    "phone": _phones,
    "user": _users,
}
