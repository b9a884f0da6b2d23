"""`curate`: run, validate and inspect recipes (and, through their packages, train and visualize).

Exit codes: 0 ok, 2 invalid recipe or arguments (one clear message, no traceback), 1 failure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach a hub at run time
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

EXAMPLES = """examples:
  curate run recipes/sample.yaml              run a recipe (resumes if interrupted)
  curate run recipes/roots_web.yaml --limit 2000 --force
  curate validate recipes/roots_web.yaml      print the resolved recipe
  curate ops                                  list every op with its params
  curate stats runs/sample                    print the funnel of a run
  curate sample runs/sample --removed exact_dedup -n 3
"""


class UsageError(Exception):
    """Bad arguments or a run folder that belongs to another recipe: exit 2."""


def _console():
    from rich.console import Console

    return Console(stderr=False, highlight=False)


def funnel_table(summary: dict):
    from rich.table import Table

    t = Table(title=f"{summary['recipe']}: funnel", title_justify="left")
    for col, just in [("step", "left"), ("in", "right"), ("kept", "right"), ("removed", "right"),
                      ("%", "right"), ("top reasons", "left"), ("s", "right")]:
        t.add_column(col, justify=just)
    inp = summary["input"]
    t.add_row("input", f"{inp['docs']:,}", f"{inp.get('readable_docs', inp['docs']):,}", "", "",
              f"rejected {summary['rejected']:,}" if summary["rejected"] else "", "")
    for s in summary["steps"]:
        pct = f"{100 * s['removed'] / s['in']:.1f}" if s["in"] else "-"
        reasons = sorted(s["removed_by_reason"].items(), key=lambda kv: -kv[1])[:3]
        t.add_row(s["name"], f"{s['in']:,}", f"{s['kept']:,}", f"{s['removed']:,}", pct,
                  ", ".join(f"{r} {n:,}" for r, n in reasons), f"{s['seconds']:.1f}")
    out = summary["output"]
    t.add_row("output", "", f"{out['docs']:,}", "", "", f"{out['bytes'] / 1e6:.2f} MB in {len(out['shards'])} shards", "")
    return t


def print_summary(summary: dict) -> None:
    con = _console()
    con.print(funnel_table(summary))
    inv = summary["invariant"]
    status = "[green]ok[/green]" if inv["ok"] else "[red]BROKEN[/red]"
    con.print(f"ledger: input {inv['input']:,} = output {inv['output']:,} + removed {inv['removed']:,}"
              f" + rejected {inv['rejected']:,}  {status}")
    for p in inv.get("problems", []):
        con.print(f"  [red]{p}[/red]")


# --- commands ------------------------------------------------------------------------------------


def cmd_validate(args) -> int:
    from curation.recipe import load_recipe

    recipe = load_recipe(args.recipe, args.set)
    print(recipe.resolved_yaml(), end="")
    return 0


def cmd_ops(args) -> int:
    from curation.registry import all_ops, all_readers

    con = _console()
    con.print("[bold]input formats[/bold] (input.format)")
    for name, spec in all_readers().items():
        con.print(f"  [cyan]{name}[/cyan]  {spec.doc.splitlines()[0] if spec.doc else ''}")
    con.print("\n[bold]ops[/bold] (steps: - op: {params})")
    for name, op in all_ops().items():
        con.print(f"\n[cyan]{name}[/cyan]  {op.doc}")
        for fname, f in op.params.model_fields.items():
            default = "required" if f.is_required() else repr(f.get_default(call_default_factory=True))
            desc = f" — {f.description}" if f.description else ""
            con.print(f"    {fname}: {default}{desc}")
    return 0


def cmd_stats(args) -> int:
    path = Path(args.run_dir) / "summary.json"
    if not path.exists():
        raise UsageError(f"{path}: not found (is {args.run_dir} a run folder, and did the run finish?)")
    summary = json.loads(path.read_text())
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_summary(summary)
    return 0


def _iter_records(folder: Path):
    import gzip

    for path in sorted(folder.glob("*")):
        if path.name.endswith(".jsonl.gz") or path.suffix == ".jsonl":
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as f:
                for line in f:
                    yield json.loads(line)
        elif path.suffix == ".parquet":
            import pyarrow.parquet as pq

            for row in pq.read_table(path).to_pylist():
                row["metadata"] = json.loads(row.get("metadata") or "{}")
                yield row


def cmd_sample(args) -> int:
    """Print a few documents of a run: kept (default), removed by a step, or rejected."""
    run_dir = Path(args.run_dir)
    if args.rejected:
        folder = run_dir / "rejected"
    elif args.removed:
        folder = run_dir / "removed" / args.removed
    else:
        folder = run_dir / "output"
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder (removed documents are kept only with output.keep_removed: true)")
    con = _console()
    shown = 0
    for rec in _iter_records(folder):
        meta = rec.get("metadata", {})
        if args.reason and meta.get("reason") != args.reason:
            continue
        if args.rejected:
            con.print(f"[bold]{rec['source']}:{rec['line']}[/bold]  {rec['error']}", markup=False)
            con.print(rec.get("raw", "")[: args.chars], markup=False)
        else:
            why = f"  removed by {meta.get('removed_by')}: {meta.get('reason')}" if "reason" in meta else ""
            con.print(f"[bold]{rec['id']}[/bold]{why}")
            metrics = {k: v for k, v in meta.items() if "." in k or k in ("lang", "lang_score", "dup_of")}
            if metrics:
                con.print(json.dumps(metrics, ensure_ascii=False), markup=False, style="dim")
            text = rec["text"]
            con.print(text[: args.chars] + (" […]" if len(text) > args.chars else ""), markup=False)
        con.print()
        shown += 1
        if shown >= args.n:
            break
    if not shown:
        con.print("no matching documents")
    return 0


def _prepare_run_dir(recipe, limit: int, force: bool) -> str:
    """Create or resume the run folder; refuse one that holds another recipe's run unless --force."""
    run_dir = recipe.run_dir
    marker = run_dir / "run.json"
    identity = {"fingerprint": recipe.fingerprint(), "limit": limit}
    if marker.exists():
        previous = json.loads(marker.read_text())
        same = {k: previous.get(k) for k in identity} == identity
        if same and not force:
            return previous["started"]  # resume: datatrove skips completed tasks
        if not same and not force:
            raise UsageError(
                f"{run_dir} holds a run of a different recipe or --limit (fingerprint "
                f"{previous.get('fingerprint')} limit {previous.get('limit')}, now {identity['fingerprint']} "
                f"limit {limit}); rerun with --force to start over, or set output.path elsewhere"
            )
    if force and run_dir.exists():
        for sub in ("output", "removed", "rejected", "work", "logs", "summary.json", "run.json", "recipe.resolved.yaml"):
            p = run_dir / sub
            shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    (run_dir / "recipe.resolved.yaml").write_text(recipe.resolved_yaml())
    marker.write_text(json.dumps({**identity, "started": started, "recipe_file": recipe.source}, indent=2))
    return started


