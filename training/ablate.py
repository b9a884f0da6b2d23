"""Data ablations: variants x token budgets x seeds, with everything but the data held fixed.

    curate ablate recipes/ablations/demo.yaml [--out DIR]

For each variant (a run folder, or a recipe run first with `python -m curation.cli run`), the runner
tokenizes the kept documents with one shared tokenizer (trained on the union of the variants'
samples, or given), trains the same model preset with the same hyper-parameters for every budget and
seed, evaluates on the same fixed eval sets, fits L(D) = E + B * D^(-beta) per variant and compares
variants by their effective-data multiplier (training/fit.py). The YAML schema is in
training/ablation_config.py. Writes under the output folder:

    ablation.resolved.json   the config with defaults filled in
    eval/<name>.jsonl.gz     materialized eval sets (hold-out slices)
    runs/<variant>/          curation run folders of recipe variants (unless `run:` is given)
    tokenizer/               the shared tokenizer
    tokenized/<variant>/     token shards (train/validation) + index.json
    points/<variant>/t<tokens>_s<seed>/   metrics.jsonl, eval.json of each training run
    results.json, loss_vs_tokens.png

Points whose eval.json exists with the same train config are reused, so an interrupted ablation
resumes. Paths in the YAML are relative to the current directory (like recipes).

The eval hold-out: an eval set with `holdout_fraction` takes the documents of its source file whose
sha1("eval" + id) falls below the fraction; those ids (and their exact texts) are excluded from the
shared sample, the tokenizer sample and every variant's tokens, so no variant trains on them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

from training.ablation_config import AblationConfig, Sample, Variant, load_ablation  # noqa: F401 (re-export)
from training.data import (
    ConfigError,
    id_fraction,
    read_eval_set,
    read_jsonl,
    run_shards,
    sample_run,
    text_key,
    write_jsonl_gz,
)
from training.evaluate import set_name
from training.fit import effective_multiplier, fit_power_law
from training.model import get_preset
from training.shards import tokenize_run
from training.tokenizer import save_tokenizer, tokenizer_hash, train_bpe
from training.train import TrainConfig, train


def _log(msg: str) -> None:
    print(f"[ablate {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def materialize_eval_sets(cfg: AblationConfig, out: Path) -> tuple[list[str], set[str], set[str]]:
    """Write hold-out slices to out/eval/; returns (eval paths, excluded ids, excluded text keys)."""
    paths, ids, texts = [], set(), set()
    for e in cfg.eval_sets:
        if e.holdout_fraction is None:
            docs = read_eval_set(e.path, e.max_docs)
            paths.append(e.path)
        else:
            src = list(read_jsonl(e.path))
            docs = sorted(
                (d for d in src if id_fraction(d["id"], "eval") < e.holdout_fraction),
                key=lambda d: id_fraction(d["id"], "eval"),
            )[: e.max_docs]
            if e.max_chars:
                docs = [{**d, "text": d["text"][: e.max_chars]} for d in docs]
            if not docs:
                raise ConfigError(
                    f"eval set {e.path}: holdout_fraction {e.holdout_fraction} selects no documents"
                )
            name = e.name or Path(e.path).name.split(".")[0] + "_heldout"
            p = out / "eval" / f"{name}.jsonl.gz"
            write_jsonl_gz(p, docs)
            paths.append(str(p))
            # the whole slice is excluded from training, not only the max_docs that are evaluated
            ids |= {d["id"] for d in src if id_fraction(d["id"], "eval") < e.holdout_fraction}
            texts |= {text_key(d["text"]) for d in src if id_fraction(d["id"], "eval") < e.holdout_fraction}
        ids |= {d["id"] for d in docs}
        texts |= {text_key(d["text"]) for d in docs}
    return paths, ids, texts


def write_sample(sample: Sample, path: Path, exclude_ids: set[str]) -> int:
    """The shared input: documents of `sample.inputs` whose sha1("sample" + id) < fraction, minus eval ids;
    original records are written unchanged (all their fields). Skipped when it exists with the same spec."""
    spec = {"inputs": sample.inputs, "fraction": sample.fraction, "excluded": len(exclude_ids)}
    meta = path.parent / (path.name + ".spec.json")
    if path.exists() and meta.exists() and json.loads(meta.read_text()) == spec:
        return -1

    def records():
        import gzip

        for inp in sample.inputs:
            opener = gzip.open if inp.endswith(".gz") else open
            with opener(inp, "rt", encoding="utf-8") as fh:
                for line in fh:
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    doc_id = str(rec.get("id", ""))
                    if (
                        doc_id
                        and doc_id not in exclude_ids
                        and id_fraction(doc_id, "sample") < sample.fraction
                    ):
                        yield rec

    n = write_jsonl_gz(path, records())
    meta.write_text(json.dumps(spec))
    return n


def ensure_run(name: str, v: Variant, out: Path, stale: bool = False) -> Path:
    """The variant's run folder: reused when it has summary.json (or is a hand-made folder with
    output/ and no recipe), otherwise produced by `python -m curation.cli run RECIPE --output RUN`;
    `stale` (the shared sample was rewritten) re-runs recipe variants."""
    run_dir = Path(v.run) if v.run else out / "runs" / name
    if (run_dir / "summary.json").exists() and not (stale and v.recipe):
        _log(f"{name}: reusing {run_dir}")
        return run_dir
    if not v.recipe:
        run_shards(run_dir)  # raises a ConfigError when there is no output
        return run_dir
    if not Path(v.recipe).exists():
        raise ConfigError(f"variant {name}: recipe not found: {v.recipe}")
    cmd = [sys.executable, "-m", "curation.cli", "run", v.recipe, "--output", str(run_dir), "--force"]
    if v.limit:
        cmd += ["--limit", str(v.limit)]
    _log(f"{name}: {' '.join(cmd[1:])}")
    (out / "logs").mkdir(parents=True, exist_ok=True)
    log = out / "logs" / f"curate_{name}.log"
    t0 = time.time()
    with open(log, "w") as fh:
        rc = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT)
    if rc != 0 or not (run_dir / "summary.json").exists():
        tail = log.read_text()[-1500:]
        raise RuntimeError(f"curation of variant {name} failed (exit {rc}); log {log}:\n{tail}")
    _log(f"{name}: curated in {time.time() - t0:.0f}s")
    return run_dir


def _run_fingerprint(run_dir: Path) -> str:
    h = hashlib.sha1()
    for p in run_shards(run_dir):
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def ensure_tokenizer(cfg: AblationConfig, runs: dict[str, Path], out: Path, exclude_ids: set[str]) -> Path:
    """The given tokenizer, or one trained on an equal byte share of each variant's sample."""
    if cfg.tokenizer:
        return Path(cfg.tokenizer)
    folder = out / "tokenizer"
    vocab = cfg.vocab_size or get_preset(cfg.model).vocab_size
    spec = {
        "vocab_size": vocab,
        "sample_bytes": cfg.tokenizer_sample_bytes,
        "runs": {k: _run_fingerprint(v) for k, v in runs.items()},
    }
    spec_file = folder / "spec.json"
    if (
        (folder / "tokenizer.json").exists()
        and spec_file.exists()
        and json.loads(spec_file.read_text()) == spec
    ):
        return folder
    share = cfg.tokenizer_sample_bytes // len(runs)

    def texts():
        for run_dir in runs.values():
            yield from sample_run(run_dir, share, exclude_ids=exclude_ids)

    t0 = time.time()
    save_tokenizer(train_bpe(texts(), vocab), folder)
    (folder / "spec.json").write_text(json.dumps(spec))
    _log(f"tokenizer: vocab {vocab} trained on ~{share * len(runs) / 1e6:.0f} MB in {time.time() - t0:.0f}s")
    return folder


