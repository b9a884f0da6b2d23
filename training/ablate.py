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

Curation runs in a subprocess (`sys.executable -m curation.cli run`): a recipe's steps load fastText
models and spawn datatrove executors; a process boundary keeps their memory, threads and exit codes
away from the training process, and the run folder it leaves is the interface either way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shlex
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from training import eval_select, report
from training.ablate_results import analyze, scored_evals
from training.ablation_config import AblationConfig, Sample, Variant, eval_name, load_ablation  # noqa: F401
from training.baselines import random_run
from training.data import (
    ConfigError,
    run_shards,
    sample_file,
    sample_run,
    text_key,
    write_jsonl_gz,
)
from training.mix_variant import mix_key, reusable, save_key
from training.model import get_preset
from training.sample import Decontaminator, write_sample
from training.shards import tokenize_run
from training.tokenizer import save_tokenizer, tokenizer_hash, train_bpe
from training.train import TrainConfig, train


def _log(msg: str) -> None:
    print(f"[ablate {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def materialize_eval_sets(
    cfg: AblationConfig, out: Path
) -> tuple[dict[str, str], dict[str, list], set, set, dict]:
    """Write the evaluated documents of every eval set to out/eval/ (training/eval_select.py); returns
    ({name: path}, {name: evaluated docs}, ids and text keys kept out of training, {name: description})."""
    inputs = {str(Path(p).resolve()) for p in (cfg.sample.inputs if cfg.sample else [])}
    paths, docs_by, ids, texts, described = {}, {}, set(), set(), {}
    for e in cfg.eval_sets:
        name = eval_name(e)
        docs, _full, slice_ids, slice_texts = eval_select.select(e)
        ids |= slice_ids  # a hold-out's whole slice stays out of training, not only the documents scored
        texts |= slice_texts | {text_key(d["text"]) for d in docs}
        p = out / "eval" / f"{name}.jsonl.gz"
        write_jsonl_gz(p, docs)
        paths[name] = str(p)
        docs_by[name] = docs
        out_of_pool = str(Path(e.path).resolve()) not in inputs if cfg.sample else e.holdout_fraction is None
        described[name] = eval_select.describe(docs, out_of_pool)
    return paths, docs_by, ids, texts, described


def ensure_run(name: str, v: Variant, out: Path, stale: bool = False, input_path: str | None = None) -> Path:
    """The variant's run folder: reused when it has summary.json (or is a hand-made folder with
    output/ and no recipe), otherwise produced by `python -m curation.cli run RECIPE --output RUN`
    with `--set input.path=<the ablation's sample>`; `stale` (the sample was rewritten) re-runs it."""
    run_dir = Path(v.run) if v.run else out / "runs" / name
    if v.mix:
        return ensure_mix(name, v, run_dir, out)
    if (run_dir / "summary.json").exists() and not (stale and v.recipe):
        _log(f"{name}: reusing {run_dir}")
        return run_dir
    if not v.recipe:
        run_shards(run_dir)  # raises a ConfigError when there is no output
        return run_dir
    if not Path(v.recipe).exists():
        raise ConfigError(f"variant {name}: recipe not found: {v.recipe}")
    cmd = [sys.executable, "-m", "curation.cli", "run", v.recipe, "--output", str(run_dir), "--force"]
    if input_path:
        cmd += ["--set", f"input.path={input_path}"]
    if v.limit:
        cmd += ["--limit", str(v.limit)]
    _log(f"{name}: curate {shlex.join(cmd[3:])}")  # what a user would type (cmd runs the same through sys.executable)
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


def ensure_mix(name: str, v: Variant, run_dir: Path, out: Path) -> Path:
    """A mixture variant's folder: reused when it holds the mixture of this mix file and these source
    runs (training/mix_variant.py; key in out/mix_keys/), otherwise written by
    `python -m curation.cli mix MIX --output RUN --force` (its sources are the run folders the mix file
    names; the ablation's sample is not used)."""
    if not Path(v.mix).exists():
        raise ConfigError(f"variant {name}: mix file not found: {v.mix}")
    key, key_file = mix_key(Path(v.mix), _run_fingerprint), out / "mix_keys" / f"{name}.json"
    if reusable(run_dir, key_file, key):
        _log(f"{name}: reusing the mixture {run_dir}")
        return run_dir
    cmd = [sys.executable, "-m", "curation.cli", "mix", v.mix, "--output", str(run_dir), "--force"]
    _log(f"{name}: curate {shlex.join(cmd[3:])}")
    (out / "logs").mkdir(parents=True, exist_ok=True)
    log = out / "logs" / f"curate_{name}.log"
    with open(log, "w") as fh:
        rc = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT)
    if rc != 0 or not (run_dir / "mixture.json").exists():
        raise RuntimeError(f"mixing variant {name} failed (exit {rc}); log {log}:\n{log.read_text()[-1500:]}")
    save_key(key_file, key)
    return run_dir


