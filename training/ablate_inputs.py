"""An ablation's inputs, made before any training and each reused while its fingerprint holds: the eval
sets (training/eval_select.py), every variant's run folder (curated by `curate run`, mixed by
`curate mix`, or given), the shared tokenizer and each variant's token shards. training/ablate.py trains
the grid on them; training/instruct_ablate.py curates its variants with `ensure_run` too.

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
from pathlib import Path

from training import eval_select
from training.ablation_config import AblationConfig, Variant, eval_name
from training.data import run_shards, sample_file, sample_run, text_key, write_jsonl_gz
from training.errors import ConfigError
from training.mix_variant import mix_key, reusable, save_key
from training.model import get_preset
from training.shards import tokenize_run
from training.tokenizer import save_tokenizer, tokenizer_hash, train_bpe


def log(msg: str) -> None:
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
        log(f"{name}: reusing {run_dir}")
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
    # what a user would type (cmd runs the same through sys.executable)
    log(f"{name}: curate {shlex.join(cmd[3:])}")
    (out / "logs").mkdir(parents=True, exist_ok=True)
    log_file = out / "logs" / f"curate_{name}.log"
    t0 = time.time()
    with open(log_file, "w") as fh:
        rc = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT)
    if rc != 0 or not (run_dir / "summary.json").exists():
        tail = log_file.read_text()[-1500:]
        raise RuntimeError(f"curation of variant {name} failed (exit {rc}); log {log_file}:\n{tail}")
    log(f"{name}: curated in {time.time() - t0:.0f}s")
    return run_dir


def ensure_mix(name: str, v: Variant, run_dir: Path, out: Path) -> Path:
    """A mixture variant's folder: reused when it holds the mixture of this mix file and these source
    runs (training/mix_variant.py; key in out/mix_keys/), otherwise written by
    `python -m curation.cli mix MIX --output RUN --force` (its sources are the run folders the mix file
    names; the ablation's sample is not used)."""
    if not Path(v.mix).exists():
        raise ConfigError(f"variant {name}: mix file not found: {v.mix}")
    key, key_file = mix_key(Path(v.mix), run_fingerprint), out / "mix_keys" / f"{name}.json"
    if reusable(run_dir, key_file, key):
        log(f"{name}: reusing the mixture {run_dir}")
        return run_dir
    cmd = [sys.executable, "-m", "curation.cli", "mix", v.mix, "--output", str(run_dir), "--force"]
    log(f"{name}: curate {shlex.join(cmd[3:])}")
    (out / "logs").mkdir(parents=True, exist_ok=True)
    log_file = out / "logs" / f"curate_{name}.log"
    with open(log_file, "w") as fh:
        rc = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT)
    if rc != 0 or not (run_dir / "mixture.json").exists():
        raise RuntimeError(
            f"mixing variant {name} failed (exit {rc}); log {log_file}:\n{log_file.read_text()[-1500:]}"
        )
    save_key(key_file, key)
    return run_dir


def run_fingerprint(run_dir: Path) -> str:
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
            else {"runs": {k: run_fingerprint(v) for k, v in runs.items()}}
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
    log(
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
        "run": run_fingerprint(run_dir),
        "excluded_ids": len(exclude_ids),
        "excluded_texts": hashlib.sha1("".join(sorted(exclude_texts)).encode()).hexdigest()[:16],
        "decontam": dataclasses.asdict(cfg.decontam),
        "val_fraction": cfg.val_fraction,
    }
    if (folder / "index.json").exists():
        index = json.loads((folder / "index.json").read_text())
        if index.get("fingerprint") == fp:
            return folder, index
    log(f"{name}: tokenizing {run_dir}")
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
    log(
        f"{name}: {tr['docs']:,} docs, {tr['tokens']:,} train tokens ({index['excluded']['docs']} eval docs excluded)"
    )
    return folder, index


def variant_inputs(cfg: AblationConfig) -> dict[str, str | None]:
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
