"""Instruction-data ablations: does instruction filtering, prompt dedup or decontamination change what a
model learns from fine-tuning? `curate ablate recipes/ablations/instructions.yaml` (`kind: instructions`).

Everything but the fine-tuning data is fixed: one tokenizer (half web text, half instruction text), one
starting checkpoint (a short pretraining run on web text, cached, or a given one), the same model,
hyper-parameters and held-out set. For each variant (a curation recipe run, training/ablate_inputs.py's
`ensure_run`) and each control, the chat run is tokenized with the assistant-only loss mask
(training/instruct_shards.py) and fine-tuned once per seed with a warmup-stable-decay schedule; every smaller
budget is a cooldown branch of that run (training/train.py). The metric is response bits per byte on the
held-out set (training/instruct_train.py). The analysis is the pretraining ablations' (training/analysis.py):
paired deltas by seed with pooled 95% CIs, multipliers read off the baseline's measured curve, controls.
Examples are drawn in an order fixed by their ids (training/instruct_shards.py keys), so a variant and
its baseline see the same shared examples at the same step for a given seed: the pairing removes "which
subset did this seed draw", the largest part of the seed noise at budgets well below an epoch.

`heldout.prompt_use` adds a second metric: the held-out responses are also evaluated after another
held-out example's prompt, and `<name>_prompt_use` = response bpb (own prompts) - response bpb (other
prompts): negative when the model uses the prompt. Response bpb is dominated by predicting the response
text itself, and at micro scale it barely moves when responses are moved to other prompts; prompt use
is the quantity such a control harms, measured within each model (so the shared part cancels).

Budgets are in examples (one example per sequence, never packed); each point carries `examples`,
`tokens` (= examples x seq_len sequence slots, the unit train.py schedules in), the real `input_tokens`
and `target_tokens` seen, `bytes` (response bytes seen, estimated as examples x the variant's mean) and
`epochs` (a point with epochs > 1 repeats data and is flagged).

The held-out set: examples of the `heldout.from` variant's run whose sha1("heldout" + id) is below
`fraction`; every example of that slice is kept out of every variant and control by MinHash matching of
the prompt (not only by id), and the number removed per variant is reported.

Writes under the output folder: eval/<name>.jsonl.gz (+ <name>_true_prompts/_other_prompts), runs/<variant>/, tokenizer/, pretrain/,
tokenized/<variant>/, points/<variant>/s<seed>/, results.json, loss_vs_tokens.png (if plotting works).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from pathlib import Path

from training import analysis
from training.ablate_inputs import ensure_run, log, run_fingerprint
from training.data import id_fraction, read_jsonl, read_run, write_jsonl_gz
from training.errors import ConfigError
from training.instruct_ablation_config import InstructAblation, load_instruct_ablation
from training.instruct_data import build_heldout, corrupt_run, eval_names, point_metrics
from training.instruct_shards import (
    FORMAT,
    chat_texts,
    chat_tokenizer,
    prompt_of,
    tokenize_chat_run,
    vocab_fingerprint,
)
from training.instruct_train import PromptHoldout
from training.intervals import ADJUST, CI_METHOD
from training.shards import tokenize_run
from training.tokenizer import save_tokenizer, train_bpe
from training.train import TrainConfig, train


def _cached(folder: Path, key: dict) -> bool:
    f = folder / "key.json"
    return f.exists() and json.loads(f.read_text()) == key


def _save_key(folder: Path, key: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "key.json").write_text(json.dumps(key, indent=2) + "\n")


def ensure_tokenizer(cfg: InstructAblation, web_run: Path | None, chat_run: Path, out: Path) -> Path:
    if cfg.pretrain.checkpoint:
        return Path(cfg.pretrain.checkpoint)
    folder = out / "tokenizer"
    vocab = cfg.vocab_size or 4096
    key = {"vocab": vocab, "bytes": cfg.tokenizer_sample_bytes, "web": run_fingerprint(web_run),
           "chat": run_fingerprint(chat_run)}  # fmt: skip
    if _cached(folder, key):
        return folder
    half = cfg.tokenizer_sample_bytes // 2

    def texts():
        n = 0
        for d in read_run(web_run):  # one shard (pretrain_text writes it)
            yield d["text"]
            n += len(d["text"].encode("utf-8"))
            if n >= half:
                break
        yield from chat_texts(chat_run, half)

    save_tokenizer(train_bpe(texts(), vocab), folder)
    _save_key(folder, key)
    return folder


def pretrain_text(cfg: InstructAblation, out: Path) -> Path:
    """A run folder of web text for pretraining: documents with sha1("pretrain" + id) < 0.25, in file order,
    up to `max_bytes` (cached)."""
    p = cfg.pretrain
    web = out / "pretrain" / "web_run"
    spec = {"inputs": p.inputs, "max_bytes": p.max_bytes}
    if not _cached(web, spec):
        docs, n = [], 0
        for inp in p.inputs:
            for d in read_jsonl(inp):
                if n >= p.max_bytes:
                    break
                if id_fraction(d["id"], "pretrain") < 0.25:
                    docs.append({"id": d["id"], "text": d["text"], "metadata": {}})
                    n += len(d["text"].encode("utf-8"))
        write_jsonl_gz(web / "output" / "00000_00000.jsonl.gz", docs)
        _save_key(web, spec)
    return web


def pretrain_checkpoint(cfg: InstructAblation, web: Path, tok_dir: Path, out: Path) -> Path:
    folder = out / "pretrain" / "model"
    tc = TrainConfig.from_dict({"schedule": "wsd", "threads": 1, **cfg.pretrain.train,
                                "data": str(out / "pretrain" / "tokenized"), "out_dir": str(folder),
                                "model": cfg.model, "tokens": cfg.pretrain.tokens, "seq_len": cfg.seq_len,
                                "quiet": True})  # fmt: skip
    key = {
        "train": dataclasses.asdict(tc),
        "web": run_fingerprint(web),
        "tokenizer": vocab_fingerprint(chat_tokenizer(tok_dir)),
    }
    if _cached(folder, key) and (folder / "checkpoint" / "model.safetensors").exists():
        log(f"pretrain: reusing {folder / 'checkpoint'}")
        return folder / "checkpoint"
    tokenize_run(web, tok_dir, out / "pretrain" / "tokenized", 0.01)
    log(f"pretrain: training {cfg.model} on {cfg.pretrain.tokens:,} tokens of web text")
    t0 = time.time()
    rec = train(tc)
    _save_key(folder, key)
    log(f"pretrain: {rec['tokens']:,} tokens of web text in {time.time() - t0:.0f}s")
    return folder / "checkpoint"


def fine_tune(cfg: InstructAblation, out: Path, name: str, seed: int, folder: Path, index: dict, run: Path,
              ckpt: Path, eval_paths: list[str]) -> dict:  # fmt: skip
    """One wsd fine-tuning run of a variant and seed (every smaller budget a cooldown branch), cached in
    points/<variant>/s<seed>/ under a key of everything it depends on; returns its eval.json record."""
    top = max(cfg.budgets)
    tc = TrainConfig.from_dict({"schedule": "wsd", "threads": 1, **cfg.train, "data": str(folder),
                                "out_dir": str(out / "points" / name / f"s{seed}"), "model": cfg.model,
                                "seq_len": cfg.seq_len, "tokens": top * cfg.seq_len, "seed": seed,
                                "branch_tokens": [b * cfg.seq_len for b in cfg.budgets if b < top],
                                "init_from": str(ckpt), "eval_sets": eval_paths,
                                "save_checkpoint": False, "quiet": True})  # fmt: skip
    key = {"train": dataclasses.asdict(tc), "data": index.get("tokenizer_sha1"), "run": run_fingerprint(run),
           "ckpt": (Path(ckpt) / "model.safetensors").stat().st_mtime_ns, "eval": [Path(p).stat().st_size for p in eval_paths]}  # fmt: skip
    pdir = Path(tc.out_dir)
    if _cached(pdir, key) and (pdir / "eval.json").exists():
        return json.loads((pdir / "eval.json").read_text())
    rec = train(tc)
    _save_key(pdir, key)
    return rec


def run_instruct_ablation(cfg: InstructAblation) -> dict:
    t_start = time.time()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ablation.resolved.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2) + "\n")
    runs = {n: ensure_run(n, v, out) for n, v in cfg.variants.items()}
    control_stats = {}
    for c in cfg.controls:
        dst = out / "runs" / c.name
        key = {
            "from": run_fingerprint(runs[c.source]),
            "fraction": c.fraction,
            "seed": c.seed,
            "how": c.corrupt,
        }
        if not _cached(dst, key):
            control_stats[c.name] = corrupt_run(runs[c.source], dst, c.fraction, c.seed, c.corrupt)
            _save_key(dst, {**key})
            (dst / "control.json").write_text(json.dumps(control_stats[c.name]) + "\n")
        control_stats[c.name] = json.loads((dst / "control.json").read_text())
        runs[c.name] = dst
    log("pretrain text and tokenizer (reused when unchanged)")
    web = None if cfg.pretrain.checkpoint else pretrain_text(cfg, out)
    tok_dir = ensure_tokenizer(cfg, web, runs[cfg.heldout.source], out)
    ckpt = (
        Path(cfg.pretrain.checkpoint)
        if cfg.pretrain.checkpoint
        else pretrain_checkpoint(cfg, web, tok_dir, out)
    )
    ctok = chat_tokenizer(tok_dir)
    eval_paths, held_prompts, held_stats = build_heldout(cfg, runs[cfg.heldout.source], ctok, out)
    holdout = PromptHoldout(held_prompts, threshold=cfg.heldout.threshold)
    h_use = "prompt_use_pairs" in held_stats
    log(f"held-out: {held_stats['evaluated']} examples evaluated"
         + (f" ({held_stats['prompt_use_pairs']} also after another prompt)" if h_use else "")
         + f", {held_stats['slice']} kept out of training")  # fmt: skip
    data = {}
    for n, r in runs.items():
        folder = out / "tokenized" / n
        key = {"run": run_fingerprint(r), "tokenizer": vocab_fingerprint(ctok), "heldout": held_stats, "format": FORMAT,
               "threshold": cfg.heldout.threshold, "val_fraction": cfg.val_fraction}  # fmt: skip
        if not _cached(folder, key):
            tokenize_chat_run(r, tok_dir, folder, cfg.val_fraction,
                              keep=lambda rec: not holdout.matches(prompt_of(rec["messages"])))  # fmt: skip
            _save_key(folder, key)
        data[n] = (folder, json.loads((folder / "index.json").read_text()))
        tr = data[n][1]["splits"]["train"]
        log(
            f"{n}: {tr['docs']:,} train examples, {data[n][1]['excluded']['docs']} held-out near-duplicates removed"
        )
    points = {n: [] for n in data}
    t_train = time.time()
    jobs = [(n, s) for n in data for s in cfg.seeds]

    def record(k: int, n: str, seed: int, rec: dict) -> None:
        index = data[n][1]
        bytes_per_ex = index["splits"]["train"]["bytes"] / max(index["splits"]["train"]["docs"], 1)
        for b in rec["budgets"]:
            ex = b["tokens"] // cfg.seq_len
            points[n].append({"tokens": b["tokens"], "examples": ex, "bytes": round(ex * bytes_per_ex),
                              "input_tokens": b.get("input_tokens"), "target_tokens": b.get("target_tokens"),
                              "seed": seed, "epochs": b["epochs"],
                              "bpb": point_metrics(cfg, b["eval_sets"]),
                              "val_loss": b["validation"]["loss"]})  # fmt: skip
        log(f"[{k}/{len(jobs)}] {n} seed {seed}: "
             + ", ".join(f"{e} {v:+.4f}" for e, v in point_metrics(cfg, rec["eval_sets"]).items())
             + f" ({time.time() - t_train:.0f}s)")  # fmt: skip

    args = [(cfg, out, n, seed, data[n][0], data[n][1], runs[n], ckpt, eval_paths) for n, seed in jobs]
    if cfg.workers > 1:  # single-thread runs in parallel processes, as the pretraining ablation does
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(cfg.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futs = [pool.submit(fine_tune, *a) for a in args]
            for k, ((n, seed), f) in enumerate(zip(jobs, futs), 1):
                record(k, n, seed, f.result())
    else:
        for k, ((n, seed), a) in enumerate(zip(jobs, args), 1):
            record(k, n, seed, fine_tune(*a))
    variants = {
        n: {
            "points": sorted(points[n], key=lambda p: (p["tokens"], p["seed"])),
            "train_examples": data[n][1]["splits"]["train"]["docs"],
            "train_tokens": data[n][1]["splits"]["train"]["tokens"],
            "heldout_near_duplicates_removed": data[n][1]["excluded"]["docs"],
            "control": n in control_stats,
        }
        for n in data
    }
    res = analyze(cfg, variants)
    res.update(heldout=held_stats, controls_data=control_stats, checkpoint=str(ckpt),
               wall_seconds=round(time.time() - t_start, 1))  # fmt: skip
    (out / "results.json").write_text(json.dumps(res, indent=2) + "\n")
    try:
        from training.plots import plot_results

        plot_results(res, out / "loss_vs_tokens.png")
    except Exception as e:  # noqa: BLE001 - a plot is a convenience; results.json is the product
        log(f"plot skipped: {type(e).__name__}: {e}")
    log(f"results: {out / 'results.json'} ({res['wall_seconds']:.0f}s wall)")
    return res


def analyze(cfg: InstructAblation, variants: dict) -> dict:
    """results.json (the contract in docs/CONTRACTS.md) from the points."""
    names_of = eval_names(cfg)
    evs = list(names_of.values())
    names = list(cfg.variants)
    baseline = cfg.baseline or names[0]
    pairs = [(v, baseline) for v in names if v != baseline]
    if cfg.chain:
        pairs += [(b, a) for a, b in itertools.pairwise(names) if (b, a) not in pairs and a != baseline]
    pairs += [(c.source, c.name) for c in cfg.controls]
    comps = analysis.comparisons(variants, pairs, evs)
    controls = [{"name": c.name, "variant": c.source, "baseline": c.name, "eval": names_of[c.eval]}
                for c in cfg.controls]  # fmt: skip
    main = {n: v for n, v in variants.items() if not v["control"]}
    return {
        "schema": 2,
        "kind": "instructions",
        "name": cfg.name,
        "model": cfg.model,
        "baseline": baseline,
        "evals": evs,
        "metric": "response bits per byte: NLL of assistant-content tokens / UTF-8 bytes of assistant text",
        "budget_unit": f"examples (tokens = examples x seq_len {cfg.seq_len}; real counts in input_tokens)",
        "budgets": [b * cfg.seq_len for b in cfg.budgets],
        "budgets_examples": cfg.budgets,
        "seeds": cfg.seeds,
        "variants": variants,
        "comparisons": comps,
        "multipliers": analysis.multipliers(
            main,
            [c for c in comps if c["variant"] in main],
            baseline,
            [e for k, e in names_of.items() if k != "prompt_use"],
        ),
        "controls": analysis.check_controls(controls, comps),
        "ci_method": CI_METHOD,
        "adjust": ADJUST,
    }


def cmd_instruct_ablate(args) -> int:
    """`curate ablate FILE` for `kind: instructions`: run, then print only what carries a CI."""
    cfg = load_instruct_ablation(args.config, out=args.out)
    if getattr(args, "budgets", None):
        try:
            cfg.budgets = sorted({int(b) for b in args.budgets.split(",")})
        except ValueError:
            raise ConfigError(f"--budgets: expected comma-separated integers, got {args.budgets!r}") from None
    if getattr(args, "workers", None) is not None:
        if args.workers < 1:
            raise ConfigError(f"--workers must be >= 1, got {args.workers}")
        cfg.workers = args.workers
    if args.dry_run:
        print(json.dumps(dataclasses.asdict(cfg), indent=2))
        n = (len(cfg.variants) + len(cfg.controls)) * len(cfg.seeds)
        print(f"{n} fine-tuning runs (one per variant and seed), budgets {cfg.budgets} examples")
        return 0
    res = run_instruct_ablation(cfg)
    ex = sorted({(p["examples"], p["tokens"]) for v in res["variants"].values() for p in v["points"]})
    print(
        "budgets: "
        + ", ".join(f"{e:,} examples = {t:,} tokens" for e, t in ex)
        + " (tokens = examples x seq_len)"
    )
    for line in analysis.summary_lines(res):
        print(line)
    print(f"wall time: {res['wall_seconds']:.0f}s ({res['wall_seconds'] / 60:.1f} min)")
    return 0