def _run_fingerprint(run_dir: Path) -> str:
    h = hashlib.sha1()
    for p in run_shards(run_dir):
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def ensure_tokenizer(
    cfg: AblationConfig,
    runs: dict[str, Path],
    out: Path,
    exclude_ids: set[str],
    sample_bytes: int | None = None,
) -> Path:
    """The given tokenizer, or one trained on `tokenizer_sample_bytes` of text: by default a hash-sample
    of the shared input sample (variant-independent: adding, dropping or changing a variant leaves the
    tokenizer, hence every other variant's numbers, unchanged; a tokenizer fit to a mix of the variants
    moved langid - raw from -0.025 to -0.116 bpb when one variant was added), else an equal byte share of
    each variant's output (`tokenizer_sample: variants`)."""
    if cfg.tokenizer:
        return Path(cfg.tokenizer)
    folder = out / "tokenizer"
    vocab = cfg.vocab_size or get_preset(cfg.model).vocab_size
    from_sample = cfg.tokenizer_sample == "sample"
    spec = {
        "vocab_size": vocab,
        "sample_bytes": cfg.tokenizer_sample_bytes,
        **(
            {"sample": _file_fingerprint(Path(cfg.sample.path))}
            if from_sample
            else {"runs": {k: _run_fingerprint(v) for k, v in runs.items()}}
        ),
    }
    spec_file = folder / "spec.json"
    if (
        (folder / "tokenizer.json").exists()
        and spec_file.exists()
        and json.loads(spec_file.read_text()) == spec
    ):
        return folder
    share = cfg.tokenizer_sample_bytes // (1 if from_sample else len(runs))

    def texts():
        if from_sample:
            yield from sample_file(cfg.sample.path, share, exclude_ids=exclude_ids, total_bytes=sample_bytes)
            return
        for run_dir in runs.values():
            yield from sample_run(run_dir, share, exclude_ids=exclude_ids)

    t0 = time.time()
    save_tokenizer(train_bpe(texts(), vocab), folder)
    (folder / "spec.json").write_text(json.dumps(spec))
    what = "the input sample" if from_sample else f"an equal-bytes mix of {len(runs)} variants"
    _log(
        f"tokenizer: vocab {vocab} trained on ~{cfg.tokenizer_sample_bytes / 1e6:.0f} MB of {what} in {time.time() - t0:.0f}s"
    )
    return folder


def _file_fingerprint(path: Path) -> str:
    st = path.stat()
    return f"{path.name}:{st.st_size}:{st.st_mtime_ns}"


