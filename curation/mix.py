"""`curate mix`: several run folders into one training mixture, with target shares and bounded epochs.

Why this shape: a pretraining mixture must be reproducible (same mix file -> byte-identical shards),
traceable (every output document names its source run and id) and must fit in memory whatever the
corpus size. So each source is read twice, streaming: once to count the documents (and estimated
tokens) that match its `where`, which decides the plan (whole epochs + a seeded part of one more) or
fails before anything is written; then again to emit. The sources are interleaved by a seeded
weighted draw (a source's chance at each step is proportional to what it still has to emit), so the
shares stay close to the targets all along the stream. Memory holds one output shard at most.

Within a source, documents keep their reading order inside each epoch; only the interleave across
sources and the choice of the partial epoch's documents are random (seeded).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.errors import UsageError
from curation.mix_config import MixConfig, MixSource, load_mix
from runfolder import PRODUCED, RunFolder, atomic_write_json, open_new_file
from runfolder.documents import iter_records, shards

# what `curate mix` writes into its folder; `--force` removes these and what a run writes (PRODUCED),
# so a run folder replaced by a mixture keeps no stale summary.json or removed/
MIX_PRODUCED = ("output", "mixture.json", "run.json")


def doc_tokens(text: str) -> int:
    """Estimated tokens of a text: UTF-8 bytes / 4, rounded up (no tokenizer is needed to plan a mix)."""
    return (len(text.encode("utf-8")) + 3) // 4


def matches(metadata: dict, where: dict) -> bool:
    """`where` holds for a document: each key equals the value, or is one of the list's values."""
    for key, want in where.items():
        if key not in metadata:
            return False
        have = metadata[key]
        if isinstance(want, list):
            if have not in want:
                return False
        elif have != want:
            return False
    return True


@dataclass
class SourcePlan:
    """What one source contributes: `epochs` whole passes plus `part` units drawn from one more pass."""

    source: MixSource
    docs: int  # matching documents in the run
    units: int  # their size in the mix's unit
    target: int
    epochs: int = 0
    part: int = 0
    emitted_docs: int = 0
    emitted_units: int = 0
    emitted_tokens: int = 0
    emitted_bytes: int = 0


@dataclass
class MixResult:
    """A finished mixture: its folder, the per-source plan and mixture.json's content."""

    path: Path
    mixture: dict
    plans: list[SourcePlan] = field(default_factory=list)

    @property
    def output(self) -> Path:
        return RunFolder(self.path).output


def _source_docs(src: MixSource) -> Iterator[dict]:
    out = RunFolder(src.run).output
    for rec in iter_records(out):
        md = rec.get("metadata") or {}
        if isinstance(rec.get("text"), str) and matches(md, src.where):
            yield rec


def _size(rec: dict, unit: str) -> int:
    return 1 if unit == "documents" else doc_tokens(rec["text"])


def plan(cfg: MixConfig) -> list[SourcePlan]:
    """Count every source (one streaming pass each) and decide its epochs; UsageError when a source
    would need more than `max_epochs` passes, saying by how much."""
    shares, plans, short = cfg.shares(), [], []
    for src in cfg.sources:
        if not shards(RunFolder(src.run).output):
            raise UsageError(f"source {src.name}: {src.run} has no output shards (run its recipe first)")
        docs = units = 0
        for rec in _source_docs(src):
            docs += 1
            units += _size(rec, cfg.unit)
        target = round(shares[src.name] * cfg.budget)
        p = SourcePlan(src, docs, units, target)
        if units == 0:
            short.append(f"{src.name}: no document of {src.run} matches where={src.where}")
        elif target > src.max_epochs * units:
            need = target / units
            short.append(
                f"{src.name} needs {need:.2f} epochs ({target:,} {cfg.unit} of {units:,}) but max_epochs "
                f"is {src.max_epochs:g}: short by {target - int(src.max_epochs * units):,} {cfg.unit}"
            )
        else:
            p.epochs, p.part = divmod(target, units)
        plans.append(p)
    if short:
        raise UsageError("the weights cannot be met: " + "; ".join(short))
    return plans


def _emit(p: SourcePlan, unit: str, seed: int) -> Iterator[tuple[dict, int]]:
    """(document, epoch) of one source: whole epochs in reading order, then the partial epoch chosen by
    sequential sampling (each document taken with chance remaining-target / remaining-size, so the
    part is exact in documents and within one document in tokens)."""
    for epoch in range(p.epochs):
        for rec in _source_docs(p.source):
            yield rec, epoch
    if p.part <= 0:
        return
    rng = random.Random(f"{seed}:{p.source.name}:part")
    want, left = p.part, p.units
    for rec in _source_docs(p.source):
        size = _size(rec, unit)
        if want > 0 and rng.random() * left < want:
            want -= size
            yield rec, p.epochs
        left -= size


def interleave(plans: list[SourcePlan], unit: str, seed: int) -> Iterator[tuple[SourcePlan, dict, int]]:
    """Seeded weighted draw across the sources' streams: a source's chance is proportional to the
    units it still has to emit (so every prefix of the output is close to the target shares)."""
    rng = random.Random(f"{seed}:interleave")
    live = [(p, _emit(p, unit, seed)) for p in plans if p.target > 0]
    remaining = [float(p.target) for p, _ in live]
    while live:
        weights = [max(r, 0.5) for r in remaining]
        i = rng.choices(range(len(live)), weights=weights)[0]
        p, it = live[i]
        item = next(it, None)
        if item is None:
            del live[i], remaining[i]
            continue
        rec, epoch = item
        remaining[i] -= _size(rec, unit)
        yield p, rec, epoch


