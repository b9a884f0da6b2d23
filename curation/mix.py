"""`curate mix`: several sources (run folders or inputs) into one training mixture, with target shares
or fixed amounts and bounded epochs, as document shards or the training module's token shards.

Why this shape: a pretraining mixture must be reproducible (same mix file -> byte-identical shards),
traceable (every output document names its source run and id) and must fit in memory whatever the
corpus size. So each source is read twice, streaming: once to count the documents (and tokens, by the
mix's tokenizer or estimated) that match its `where`, which decides the plan (whole epochs + a seeded
part of one more) or fails before anything is written; then again to emit (curation/mix_sources.py). The sources are interleaved by a seeded
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
from curation.mix_config import MixConfig, load_mix
from curation.mix_sources import SourceReader, Tally, doc_tokens, matches
from runfolder import PRODUCED, RunFolder, atomic_open, atomic_write_json
from runfolder.token_folder import claim_folder, listed_files

# what `curate mix` writes into its folder; `--force` removes these and what a run writes (PRODUCED),
# so a run folder replaced by a mixture keeps no stale summary.json or removed/; tokenized/ loses only
# the files its manifest lists (runfolder/token_folder.py)
MIX_PRODUCED = ("output", "rejected", "mixture.json", "run.json")
TOKENIZED = "tokenized"

__all__ = ["MixResult", "ShardWriter", "SourcePlan", "doc_tokens", "interleave", "matches", "mix", "plan"]


@dataclass
class SourcePlan:
    """What one source contributes: `epochs` whole passes plus `part` units drawn from one more pass."""

    reader: SourceReader
    tally: Tally  # what the plan pass met: documents, unmatched, rejected
    units: int  # the matching documents' size in the mix's unit
    target: int
    epochs: int = 0
    part: int = 0
    emitted_docs: int = 0
    emitted_units: int = 0
    emitted_tokens: int = 0
    emitted_bytes: int = 0
    rejects_written: bool = False  # the first emit pass writes the source's rejected records

    @property
    def source(self):
        return self.reader.src

    @property
    def docs(self) -> int:
        return self.tally.documents


@dataclass
class MixResult:
    """A finished mixture: its folder, the per-source plan and mixture.json's content."""

    path: Path
    mixture: dict
    plans: list[SourcePlan] = field(default_factory=list)

    @property
    def output(self) -> Path:
        return RunFolder(self.path).output


def _size(rec: dict, ids: list[int] | None, unit: str) -> int:
    """A document's size in the mix's unit: 1, its tokenizer tokens, or the bytes / 4 estimate."""
    if unit == "documents":
        return 1
    return len(ids) if ids is not None else doc_tokens(rec["text"])


def plan(cfg: MixConfig, tokenizer=None) -> list[SourcePlan]:
    """Count every source (one streaming pass each, nothing written) and decide its epochs; UsageError
    when a source would need more than `max_epochs` passes for its weight or amount, saying by how much."""
    targets, plans, short = cfg.targets(), [], []
    for src in cfg.sources:
        reader = SourceReader(src, tokenizer)
        reader.check()
        counter = reader if cfg.unit == "tokens" else SourceReader(src)  # documents: no need to tokenize
        tally, units = Tally(), 0
        for rec, ids in counter.read(tally):
            units += _size(rec, ids, cfg.unit)
        target = targets[src.name]
        p = SourcePlan(reader, tally, units, target)
        asked = "amount" if src.amount is not None else "weight"
        if units == 0:
            short.append(
                f"{src.name}: no document of {src.origin} matches where={src.where} "
                f"({tally.records:,} records, {tally.rejected:,} rejected)"
            )
        elif target > src.max_epochs * units:
            need = target / units
            short.append(
                f"{src.name} needs {need:.2f} epochs ({target:,} {cfg.unit} of {units:,}) for its {asked} but "
                f"max_epochs is {src.max_epochs:g}: short by {target - int(src.max_epochs * units):,} {cfg.unit}"
            )
        else:
            p.epochs, p.part = divmod(target, units)
        plans.append(p)
    if short:
        raise UsageError("the weights and amounts cannot be met: " + "; ".join(short))
    return plans


