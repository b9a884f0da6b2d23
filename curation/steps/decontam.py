"""Benchmark decontamination (`decontaminate`): remove documents that share a word n-gram with a test set.

Every string field of every record of the `against` files (jsonl, json, csv, parquet; .gz ok) is
benchmark text. Text is normalized (NFKC, lowercase, every run of non-alphanumeric characters -> one
space) and split into words; a document is `contaminated` when one of its word n-grams (default 13, as
in GPT-3's decontamination, Brown et al. 2020 §4) occurs in any benchmark field.

A field shorter than `ngram` words cannot yield an n-gram: it matches when a prompt-side turn of
`metadata.messages` (system/user; for plain documents the text), or a paragraph or line of one, *equals*
it after normalization. Fields of fewer than `min_short_words` words (answers like "4", "True",
"Paris") are ignored: they would match clean data by chance; so are fields and n-grams of which fewer
than half the words are alphabetic words of 2+ letters (number runs, one-letter code variables). Short
fields are compared with prompt turns only (a question in a prompt is contamination; an answer option
equal to an answer is usually not).

The index is built lazily once per worker: each word is hashed to 64 bits (BLAKE2b), each n-gram to a
64-bit polynomial hash of its words, kept in one sorted numpy array with a parallel item array (12 bytes
per n-gram: GSM8K + HumanEval + MMLU + TruthfulQA + MT-bench ~ 1.2 M n-grams ~ 15 MB).
"""

from __future__ import annotations

import csv
import glob as globlib
import gzip
import hashlib
import io
import os
import re
import unicodedata

import numpy as np
import orjson
from datatrove.data import Document
from datatrove.utils.logging import logger
from pydantic import Field

from curation.registry import OpParams, StepContext, register_op
from curation.steps.base import ScoredFilter, ledger_update

_NON_ALNUM = re.compile(r"[\W_]+")
_PRIME = np.uint64(0x100000001B3)  # FNV-64 prime as the polynomial base; any odd 64-bit constant works
ID_KEYS = ("task_id", "question_id", "id", "name")  # a record's own name for itself, when it has one
_HEADER_CELL = re.compile(r"[A-Za-z_][\w ]{0,39}")
EXTENSIONS = (".jsonl", ".json", ".csv", ".tsv", ".parquet")


def normalize_words(text: str) -> list[str]:
    """NFKC, lowercase, punctuation and whitespace runs -> one space, split."""
    return _NON_ALNUM.sub(" ", unicodedata.normalize("NFKC", text).lower()).split()


class _WordHasher:
    """64-bit word hashes, cached (vocabularies are small next to token counts)."""

    def __init__(self):
        self.cache: dict[str, int] = {}

    def __call__(self, words: list[str]) -> np.ndarray:
        out = np.empty(len(words), dtype=np.uint64)
        cache = self.cache
        for i, w in enumerate(words):
            h = cache.get(w)
            if h is None:
                h = cache[w] = int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little")
            out[i] = h
        return out


def ngram_hashes(word_hashes: np.ndarray, n: int) -> np.ndarray:
    """Hash of each window of n words: sum(w[i+j] * P^(n-1-j)) mod 2^64 (vectorized, wraps on overflow)."""
    if len(word_hashes) < n:
        return np.empty(0, dtype=np.uint64)
    m = len(word_hashes) - n + 1
    acc = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            acc = acc * _PRIME + word_hashes[j : j + m]
    return acc


def informative(words: list[str], n: int) -> np.ndarray:
    """Per window of n words: True when at least half are alphabetic words of 2+ letters.

    Windows of digits and one-letter names (`1 2 3 ... 13`, `if a b c or a c b`) are in every math or
    code text by chance; indexing them would flag clean data.
    """
    ok = np.fromiter((len(w) > 1 and w.isalpha() for w in words), dtype=np.int32, count=len(words))
    if len(words) < n:
        return np.array([2 * ok.sum() >= len(words)])
    csum = np.concatenate([[0], np.cumsum(ok)])
    return 2 * (csum[n:] - csum[:-n]) >= n


