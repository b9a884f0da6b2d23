"""Data ablations: variants x token budgets x seeds, with everything but the data held fixed.

    curate ablate recipes/ablations/demo.yaml [--out DIR]

For each variant (a run folder, or a recipe run first with `python -m curation.cli run` on the shared
sample), the runner tokenizes the kept documents with one shared tokenizer (trained on the shared input
sample, so it does not depend on the variants; or on an equal-bytes mix of the variants; or given), trains the same model preset with the same hyper-parameters once per seed
with a warmup-stable-decay schedule that branches a cooldown at every budget (training/train.py), and
evaluates every budget on the same eval domains (training/eval_select.py: stratified, capped, one may be
out of pool). training/ablate_results.py and training/analysis.py turn the points into paired deltas with
their own intervals and Holm-adjusted verdicts (training/intervals.py), multipliers read off the
baseline's measured curve, an optional joint fit and the positive and negative controls. The YAML schema is in training/ablation_config.py and the
docs/training.md ("Ablation file"). Writes under the output folder:

    ablation.resolved.json   the config with defaults filled in
    eval/<name>.jsonl.gz     the eval documents scored (capped at max_chars)
    runs/<variant>/          curation run folders of recipe variants (unless `run:` is given)
    tokenizer/               the shared tokenizer
    tokenized/<variant>/     token shards (train/validation) + index.json
    points/<variant>/s<seed>/   metrics.jsonl, eval.json (one entry per budget) of each training run
    runs/random_<filter>/    retention-matched random baselines (training/baselines.py)
    results.json             the contract in docs/CONTRACTS.md ("results.json"); loss_vs_tokens.png
    report.md                the tables the docs show, rendered from results.json (training/report.py)

Runs whose eval.json exists with the same key are reused, so an interrupted ablation resumes. Paths in
the YAML are relative to the current directory (like recipes).

The inputs (eval sets, variant run folders, the tokenizer, token shards) are made by
training/ablate_inputs.py; this module trains the grid on them and analyses it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from training import report
from training.ablate_inputs import (
    ensure_run,
    ensure_tokenized,
    ensure_tokenizer,
    log,
    materialize_eval_sets,
    variant_inputs,
)
from training.ablate_results import analyze, scored_evals
from training.ablation_config import AblationConfig, load_ablation  # noqa: F401 - the API's entry point
from training.baselines import random_run
from training.evaluate import set_name
from training.model import get_preset
from training.plots import plot_results
from training.repetition import for_ablation
from training.sample import Decontaminator, write_sample
from training.train import TrainConfig, train


def _job(tc: TrainConfig, key: dict) -> dict:
    """One (variant, seed) run; reused when its eval.json exists with the same key."""
    folder = Path(tc.out_dir)
    saved = folder / "run_key.json"
    if (folder / "eval.json").exists() and saved.exists() and json.loads(saved.read_text()) == key:
        return json.loads((folder / "eval.json").read_text())
    rec = train(tc)
    saved.write_text(json.dumps(key, indent=2) + "\n")
    return rec


def _train_configs(cfg: AblationConfig, data: dict, eval_paths: list[str], out: Path) -> list[tuple]:
    """(variant, seed, TrainConfig, key) for every run: one wsd run to the top budget, branches below."""
    jobs = []
    top = max(cfg.budgets)
    for name, (folder, index) in data.items():
        for seed in cfg.seeds:
            tc = TrainConfig.from_dict(
                {
                    "schedule": "wsd",
                    "threads": 1,  # CPU: one thread per run; parallelism comes from `workers` processes
                    **cfg.train,
                    "data": str(folder),
                    "out_dir": str(out / "points" / name / f"s{seed}"),
                    "model": cfg.model,
                    "tokens": top,
                    "branch_tokens": [b for b in cfg.budgets if b < top],
                    "seed": seed,
                    "pool_tokens": cfg.variants[name].pool_tokens,
                    "eval_sets": eval_paths,
                    "eval_max_tokens": None,  # every materialized eval document is scored
                    "save_checkpoint": cfg.save_checkpoints,
                    "quiet": True,
                }
            )
            # the key holds the preset's values and the data's identity too: a changed preset default,
            # tokenizer or run must not reuse old points
            key = {
                "train_config": dataclasses.asdict(tc),
                "preset": dataclasses.asdict(get_preset(cfg.model)),
                "data": {"tokenizer_sha1": index["tokenizer_sha1"], "fingerprint": index.get("fingerprint")},
                "eval_sets": [[p, Path(p).stat().st_size] for p in eval_paths],  # lists: equal after JSON
            }
            jobs.append((name, seed, tc, key))
    return jobs


def _points(rec: dict, names: dict[str, str], bytes_per_token: float) -> list[dict]:
    """Contract points of one run: one per budget."""
    return [
        {
            "tokens": b["tokens"],
            "bytes": round(b["tokens"] * bytes_per_token),
            "seed": rec["seed"],
            "epochs": b["epochs"],
            "bpb": {names[k]: v["bpb"] for k, v in b["eval_sets"].items()},
            "val_loss": b["validation"]["loss"],
        }
        for b in rec["budgets"]
    ]


def run_ablation(cfg: AblationConfig) -> dict:
    """Run the whole grid and write results.json + the plot; returns the results."""
    t_start, cpu0 = time.time(), _cpu_seconds()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ablation.resolved.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2) + "\n")
    log(f"eval sets: reading {len(cfg.eval_sets)} domain(s) and their hold-out slices")
    eval_paths, eval_docs, ex_ids, ex_texts, described = materialize_eval_sets(cfg, out)
    file_names = {set_name(p): n for n, p in eval_paths.items()}  # eval.json keys -> eval set names
    evals = list(eval_paths)
    stale, sample_stats = False, None
    decon = Decontaminator(eval_docs, cfg.decontam)
    if cfg.sample:
        spec_extra = {
            "decontam": dataclasses.asdict(cfg.decontam),
            "evals": {k: sorted(d["id"] for d in v) for k, v in eval_docs.items()},
            "eval_texts": hashlib.sha1("".join(sorted(ex_texts)).encode()).hexdigest()[:16],
        }
        log(
            f"sample: drawing {cfg.sample.fraction:.0%} of {len(cfg.sample.inputs)} input file(s), decontaminating"
        )
        sample_stats = write_sample(cfg.sample, ex_ids, decon, spec_extra)
        stale = not sample_stats.get("reused")
        log(
            f"sample: {sample_stats['docs']:,} docs, {sample_stats['bytes'] / 1e6:.1f} MB in "
            f"{sample_stats.get('units', sample_stats.get('blocks'))} units; docs in duplicate clusters: sample "
            f"{sample_stats.get('dup_share_sample', '?')} vs pool {sample_stats.get('dup_share_pool', '?')}; "
            f"sample documents containing evaluated text removed: "
            f"{sample_stats['decontam_removed'] or 0}{' (reused)' if not stale else ''}"
        )
    inputs = variant_inputs(cfg)
    runs: dict[str, Path] = {}
    randoms: dict[str, dict] = {}
    for n, v in cfg.variants.items():  # `run: <another variant>` shares that variant's run folder
        if v.random_of:
            runs[n], randoms[n] = random_run(
                n, runs[v.random_of], inputs[cfg.variants[v.random_of].input], out
            )
            log(f"{n}: {randoms[n]['docs']} random documents ({randoms[n]['bytes'] / 1e6:.2f} MB) vs "
                 f"{v.random_of}'s {randoms[n]['filter_docs']} ({randoms[n]['filter_bytes'] / 1e6:.2f} MB)")  # fmt: skip
            continue
        runs[n] = runs[v.run] if v.run in runs else ensure_run(n, v, out, stale, inputs.get(v.input))
    # tokenizer_sample: variants -> an equal byte share of every variant that reads the plain sample
    # (not the planted control's copies)
    tok_runs = {
        n: r for n, r in runs.items() if cfg.variants[n].input == "sample" and not cfg.variants[n].random_of
    } or runs
    log("tokenizer: " + (f"given ({cfg.tokenizer})" if cfg.tokenizer else "training (reused when unchanged)"))
    tok_dir = ensure_tokenizer(cfg, tok_runs, out, ex_ids, sample_stats["bytes"] if sample_stats else None)
    data: dict[str, tuple[Path, dict]] = {}
    by_run: dict[Path, tuple[Path, dict]] = {}  # variants sharing a run folder share its token shards
    for n, r in runs.items():
        if r not in by_run:
            by_run[r] = ensure_tokenized(n, r, tok_dir, out, cfg, ex_ids, ex_texts, decon)
        data[n] = by_run[r]
    bpt = {
        n: idx["splits"]["train"]["bytes"] / max(idx["splits"]["train"]["tokens"], 1)
        for n, (_, idx) in data.items()
    }
    jobs = _train_configs(cfg, data, list(eval_paths.values()), out)
    log(f"training {len(jobs)} runs ({len(cfg.budgets)} budgets each) on {cfg.workers} worker(s)")
    points: dict[str, list[dict]] = {n: [] for n in runs}
    t_train = time.time()
    if cfg.workers > 1:
        with ProcessPoolExecutor(cfg.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futs = [(n, s, pool.submit(_job, tc, key)) for n, s, tc, key in jobs]
            recs = []
            for k, (n, s, f) in enumerate(futs, 1):
                recs.append((n, f.result()))
                log(f"[{k}/{len(jobs)}] {n} seed {s} done ({time.time() - t_train:.0f}s)")
    else:
        recs = []
        for k, (n, s, tc, key) in enumerate(jobs, 1):
            recs.append((n, _job(tc, key)))
            log(f"[{k}/{len(jobs)}] {n} seed {s} done ({time.time() - t_train:.0f}s)")
    for n, rec in recs:
        points[n] += _points(rec, file_names, bpt[n])
    variants = {
        n: {
            "points": sorted(points[n], key=lambda p: (p["tokens"], p["seed"])),
            "bytes_per_token": round(bpt[n], 4),
            "train_tokens": data[n][1]["splits"]["train"]["tokens"],
            "train_bytes": data[n][1]["splits"]["train"]["bytes"],
        }
        for n in runs
    }
    results = analyze(cfg, variants, evals)
    results["evals"] = scored_evals(described, recs, file_names)
    results["sample"] = sample_stats
    results["random_baselines"] = randoms
    results["train_tokens_per_s"] = round(sum(r["tokens_per_s"] for _, r in recs) / max(len(recs), 1), 1)
    if (rep := for_ablation(cfg, results)) is not None:
        results["repetition"] = rep
    results["wall_seconds"] = round(time.time() - t_start, 1)
    results["cpu_seconds"] = round(_cpu_seconds() - cpu0, 1)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    plot_results(results, out / "loss_vs_tokens.png")
    (out / "report.md").write_text(report.render(results))
    log(
        f"results: {out / 'results.json'} ({results['wall_seconds']:.0f}s wall, {results['cpu_seconds']:.0f}s CPU)"
    )
    return results


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (curation runs, training workers):
    on a shared machine wall time says little, CPU seconds say what the ablation cost."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