def ensure_tokenized(name, run_dir, tok_dir, out, cfg, exclude_ids, exclude_texts) -> tuple[Path, dict]:
    folder = out / "tokenized" / name
    fp = {
        "tokenizer_sha1": tokenizer_hash(tok_dir),
        "run": _run_fingerprint(run_dir),
        "excluded_ids": len(exclude_ids),
        "val_fraction": cfg.val_fraction,
    }
    if (folder / "index.json").exists():
        index = json.loads((folder / "index.json").read_text())
        if index.get("fingerprint") == fp:
            return folder, index
    index = tokenize_run(
        run_dir, tok_dir, folder, cfg.val_fraction, exclude_ids=exclude_ids, exclude_texts=exclude_texts
    )
    index["fingerprint"] = fp
    (folder / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    tr = index["splits"]["train"]
    _log(
        f"{name}: {tr['docs']:,} docs, {tr['tokens']:,} train tokens ({index['excluded']['docs']} eval docs excluded)"
    )
    return folder, index


def run_point(
    cfg: AblationConfig,
    name: str,
    data: Path,
    index: dict,
    tokens: int,
    seed: int,
    eval_paths: list[str],
    out: Path,
):
    """Train + evaluate one (variant, budget, seed); reuse a finished point with the same config and data."""
    point_dir = out / "points" / name / f"t{tokens}_s{seed}"
    tc = TrainConfig.from_dict(
        {
            **cfg.train,
            "data": str(data),
            "out_dir": str(point_dir),
            "model": cfg.model,
            "tokens": tokens,
            "seed": seed,
            "eval_sets": eval_paths,
            "save_checkpoint": cfg.save_checkpoints,
            "quiet": True,
        }
    )
    # the key holds the preset's values and the data's identity too: a changed preset default, tokenizer
    # or run must not reuse old points
    key = {
        "train_config": dataclasses.asdict(tc),
        "preset": dataclasses.asdict(get_preset(cfg.model)),
        "data": {
            "tokenizer_sha1": index["tokenizer_sha1"],
            "fingerprint": index.get("fingerprint"),
            "train_tokens": index["splits"]["train"]["tokens"],
        },
        "eval_sets": [(p, Path(p).stat().st_size) for p in eval_paths],
    }
    saved = point_dir / "point_key.json"
    if (point_dir / "eval.json").exists() and saved.exists() and json.loads(saved.read_text()) == key:
        return json.loads((point_dir / "eval.json").read_text())
    rec = train(tc)
    saved.write_text(json.dumps(key, indent=2) + "\n")
    return rec


def _point(rec: dict, primary: str) -> dict:
    ev = rec["eval_sets"][primary]
    p = {
        "tokens": rec["tokens"],
        "seed": rec["seed"],
        "eval_loss": ev["loss"],
        "bpb": ev["bpb"],
        "epochs": rec["epochs"],
        "tokens_per_s": rec["tokens_per_s"],
        "val_loss": rec["validation"]["loss"],
    }
    if len(rec["eval_sets"]) > 1:
        p["eval_sets"] = {k: {"loss": v["loss"], "bpb": v["bpb"]} for k, v in rec["eval_sets"].items()}
    return p


def _mean(values) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def summarize(cfg: AblationConfig, points: dict[str, list[dict]], primary: str) -> dict:
    """results.json: points, fits per variant, and comparisons of every variant with the baseline."""
    variants = {}
    for name, pts in points.items():
        fit = fit_power_law([p["tokens"] for p in pts], [p[cfg.fit_on] for p in pts])
        variants[name] = {"points": pts, "fit": {"metric": cfg.fit_on, **fit}}
    baseline = cfg.baseline or next(iter(points))
    comparisons = []
    rb = (min(p["tokens"] for p in points[baseline]), max(p["tokens"] for p in points[baseline]))
    for name, pts in points.items():
        if name == baseline:
            continue
        fa, fb = variants[name]["fit"], variants[baseline]["fit"]
        ra = (min(p["tokens"] for p in pts), max(p["tokens"] for p in pts))
        at = []
        for t in sorted({p["tokens"] for p in pts}):
            row = effective_multiplier(fa, fb, t, ra, rb)
            # the measured seed means at this budget, fit-free (None where B has no point at t)
            row["measured_a"] = _mean(p[cfg.fit_on] for p in pts if p["tokens"] == t)
            row["measured_b"] = _mean(p[cfg.fit_on] for p in points[baseline] if p["tokens"] == t)
            at.append(row)
        comparisons.append(
            {
                "a": name,
                "b": baseline,
                "metric": cfg.fit_on,
                "at": at,
                "meaning": f"multiplier m: D tokens of {name} reach the loss of m*D tokens of {baseline}",
            }
        )
    return {
        "name": cfg.name,
        "model": cfg.model,
        "eval_set": primary,
        "fit_form": "L(D) = E + B * D^(-beta)",
        "variants": variants,
        "comparisons": comparisons,
    }


def run_ablation(cfg: AblationConfig) -> dict:
    """Run the whole grid and write results.json + plots; returns the results."""
    from training.plots import plot_results

    t_start = time.time()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ablation.resolved.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2) + "\n")
    eval_paths, ex_ids, ex_texts = materialize_eval_sets(cfg, out)
    primary = set_name(eval_paths[0])
    stale = False
    if cfg.sample:
        n = write_sample(cfg.sample, Path(cfg.sample.path), ex_ids)
        stale = n >= 0
        _log(f"sample: {'reused' if n < 0 else f'{n:,} docs'} -> {cfg.sample.path}")
    runs = {name: ensure_run(name, v, out, stale) for name, v in cfg.variants.items()}
    tok_dir = ensure_tokenizer(cfg, runs, out, ex_ids)
    data = {name: ensure_tokenized(name, r, tok_dir, out, cfg, ex_ids, ex_texts) for name, r in runs.items()}
    points: dict[str, list[dict]] = {name: [] for name in runs}
    total = len(runs) * len(cfg.budgets) * len(cfg.seeds)
    k = 0
    for tokens in cfg.budgets:  # budget-major order: a cut-short ablation still has every variant at small D
        for name, (folder, index) in data.items():
            for seed in cfg.seeds:
                k += 1
                t0 = time.time()
                rec = run_point(cfg, name, folder, index, tokens, seed, eval_paths, out)
                p = _point(rec, primary)
                points[name].append(p)
                _log(
                    f"[{k}/{total}] {name} D={tokens:,} seed={seed}: bpb {p['bpb']:.4f} loss {p['eval_loss']:.4f} "
                    f"epochs {p['epochs']:.2f} ({time.time() - t0:.0f}s)"
                )
    results = summarize(cfg, points, primary)
    results["train_tokens"] = {name: idx["splits"]["train"]["tokens"] for name, (_, idx) in data.items()}
    results["seconds"] = round(time.time() - t_start, 1)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    plot_results(results, out / "loss_vs_tokens.png")
    _log(f"results: {out / 'results.json'}, plot: {out / 'loss_vs_tokens.png'} ({results['seconds']:.0f}s)")
    return results