def whole_hash(words: list[str]) -> int:
    return int.from_bytes(hashlib.blake2b(" ".join(words).encode(), digest_size=8).digest(), "little")


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def read_records(path: str) -> list[tuple[str, object]]:
    """`(item name, record)` for each record of a benchmark file (jsonl, json, csv/tsv, parquet; .gz ok).

    A CSV's first row is a header when every cell looks like a column name (a letter, then at most 39
    letters, digits, `_` or spaces: `question`, `Best Answer`); such files give dicts, others lists; the item name is the record's
    `task_id`/`question_id`/`id`/`name` when present, else its 1-based row number.
    """
    name = path.removesuffix(".gz")
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        rows = pq.read_table(path).to_pylist()
    else:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as f:
            raw = f.read()
        if name.endswith((".csv", ".tsv")):
            text = raw.decode("utf-8", errors="replace")
            dialect = "excel-tab" if name.endswith(".tsv") else "excel"
            rows = list(csv.reader(io.StringIO(text), dialect=dialect))
            if rows and all(_HEADER_CELL.fullmatch(c) for c in rows[0]):  # column names, not data
                rows = [dict(zip(rows[0], r)) for r in rows[1:]]
        elif raw.lstrip()[:1] == b"[":
            rows = orjson.loads(raw)
        else:
            rows = [orjson.loads(line) for line in raw.splitlines() if line.strip()]
    out = []
    for i, row in enumerate(rows, start=1):
        rid = next(
            (row[k] for k in ID_KEYS if isinstance(row, dict) and isinstance(row.get(k), (str, int))), i
        )
        out.append((str(rid), row))
    return out


def expand_paths(against: list[str]) -> list[str]:
    """Files named by `against` entries: files, folders (recursive, known extensions) or globs; sorted."""
    files = []
    for entry in against:
        if any(ch in entry for ch in "*?["):
            files += [f for f in globlib.glob(entry, recursive=True) if os.path.isfile(f)]
        elif os.path.isdir(entry):
            for root, _, names in os.walk(entry):
                files += [os.path.join(root, n) for n in names if n.removesuffix(".gz").endswith(EXTENSIONS)]
        elif os.path.isfile(entry):
            files.append(entry)
        else:
            raise FileNotFoundError(f"decontaminate: benchmark path does not exist: {entry}")
    if not files:
        raise FileNotFoundError(f"decontaminate: no benchmark files in {against}")
    return sorted(set(files))