def ensure_tokenized(
    name, run_dir, tok_dir, out, cfg, exclude_ids, exclude_texts, decon
) -> tuple[Path, dict]:
    """Token shards of one run folder, without eval ids, eval texts and documents that contain an
    evaluated text (containment: every variant, `{run:}` folders included)."""
    folder = out / "tokenized" / name
    fp = {
        "tokenizer_sha1": tokenizer_hash(tok_dir),
        "run": _run_fingerprint(run_dir),
        "excluded_ids": len(exclude_ids),
        "excluded_texts": hashlib.sha1("".join(sorted(exclude_texts)).encode()).hexdigest()[:16],
        "decontam": dataclasses.asdict(cfg.decontam),
        "val_fraction": cfg.val_fraction,
    }
    if (folder / "index.json").exists():
        index = json.loads((folder / "index.json").read_text())
        if index.get("fingerprint") == fp:
            return folder, index
    _log(f"{name}: tokenizing {run_dir}")
    index = tokenize_run(
        run_dir,
        tok_dir,
        folder,
        cfg.val_fraction,
        exclude_ids=exclude_ids,
        exclude_texts=exclude_texts,
        exclude_fn=lambda text: bool(decon.match(text)),
    )
    index["fingerprint"] = fp
    (folder / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    tr = index["splits"]["train"]
    _log(
        f"{name}: {tr['docs']:,} docs, {tr['tokens']:,} train tokens ({index['excluded']['docs']} eval docs excluded)"
    )
    return folder, index


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
    from training.evaluate import set_name
    from training.plots import plot_results

    t_start, cpu0 = time.time(), _cpu_seconds()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ablation.resolved.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2) + "\n")
    _log(f"eval sets: reading {len(cfg.eval_sets)} domain(s) and their hold-out slices")
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
        _log(f"sample: drawing {cfg.sample.fraction:.0%} of {len(cfg.sample.inputs)} input file(s), decontaminating")
        sample_stats = write_sample(cfg.sample, ex_ids, decon, spec_extra)
        stale = not sample_stats.get("reused")
        _log(
            f"sample: {sample_stats['docs']:,} docs, {sample_stats['bytes'] / 1e6:.1f} MB in "
            f"{sample_stats.get('units', sample_stats.get('blocks'))} units; docs in duplicate clusters: sample "
            f"{sample_stats.get('dup_share_sample', '?')} vs pool {sample_stats.get('dup_share_pool', '?')}; "
            f"sample documents containing evaluated text removed: "
            f"{sample_stats['decontam_removed'] or 0}{' (reused)' if not stale else ''}"
        )
    inputs = _inputs(cfg)
    runs: dict[str, Path] = {}
    randoms: dict[str, dict] = {}
    for n, v in cfg.variants.items():  # `run: <another variant>` shares that variant's run folder
        if v.random_of:
            runs[n], randoms[n] = random_run(
                n, runs[v.random_of], inputs[cfg.variants[v.random_of].input], out
            )
            _log(f"{n}: {randoms[n]['docs']} random documents ({randoms[n]['bytes'] / 1e6:.2f} MB) vs "
                 f"{v.random_of}'s {randoms[n]['filter_docs']} ({randoms[n]['filter_bytes'] / 1e6:.2f} MB)")  # fmt: skip
            continue
        runs[n] = runs[v.run] if v.run in runs else ensure_run(n, v, out, stale, inputs.get(v.input))
    # tokenizer_sample: variants -> an equal byte share of every variant that reads the plain sample
    # (not the planted control's copies)
    tok_runs = {
        n: r for n, r in runs.items() if cfg.variants[n].input == "sample" and not cfg.variants[n].random_of
    } or runs
    _log("tokenizer: " + (f"given ({cfg.tokenizer})" if cfg.tokenizer else "training (reused when unchanged)"))
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
    _log(f"training {len(jobs)} runs ({len(cfg.budgets)} budgets each) on {cfg.workers} worker(s)")
    points: dict[str, list[dict]] = {n: [] for n in runs}
    t_train = time.time()
    if cfg.workers > 1:
        import multiprocessing

        with ProcessPoolExecutor(cfg.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futs = [(n, s, pool.submit(_job, tc, key)) for n, s, tc, key in jobs]
            recs = []
            for k, (n, s, f) in enumerate(futs, 1):
                recs.append((n, f.result()))
                _log(f"[{k}/{len(jobs)}] {n} seed {s} done ({time.time() - t_train:.0f}s)")
    else:
        recs = []
        for k, (n, s, tc, key) in enumerate(jobs, 1):
            recs.append((n, _job(tc, key)))
            _log(f"[{k}/{len(jobs)}] {n} seed {s} done ({time.time() - t_train:.0f}s)")
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
    from training.repetition import for_ablation  # pool_tokens studies: prediction + A/A tally

    if (rep := for_ablation(cfg, results)) is not None:
        results["repetition"] = rep
    results["wall_seconds"] = round(time.time() - t_start, 1)
    results["cpu_seconds"] = round(_cpu_seconds() - cpu0, 1)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    plot_results(results, out / "loss_vs_tokens.png")
    (out / "report.md").write_text(report.render(results))
    _log(
        f"results: {out / 'results.json'} ({results['wall_seconds']:.0f}s wall, {results['cpu_seconds']:.0f}s CPU)"
    )
    return results


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (curation runs, training workers):
    on a shared machine wall time says little, CPU seconds say what the ablation cost."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _inputs(cfg: AblationConfig) -> dict[str, str | None]:
    """Input name -> file of the variants' `input:` (sample, planted, planted_fresh, alt)."""
    if not cfg.sample:
        return {}
    p = cfg.sample.plant
    return {
        "sample": cfg.sample.path,
        "planted": p.path if p else None,
        "planted_fresh": p.fresh_path if p else None,
        "alt": cfg.sample.alt_path,
    }
