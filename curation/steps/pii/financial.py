r"""PII detectors for payment data: payment card numbers and IBANs.

Each detector is `fn(text) -> iterable of (start, end)`; `curation.steps.pii` resolves overlaps and
replaces. Context rules against the known false positives:
- Cards: Luhn, an issuer prefix (IIN) with a length it uses, printed grouping; a bare digit run also
  needs a card word before it (long integers pass Luhn one time in ten).
- IBANs: the country's length and mod-97, in one letter case.
"""

from __future__ import annotations

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


DETECTORS = {
    "credit_card": _cards,
    "iban": _ibans,
}
