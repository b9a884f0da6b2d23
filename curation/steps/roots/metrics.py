"""ROOTS document metrics (pure, vectorized) and document modifications, used by `curation/steps/roots/__init__.py`.

Definitions follow BigScience's `data-preparation` repo (`preprocessing/training/01b_oscar_cleaning_and_
filtering/filtering.py`, the ROOTS paper's section 3.1):

- words: the text split on space, newline and tab (only those: "a\rb" is one word), each token
  stripped of ROOTS' *special characters* at both ends, empty tokens dropped. The word count uses the
  cased text, the ratios lowercased words (their number can differ: lowercasing turns some letters
  into special characters and back). zh: the text is first normalized (`normalize`) and tokenized.
- character repetition ratio: over all character n-grams (n=10; 3 for zh) of the raw text, the sum of
  the k highest n-gram counts over the number of n-grams, with k = min(floor(sqrt(#distinct)),
  #distinct - #n-grams seen once) (data-preparation's fix: n-grams seen once never count as repeated).
- word repetition ratio: over all word n-grams (n=5; 7 for ur), the counts of n-grams seen more than
  once summed, over the number of n-grams.
- special character ratio: characters in the special set over all characters of the text.
- stop-word / flagged-word ratio: words (plus joined word bigrams for zh and vi, "word augmentation")
  found in the list, over the number of words, capped at 1.

Speed: instead of Python lists of substrings, the text becomes a numpy array of code points, and
every word / n-gram becomes a 64-bit polynomial hash computed from one prefix sum, so a document costs
a few vectorized passes. Two different strings collide with probability ~2^-64 (ignored).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

_MAX_CP = 0x110000
_Q = np.uint64(0x9E3779B97F4A7C15)  # odd, so invertible mod 2^64
_Q_INV = np.uint64(pow(int(_Q), -1, 2**64))
_R = np.uint64(0xC2B2AE3D27D4EB4F)  # combines word hashes into word n-gram hashes

SPLIT_CHARS = " \n\t"  # ROOTS splits words on these three only ("a\rb" is one word)


@lru_cache(maxsize=4)
def char_tables(special_chars: str, split_chars: str = SPLIT_CHARS) -> tuple[np.ndarray, np.ndarray]:
    """(special, split) boolean lookup tables indexed by code point.

    `special_chars`: ROOTS' special characters (`roots_special_characters()` in roots.py: ASCII
    punctuation, digits and whitespace, its list of other characters and the single-code-point emoji of
    emoji==1.6.1); `split_chars`: the characters words are split on.
    """
    special = np.zeros(_MAX_CP, dtype=bool)
    special[[ord(c) for c in set(special_chars)]] = True
    split = np.zeros(_MAX_CP, dtype=bool)
    split[[ord(c) for c in split_chars]] = True
    return special, split


class _Powers:
    """Q^j and Q^-j mod 2^64, grown on demand."""

    def __init__(self):
        self.q = np.ones(1, dtype=np.uint64)
        self.q_inv = np.ones(1, dtype=np.uint64)

    def get(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.q) < n:
            size = max(n, 2 * len(self.q), 1 << 16)
            self.q = np.cumprod(np.full(size, _Q, dtype=np.uint64)) * _Q_INV
            self.q_inv = np.cumprod(np.full(size, _Q_INV, dtype=np.uint64)) * _Q
        return self.q[:n], self.q_inv[:n]


_POWERS = _Powers()


def codepoints(text: str) -> np.ndarray:
    """The text as a uint32 array of Unicode code points (a copy-free view of its UTF-32 bytes)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def prefix_hashes(cp: np.ndarray) -> np.ndarray:
    """C[i] = sum_{j<i} cp[j] * Q^j (mod 2^64); the hash of cp[a:b] is (C[b] - C[a]) * Q^-a."""
    q, _ = _POWERS.get(len(cp))
    out = np.zeros(len(cp) + 1, dtype=np.uint64)
    np.cumsum(cp.astype(np.uint64) * q, out=out[1:])
    return out


