"""`curate tokenize | train | eval | ablate`: the training half of the CLI.

The lead's curation/cli.py calls `register_cli(subparsers)`; `python -m training.cli ...` runs the same
commands standalone. Exit codes: 0 ok, 2 bad config or arguments (one line, no traceback), 1 failure.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import traceback
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tokenizers and models are local files, always
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

EPILOGS = {
    "tokenize": """examples:
  curate tokenize runs/sample                       train a BPE on the run, write runs/sample/tokenized/
  curate tokenize runs/sample --vocab-size 4096 --val-fraction 0.02
  curate tokenize runs/b --tokenizer runs/a/tokenizer   reuse another run's tokenizer""",
    "train": """examples:
  curate train recipes/train/tiny.yaml              the example config below
  curate train recipes/train/tiny.yaml --dry-run    every key with its value (defaults filled in)
  curate train recipes/train/tiny.yaml --set model=small --set tokens=5000000
  curate train recipes/train/tiny.yaml --max-minutes 5   stop at 5 minutes: checkpoint, then evaluate

fine-tuning on chat shards (`curate tokenize RUN --tokenizer CKPT` on a run with messages):
  data: runs/instructions/tokenized
  init_from: runs/sample/train-tiny/checkpoint   # same tokenizer as the shards, else exit 2
  examples: 2000                                 # one example per sequence; loss on assistant tokens
  eval_sets: [heldout_chat.jsonl.gz]             # {"messages": [...]} lines -> response bits per byte
""",
    "eval": """examples:
  curate eval runs/sample/train-tiny/checkpoint --data heldout.jsonl.gz
  curate eval CKPT --data a.jsonl.gz --data b.txt --max-tokens 100000 --out eval.json
  curate eval CKPT --data heldout_chat.jsonl.gz     {"messages": [...]} lines: response bits per byte""",
    "ablate": """examples:
  curate ablate recipes/ablations/demo.yaml
  curate ablate recipes/ablations/demo.yaml --out /tmp/demo --dry-run
  curate ablate recipes/ablations/demo.yaml --budgets 2048,4096,8192,16384,32768,65536 --workers 4
  curate ablate recipes/ablations/scale.yaml    # kind: scale: the same variants at two model sizes""",
}


MIN_VALIDATION_DOCS = 10  # fewer: one document's loss stands for the split (the demo run once had 1)
EXAMPLE_TRAIN_CONFIG = Path(__file__).resolve().parents[1] / "recipes" / "train" / "tiny.yaml"


def _train_epilog() -> str:
    """The train examples, then the shipped example config itself (one source for both)."""
    if not EXAMPLE_TRAIN_CONFIG.is_file():
        return EPILOGS["train"].rstrip()
    return (
        EPILOGS["train"]
        + f"{EXAMPLE_TRAIN_CONFIG.relative_to(EXAMPLE_TRAIN_CONFIG.parents[2])}:\n"
        + "".join(f"  {line}\n" for line in EXAMPLE_TRAIN_CONFIG.read_text(encoding="utf-8").splitlines())
    )


DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # one line naming the file, exit 1


