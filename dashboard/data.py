"""Reading run folders and ablation folders for the dashboard: plain functions, no Streamlit.

The layout read here is docs/CONTRACTS.md ("Run folder", "summary.json (schema 1)"). summary.json is
read whole (it is small); documents are sampled: each category (kept, removed by each step) gets a
quota of a cap (20k documents by default), drawn uniformly at random over all its shards and files
with a fixed seed (`runfolder.sample_records`: one pass that decompresses every shard but parses only
the sampled records). Reading the first documents of each shard instead biased every estimate (a
shard's head is not a random sample: the PII page said 1,916 docs with emails where the run had
1,238). Each sampled document carries a `weight` (documents in its category / sampled ones) so
counts over the sample estimate counts over the whole run; the pages say so, with the sample size,
and show the ledger's exact number wherever summary.json has it.

Caching belongs to the UI layer (`dashboard/ui.py` wraps these functions in `st.cache_data`, keyed by
path and modification time); nothing here keeps state.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from runfolder import (
    KEPT,
    REJECTED,
    REMOVED,
    SHARD_SUFFIXES,
    RunFolder,
    list_shards,
    read_json,
    read_shard,
    sample_records,
)
from runfolder import read_summary as _read_summary
from runfolder import shards as _shards

try:  # datatrove depends on orjson; the stdlib is the fallback
    import orjson

    _loads = orjson.loads
except ImportError:  # pragma: no cover
    _loads = json.loads

__all__ = ["KEPT", "REJECTED", "REMOVED", "SHARD_SUFFIXES", "list_shards"]
SAMPLE_CAP = 20_000  # documents read per run (all categories together)
SAMPLE_SEED = 0  # the same run gives the same sample (and the same estimates) on every page and reload
MIN_PER_CATEGORY = 500  # small categories (a step that removed 30 docs) are read whole up to this
TEXT_CHARS = 20_000  # longer texts are cut in the sample (the UI says so); `text_len` keeps the length
METRIC_PREFIXES = ("roots.", "quality.", "code.", "instruct.")
NOT_METRICS = {"dedup.cluster", "dedup.cluster_size", "dup_of", "line"}
FRAME_COLUMNS = ["id", "kind", "step", "reason", "lang", "source", "text", "text_len", "bytes", "weight"]


@dataclass
class AppArgs:
    """What the dashboard was started with (`curate dashboard RUN_DIR ... [--show-pii]`)."""

    runs: dict[str, Path] = field(default_factory=dict)  # label -> run folder (has summary.json)
    ablations: dict[str, Path] = field(default_factory=dict)  # label -> folder with results.json
    show_pii: bool = False
    missing: list[str] = field(default_factory=list)  # paths that are neither


def is_run(path: Path) -> bool:
    return RunFolder(path).is_run()


def is_ablation(path: Path) -> bool:
    return RunFolder(path).results.is_file()


def parse_app_args(argv: list[str]) -> AppArgs:
    """Sort the paths given to the dashboard into run folders and ablation folders.

    A folder that is neither but holds runs or ablations one level down (e.g. `runs/`) is expanded.
    Labels are folder names, made unique with the parent's name when two runs share a name.
    """
    parser = argparse.ArgumentParser(prog="dashboard", add_help=False)
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--show-pii", action="store_true")
    ns, _ = parser.parse_known_args(argv)
    args = AppArgs(show_pii=ns.show_pii)
    found: list[Path] = []
    for raw in ns.paths:
        path = Path(raw).expanduser().resolve()
        if is_run(path) or is_ablation(path):
            found.append(path)
        elif path.is_dir() and (
            children := [c for c in sorted(path.iterdir()) if is_run(c) or is_ablation(c)]
        ):
            found.extend(children)
        else:
            args.missing.append(raw)
    for path in dict.fromkeys(found):  # unique, in order
        target = args.runs if is_run(path) else args.ablations
        label = path.name
        if label in target:
            label = f"{path.parent.name}/{path.name}"
        target[label] = path
        if is_run(path) and is_ablation(path):
            args.ablations[label] = path
    return args


def folder_mtime(path: str | Path) -> float:
    """Cache key part: the newest of the folder and its summary/results files (changes when a run ends)."""
    path = Path(path)
    run = RunFolder(path)
    times = [p.stat().st_mtime for p in (path, run.summary, run.results) if p.exists()]
    return max(times, default=0.0)


def _read_json(path: Path, missing: str):
    """A JSON file, or ValueError with `missing` / the parse error (shown on the page, not a traceback)."""
    return read_json(path, missing)


def load_summary(run_dir: str | Path) -> dict:
    """summary.json of a run, with missing optional sections filled with empty values.

    Raises:
        ValueError: the file is missing, not JSON, or not schema 1.
    """
    summary = _read_summary(run_dir, fill_missing=True)
    for key in ("input", "output"):
        summary.setdefault(key, {})
    for key in ("languages", "pii", "dedup", "decontamination", "thresholds", "rejected_by_reason"):
        summary[key] = summary.get(key) or {}
    summary["steps"] = summary.get("steps") or []
    summary["rejected"] = summary.get("rejected") or 0
    return summary


def load_recipe_text(run_dir: str | Path) -> str | None:
    """The run's recipe.resolved.yaml as text, or None."""
    path = RunFolder(run_dir).recipe
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _flatten(metadata: dict, prefix: str = "") -> dict:
    """Nested metadata dicts become dotted keys; lists become JSON strings (one cell per key)."""
    flat = {}
    for key, value in metadata.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, (list, tuple)):
            flat[name] = json.dumps(value, ensure_ascii=False)
        else:
            flat[name] = value
    return flat


