"""What a quality classifier sees: text normalization, training sources and reading them.

Shared by training (`curation/steps/classifier/train.py`) and scoring (`curation/steps/classifier/op.py`), so
both sides normalize text with the same function and the same parameters (stored in the model card).
A source is any registered input format (`jsonl`, `parquet`, `alpaca`, ...: files, globs, folders, and
run folders, which stand for their `output/`), plus selection: `where` / `where_not` on metadata,
`use: answers` (assistant turns of instruction data), `min_chars` and a deterministic `max_docs` sample.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from curation.recipe import RecipeContext, _suggest, _validate_model
from curation.registry import ReaderContext, all_readers

LABEL_PREFIX = "__label__"
_SURROGATES = re.compile("[\ud800-\udfff]")


# --- text normalization (shared with the scoring op) ---------------------------------------------


class Normalization(BaseModel):
    """How a document's text becomes one fastText line; stored in the model card, reused by the op."""

    model_config = ConfigDict(extra="forbid")
    max_chars: int = Field(5000, ge=0, description="use the first N characters (0: all); bounds cost per doc")
    lowercase: bool = Field(False, description="lowercase before training/predicting")


def normalize_text(text: str, norm: Normalization) -> str:
    """One fastText line: the document's prefix with newlines as spaces (DCLM scored
    `" ".join(content.strip().splitlines())`).

    Only newline must go (fastText ends a line there; its Python `predict` refuses it) and NUL; fastText
    itself splits tokens on any run of space, tab, CR, VT, FF, so collapsing whitespace here
    would only cost time (str.split + join was ~15% of a predict on 5,000-char prefixes; replace: ~1%).
    `__label__` inside a text would be read as a label at training time, so it is defused (the same
    at scoring time).
    """
    if norm.max_chars:
        text = text[: norm.max_chars]
    text = text.replace("\n", " ")
    if "\x00" in text:
        text = text.replace("\x00", " ")
    if LABEL_PREFIX in text:
        text = text.replace(LABEL_PREFIX, "label_")
    return text.lower() if norm.lowercase else text


def card_path(model_path: str | Path) -> Path:
    """`runs/classifiers/x/model.bin` -> `runs/classifiers/x/model.card.json`."""
    p = Path(model_path)
    return p.with_name(p.stem + ".card.json")


# --- sources ----------------------------------------------------------------------------------


SOURCE_KEYS = {"where", "where_not", "use", "max_docs", "min_chars"}


