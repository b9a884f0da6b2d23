"""Transfer across scale (`curate ablate FILE` with `kind: scale`): the same data ablation at two model
sizes, and whether the variants' ranking agrees between them (training/transfer.py).

    curate ablate recipes/ablations/scale.yaml

The file is an ordinary ablation file (training/ablation_config.py) with three changes: `kind: scale`,
`sizes: [small_preset, large_preset]` instead of `model:`, and `tokens_per_param: [...]` instead of
`budgets:`. Each size's budgets are tokens_per_param x its parameter count (tied embeddings counted once,
at the shared tokenizer's vocabulary), rounded to whole optimizer steps, so both sizes see the same
tokens-per-parameter grid and the comparison is between equally (under)trained models. On a GPU, change
`sizes:` (e.g. [small, base]); the budgets follow.

The first size runs the ordinary ablation in <out>/<size>/ (sample, curation, tokenizer, training). The
second reuses the first one's curated run folders and tokenizer (`run:` and `tokenizer:`), so the only
thing that differs between the sizes is the model and its token budgets. Each size writes its own
results.json; <out>/results.json holds both under `sizes` plus `transfer[]` (docs/CONTRACTS.md).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from training.ablation_config import load_ablation
from training.data import load_yaml
from training.errors import ConfigError
from training.model import param_count

SCALE_KEYS = ("kind", "sizes", "tokens_per_param")


def is_scale_ablation(path: str | Path) -> bool:
    d = load_yaml(path)
    return isinstance(d, dict) and d.get("kind") == "scale"


def _log(msg: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def step_tokens(preset: str, train: dict) -> int:
    """Tokens per optimizer step for `preset` under the file's `train` overrides."""
    from training.model import get_preset

    p = get_preset(preset)
    seq = train.get("seq_len") or p.seq_len
    return train.get("batch_tokens") or (train.get("micro_batch") or p.micro_batch) * seq


def size_budgets(tpp: list[float], n_params: int, step: int) -> list[int]:
    """Budgets in tokens for a model of `n_params`: each tokens-per-parameter value, in whole steps."""
    return sorted({max(1, round(t * n_params / step)) * step for t in tpp})


def load_scale(path: str | Path, out: str | None = None) -> dict:
    """The scale file, checked: {"base": the ablation keys, "sizes", "tokens_per_param", "out"}."""
    from training.model import get_preset

    w = str(path)
    d = load_yaml(path) or {}
    sizes, tpp = d.get("sizes"), d.get("tokens_per_param")
    if not isinstance(sizes, list) or len(sizes) != 2 or len(set(sizes)) != 2:
        raise ConfigError(f"{w}: sizes: expected two different model presets, e.g. [micro, tiny]")
    for s in sizes:
        try:
            get_preset(s)
        except ValueError as e:
            raise ConfigError(f"{w}: sizes: {e}") from None
    if not isinstance(tpp, list) or not tpp or any(not isinstance(t, (int, float)) or t <= 0 for t in tpp):
        raise ConfigError(f"{w}: tokens_per_param: expected a list of positive numbers, e.g. [0.02, 0.04]")
    for k in ("model", "budgets"):
        if k in d:
            raise ConfigError(f"{w}: {k}: a scale file sets `sizes` and `tokens_per_param` instead")
    base = {k: v for k, v in d.items() if k not in SCALE_KEYS}
    name = base.get("name") or Path(w).stem
    return {"base": base, "sizes": sizes, "tokens_per_param": sorted(tpp), "out": out or base.get("out") or
            str(Path("runs") / "ablations" / name), "path": w}  # fmt: skip


def size_file(scale: dict, size: int, first_out: Path | None, first_cfg=None) -> tuple[dict, int]:
    """(the ordinary ablation dict for sizes[size], its parameter count); with `first_cfg` (the first
    size's resolved config) the dict reads the first size's run folders and tokenizer (recipes are not
    re-run, so curation cannot differ between sizes)."""
    from training.model import get_preset

    base, preset = scale["base"], scale["sizes"][size]
    vocab = base.get("vocab_size") or get_preset(scale["sizes"][0]).vocab_size
    train = base.get("train") or {}
    n = param_count(preset, vocab)
    d = {
        **base,
        "name": f"{base.get('name', 'scale')}-{preset}",
        "model": preset,
        "vocab_size": vocab,
        "budgets": size_budgets(scale["tokens_per_param"], n, step_tokens(preset, train)),
        "out": str(Path(scale["out"]) / preset),
    }
    if first_cfg is not None:
        d["tokenizer"] = base.get("tokenizer") or str(first_out / "tokenizer")
        runs = {}
        for k, v in first_cfg.variants.items():
            folder = runs[v.run] if v.run in runs else Path(v.run) if v.run else first_out / "runs" / k
            runs[k] = folder
        d["variants"] = {
            k: {
                **{f: x for f, x in (base["variants"][k] or {}).items() if f not in ("recipe", "run")},
                "run": str(r),
            }
            for k, r in runs.items()
        }
    return d, n


def _load_size(d: dict, f: Path, scale: dict):
    """Write one size's ablation file and load it; its errors name the scale file, not the generated one."""
    import yaml

    f.parent.mkdir(parents=True, exist_ok=True)
    head = f"# generated from {scale['path']} by training/scale_ablate.py\n"
    f.write_text(head + yaml.safe_dump(d, sort_keys=False))
    try:
        return load_ablation(f)
    except ConfigError as e:
        raise ConfigError(str(e).replace(str(f), f"{scale['path']} (size {d['model']})")) from None