def span_hashes(prefix: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Position-independent hashes of the spans [starts, ends) (equal strings -> equal hashes)."""
    _, q_inv = _POWERS.get(len(prefix))
    return (prefix[ends] - prefix[starts]) * q_inv[starts]


def hash_strings(strings: list[str]) -> np.ndarray:
    """Sorted unique hashes of whole strings (for stop-word / flagged-word membership)."""
    if not strings:
        return np.zeros(0, dtype=np.uint64)
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    ends = np.cumsum(lengths)
    return np.unique(span_hashes(prefix_hashes(codepoints("".join(strings))), ends - lengths, ends))


def word_spans(cp: np.ndarray, special: np.ndarray, space: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the words: whitespace tokens stripped of special characters at both ends."""
    if len(cp) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    ws = space[cp]
    token_start = ~ws
    token_start[1:] &= ws[:-1]
    token_id = np.cumsum(token_start)
    core = np.flatnonzero(~(special[cp] | ws))  # positions that survive stripping
    if len(core) == 0:
        return core, core
    tid = token_id[core]
    new = np.empty(len(core), dtype=bool)
    new[0] = True
    np.not_equal(tid[1:], tid[:-1], out=new[1:])
    last = np.empty(len(core), dtype=bool)
    last[-1] = True
    last[:-1] = new[1:]
    return core[new], core[last] + 1


def _run_counts(hashes: np.ndarray) -> np.ndarray:
    """Occurrence count of each distinct value."""
    s = np.sort(hashes)
    cuts = np.flatnonzero(s[1:] != s[:-1]) + 1
    return np.diff(np.concatenate(([0], cuts, [len(s)])))


def char_repetition_ratio(cp: np.ndarray, n: int) -> float:
    """ROOTS character repetition ratio of a code-point array (0 when shorter than n)."""
    count = len(cp) - n + 1
    if count <= 0:
        return 0.0
    pre = prefix_hashes(cp)
    starts = np.arange(count)
    counts = _run_counts(span_hashes(pre, starts, starts + n))
    distinct = len(counts)
    k = min(int(np.sqrt(distinct)), distinct - int(np.count_nonzero(counts == 1)))
    if k <= 0:
        return 0.0
    top = np.partition(counts, distinct - k)[distinct - k :]
    return float(top.sum() / count)


def ngram_hashes(word_hashes: np.ndarray, n: int) -> np.ndarray:
    """Hashes of the word n-grams (sliding window of n word hashes)."""
    count = len(word_hashes) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    out = word_hashes[:count].copy()
    for j in range(1, n):
        out = out * _R + word_hashes[j : j + count]
    return out


def word_repetition_ratio(word_hashes: np.ndarray, n: int) -> float:
    """ROOTS word repetition ratio: share of word n-grams that occur more than once (0 when < n words)."""
    grams = ngram_hashes(word_hashes, n)
    if len(grams) == 0:
        return 0.0
    counts = _run_counts(grams)
    return float(counts[counts > 1].sum() / len(grams))


def augmented_hashes(word_hashes: np.ndarray, lengths: np.ndarray, sizes: list[int], join: str) -> np.ndarray:
    """Hashes of `join.join(words[i:i+g])` for each group size g (ROOTS' word augmentation, zh / vi)."""
    if not sizes or len(word_hashes) == 0:
        return np.zeros(0, dtype=np.uint64)
    q, _ = _POWERS.get(int(lengths.sum()) + len(lengths) * len(join) + 1)
    join_hash = hash_strings([join])[0] if join else np.uint64(0)
    out = []
    for g in sizes:
        count = len(word_hashes) - g + 1
        if count <= 0:
            continue
        h = word_hashes[:count].copy()
        offset = lengths[:count].copy()
        for j in range(1, g):
            if join:
                h = h + q[offset] * join_hash
                offset = offset + len(join)
            h = h + q[offset] * word_hashes[j : j + count]
            offset = offset + lengths[j : j + count]
        out.append(h)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.uint64)


def in_sorted(values: np.ndarray, sorted_set: np.ndarray) -> int:
    """How many of `values` are in `sorted_set` (a sorted uint64 array)."""
    if len(sorted_set) == 0 or len(values) == 0:
        return 0
    idx = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return int(np.count_nonzero(sorted_set[idx] == values))


