"""MinHash signatures of a text: two hash schemes over the shared shingles, bounded memory.

What is hashed is defined once, in `shingling` (normalization, word or character n-grams, short-line
dropping), which the ablation's decontamination uses too. The text is processed in pieces of
~PIECE_CHARS characters cut at whitespace (`shingling.text_pieces`), carrying the last n-1 tokens into
the next piece: a 50 MB document never holds more than one piece's shingles, so memory is bounded by
a few copies of the text, not by ~300 B per shingle (issue 12 item 6).

Two hash schemes, both with datasketch's permutation parameters for `seed`:
- `sha1`: h = fmix32(first 4 bytes of SHA-1(UTF-8 shingle)), permutation i is a_i x h + b_i mod 2^32,
  min per permutation: bit-identical to datasketch
  `MinHash(num_perm, seed).update_batch(shingles)`. One `hashlib` call per shingle from Python.
- `fast`: each token's bytes are hashed with a 64-bit polynomial over the whole piece at once
  (prefix sums of byte x P^position, then (S[end] - S[start]) x P^-start, valid because P is odd and
  so invertible mod 2^64), mixed with murmur3's fmix64; an n-gram's hash is fmix64 of a weighted sum
  of its n token hashes, top 32 bits; permutation i is (a_i | 1) x h mod 2^32. No Python per token or
  shingle: numpy over the piece.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import numpy as np
from datasketch import MinHash
from datasketch.minhash import _fmix

from shingling import PIECE_CHARS, drop_short_lines, text_pieces

CHUNK_ROWS = 1024  # shingles per permutation block: num_perm x 1024 x 4 B = 512 KB, stays in L2 cache
Hashing = Literal["fast", "sha1"]

_M64 = (1 << 64) - 1
_P = 0x9E3779B97F4A7C15  # odd: invertible mod 2^64
_P_INV = pow(_P, -1, 1 << 64)
# n-gram position weights: odd 64-bit constants (splitmix64 outputs), position k weighs token k
_Q = np.array(
    [0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0x2545F4914F6CDD1D, 0x9FB21C651E98DF25, 0xD6E8FEB86659FD93,
     0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5, 0xFF51AFD7ED558CCD],
    dtype=np.uint64,
)  # fmt: skip


def fmix64(h: np.ndarray) -> np.ndarray:
    """murmur3's 64-bit finalizer, in place on a uint64 array (wrapping arithmetic)."""
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


class _Powers:
    """P^i and P^-i mod 2^64 for i < length, grown on demand (16 B per byte of the longest piece)."""

    def __init__(self):
        self.pow = self.inv = np.ones(1, dtype=np.uint64)

    def get(self, length: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.pow) < length:
            size = max(length, 4096, 2 * len(self.pow))
            self.pow, self.inv = np.ones(size, dtype=np.uint64), np.ones(size, dtype=np.uint64)
            np.cumprod(np.full(size - 1, _P, dtype=np.uint64), out=self.pow[1:])
            np.cumprod(np.full(size - 1, _P_INV, dtype=np.uint64), out=self.inv[1:])
        return self.pow, self.inv


_POWERS = _Powers()


def token_hashes(piece: bytes) -> np.ndarray:
    """uint64 hash of each space-separated token of `piece`, in order (vectorized, no Python per token)."""
    buf = np.frombuffer(piece, dtype=np.uint8)
    if not len(buf):
        return np.zeros(0, dtype=np.uint64)
    edges = np.flatnonzero(np.diff(buf != 32, prepend=False, append=False))  # bool diff = xor
    starts, ends = edges[0::2], edges[1::2]
    pw, inv = _POWERS.get(len(buf))
    prefix = np.zeros(len(buf) + 1, dtype=np.uint64)
    np.cumsum(pw[: len(buf)] * buf, out=prefix[1:])  # spaces add a constant: cancels
    h = (prefix[ends] - prefix[starts]) * inv[starts]
    h += (ends - starts).astype(np.uint64) << np.uint64(56)  # length: "a" and "a\0" differ
    return fmix64(h)


def char_hashes(piece: bytes) -> np.ndarray:
    """uint64 hash of each character of the normalized piece, separators removed."""
    codes = np.frombuffer(piece.decode().replace(" ", "").encode("utf-32-le"), dtype=np.uint32)
    return fmix64(codes.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15))


def ngram_hashes(h: np.ndarray, n: int) -> np.ndarray:
    """uint32 hash of each n-gram of unit hashes `h` (len(h) >= n), or of all of `h` if shorter."""
    m = max(len(h) - n + 1, 1)
    acc = h[:m] * _Q[0]
    for k in range(1, min(n, len(h))):
        acc += h[k : k + m] * _Q[k % len(_Q)]
    return (fmix64(acc) >> np.uint64(32)).astype(np.uint32)