def is_pii_original(key: str) -> bool:
    """Metadata keys that would hold original (unscrubbed) PII values: hidden unless --show-pii."""
    return key.startswith("pii") and "original" in key


def pii_hidden(summary: dict, show_pii: bool = False) -> bool:
    """Whether documents must be scrubbed for display: the run's recipe has a `pii` step but its folder
    kept original values (`run_folder: false`, or a run older than the post-run sweep), and the
    dashboard was not started with `--show-pii`. A swept run has nothing left to hide; a run without
    `pii` made no promise about PII, and its documents are shown as they are."""
    if show_pii:
        return False
    swept = summary.get("pii_run_folder")
    if isinstance(swept, dict):
        return not swept.get("scrubbed", False)
    return any(s.get("op") == "pii" for s in summary.get("steps", []))


def _hide(value):
    """`value` with every detected PII value replaced by its tag (`<EMAIL>`, ...), at any depth."""
    from curation.steps._pii_scan import scrub_value  # plain functions: no datatrove, no pipeline

    return scrub_value(value)


def _hide_record(rec: dict) -> dict:
    md = _metadata(rec)
    md = {k: v if k.startswith("pii.") else _hide(v) for k, v in md.items()}
    return {**rec, "id": _hide(str(rec.get("id", ""))), "metadata": md}


def _read_shard(path: Path, limit: int) -> list[dict]:
    """Up to `limit` raw records `{"text", "id", "metadata"}` from the start of one shard."""
    return read_shard(path, limit)


def _metadata(rec: dict) -> dict:
    md = rec.get("metadata") or {}
    if isinstance(md, (str, bytes)):
        md = _loads(md) if md else {}
    if any(isinstance(v, (dict, list, tuple)) for v in md.values()):
        md = _flatten(md)
    return md