def _pass(p: SourcePlan, rejected_dir: str) -> Iterator[tuple[dict, list[int] | None]]:
    """One pass over a source; the first pass of the emit writes its rejected records."""
    first = not p.rejects_written
    p.rejects_written = True
    return p.reader.read(Tally(), rejected_dir if first else None)


def _emit(p: SourcePlan, unit: str, seed: int, rejected_dir: str) -> Iterator[tuple[dict, list | None, int]]:
    """(document, token ids, epoch) of one source: whole epochs in reading order, then the partial epoch
    chosen by sequential sampling (each document taken with chance remaining-target / remaining-size,
    so the part is exact in documents).

    In tokens, a document is taken only when it fits what is still wanted (1 % of the part as slack).
    Why: source documents differ by 1,000x in size (a 115k-token Python file beside 300-token pages);
    plain sequential sampling is exact only to within one document, and on the shipped runs one large
    file put the code share at 38.9 % for an asked 30 %. The rule skips only documents larger than the
    remainder, so it biases the draw against large documents only as the part fills up; when the pass
    ends short of the part, the documents passed over that fit fill the rest, in reading order."""
    for epoch in range(p.epochs):
        for rec, ids in _pass(p, rejected_dir):
            yield rec, ids, epoch
    if p.part <= 0:
        return
    rng = random.Random(f"{seed}:{p.source.name}:part")
    slack = 0 if unit == "documents" else p.part // 100
    want, left, taken = p.part, p.units, set()
    for i, (rec, ids) in enumerate(_pass(p, rejected_dir)):
        size = _size(rec, ids, unit)
        if want > 0 and rng.random() * left < want and size <= want + slack:
            want -= size
            taken.add(i)
            yield rec, ids, p.epochs
        left -= size
    if want <= slack:
        return
    # tokens: the stream ended short because documents that did not fit were passed over; fill the rest
    # from those that fit now, in reading order (one more read of this source, stopped once filled)
    for i, (rec, ids) in enumerate(_pass(p, rejected_dir)):
        size = _size(rec, ids, unit)
        if i not in taken and size <= want + slack:
            want -= size
            yield rec, ids, p.epochs
            if want <= slack:
                return


def interleave(
    plans: list[SourcePlan], unit: str, seed: int, rejected_dir: str
) -> Iterator[tuple[SourcePlan, dict, list | None, int]]:
    """Seeded weighted draw across the sources' streams: a source's chance is proportional to the
    units it still has to emit (so every prefix of the output is close to the target shares)."""
    rng = random.Random(f"{seed}:interleave")
    live = [(p, _emit(p, unit, seed, rejected_dir)) for p in plans if p.target > 0]
    remaining = [float(p.target) for p, _ in live]
    while live:
        weights = [max(r, 0.5) for r in remaining]
        i = rng.choices(range(len(live)), weights=weights)[0]
        p, it = live[i]
        item = next(it, None)
        if item is None:
            del live[i], remaining[i]
            continue
        rec, ids, epoch = item
        remaining[i] -= _size(rec, ids, unit)
        yield p, rec, ids, epoch