def modify_document(text: str, p: dict, special_chars: str, whitespace: tuple[str, ...]) -> str:
    """ROOTS' document modifications: strip, uniform whitespace, drop URL-like and over-long words.

    `whitespace` (ROOTS' own list: NBSP, thin / ideographic spaces, U+FFFC, U+0084, ...) becomes a space;
    other whitespace (\r, \f, U+2028, ...) is left alone, as ROOTS did. A word is a space-separated token
    of a tab-separated part of a line; it is dropped when, stripped of special characters, it contains
    one of `remove_word_substrings`, or when it is longer than `max_word_length` even after stripping.
    Empty parts and lines disappear (ROOTS re-joins only non-empty ones).
    """
    text = text.strip().translate(_whitespace_table(whitespace))
    if not text or not (p["remove_words_with_substrings"] or p["remove_long_words"]):
        return text
    subs = tuple(p["remove_word_substrings"]) if p["remove_words_with_substrings"] else ()
    max_len = p["max_word_length"] if p["remove_long_words"] else None
    strip = _strip_chars(special_chars)

    def keep(word: str) -> bool:
        core = word.strip(strip)
        if any(s in core for s in subs):
            return False
        if max_len is not None and len(word) > max_len:
            return bool(core) and len(core) <= max_len
        return True

    # whether a word is dropped depends on the word alone: find the candidates (words holding a
    # substring, too-long words) with C-level passes, decide each distinct one once
    words = _WORD_SEPARATORS.split(text)
    found = set()
    if subs and any(s in text for s in subs):
        found.update(filter(_substrings(subs).search, words))
    if max_len is not None and max(map(len, words)) > max_len:
        found.update(w for w in words if len(w) > max_len)
    drop = {w for w in found if not keep(w)}
    if (
        not drop
        and text[0] not in " \t\n"
        and text[-1] not in " \t\n"
        and not any(p in text for p in _UNMERGED)
    ):
        return text  # nothing dropped and already in ROOTS' merged form
    lines = []
    for line in text.split("\n"):
        parts = []
        for part in line.split("\t"):
            words = part.split(" ")
            joined = " ".join([w for w in words if w and w not in drop] if drop else filter(None, words))
            if joined:
                parts.append(joined)
        if parts:
            lines.append("\t".join(parts))
    return "\n".join(lines)


# ROOTS re-joins the words of each tab-separated part of each line with one space and keeps only
# non-empty parts and lines: a (stripped) text without these pairs is unchanged by that
_UNMERGED = ("  ", " \t", "\t ", "\t\t", " \n", "\n ", "\n\n", "\t\n", "\n\t")
_WORD_SEPARATORS = re.compile("[ \t\n]+")


@lru_cache(maxsize=16)
def _substrings(subs: tuple[str, ...]) -> re.Pattern:
    return re.compile("|".join(map(re.escape, subs)))


@lru_cache(maxsize=4)
def _strip_chars(special_chars: str) -> str:
    return "".join(sorted(set(special_chars)))


@lru_cache(maxsize=4)
def _whitespace_table(whitespace: tuple[str, ...]) -> dict[int, str]:
    return {ord(c): " " for c in whitespace}


@lru_cache(maxsize=4)
def _normalization_tables(
    non_printing: tuple[tuple[int, int], ...],
    whitespace: tuple[str, ...],
    punctuation: tuple[tuple[str, str], ...],
) -> tuple[dict[int, None], dict[int, str]]:
    """(delete, replace) str.translate tables. In `replace`, whitespace wins over digits over punctuation,
    which is the order ROOTS applied them in (each one's output is never an input of a later one)."""
    delete = {cp: None for lo, hi in non_printing for cp in range(lo, hi + 1)}
    replace = {ord(k): v for k, v in punctuation}
    replace.update({cp: "0" for cp in range(_MAX_CP) if chr(cp).isdecimal()})  # re's \d: category Nd
    replace.update(_whitespace_table(whitespace))
    return delete, replace


def normalize(text: str, lower: bool, norm: dict) -> str:
    """ROOTS' normalization before sentencepiece / KenLM: delete C0 and C1 controls (newlines and tabs
    included), strip, optionally lowercase, ROOTS' whitespace -> space, every decimal digit -> 0, its
    Unicode punctuation map (，-> , ...). `norm` holds the data (`roots_normalization()` in roots.py)."""
    delete, replace = _normalization_tables(norm["non_printing"], norm["whitespace"], norm["punctuation"])
    text = text.translate(delete).strip()
    if not text:
        return text
    if lower:
        text = text.lower()
    return text.translate(replace)