def _to_frame(
    records: list[dict], kind: str, step: str, weight: float, show_pii: bool, hide: bool = False
) -> pd.DataFrame:
    """Raw records of one category -> the sample's columns (FRAME_COLUMNS, then metadata keys).
    `hide`: PII in the shown text, id and metadata strings is replaced by tags (`pii_hidden`)."""
    texts = [r.get("text") or "" for r in records]
    shown = [t[:TEXT_CHARS] for t in texts]
    if hide:
        records = [_hide_record(r) for r in records]
        shown = [_hide(t) for t in shown]
    meta = pd.DataFrame.from_records([_metadata(r) for r in records], index=range(len(records)))
    if not show_pii:
        meta = meta.drop(columns=[c for c in meta.columns if is_pii_original(c)])

    def take(col: str, default) -> pd.Series:
        return meta.pop(col) if col in meta else pd.Series(default, index=meta.index, dtype=object)

    removed_by, reason = take("removed_by", None), take("reason", "")
    source = take("source", None)
    for alt_col in ("file_path", "dataset"):
        if alt_col in meta:
            source = source.fillna(meta[alt_col])
    front = pd.DataFrame(
        {
            "id": [str(r.get("id", "")) for r in records],
            "kind": kind,
            "step": removed_by.fillna(step).replace("", step) if kind == REMOVED else step,
            "reason": reason.fillna("").astype(str) if kind == REMOVED else "",
            "lang": take("lang", None),
            "source": source,
            "text": shown,
            "text_len": [len(t) for t in texts],
            "bytes": [len(t.encode("utf-8", "replace")) for t in texts],
            "weight": weight,
        },
        index=meta.index,
    )
    return pd.concat([front, meta], axis=1)


def category_totals(summary: dict) -> dict[tuple[str, str], int]:
    """How many documents each category holds in the whole run, from summary.json."""
    totals = {(KEPT, ""): int(summary.get("output", {}).get("docs") or 0)}
    for step in summary.get("steps", []):
        totals[(REMOVED, step.get("name", ""))] = int(step.get("removed") or 0)
    return totals


def sample_quotas(totals: dict[tuple[str, str], int], cap: int = SAMPLE_CAP) -> dict[tuple[str, str], int]:
    """Documents to read per category: proportional to its size, at least MIN_PER_CATEGORY (or all)."""
    grand = sum(totals.values()) or 1
    return {cat: min(n, max(math.ceil(cap * n / grand), MIN_PER_CATEGORY)) for cat, n in totals.items()}


def sample_documents(
    run_dir: str | Path, cap: int = SAMPLE_CAP, show_pii: bool = False, seed: int = SAMPLE_SEED
) -> pd.DataFrame:
    """A sample of kept and removed documents as one flat frame (one column per metadata key).

    Columns: `id, kind (kept|removed), step (removed_by), reason, lang, source, text (cut at
    TEXT_CHARS), text_len, bytes, weight`, then every metadata key (`lang_score`, `roots.*`, ...).
    Each category's quota is drawn uniformly over all its shards and files (seeded), so every
    document of the category has the same chance and the weighted counts are unbiased estimates.

    Args:
        run_dir: the run folder.
        cap: documents to read in all (about; small categories are read up to MIN_PER_CATEGORY).
        show_pii: keep metadata keys with original PII values (`pii.*original*`), and show the
            documents of an unswept `pii` run as they are (`pii_hidden`); hidden otherwise.
        seed: the sampling seed.
    """
    run = Path(run_dir)
    summary = load_summary(run)
    hide = pii_hidden(summary, show_pii)
    shards = list_shards(run)
    totals = category_totals(summary)
    for cat in shards:  # a step folder the summary does not list: read it, weight 1
        totals.setdefault(cat, 0)
    quotas = sample_quotas(totals, cap)
    frames: list[pd.DataFrame] = []
    for (kind, step), files in shards.items():
        quota = quotas.get((kind, step), 0) or min(cap, MIN_PER_CATEGORY)
        records = sample_records(files, quota, seed=seed, total=totals.get((kind, step)) or None)
        total = totals.get((kind, step)) or len(records)
        weight = max(total / len(records), 1.0) if records else 1.0
        if records:
            frames.append(_to_frame(records, kind, step, weight, show_pii, hide))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if frame.empty:
        frame = pd.DataFrame(columns=FRAME_COLUMNS)
    for col in FRAME_COLUMNS:
        if col not in frame:
            frame[col] = None
    return frame


