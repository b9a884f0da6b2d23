"""line_dedup's data: text units (lines or paragraphs), their 8-byte hashes, and the on-disk count.

Memory stays bounded by a sharded on-disk pass instead of a table of every unit in memory:
- each task appends one 20-byte record per unit, `(hash, rank, doc, unit)`, to one of `buckets` files
  chosen by the hash's top bits (`UnitSpill`), holding at most SPILL_UNITS records in memory;
- the count stage (`count_repeats`) loads one bucket of every task at a time (≈ 60 bytes per record
  with the sort's copies: 1e9 units over 64 buckets ≈ 1 GB), sorts it, and keeps the hashes seen at
  least `min_repeats` times, each with its first occurrence in input order `(rank, doc, unit)`;
- the filter loads only those repeated hashes (8 + 12 bytes each).

Hashes are the first 8 bytes of BLAKE2b of the whitespace-normalized unit. Two different units share a
hash with probability ~n²/2^65 over n distinct units (1e8 units: 3e-4 expected colliding pairs), and a
collision can only make a unit count as repeated, so the stated false-positive rate is that.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from pathlib import Path

import numpy as np

RECORD = np.dtype([("h", "<u8"), ("rank", "<u4"), ("doc", "<u4"), ("unit", "<u4")])
FIRST = np.dtype([("key", "<u8"), ("unit", "<u4")])  # key = rank << 32 | doc, sorted
SEPARATORS = {"line": re.compile(r"(\n)"), "paragraph": re.compile(r"(\n(?:[ \t\r\f\v]*\n)+)")}
SPILL_UNITS = 1 << 18  # records buffered per task before they go to the bucket files (5 MB)
_WS = re.compile(r"\s+")


def split_units(text: str, granularity: str) -> list[str]:
    """`text` split into units and separators, alternating (units at even indices): joining the list
    gives the text back byte for byte."""
    return SEPARATORS[granularity].split(text)


def unit_hash(unit: str, min_chars: int, title: list[str] | None = None) -> int | None:
    """64-bit hash of the whitespace-normalized unit; None for a unit shorter than `min_chars` (never
    counted, never removed). With `title` (lowercased words), each occurrence of that word sequence is
    hashed as one placeholder, so "LS(1) User Commands LS(1)" and "CP(1) User Commands CP(1)" count as
    the same unit when each is masked with its own page's title."""
    norm = _WS.sub(" ", unit).strip()
    if len(norm) < max(1, min_chars):
        return None
    if title:
        norm = mask_title(norm, title)
    return int.from_bytes(
        hashlib.blake2b(norm.encode("utf-8", errors="surrogatepass"), digest_size=8).digest(), "little"
    )