def check_scale(path: str | Path, out: str | None = None) -> list:
    """Both sizes' ablation configs, validated before anything runs (in a scratch folder)."""
    import tempfile

    scale = load_scale(path, out)
    cfgs, first_out, first_cfg = [], None, None
    with tempfile.TemporaryDirectory() as tmp:
        for i, preset in enumerate(scale["sizes"]):
            d, _ = size_file(scale, i, first_out, first_cfg)
            cfg = _load_size(d, Path(tmp) / f"{preset}.yaml", scale)
            cfgs.append(cfg)
            if first_cfg is None:
                first_out, first_cfg = Path(cfg.out), cfg
    return cfgs


def run_scale(path: str | Path, out: str | None = None, workers: int | None = None) -> dict:
    """Both sizes' ablations, then `transfer[]`; writes <out>/results.json and returns it."""
    from training.ablate import run_ablation
    from training.report import render_transfer
    from training.transfer import transfer

    t0 = time.time()
    check_scale(path, out)  # a mistake in either size fails now, not after the first size has trained
    scale = load_scale(path, out)
    root = Path(scale["out"])
    root.mkdir(parents=True, exist_ok=True)
    per_size, params, first_out, first_cfg = {}, {}, None, None
    for i, preset in enumerate(scale["sizes"]):
        d, n = size_file(scale, i, first_out, first_cfg)
        params[preset] = n
        cfg = _load_size(d, root / f"{preset}.yaml", scale)  # the per-size file: rerunnable on its own
        if workers:
            cfg.workers = workers
        _log(
            f"{preset}: {n / 1e6:.2f}M params, budgets {cfg.budgets} ({len(cfg.variants)} variants x {len(cfg.seeds)} seeds)"
        )
        per_size[preset] = run_ablation(cfg)
        if first_cfg is None:
            first_out, first_cfg = Path(cfg.out), cfg
    evals = list(per_size[scale["sizes"][0]]["evals"])  # names (a list, or evals.<name> in newer files)
    rows = transfer(per_size, scale["sizes"], evals)
    for p, r in per_size.items():  # each size's results.json carries the table too (the dashboard's view)
        r["transfer"] = rows
        (root / p / "results.json").write_text(json.dumps(r, indent=2) + "\n")
    res = {
        "schema": 2,
        "kind": "scale",
        "name": scale["base"].get("name"),
        "sizes": {
            p: {
                "params": params[p],
                "budgets": per_size[p]["budgets"],
                "results": str(root / p / "results.json"),
            }
            for p in scale["sizes"]
        },
        "tokens_per_param": scale["tokens_per_param"],
        "evals": evals,
        "transfer": rows,
        "transfer_method": "Kendall tau-b and decision agreement (share of variant pairs ordered alike) of the "
        "seed-mean bpb rankings at each size's top budget (same tokens per parameter); ci95: percentile "
        "bootstrap resampling seeds independently per size (training/transfer.py)",
        "wall_seconds": round(time.time() - t0, 1),
    }
    (root / "results.json").write_text(json.dumps(res, indent=2) + "\n")
    (root / "report.md").write_text(render_transfer(res, per_size))
    _log(f"results: {root / 'results.json'} ({res['wall_seconds']:.0f}s wall)")
    return res


def summary_lines(res: dict) -> list[str]:
    """The CLI's table: one line per eval domain."""
    small, large = list(res["sizes"])
    head = f"rank agreement {small} ({res['sizes'][small]['params'] / 1e6:.2f}M) vs {large} "
    head += f"({res['sizes'][large]['params'] / 1e6:.2f}M) at {res['tokens_per_param'][-1]:g} tokens/param:"
    lines = [head]
    for r in res["transfer"]:
        ci = r["ci95"]
        ci_s = f"[{ci[0]:+.2f}, {ci[1]:+.2f}]" if ci else "[n/a]"
        tau = "n/a" if r["kendall_tau"] is None else f"{r['kendall_tau']:+.2f}"
        agree = "n/a" if r["decision_agreement"] is None else f"{r['decision_agreement']:.0%}"
        lines.append(f"  {r['eval']}: Kendall tau {tau} {ci_s}, decisions agreeing {agree} "
                     f"({r['variants']} variants, best first; {small}: {' < '.join(r['ranking'][small])}; "
                     f"{large}: {' < '.join(r['ranking'][large])})")  # fmt: skip
    return lines


def cmd_scale_ablate(args) -> int:
    if getattr(args, "budgets", None):
        raise ConfigError("--budgets: a scale file sets tokens_per_param instead (edit the file)")
    if getattr(args, "dry_run", False):
        from training.model import get_preset

        for cfg in check_scale(args.config, args.out):
            n = param_count(cfg.model, cfg.vocab_size or get_preset(cfg.model).vocab_size)
            runs = len(cfg.variants) * len(cfg.seeds)
            print(f"{cfg.model}: {n:,} params, budgets {cfg.budgets}, {runs} training runs")
        return 0
    res = run_scale(args.config, args.out, args.workers)
    for line in summary_lines(res):
        print(line)
    print(f"wall time: {res['wall_seconds']:.0f}s ({res['wall_seconds'] / 60:.1f} min)")
    return 0