def cmd_run(args) -> int:
    from curation.build import build_stages, make_executors
    from curation.ledger import build_summary, write_summary
    from curation.recipe import load_recipe
    from curation.registry import get_op

    recipe = load_recipe(args.recipe, args.set)
    if args.output:
        recipe.output.path = args.output
    if args.tasks:
        recipe.executor.tasks = args.tasks
    limit = args.limit if args.limit is not None else -1
    con = _console()
    progress = sys.stdout.isatty() and not args.no_progress
    if args.dry_run:
        stages = build_stages(recipe, limit=limit)
        print(recipe.resolved_yaml(), end="")
        con.print(f"\n[bold]plan[/bold]: {len(stages)} stage(s) -> {recipe.run_dir}")
        for st in stages:
            con.print(f"  {st.name} ({st.tasks} tasks): " + " → ".join(type(p).__name__ for p in st.pipeline))
        if recipe.executor.kind == "slurm":
            from curation.scaleout import write_slurm_scripts

            for path in write_slurm_scripts(recipe, stages):
                con.print(f"  sbatch script: {path}")
        return 0
    started = _prepare_run_dir(recipe, limit, args.force)
    stages = build_stages(recipe, limit=limit, progress=progress)
    executors = make_executors(recipe, stages)
    from curation.build import quiet_terminal_logging

    quiet_terminal_logging()
    t0 = time.time()
    if recipe.executor.kind == "slurm":  # sbatch returns at once: the summary is written by a later run
        from curation.scaleout import submit_slurm

        jobs = submit_slurm(recipe, executors)  # {} when every stage's tasks have completed
        if jobs:
            for name, job in jobs.items():
                con.print(f"submitted {name}: slurm job {job}")
            con.print(f"the stages run on the cluster (squeue -j {','.join(jobs.values())}); when they finish, run "
                      "the same command again to write summary.json (it resubmits failed tasks, if any)")
            return 0
    else:
        for i, (stage, ex) in enumerate(zip(stages, executors), start=1):
            con.print(f"[dim]stage {i}/{len(stages)}: {stage.name} ({stage.tasks} task(s))[/dim]")
            ex.run()
    thresholds = {}
    for step in recipe.steps:
        fn = get_op(step.op).thresholds
        if fn is not None:
            thresholds[step.id] = fn(step.params)
    summary = build_summary(recipe.run_dir, stages, recipe, started, thresholds)
    write_summary(recipe.run_dir, summary)
    print_summary(summary)
    con.print(f"done in {time.time() - t0:.1f}s")
    con.print(f"output:    {recipe.run_dir / 'output'}")
    con.print(f"summary:   {recipe.run_dir / 'summary.json'}")
    con.print(f"dashboard: curate dashboard {recipe.run_dir}")
    if not summary["invariant"]["ok"]:
        con.print("[red]the ledger does not balance: documents were lost; see the problems above[/red]")
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="curate",
        description="rootstock: turn raw text into LLM training data with datatrove recipes.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run a recipe into its run folder (resumable)", epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("recipe", help="recipe YAML file")
    p.add_argument("--limit", type=int, help="read at most N documents (split evenly over tasks)")
    p.add_argument("--dry-run", action="store_true", help="print the resolved recipe and the plan, run nothing")
    p.add_argument("--force", action="store_true", help="discard an existing run folder and start over")
    p.add_argument("--output", help="override output.path (the run folder)")
    p.add_argument("--tasks", type=int, help="override executor.tasks")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a TTY")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value, e.g. --set input.path=data/x.jsonl (repeatable; YAML values)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("validate", help="validate a recipe and print it with every default filled in")
    p.add_argument("recipe")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe value")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("ops", help="list every op and input format with params, defaults and docs")
    p.set_defaults(func=cmd_ops)
    p = sub.add_parser("sample", help="print a few kept, removed or rejected documents of a run")
    p.add_argument("run_dir")
    p.add_argument("-n", type=int, default=5, help="how many documents")
    p.add_argument("--removed", metavar="STEP", help="removed by this step (removed/<STEP>/)")
    p.add_argument("--reason", help="only documents removed for this reason")
    p.add_argument("--rejected", action="store_true", help="unreadable input records")
    p.add_argument("--chars", type=int, default=600, help="show at most this many characters of each text")
    p.set_defaults(func=cmd_sample)
    p = sub.add_parser("stats", help="print the funnel of a finished run from its summary.json")
    p.add_argument("run_dir")
    p.add_argument("--json", action="store_true", help="print summary.json as is")
    p.set_defaults(func=cmd_stats)
    from curation.classifier_cli import add_classifier_commands  # issue 16: `curate classifier train`

    add_classifier_commands(sub)
    for module in ("training.cli", "dashboard.cli", "bench.cli"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name and module.startswith(e.name):
                continue
            raise
        mod.register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from curation.recipe import RecipeError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (RecipeError, UsageError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