def _out_record(p: SourcePlan, rec: dict, epoch: int) -> dict:
    md = dict(rec.get("metadata") or {})
    md.update(
        {
            "mix.source": p.source.name,
            "mix.run": p.source.origin,
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
            with atomic_open(path) as f:  # whole or absent: a full disk leaves no truncated shard
                pq.write_table(table, f)
        else:
            data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.rows).encode("utf-8")
            with atomic_open(path) as f:
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
        _release_tokenized(folder / TOKENIZED)
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


def _release_tokenized(tok_dir: Path) -> None:
    """Remove the token shards an earlier mix (or `curate tokenize`) listed in tokenized/'s manifest, so a
    mixture in another format leaves no stale shards for `curate train`; a user's files there stay."""
    if not tok_dir.is_dir() or listed_files(tok_dir) is None:
        return
    claim_folder(tok_dir)  # removes the listed files, leaves an empty manifest (the folder stays ours)
    if [p.name for p in tok_dir.iterdir()] == ["manifest.json"]:
        (tok_dir / "manifest.json").unlink()
        tok_dir.rmdir()


def mixture_json(cfg: MixConfig, plans: list[SourcePlan], tokens_estimated: bool) -> dict:
    """mixture.json (docs/CONTRACTS.md): asked vs achieved share per source, in the mix's unit."""
    total = sum(p.emitted_units for p in plans) or 1
    shares = cfg.shares()
    return {
        "name": cfg.name,
        "unit": cfg.unit,
        "budget": cfg.budget,
        "seed": cfg.seed,
        "tokens_estimated": tokens_estimated,
        "tokenizer": cfg.tokenizer,
        "format": cfg.output.format,
        "sources": [
            {
                "name": p.source.name,
                "run": p.source.origin,
                "kind": "run" if p.source.run is not None else p.source.input.format,
                "asked": "amount" if p.source.amount is not None else "weight",
                "asked_share": round(shares[p.source.name], 6),
                "achieved_share": round(p.emitted_units / total, 6),
                "epochs": round(p.emitted_units / p.units, 4) if p.units else 0.0,
                "documents": p.emitted_docs,
                "tokens": p.emitted_tokens,
                "bytes": p.emitted_bytes,
                "available_documents": p.docs,
                "records": p.tally.records,
                "unmatched": p.tally.unmatched,
                "rejected": p.tally.rejected,
                "max_epochs": p.source.max_epochs,
            }
            for p in plans
        ],
        "documents": sum(p.emitted_docs for p in plans),
        "tokens": sum(p.emitted_tokens for p in plans),
        "rejected": sum(p.tally.rejected for p in plans),
    }


def _check_not_inside(cfg: MixConfig, folder: Path) -> None:
    """A source inside the output folder would be read while it is being replaced: refused."""
    out = folder.resolve()
    for src in cfg.sources:
        origin = Path(src.origin.split("*")[0] or ".").resolve()
        if origin == out or (src.input is not None and out in origin.parents):
            raise UsageError(
                f"source {src.name}: {src.origin} is (inside) the output folder; mix into another one"
            )


def mix(
    path_or_dict: str | Path | dict[str, Any], force: bool = False, output: str | None = None
) -> MixResult:
    """Build the mixture a mix file (or dict) describes; returns its folder and mixture.json."""
    cfg = load_mix(path_or_dict)
    if output:
        cfg.output.path = output
    folder = Path(cfg.output.path)
    _check_not_inside(cfg, folder)
    tok = None
    if cfg.tokenizer:
        from curation.mix_tokens import load_tokenizer

        tok = load_tokenizer(cfg.tokenizer)
    plans = plan(cfg, tok)  # fails before anything is written
    _claim(cfg, folder, force)
    writer = _writer(cfg, folder, tok)
    rejected_dir = str(RunFolder(folder).rejected)
    for p, rec, ids, epoch in interleave(plans, cfg.unit, cfg.seed, rejected_dir):
        out = _out_record(p, rec, epoch)
        if cfg.output.format == "tokens":
            writer.add(out, ids, f"{p.source.name}/{rec.get('id')}", str(rec.get("id")))
        else:
            writer.add(out)
        p.emitted_docs += 1
        p.emitted_units += _size(rec, ids, cfg.unit)
        p.emitted_tokens += len(ids) if ids is not None else doc_tokens(rec["text"])
        p.emitted_bytes += len(rec["text"].encode("utf-8"))
    for p in plans:  # a source the plan gave nothing to: its rejected records are still written
        if not p.rejects_written:
            for _ in _pass(p, rejected_dir):
                pass
    mixture = mixture_json(cfg, plans, tokens_estimated=tok is None)
    if cfg.output.format == "tokens":
        writer.finish(folder)
    else:
        writer.flush()
    atomic_write_json(folder / "mixture.json", mixture)
    from curation.mix_card import write_mix_card

    write_mix_card(cfg, mixture, folder)
    return MixResult(folder, mixture, plans)


def _writer(cfg: MixConfig, folder: Path, tok):
    """The output: document shards in output/, or token shards in tokenized/ (curation/mix_tokens.py)."""
    if cfg.output.format != "tokens":
        return ShardWriter(RunFolder(folder).output, cfg.output.format, cfg.output.max_shard_docs)
    from curation.mix_tokens import TokenShards

    o = cfg.output
    return TokenShards(
        folder / TOKENIZED, tok, cfg.tokenizer, o.max_shard_tokens, o.max_shard_docs, o.val_fraction
    )


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(json.dumps(mix(sys.argv[1]).mixture, indent=2))
