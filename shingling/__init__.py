"""What "near-duplicate" compares: text normalization and shingles, shared by curation and training.

Curation's MinHash dedup (`curation.steps.minhash`) signs these shingles, and the ablation's
decontamination (`training.sample`) measures containment of an evaluated text's shingles in a
training document with them, so "near-duplicate" means one thing in both. This package sits at the
ground floor next to `runfolder/`: the standard library and `regex` only, importable by every package
without an edge between curation and training.

Normalization: lowercase, keep runs of letters, digits and combining marks (Devanagari/Thai vowel
signs are marks), everything else separates tokens. Word mode makes word n-grams; char mode makes
character n-grams of the text with separators removed (for languages written without spaces). A text
shorter than one n-gram is a single shingle; an empty text has none.

The text is normalized in pieces of ~PIECE_CHARS characters cut at whitespace (whitespace always
separates tokens, so no token and no lowercase context is split): a 50 MB document never holds more
than one piece at a time where the caller streams pieces (curation's signer does).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import regex

# Letters, digits and combining marks (Devanagari/Thai vowel signs are marks: `re`'s \w splits on them).
TOKEN_RE = regex.compile(r"[\p{L}\p{N}\p{M}]+")
NON_TOKEN_RE = regex.compile(r"[^\p{L}\p{N}\p{M}]+")
PIECE_CHARS = 1 << 18  # characters normalized at a time (cut at whitespace): ~10 MB of hashing arrays

__all__ = [
    "NON_TOKEN_RE",
    "PIECE_CHARS",
    "TOKEN_RE",
    "drop_short_lines",
    "normalize_piece",
    "normalize_tokens",
    "shingles",
    "text_pieces",
]


def _ascii_table() -> bytes:
    table = bytearray(b" " * 256)
    for c in b"abcdefghijklmnopqrstuvwxyz0123456789":
        table[c] = c
    for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        table[c] = c + 32
    return bytes(table)


_ASCII_TABLE = _ascii_table()  # lowercase letters and digits kept, every other byte -> space


def normalize_piece(text: str) -> bytes:
    """UTF-8 of the normalized text: tokens separated by one or more spaces.

    ASCII text (most of the web) takes a byte-table path with the same result as the Unicode one.
    """
    if text.isascii():
        return text.encode().translate(_ASCII_TABLE)
    return NON_TOKEN_RE.sub(" ", text.lower()).encode()


def text_pieces(text: str, piece_chars: int = PIECE_CHARS) -> Iterator[bytes]:
    """Normalized pieces of ~piece_chars characters, cut at whitespace (one piece for most documents)."""
    n, start = len(text), 0
    while start < n:
        end = start + piece_chars
        if end >= n:
            end = n
        else:
            cut = max(text.rfind(" ", start, end), text.rfind("\n", start, end), text.rfind("\t", start, end))
            if cut <= start:  # no whitespace in the window: extend to the next one (a giant token)
                later = [
                    p for p in (text.find(" ", end), text.find("\n", end), text.find("\t", end)) if p >= 0
                ]
                cut = min(later) if later else n
            end = cut
        yield normalize_piece(text[start:end])
        start = end


_SHORT_LINE_RES: dict[int, re.Pattern] = {}


def drop_short_lines(text: str, min_words: int) -> str:
    """`text` without its lines of fewer than `min_words` whitespace-separated words (menus, dates,
    bylines, share buttons: the boilerplate that differs between two copies of a page). A text made
    only of short lines is kept whole, so it is still compared with its copies.
    """
    if min_words <= 1:
        return text
    pattern = _SHORT_LINE_RES.get(min_words)
    if pattern is None:  # a line of at most min_words - 1 words, with its newline
        pattern = re.compile(rf"^[^\S\n]*(?:\S+[^\S\n]*){{0,{min_words - 1}}}(?:\n|\Z)", re.MULTILINE)
        _SHORT_LINE_RES[min_words] = pattern
    kept = pattern.sub("", text)
    return kept if kept.strip() else text


def normalize_tokens(text: str) -> list[bytes]:
    """UTF-8 tokens: lowercased runs of letters/digits/marks; punctuation and whitespace separate them."""
    return [t for piece in text_pieces(text) for t in piece.split()]


def shingles(text: str, ngram: int = 5, char: bool = False, min_line_words: int = 0) -> list[bytes]:
    """The UTF-8 shingles of `text` after normalization (repeats included: MinHash ignores them).

    Args:
        text: the text to shingle.
        ngram: words (or characters, with `char`) per shingle.
        char: character n-grams of the normalized text with separators removed, for languages
            written without spaces between words.
        min_line_words: lines of fewer words are dropped first (`drop_short_lines`); 0: none.

    Returns:
        The shingles in text order; `[everything]` when the text is shorter than one n-gram, `[]` when
        it has no letters or digits.
    """
    text = drop_short_lines(text, min_line_words)
    if char:
        chars = "".join(t.decode() for t in normalize_tokens(text))
        if len(chars) <= ngram:
            return [chars.encode()] if chars else []
        return [chars[i : i + ngram].encode() for i in range(len(chars) - ngram + 1)]
    tokens = normalize_tokens(text)
    if len(tokens) <= ngram:
        return [b" ".join(tokens)] if tokens else []
    return list(map(b" ".join, zip(*[tokens[i:] for i in range(ngram)])))