def _out_record(p: SourcePlan, rec: dict, epoch: int) -> dict:
    md = dict(rec.get("metadata") or {})
    md.update(
        {
            "mix.source": p.source.name,
            "mix.run": p.source.run,
            "mix.id": str(rec.get("id")),
            "mix.epoch": epoch,
        }
    )
    return {"text": rec["text"], "id": f"{p.source.name}/{rec.get('id')}#{epoch}", "metadata": md}


class ShardWriter:
    """Output shards `00000_<n:05d>.<ext>` of at most `max_docs` documents; gzip without a timestamp
    and parquet from one table per shard, so a rerun is byte-identical."""

    def __init__(self, folder: Path, fmt: str, max_docs: int):
        self.folder, self.fmt, self.max_docs = folder, fmt, max_docs
        self.rows: list[dict] = []
        self.n = 0
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, rec: dict) -> None:
        self.rows.append(rec)
        if len(self.rows) >= self.max_docs:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        path = self.folder / f"00000_{self.n:05d}.{self.fmt}"
        if self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.table(
                {
                    "text": [r["text"] for r in self.rows],
                    "id": [r["id"] for r in self.rows],
                    "metadata": [json.dumps(r["metadata"], ensure_ascii=False) for r in self.rows],
                }
            )
            with open_new_file(path) as f:
                pq.write_table(table, f)
        else:
            data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.rows).encode("utf-8")
            with open_new_file(path) as f:
                if self.fmt == "jsonl.gz":
                    with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
                        gz.write(data)
                else:
                    f.write(data)
        self.rows, self.n = [], self.n + 1


def _claim(cfg: MixConfig, folder: Path, force: bool) -> None:
    """The run-folder ownership rules: a folder is written only when empty, or when rootstock wrote it
    (its run.json is rootstock's own) and it is this mix or `--force` is given. Only MIX_PRODUCED (and
    a README.md card rootstock wrote) and what a run writes (PRODUCED) are ever removed."""
    run = RunFolder(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: output.path is a file, not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        if not run.is_run_folder():
            raise UsageError(
                f"{folder} is not empty and was not written by rootstock; choose another output.path "
                "(nothing is deleted)"
            )
        ident = json.loads(run.run_json.read_text(encoding="utf-8"))
        if ident.get("fingerprint") != cfg.fingerprint() and not force:
            raise UsageError(f"{folder} holds another run or mix; pass --force to replace it")
        for name in dict.fromkeys((*MIX_PRODUCED, *PRODUCED)):
            target = folder / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(
        run.run_json,
        {
            "kind": "mix",
            "name": cfg.name,
            "fingerprint": cfg.fingerprint(),
            "limit": 0,
            "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "produced": list(MIX_PRODUCED),
        },
    )


def mixture_json(cfg: MixConfig, plans: list[SourcePlan]) -> dict:
    """mixture.json (docs/CONTRACTS.md): asked vs achieved share per source, in the mix's unit."""
    total = sum(p.emitted_units for p in plans) or 1
    shares = cfg.shares()
    return {
        "name": cfg.name,
        "unit": cfg.unit,
        "budget": cfg.budget,
        "seed": cfg.seed,
        "tokens_estimated": True,
        "sources": [
            {
                "name": p.source.name,
                "run": p.source.run,
                "asked_share": round(shares[p.source.name], 6),
                "achieved_share": round(p.emitted_units / total, 6),
                "epochs": round(p.emitted_units / p.units, 4) if p.units else 0.0,
                "documents": p.emitted_docs,
                "tokens": p.emitted_tokens,
                "bytes": p.emitted_bytes,
                "available_documents": p.docs,
                "max_epochs": p.source.max_epochs,
            }
            for p in plans
        ],
        "documents": sum(p.emitted_docs for p in plans),
        "tokens": sum(p.emitted_tokens for p in plans),
    }


def mix(
    path_or_dict: str | Path | dict[str, Any], force: bool = False, output: str | None = None
) -> MixResult:
    """Build the mixture a mix file (or dict) describes; returns its folder and mixture.json."""
    cfg = load_mix(path_or_dict)
    if output:
        cfg.output.path = output
    folder = Path(cfg.output.path)
    for src in cfg.sources:
        if Path(src.run).resolve() == folder.resolve():
            raise UsageError(
                f"source {src.name}: its run {src.run} is the output folder; mix into another one"
            )
    plans = plan(cfg)  # fails before anything is written
    _claim(cfg, folder, force)
    writer = ShardWriter(RunFolder(folder).output, cfg.output.format, cfg.output.max_shard_docs)
    for p, rec, epoch in interleave(plans, cfg.unit, cfg.seed):
        writer.add(_out_record(p, rec, epoch))
        p.emitted_docs += 1
        p.emitted_units += _size(rec, cfg.unit)
        p.emitted_tokens += doc_tokens(rec["text"])
        p.emitted_bytes += len(rec["text"].encode("utf-8"))
    writer.flush()
    mixture = mixture_json(cfg, plans)
    atomic_write_json(folder / "mixture.json", mixture)
    from curation.mix_card import write_mix_card

    write_mix_card(cfg, mixture, folder)
    return MixResult(folder, mixture, plans)


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(json.dumps(mix(sys.argv[1]).mixture, indent=2))