def read_rejected(run_dir: str | Path, cap: int = 2_000, show_pii: bool = False) -> pd.DataFrame:
    """Unreadable input records (`rejected/*.jsonl`): columns source, line, error, raw (first `cap`);
    PII in them hidden as in `sample_documents`."""
    rows: list[dict] = []
    for path in _shards(RunFolder(run_dir).rejected):
        rows.extend(_read_shard(path, cap - len(rows)))
        if len(rows) >= cap:
            break
    if rows and pii_hidden(load_summary(run_dir), show_pii):
        rows = [_hide(r) for r in rows]
    frame = (
        pd.DataFrame(rows, columns=["source", "line", "error", "raw"])
        if rows
        else pd.DataFrame(columns=["source", "line", "error", "raw"])
    )
    return frame


def find_documents(
    run_dir: str | Path, ids: list[str], max_scan: int = 200_000, show_pii: bool = False
) -> pd.DataFrame:
    """Documents with the given ids, scanning kept and removed shards (at most `max_scan` records).

    Used for the other member of a duplicate pair when the sample does not hold it. `ids` are as the
    sample shows them (with PII hidden, see `pii_hidden`).
    """
    hide = pii_hidden(load_summary(run_dir), show_pii)
    wanted = {str(i) for i in ids}
    frames: list[pd.DataFrame] = []
    scanned = 0
    for (kind, step), files in list_shards(run_dir).items():
        for path in files:
            hits = []
            for rec in _read_shard(path, max_scan - scanned):
                scanned += 1
                shown_id = _hide(str(rec.get("id"))) if hide else str(rec.get("id"))
                if shown_id in wanted:
                    hits.append(rec)
                    wanted.discard(shown_id)
            if hits:
                frames.append(_to_frame(hits, kind, step, 1.0, show_pii, hide))
            if not wanted or scanned >= max_scan:
                break
        if not wanted or scanned >= max_scan:
            break
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=FRAME_COLUMNS)


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """Numeric per-document metrics in a sample: `lang_score`, `roots.*`, `quality.*`, `code.*`, ...

    Counts (`pii.*`), dedup bookkeeping and our own columns are not metrics.
    """
    own = set(FRAME_COLUMNS)
    out = []
    for col in frame.columns:
        if col in own or col in NOT_METRICS or col.startswith(("pii.", "dedup.")):
            continue
        if not (col == "lang_score" or col.startswith(METRIC_PREFIXES) or "." in col):
            continue
        if pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col]):
            out.append(col)
    order = {p: i for i, p in enumerate(("lang_score",) + METRIC_PREFIXES)}
    return sorted(out, key=lambda c: (next((i for p, i in order.items() if c.startswith(p)), 99), c))


def load_results(folder: str | Path) -> dict:
    """An ablation's results.json (`{"variants": {...}, "comparisons": [...]}`).

    Raises:
        ValueError: the file is missing or not JSON.
    """
    path = RunFolder(folder).results
    results = _read_json(path, f"{path} does not exist")
    results["variants"] = results.get("variants") or {}
    results["comparisons"] = results.get("comparisons") or []
    return results


def removed_units(run_dir: str | Path, step_id: str, show_pii: bool = False) -> list[dict]:
    """`[{unit, count, example_id}]`: the units a `line_dedup` step removed most (summed over tasks),
    with detected PII replaced by tags when the run's documents are shown scrubbed (`pii_hidden`)."""
    rows = RunFolder(run_dir).removed_unit_examples(step_id)
    if rows and pii_hidden(load_summary(run_dir), show_pii):
        rows = [{**r, "unit": _hide(r["unit"]), "example_id": _hide(str(r["example_id"]))} for r in rows]
    return rows
