"""PII detectors for secrets: vendor tokens, private-key blocks, AWS keys, URL passwords, `key = value`.

`fn(text) -> iterable of (start, end)`, used by `curation.steps.pii`. The hard part is precision:
a random-looking value counts only next to a credential keyword (or in a vendor's token format), so
git SHAs, UUIDs and hashes in prose stay; ids, paths, references and placeholders are skipped.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable


def shannon_entropy(s: str) -> float:
    """Bits per character of `s` (random base64 ~ 5-6, random hex ~ 3.5-4, English words ~ 3-4)."""
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values()) if n else 0.0


_T = r"(?<![A-Za-z0-9_\-].)"  # right after a pattern's first char: not inside a longer token
# Vendor tokens: (substrings one of which must occur, pattern). Most documents hold none of the
# substrings, and `in` is far faster than a regex pass, so each pattern runs only where it can match.
_TOKENS = [
    (markers, re.compile(pattern.replace("{T}", _T) + r"(?![A-Za-z0-9_\-])"))
    for markers, pattern in [
        (("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "ABIA", "ACCA", "APKA", "ASCA", "A3T"),
         r"A{T}(?:KIA|SIA|BIA|CCA|GPA|IDA|IPA|NPA|NVA|PKA|ROA|SCA|3T[A-Z0-9])[A-Z0-9]{16}"),  # AWS key id
        (("AIza",), r"A{T}Iza[0-9A-Za-z_\-]{35}"),  # Google API key
        (("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-"),
         r"g{T}(?:h[pousr]_[A-Za-z0-9]{36,251}|ithub_pat_[A-Za-z0-9_]{22,255}|lpat-[A-Za-z0-9_\-]{20,64})"),
        (("xox",), r"x{T}ox[abposr]-[A-Za-z0-9\-]{10,250}"),  # Slack
        (("hooks.slack.com",), r"h{T}ooks\.slack\.com/services/[A-Za-z0-9_/]{20,100}"),
        (("k_live_", "k_test_"), r"[sr]{T}k_(?:live|test)_[A-Za-z0-9]{10,247}"),  # Stripe (pk_ is public)
        # Anthropic, OpenAI (project, service-account, admin, legacy "T3BlbkFJ" keys)
        (("sk-",), (r"s{T}k-(?:ant-[a-z0-9]{2,10}-[A-Za-z0-9_\-]{32,200}|proj-[A-Za-z0-9_\-]{40,250}"
                   r"|(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,200}T3BlbkFJ[A-Za-z0-9_\-]{20,200})")),
        (("hf_",), r"h{T}f_[A-Za-z]{34}"),  # Hugging Face
        (("npm_",), r"n{T}pm_[A-Za-z0-9]{36}"),
        (("SG.",), r"S{T}G\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}"),  # SendGrid
        (("eyJ",), r"e{T}yJ[A-Za-z0-9_\-]{8,4096}\.eyJ[A-Za-z0-9_\-]{8,8192}\.[A-Za-z0-9_\-]{8,4096}"),  # JWT
    ]
]  # fmt: skip
_PRIVATE_KEY = re.compile(r"-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----")
_B64_LINE = re.compile(r"[ \t]{0,64}(?:[A-Za-z0-9+/=]{16,}|[A-Za-z\-]{1,40}: .{0,200})[ \t]{0,64}(?:\n|$)")
# An AWS secret access key: 40 base64 chars, as an assigned value under any name (anchoring on "=" or
# ":" skips prose; bare 40-char words and base64 test vectors in string literals are left alone).
_AWS_SECRET = re.compile(r"[=:][ \t]{0,16}[\"'`]?([A-Za-z0-9+/]{40})(?![A-Za-z0-9+/=])")
_BASIC_AUTH = re.compile(r"://[^\s:/@]{1,64}:([^\s:/@]{1,128})@")  # scheme://user:PASSWORD@host
# `key = value` where the key names a credential. Matching starts at the keyword (a character class
# first is ~3x faster than a look-behind first); the rest of the key is found by scanning back.
_ASSIGN = re.compile(
    r"[PpSsTtKkAaCc](?i:ass|wd|ecret|oken|ey|uth|redential)[A-Za-z0-9_.\-]{0,40}"
    r"[\"']?(?:[ \t]{0,16}(?::=|=>|=(?!=))|:)"  # no space before ':' ("key: v", not prose "pass :c:expr:")
    r"[ \t]{0,16}(?:!!binary[ \t]+)?[\"'`]?(?P<value>[^\s\"'`,;]{6,256})"
)
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_KEYWORD = re.compile(r"(?i)pass|pwd|secret|token|key|auth|credential")
_MORE_VALUES = re.compile(r"[\"'`]?[ \t]{0,16},[ \t]{0,16}[\"'`](?P<value>[^\s\"'`,;]{6,256})")
_PASSWORD_KEY = re.compile(r"(?i)pass(?:word|wd|phrase)|pwd|[_.\-]pass$|secret")
# Keys that hold no secret: ids, names, paths, sizes (detect-secrets skips `*_id` too), public keys,
# and digests (a hash of something is not the something: `key_sha256`, `hashed_secret`).
_ID_KEY = re.compile(
    r"[_.\-](?i:id|name|file|path|url|length|len|size|type|count|maps?)$"
    r"|(?<=[a-z])(?:Id|ID|Name|File|Path|Url|Length|Size|Type|Count)$"
    r"|(?i:public|pub_|pubkey|sha\d*|md5|hash|digest|checksum|fingerprint|etag|commit)"
)
# Identifier-like values: "CreateCloudFrontOriginAccessIdentity2014", "DebertaV2Converter". Their
# case/digit segments average >= 3 chars; random base64 averages ~1.9 (99th percentile 3.1).
_SEGMENT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_CAMEL_WORDS = re.compile(r"_?[A-Z][a-z]+(?:[A-Z][a-z]+)+")  # _PasswordType: a type, not a password


def _wordy(value: str) -> bool:
    segments = _SEGMENT.findall(value)
    return bool(segments) and sum(map(len, segments)) / len(segments) >= 3.0


# Values that are not secrets: references, templates, paths, URLs, placeholders, identifiers.
_PLACEHOLDER = re.compile(
    r"^(?:[$%<{\[(:]|.*[()\[\]<>{}]|.*:/|[./~])"  # ${VAR}, <your key>, f(x), None), a[0], paths
    r"|^(?i:x+|null|none|nil|true|false|undefined|changeme|password|secret|redacted|example|\.\.\.+)$"
    r"|^[*•]{3}"  # masked: ********, ****/**/**
    r"|^[a-z_]+(?::[a-z_]+)+$"  # field lists: "GID:user_list"
    r"|^_*[a-z][a-z0-9]*(?:[_\-][a-z0-9]+)+$|^_*[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$"  # snake/kebab, CONSTANTS
    r"|^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"  # a UUID
    r"|^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$"  # dotted references: settings.SECRET_KEY
)


def _secret_value_ok(key: str, value: str) -> bool:
    if _ID_KEY.search(key) or _PLACEHOLDER.search(value):
        return False
    has_digit = any(c.isdigit() for c in value)
    if _PASSWORD_KEY.search(key):  # passwords need not be random: "hunter2" is one
        return (
            len(value) >= 6
            and (has_digit or not value.rstrip(".!?:").isalpha())
            and not _CAMEL_WORDS.fullmatch(value)
        )
    # token / key / auth: a random-looking string in the base64/hex alphabet; hex needs 32+ chars
    # (API tokens in hex are 32/40 long; 16-hex values are ids and short hashes).
    return (
        len(value) >= (32 if re.fullmatch(r"[0-9a-fA-F]+", value) else 16)
        and re.fullmatch(r"[A-Za-z0-9+/=_\-]+", value) is not None
        and has_digit
        and any(c.isalpha() for c in value)
        and shannon_entropy(value) >= 3.0
        and not _wordy(value)
    )


def _secrets(text: str) -> Iterable[tuple[int, int]]:
    for markers, pattern in _TOKENS:
        if any(map(text.__contains__, markers)):
            for m in pattern.finditer(text):
                yield m.span()
    if "PRIVATE KEY" in text:
        next_end: dict[str, int] = {}  # END marker -> its next position; one search per END, so linear
        for m in _PRIVATE_KEY.finditer(text):
            end_marker = "-----END" + m.group()[len("-----BEGIN") :]
            end = next_end.get(end_marker)
            if end is None or 0 <= end < m.end():
                end = next_end[end_marker] = text.find(end_marker, m.end())
            if 0 <= end <= m.end() + 64_000:  # a key block is a few KB
                yield m.start(), end + len(end_marker)
            elif text[m.end() : m.end() + 1] in ("\n", "\r") or text[m.end() : m.end() + 2] == "\\n":
                # truncated block: the base64 body lines that follow (none: prose naming the marker)
                end = m.end() + 1
                while (b := _B64_LINE.match(text, end)) and b.end() > end:
                    end = b.end()
                if end > m.end() + 1:
                    yield m.start(), end
    for m in _AWS_SECRET.finditer(text):
        s = m.group(1)
        if (
            any(c.isupper() for c in s) and any(c.islower() for c in s) and any(c.isdigit() for c in s)
            and not re.fullmatch(r"[0-9a-fA-F]+", s) and shannon_entropy(s) >= 4.3 and not _wordy(s)
        ):  # fmt: skip
            yield m.span(1)
    if "://" in text:
        for m in _BASIC_AUTH.finditer(text):
            if len(m.group(1)) >= 5 and not _PLACEHOLDER.search(m.group(1)):  # not "pass", "repo", "x"
                yield m.span(1)
    for m in _ASSIGN.finditer(text):
        start = m.start()
        while start > m.start() - 40 and start > 0 and text[start - 1] in _KEY_CHARS:
            start -= 1
        if start > 0 and text[start - 1] in _KEY_CHARS:
            continue  # a key longer than 40 chars: not a config key
        key = re.match(r"[A-Za-z0-9_.\-]*", text[start : m.start("value")]).group()
        if _KEYWORD.search(key) and _secret_value_ok(key, m.group("value")):
            yield m.span("value")
            pos = m.end()
            while (more := _MORE_VALUES.match(text, pos)) and _secret_value_ok(key, more.group("value")):
                yield more.span("value")
                pos = more.end()


DETECTORS = {"secret": _secrets}