class BenchmarkIndex:
    """Sorted 64-bit n-gram hashes of every benchmark field, plus whole-field hashes of short fields."""

    def __init__(self, files: list[str], ngram: int = 13, min_short_words: int = 3):
        self.n = ngram
        self.hasher = _WordHasher()
        root = os.path.commonpath([os.path.dirname(os.path.abspath(f)) for f in files])
        self.names = [os.path.relpath(os.path.abspath(f), root) for f in files]  # the benchmark's name
        self.items: list[tuple[int, str]] = []  # (file index, item name)
        grams, owners, self.short = [], [], {}
        for fi, path in enumerate(files):
            for item, record in read_records(path):
                idx = len(self.items)
                self.items.append((fi, item))
                for field in _strings(record):
                    words = normalize_words(field)
                    if len(words) >= ngram:
                        g = ngram_hashes(self.hasher(words), ngram)[informative(words, ngram)]
                        grams.append(g)
                        owners.append(np.full(len(g), idx, dtype=np.int32))
                    elif len(words) >= min_short_words and informative(words, ngram)[0]:
                        self.short.setdefault(whole_hash(words), idx)
        g = np.concatenate(grams) if grams else np.empty(0, dtype=np.uint64)
        o = np.concatenate(owners) if owners else np.empty(0, dtype=np.int32)
        self.grams, first = np.unique(g, return_index=True)  # sorted; first owner of a repeated n-gram wins
        self.owners = o[first]
        logger.info(
            f"decontaminate: {len(files)} files, {len(self.items)} items, {len(self.grams)} {ngram}-grams "
            f"({(self.grams.nbytes + self.owners.nbytes) / 2**20:.1f} MiB), {len(self.short)} short items"
        )

    def match(self, turns: list[tuple[str, bool]]) -> tuple[int, int, str] | None:
        """`(hits, item index, matched text)` of the first match over `(turn, is_prompt)`, or None.

        n-grams are looked up in every turn. Short fields are compared, whole, with each prompt-side
        turn, paragraph and line: a benchmark *question* in a prompt is contamination, while an answer
        option such as "New York City" given as an answer is not.
        """
        hits, first = 0, None
        for text, is_prompt in turns:
            words = normalize_words(text)
            if len(words) >= self.n and len(self.grams):
                g = ngram_hashes(self.hasher(words), self.n)
                pos = np.searchsorted(self.grams, g).clip(max=len(self.grams) - 1)
                found = np.flatnonzero(self.grams[pos] == g)
                hits += len(found)
                if len(found) and first is None:
                    j = int(found[0])
                    first = (int(self.owners[pos[j]]), " ".join(words[j : j + self.n]))
            if not is_prompt or not self.short:
                continue
            pieces = {text, *re.split(r"\n\s*\n", text), *text.splitlines()}
            for piece in pieces:
                pw = words if piece is text else normalize_words(piece)
                if 0 < len(pw) < self.n:
                    idx = self.short.get(whole_hash(pw))
                    if idx is not None:
                        hits += 1
                        first = first or (idx, " ".join(pw))
        return (hits, *first) if first else None


def turns_of(doc: Document) -> list[tuple[str, bool]]:
    """`(text, is_prompt)` per turn of `metadata.messages` (system and user turns are the prompt side);
    a plain document is one prompt-side turn."""
    msgs = doc.metadata.get("messages")
    if isinstance(msgs, list):
        return [(m["content"], m["role"] != "assistant") for m in msgs]
    return [(doc.text, True)]


class DecontaminateParams(OpParams):
    against: list[str] = Field(
        ..., description="benchmark files, folders or globs (jsonl, json, csv, parquet)"
    )
    ngram: int = Field(13, ge=1, description="words per n-gram (GPT-3 used 13)")
    min_short_words: int = Field(
        3, ge=1, description="fields shorter than `ngram` words match whole; shorter than this are ignored"
    )


class Decontaminate(ScoredFilter):
    name = "🧪 Decontaminate"
    metric_prefix = "decontam."

    def __init__(self, params: DecontaminateParams, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.params = params
        self.files = expand_paths(params.against)  # fail at build time, not in a worker
        self._index: BenchmarkIndex | None = None

    @property
    def index(self) -> BenchmarkIndex:
        if self._index is None:
            self._index = BenchmarkIndex(self.files, self.params.ngram, self.params.min_short_words)
        return self._index

    def score(self, doc: Document) -> dict[str, float]:
        found = self.index.match(turns_of(doc))
        if not found:
            return {"hits": 0}
        hits, idx, text = found
        fi, item = self.index.items[idx]
        doc.metadata.update(
            {"decontam.benchmark": self.index.names[fi], "decontam.item": item, "decontam.match": text}
        )
        return {"hits": hits}

    def decide(self, doc: Document, scores: dict[str, float]) -> bool | tuple[bool, str]:
        if scores["hits"]:
            ledger_update(self, "decontamination", doc.metadata["decontam.benchmark"], 1)
            return False, "contaminated"
        return True

    def __getstate__(self):  # ship the params to workers, never a built index
        state = self.__dict__.copy()
        state["_index"] = None
        return state


@register_op("decontaminate", DecontaminateParams)
def decontaminate(p: DecontaminateParams, ctx: StepContext):
    """Remove documents sharing a word n-gram (or a whole short field) with benchmark test sets."""
    return Decontaminate(p, exclusion_writer=ctx.removed_writer())