class Source(BaseModel):
    """One input of a label: a reader (any `input.format`) plus selection.

    Attributes:
        reader: the validated reader params (`format`, `path`, `text_key`, ...).
        where / where_not: `{metadata key: [values]}` documents must match / must not match.
        use: `text`, or `answers` (the assistant turns of instruction formats, e.g. Alpaca outputs).
        max_docs: keep a deterministic sample of at most N documents (smallest hash of seed + id).
        min_chars: skip documents whose used text is shorter (e.g. one-word answers).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    reader: Any
    where: dict[str, list[str]] | None = None
    where_not: dict[str, list[str]] | None = None
    use: Literal["text", "answers"] = "text"
    max_docs: int | None = Field(None, ge=1)
    min_chars: int = Field(0, ge=0)

    def describe(self) -> dict:
        out = {"format": self.reader.format, "path": self.reader.path}
        out.update(
            {k: v for k, v in self.model_dump(exclude={"reader"}).items() if v not in (None, "text", 0)}
        )
        return out


def _run_folder_output(path: str) -> str:
    """A run folder stands for its `output/` (the kept documents)."""
    p = Path(path)
    if p.is_dir() and (p / "output").is_dir() and (p / "recipe.resolved.yaml").exists():
        return str(p / "output")
    return path


def load_source(raw: Any, path: tuple, ctx: RecipeContext) -> Source:
    if isinstance(raw, str):
        raw = {"path": raw}
    if not isinstance(raw, dict):
        raise ctx.error(path, "a source is a mapping like {format: jsonl, path: data/*.jsonl.gz}")
    readers = all_readers()
    raw = {"format": "jsonl", **raw}
    fmt = raw["format"]
    if fmt not in readers:
        raise ctx.error(path + ("format",), f"unknown input format {fmt!r}{_suggest(fmt, readers)}")
    reader_raw = {k: v for k, v in raw.items() if k not in SOURCE_KEYS}
    extra = {k: v for k, v in raw.items() if k in SOURCE_KEYS}
    params = readers[fmt].params
    allowed = set(params.model_fields) | SOURCE_KEYS
    for key in reader_raw:
        if key not in params.model_fields:
            raise ctx.error(
                path + (key,), f"unknown key{_suggest(key, allowed)}; allowed: {', '.join(sorted(allowed))}"
            )
    reader = _validate_model(params, reader_raw, path, ctx)
    reader.path = _run_folder_output(reader.path)
    try:
        readers[fmt].build(reader, ReaderContext(Path(tempfile.gettempdir())))  # fails now on a missing path
    except FileNotFoundError as e:
        raise ctx.error(path + ("path",), str(e)) from None
    return _validate_model(Source, {"reader": reader, **extra}, path, ctx)


# --- reading -------------------------------------------------------------------------------------


def hash01(*parts: str) -> float:
    """A stable uniform number in [0, 1) from strings (splits and samples that do not depend on order)."""
    h = hashlib.blake2b("\x00".join(parts).encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2**64


def _matches(meta: dict, sel: dict[str, list[str]]) -> bool:
    return all(str(meta.get(k)) in set(map(str, values)) for k, values in sel.items())


def read_source(src: Source, rejected_dir: Path, seed: int = 0) -> tuple[list[str], dict]:
    """The raw texts of one source (after selection and sampling) and its counts."""
    spec = all_readers()[src.reader.format]
    built = spec.build(src.reader, ReaderContext(rejected_dir))
    steps = built if isinstance(built, list) else [built]
    docs: Iterator = steps[0].run(None, 0, 1)
    for step in steps[1:]:
        docs = step.run(docs, 0, 1)
    counts = {"read": 0, "selected": 0, "too_short": 0}
    heap: list[tuple[float, int, str]] = []
    texts: list[str] = []
    for doc in docs:
        counts["read"] += 1
        if src.where and not _matches(doc.metadata, src.where):
            continue
        if src.where_not and _matches(doc.metadata, src.where_not):
            continue
        text = doc.text
        if src.use == "answers":
            msgs = doc.metadata.get("messages") or []
            text = "\n\n".join(m["content"] for m in msgs if m.get("role") == "assistant")
        if len(text) < src.min_chars:
            counts["too_short"] += 1
            continue
        counts["selected"] += 1
        if src.max_docs is None:
            texts.append(text)
            continue
        item = (-hash01(str(seed), doc.id, text[:1000]), counts["selected"], text)  # keep the smallest hashes
        if len(heap) < src.max_docs:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
    if src.max_docs is not None:
        texts = [t for _, _, t in sorted(heap, key=lambda x: x[1])]
    rejected = steps[0].stats.stats.get("rejected")  # datatrove's Stats has no __contains__ (it would loop)
    counts["rejected"] = int(rejected.total) if rejected is not None else 0
    counts["used"] = len(texts)
    return texts, counts


def positive_probs(model, lines: list[str], label: str) -> np.ndarray:
    """P(`label`) for each already-normalized line, in one fastText call."""
    if not lines:
        return np.zeros(0)
    target = LABEL_PREFIX + label
    try:
        labels, probs = model.predict(lines, k=-1)
    except TypeError:  # lone surrogates (from JSON escapes); rare, so only sanitized on failure
        labels, probs = model.predict([_SURROGATES.sub("\ufffd", t) for t in lines], k=-1)
    out = np.zeros(len(lines))
    for i, (labs, ps) in enumerate(zip(labels, probs)):
        for lab, p in zip(labs, ps):
            if lab == target:
                out[i] = min(float(p), 1.0)
                break
    return out