class MinhashSigner:
    """MinHash signatures (num_perm uint32 values) of texts, streamed piece by piece.

    `hashing: sha1` is bit-identical to datasketch (scheme affine32, sha1_hash32); `fast` hashes tokens
    with numpy (see the module docstring). Both use datasketch's permutations for `seed`.
    """

    def __init__(self, num_perm: int = 128, seed: int = 1, hashing: Hashing = "sha1"):
        self.num_perm, self.seed, self.hashing = num_perm, seed, hashing
        self.piece_chars = PIECE_CHARS
        self.last_count = 0  # shingles (with repeats) of the last sign_text call
        a, b = MinHash(num_perm=num_perm, seed=seed).permutations
        self.a, self.b = a.astype(np.uint32), b.astype(np.uint32)[:, None]
        self.a_odd = self.a | np.uint32(1)

    def empty(self) -> np.ndarray:
        return np.full(self.num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)

    def update(self, sig: np.ndarray, hv: np.ndarray) -> None:
        """sig = min(sig, min over hv of a * hv + b mod 2^32), in blocks of CHUNK_ROWS shingles.

        `fast` drops the + b (one pass of three): with well-mixed hash values, odd a * h mod 2^32 is a
        bijection per permutation and the estimates stay unbiased with the binomial variance
        (bench/minhash.py part (b) compares both schemes).
        """
        if self.hashing == "fast":
            for start in range(0, len(hv), CHUNK_ROWS):
                np.minimum(
                    sig, np.multiply.outer(self.a_odd, hv[start : start + CHUNK_ROWS]).min(axis=1), out=sig
                )
            return
        for start in range(0, len(hv), CHUNK_ROWS):
            # (num_perm, shingles) layout: the min runs along contiguous rows (3x faster than axis 0)
            block = np.multiply.outer(self.a, hv[start : start + CHUNK_ROWS])  # wraps mod 2^32
            block += self.b
            np.minimum(sig, block.min(axis=1), out=sig)

    @staticmethod
    def sha1_values(shingle_list: list[bytes]) -> np.ndarray:
        """fmix32(sha1_hash32(shingle)) per shingle: datasketch's hash values before the permutation."""
        sha1 = hashlib.sha1
        # sha1_hash32 = first 4 digest bytes, little endian; every 5th uint32 of the joined digests.
        hv = np.frombuffer(b"".join([sha1(s).digest() for s in shingle_list]), dtype="<u4")[::5]
        return _fmix(hv.astype(np.uint32), 32)

    def signature(self, shingle_list: list[bytes]) -> np.ndarray:
        """The datasketch-identical (sha1) signature of a list of shingles."""
        sig = self.empty()
        self.update(sig, self.sha1_values(shingle_list))
        return sig

    def sign_text(
        self, text: str, ngram: int = 5, char: bool = False, min_line_words: int = 0
    ) -> np.ndarray | None:
        """Signature of `text`'s shingles (None if it has none), one piece of the text at a time.

        The last n-1 units (tokens or characters) of a piece are carried into the next, so the
        shingles are exactly `shingles(text, ngram, char, min_line_words)`.
        """
        text = drop_short_lines(text, min_line_words)
        sig, carry, units = self.empty(), None, 0
        fast = self.hashing == "fast"
        for piece in text_pieces(text, self.piece_chars):
            if fast:
                new = char_hashes(piece) if char else token_hashes(piece)
            else:
                new = list(piece.decode().replace(" ", "")) if char else piece.split()
            if not len(new):
                continue
            units += len(new)
            seq = new if carry is None else (np.concatenate([carry, new]) if fast else carry + new)
            if len(seq) >= ngram:
                self.update(sig, self._hash(seq, ngram, char))
            carry = seq[max(len(seq) - ngram + 1, 0) :] if ngram > 1 else seq[:0]
        self.last_count = max(units - ngram + 1, 1) if units else 0
        if units == 0:
            return None
        if units < ngram:  # shorter than one n-gram: one shingle of everything (all in `carry`)
            self.update(sig, self._hash(carry, ngram, char))
        return sig

    def _hash(self, seq, n: int, char: bool) -> np.ndarray:
        if self.hashing == "fast":
            return ngram_hashes(seq, n)
        if len(seq) < n:
            sh = ["".join(seq).encode()] if char else [b" ".join(seq)]
        elif char:
            text = "".join(seq)
            sh = [text[i : i + n].encode() for i in range(len(text) - n + 1)]
        else:
            sh = list(map(b" ".join, zip(*[seq[i:] for i in range(n)])))
        return self.sha1_values(sh)