def _guard(fn):
    """Run a command: ConfigError -> exit 2 with one line; a full disk -> exit 1 with one line naming the
    file; anything else -> exit 1 (traceback with ROOTSTOCK_DEBUG=1)."""

    def run(args) -> int:
        from runfolder import UnsafePathError
        from training.errors import ConfigError

        try:
            return fn(args) or 0
        except (ConfigError, UnsafePathError) as e:  # a planted link is refused like a bad argument
            print(f"error: {e}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        except OSError as e:
            if e.errno not in DISK_FULL:
                return _last_defence(e)
            where = f"{e.filename}: " if e.filename else ""
            print(f"error: {where}{e.strerror} (the disk is full); free some space and run the same "
                  "command again", file=sys.stderr)  # fmt: skip
            return 1
        except Exception as e:  # noqa: BLE001 - the CLI's last line of defence
            return _last_defence(e)

    return run


def _last_defence(e: Exception) -> int:
    """Anything unexpected: one line, exit 1 (the traceback with ROOTSTOCK_DEBUG=1)."""
    if os.environ.get("ROOTSTOCK_DEBUG"):
        traceback.print_exc()
    print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
    return 1


def cmd_tokenize(args) -> int:
    from pathlib import Path

    from training.data import run_shards, sample_run
    from training.errors import ConfigError
    from training.shards import tokenize_run
    from training.tokenizer import save_tokenizer, train_bpe

    run_dir = Path(args.run_dir)
    run_shards(run_dir)
    from training.instruct_shards import chat_texts, is_chat_run, tokenize_chat_run

    chat = is_chat_run(run_dir)  # documents with chat turns: masked chat shards (training/instruct_shards.py)
    tok = Path(args.tokenizer) if args.tokenizer else run_dir / "tokenizer"
    if args.tokenizer and not tok.exists():
        raise ConfigError(f"tokenizer not found: {tok}")
    if not args.tokenizer and (args.retrain or not (tok / "tokenizer.json").exists()):
        from training.data import run_bytes

        size = min(args.sample_bytes, run_bytes(run_dir))  # a 0.45 MB run is not "~20 MB"
        print(f"training a byte-level BPE (vocab {args.vocab_size}) on ~{size / 1e6:.2g} MB of {run_dir}")
        texts = chat_texts(run_dir, args.sample_bytes) if chat else sample_run(run_dir, args.sample_bytes)
        save_tokenizer(train_bpe(texts, args.vocab_size), tok)
    if chat:
        index = tokenize_chat_run(run_dir, tok, args.out, args.val_fraction, max_docs=args.max_docs)
    else:
        index = tokenize_run(run_dir, tok, args.out, args.val_fraction, max_docs=args.max_docs)
    for split, s in index["splits"].items():
        print(
            f"{split}: {s['docs']:,} docs, {s['tokens']:,} tokens, {s['bytes'] / max(s['tokens'], 1):.2f} bytes/token"
        )
    n_val = index["splits"]["validation"]["docs"]
    if n_val < MIN_VALIDATION_DOCS:
        print(
            f"note: the validation split holds {n_val} document(s) (--val-fraction {args.val_fraction:g} of a small "
            f"run): its loss is noise; a larger --val-fraction, or eval_sets in the train config, measure better",
            file=sys.stderr,
        )
    print(f"wrote {Path(args.out) if args.out else run_dir / 'tokenized'}/index.json (tokenizer {tok})")
    return 0


def _overrides(pairs: list[str]) -> dict:
    import yaml

    from training.errors import ConfigError

    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ConfigError(f"--set expects key=value, got {pair!r}")
        k, v = pair.split("=", 1)
        out[k.strip()] = yaml.safe_load(v)
    return out


def cmd_train(args) -> int:
    import dataclasses

    from training.train import load_config, train

    overrides = _overrides(args.set)
    if args.max_minutes is not None:
        overrides["max_minutes"] = args.max_minutes
    cfg = load_config(args.config, overrides)
    print(json.dumps(dataclasses.asdict(cfg), indent=2))
    if args.dry_run:
        return 0
    train(cfg)
    return 0


def cmd_eval(args) -> int:
    """Plain-text eval sets: loss and bpb of every document token. Chat files ({"messages"} lines):
    response bpb, assistant text only (training/instruct_train.py), as the instruction ablations report it."""
    from training.evaluate import evaluate_checkpoint, write_eval_json
    from training.instruct_train import checkpoint_dir, evaluate_chat_checkpoint, is_chat_eval_file

    chat = [p for p in args.data if is_chat_eval_file(p)]
    plain = [p for p in args.data if p not in chat]
    out = Path(args.out) if args.out else None
    if plain:
        rec = evaluate_checkpoint(
            args.checkpoint, plain, out=out, max_tokens=args.max_tokens, device=args.device,
            allow_overlap=args.allow_overlap,
        )
    if chat:
        sets = {**(rec["eval_sets"] if plain else {}),
                **evaluate_chat_checkpoint(args.checkpoint, chat, device=args.device)}  # fmt: skip
        ckpt = checkpoint_dir(args.checkpoint)
        rec = write_eval_json(out or ckpt / "eval.json", checkpoint=str(ckpt), eval_sets=sets)
    for name, r in rec["eval_sets"].items():
        bad = (r.get("bad_lines") or {}).get("count")
        print(
            f"{name}: loss {r['loss']:.4f} nats/token, {r['bpb']:.4f} bits/byte ({r['tokens']:,} tokens, {r['docs']} docs"
            + (f"; {bad:,} unreadable lines set aside" if bad else "") + ")"
        )
    return 0


def cmd_ablate(args) -> int:
    import dataclasses

    from training.ablate import load_ablation, run_ablation
    from training.errors import ConfigError
    from training.instruct_ablation_config import is_instruct_ablation

    if is_instruct_ablation(args.config):  # `kind: instructions` (issue 18): training/instruct_ablate.py
        from training.instruct_ablate import cmd_instruct_ablate

        return cmd_instruct_ablate(args)
    from training.scale_ablate import cmd_scale_ablate, is_scale_ablation

    if is_scale_ablation(args.config):  # `kind: scale`: the same ablation at two model sizes
        return cmd_scale_ablate(args)
    cfg = load_ablation(args.config, out=args.out)
    if args.budgets:
        try:
            cfg.budgets = sorted({int(b) for b in args.budgets.split(",")})
        except ValueError:
            raise ConfigError(f"--budgets: expected comma-separated integers, got {args.budgets!r}") from None
        from training.ablation_config import check_warmup

        check_warmup(cfg, "--budgets")
    if args.workers:
        cfg.workers = args.workers
    if args.dry_run:
        print(json.dumps(dataclasses.asdict(cfg), indent=2))
        n = len(cfg.variants) * len(cfg.seeds)
        print(f"{n} training runs (one per variant and seed), {len(cfg.budgets)} budgets each")
        return 0
    res = run_ablation(cfg)
    from training.analysis import summary_lines

    for line in summary_lines(res):
        print(line)
    print(
        f"wall time: {res['wall_seconds']:.0f}s ({res['wall_seconds'] / 60:.1f} min); CPU time "
        f"{res.get('cpu_seconds', 0):.0f}s (this process and its workers and curation runs)"
    )
    print(f"report: {Path(cfg.out) / 'report.md'}")
    return 0


def register_cli(subparsers) -> None:
    """Add `tokenize`, `train`, `eval` and `ablate` to an argparse subparsers object."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = subparsers.add_parser(
        "tokenize",
        help="train a BPE on a run and write token shards to RUN_DIR/tokenized/",
        epilog=EPILOGS["tokenize"],
        formatter_class=fmt,
    )
    p.add_argument("run_dir", help="run folder (reads output/ only)")
    p.add_argument(
        "--tokenizer", help="existing tokenizer folder or tokenizer.json (default: train RUN_DIR/tokenizer/)"
    )
    p.add_argument(
        "--vocab-size", type=int, default=8192, help="BPE vocabulary when training one (default 8192)"
    )
    p.add_argument(
        "--sample-bytes", type=int, default=20_000_000, help="UTF-8 bytes of text to train the BPE on"
    )
    p.add_argument(
        "--retrain", action="store_true", help="train a new tokenizer even if RUN_DIR/tokenizer exists"
    )
    p.add_argument(
        "--val-fraction", type=float, default=0.01, help="share of documents (by id hash) for validation"
    )
    p.add_argument("--out", help="shards folder (default RUN_DIR/tokenized)")
    p.add_argument("--max-docs", type=int, help="tokenize at most N documents")
    p.set_defaults(func=_guard(cmd_tokenize))

    p = subparsers.add_parser(
        "train",
        help="train a small LM on tokenized data (CPU or CUDA)",
        epilog=_train_epilog(),
        formatter_class=fmt,
    )
    p.add_argument("config", help="train config YAML (the example below; --dry-run prints every key)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.add_argument(
        "--max-minutes",
        type=float,
        metavar="N",
        help="wall-clock limit on training (the config's max_minutes): at N minutes stop after the current "
        "step, save a resumable checkpoint (resume: true continues) and evaluate",
    )
    p.set_defaults(func=_guard(cmd_train))

    p = subparsers.add_parser(
        "eval",
        help="held-out loss and bits per byte of a checkpoint",
        epilog=EPILOGS["eval"],
        formatter_class=fmt,
    )
    p.add_argument("checkpoint", help="checkpoint folder written by `curate train`")
    p.add_argument(
        "--data", action="append", required=True, help="eval set: .jsonl, .jsonl.gz or .txt (repeatable)"
    )
    p.add_argument("--out", help="eval.json path (default CHECKPOINT/eval.json)")
    p.add_argument(
        "--max-tokens", type=int, help="cap per eval set: whole documents sampled across the file (by id hash)"
    )
    p.add_argument(
        "--allow-overlap",
        action="store_true",
        help="evaluate even when eval documents are in the checkpoint's training data (by id or exact text): "
        "warn and report it in eval.json instead of refusing",
    )
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=_guard(cmd_eval))

    p = subparsers.add_parser(
        "ablate",
        help="data variants x token budgets x seeds -> paired deltas with CIs, multipliers, controls",
        epilog=EPILOGS["ablate"],
        formatter_class=fmt,
    )
    p.add_argument(
        "config", help="ablation YAML, e.g. recipes/ablations/demo.yaml (--dry-run prints every key with its value)"
    )
    p.add_argument("--out", help="output folder (default: the config's `out`, else runs/ablations/<name>)")
    p.add_argument(
        "--dry-run", action="store_true", help="print the resolved config and the grid size, run nothing"
    )
    p.add_argument("--budgets", help="override `budgets`: comma-separated token counts (e.g. a smaller grid)")
    p.add_argument("--workers", type=int, help="override `workers` (parallel training processes)")
    p.set_defaults(func=_guard(cmd_ablate))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.cli", description=__doc__.splitlines()[0])
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