def running_title(unit: str) -> list[str] | None:
    """The running title of a page whose first line has the printed-page header shape: the longest
    word sequence that the line both starts and ends with (man pages: "LS(1)  User Commands  LS(1)",
    "DROP TABLE(7)  SQL Commands  DROP TABLE(7)"), lowercased; None when the line has no such sequence or
    it holds no letter or digit. A page title alone ("DROP TABLE", "Chapter 3") is not a running title:
    masking it would make unrelated pages' headings count as one line."""
    words = unit.split("\n", 1)[0].lower().split()
    for n in range(len(words) // 2, 0, -1):
        if words[:n] == words[-n:]:
            title = words[:n]
            return title if any(c.isalnum() for w in title for c in w) else None
    return None


def mask_title(norm: str, title: list[str]) -> str:
    """`norm` (whitespace-normalized) with every case-insensitive occurrence of the word sequence
    `title` replaced by one NUL placeholder (which no text unit holds)."""
    words, n, out, i = norm.split(" "), len(title), [], 0
    low = [w.lower() for w in words]
    while i < len(words):
        if low[i : i + n] == title:
            out.append("\x00")
            i += n
        else:
            out.append(words[i])
            i += 1
    return " ".join(out)


def hash_units(units: list[str], min_chars: int, normalize: str = "none") -> list[tuple[int, int]]:
    """`[(unit index, hash)]` of the units long enough to count. `normalize: running_title` hashes the
    first and the last non-blank unit with the page's running title masked (`running_title`): the header
    and footer positions, where a page repeats its own name around text shared by every page."""
    masked: dict[int, list[str]] = {}
    if normalize == "running_title":
        filled = [i for i, u in enumerate(units) if u.strip()]
        if filled and (title := running_title(units[filled[0]].strip())):
            masked = {filled[0]: title, filled[-1]: title}
    return [(i, h) for i, u in enumerate(units) if (h := unit_hash(u, min_chars, masked.get(i))) is not None]


def bucket_of(hashes: np.ndarray, buckets: int) -> np.ndarray:
    """Bucket of each hash: its top log2(buckets) bits (`buckets` is a power of two), so buckets
    concatenated in order are sorted by hash."""
    if buckets == 1:
        return np.zeros(len(hashes), dtype=np.int64)
    return (hashes >> np.uint64(64 - buckets.bit_length() + 1)).astype(np.int64)


class UnitSpill:
    """One task's unit records, spilled to `buckets` files in a temporary folder as they come.

    `finish(path)` renames the folder to `path` (so a reader sees a task's records whole or not at all);
    `close()` removes the temporary folder of a task that failed."""

    def __init__(self, folder: Path, buckets: int):
        self.tmp = folder / f".tmp-{uuid.uuid4().hex}"  # never shared by two attempts of one task
        self.tmp.mkdir(parents=True)
        self.rank, self.buckets = 0, buckets
        self.h: list[int] = []
        self.doc: list[int] = []
        self.unit: list[int] = []

    def append(self, row: tuple[int, int, list[tuple[int, int]]]) -> None:
        """Add `(rank, doc index, [(unit index, hash)])`."""
        self.rank, doc, units = row
        for unit, h in units:
            self.h.append(h)
            self.doc.append(doc)
            self.unit.append(unit)
        if len(self.h) >= SPILL_UNITS:
            self._spill()

    def _spill(self) -> None:
        if not self.h:
            return
        rec = np.empty(len(self.h), dtype=RECORD)
        rec["h"], rec["rank"], rec["doc"], rec["unit"] = self.h, self.rank, self.doc, self.unit
        b = bucket_of(rec["h"], self.buckets)
        order = np.argsort(b, kind="stable")
        rec, b = rec[order], b[order]
        bounds = np.searchsorted(b, np.arange(self.buckets + 1))
        for k in range(self.buckets):
            if bounds[k] < bounds[k + 1]:
                with open(self.tmp / f"b{k:03d}.bin", "ab") as f:
                    f.write(rec[bounds[k] : bounds[k + 1]].tobytes())
        self.h, self.doc, self.unit = [], [], []

    def finish(self, path: Path) -> None:
        self._spill()
        shutil.rmtree(path, ignore_errors=True)  # a resumed task rewrites its whole folder
        os.replace(self.tmp, path)

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def task_folders(folder: Path) -> list[Path]:
    """Every finished task's folder (`<rank:05d>`), in rank order."""
    return sorted(p for p in folder.iterdir() if p.is_dir() and p.name.isdigit()) if folder.is_dir() else []


def count_repeats(folder: Path, buckets: int, min_repeats: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Repeated hashes (sorted uint64), their first occurrences (`FIRST`, sorted by key), and counts.

    Reads one bucket of every task at a time (see the module doc for the memory this takes)."""
    hashes, firsts = [], []
    stats = {"units": 0, "distinct_units": 0, "repeated_units": 0, "repeated_occurrences": 0}
    tasks = task_folders(folder)
    for k in range(buckets):
        parts = [np.fromfile(p, dtype=RECORD) for t in tasks if (p := t / f"b{k:03d}.bin").is_file()]
        if not parts:
            continue
        rec = np.concatenate(parts)
        rec = rec[np.lexsort((rec["unit"], rec["doc"], rec["rank"], rec["h"]))]
        starts = np.flatnonzero(np.r_[True, rec["h"][1:] != rec["h"][:-1]])
        counts = np.diff(np.r_[starts, len(rec)])
        rep = starts[counts >= min_repeats]
        stats["units"] += len(rec)
        stats["distinct_units"] += len(starts)
        stats["repeated_units"] += len(rep)
        stats["repeated_occurrences"] += int(counts[counts >= min_repeats].sum())
        hashes.append(rec["h"][rep])
        first = np.empty(len(rep), dtype=FIRST)
        first["key"] = (rec["rank"][rep].astype(np.uint64) << np.uint64(32)) | rec["doc"][rep].astype(
            np.uint64
        )
        first["unit"] = rec["unit"][rep]
        firsts.append(first)
    h = np.concatenate(hashes) if hashes else np.empty(0, dtype=np.uint64)
    f = np.concatenate(firsts) if firsts else np.empty(0, dtype=FIRST)
    return h, np.sort(f, order=["key", "unit"]), stats
