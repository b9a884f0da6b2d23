"""The curation half of `curate`: run, validate and inspect recipes, on top of `curation.api`.

`rootstock/cli.py` (the `curate` entry point) adds these commands with `register_cli`, next to the
training, dashboard and bench ones; `python -m curation.cli ...` runs them alone. Exit codes: 0 ok,
2 invalid recipe or arguments (one clear message, no traceback), 1 failure. `stats` and `sample` are in
`curation/cli_inspect.py`, the funnel table they and `run` print in `curation/cli_display.py`.
"""

from __future__ import annotations

import argparse
import errno
import os
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
  curate mix recipes/mixes/sample_code.yaml   mix run folders into a training mixture by weights
  curate sample runs/sample --removed exact_dedup -n 3
"""


from curation.cli_display import _console, print_summary
from curation.cli_inspect import cmd_sample, cmd_stats
from curation.errors import RecipeError, ServiceError, UsageError
from curation.steps.classifier.cli import add_classifier_commands
from curation.storage import StorageError
from curation.terminal import safe
from runfolder import SummaryError, UnsafePathError

# --- commands ------------------------------------------------------------------------------------


def cmd_validate(args) -> int:
    from curation.api import check_run_paths
    from curation.recipe import load_recipe

    recipe = load_recipe(args.recipe, args.set)
    check_run_paths(recipe)
    print(safe(recipe.resolved_yaml()), end="")
    return 0


def cmd_ops(args) -> int:
    from rich.markup import escape

    from curation.registry import all_ops, all_readers

    con = _console()
    # docs and descriptions are plain text: "[min_chars, max_chars]" must not be read as rich markup
    con.print("[bold]input formats[/bold] (input.format)")
    for name, spec in all_readers().items():
        con.print(f"  [cyan]{escape(name)}[/cyan]  {escape(spec.doc.splitlines()[0] if spec.doc else '')}")
    from curation.formats.writers import OUTPUT_FORMATS

    con.print("\n[bold]output formats[/bold] (output.format)")
    for name, fn in sorted(OUTPUT_FORMATS.items()):
        doc = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
        con.print(f"  [cyan]{escape(name)}[/cyan]  {escape(doc)}")
    con.print("\n[bold]ops[/bold] (steps: - op: {params})")
    for name, op in all_ops().items():
        con.print(f"\n[cyan]{escape(name)}[/cyan]  {escape(op.doc or '')}")
        for fname, f in op.params.model_fields.items():
            default = "required" if f.is_required() else repr(f.get_default(call_default_factory=True))
            desc = f" — {f.description}" if f.description else ""
            con.print(escape(f"    {fname}: {default}{desc}"))
    return 0

def cmd_run(args) -> int:
    from rich.markup import escape

    from curation import api

    overrides = list(args.set)
    recipe = api.load_recipe(args.recipe, overrides)
    if args.output:
        from curation.storage import is_url

        recipe.output.path = args.output
        if is_url(args.output) and recipe.output.control_path is None:
            recipe.output.control_path = str(Path("runs") / recipe.name)
    if args.tasks:
        recipe.executor.tasks = args.tasks
    con = _console()
    progress = sys.stdout.isatty() and not args.no_progress
    if args.dry_run:
        result = api.run(recipe, limit=args.limit, dry_run=True)
        print(safe(recipe.resolved_yaml()), end="")
        con.print(f"\n[bold]plan[/bold]: {len(result.stages)} stage(s) -> {escape(safe(recipe.run_dir, True))}")
        for st in result.stages:
            con.print(f"  {escape(safe(st.name, True))} ({st.tasks} tasks): " + " → ".join(type(p).__name__ for p in st.pipeline))
        for path in result.scripts:
            con.print(f"  sbatch script: {escape(safe(path, True))}")
        return 0

    def on_stage(i, n, stage):
        con.print(f"[dim]stage {i}/{n}: {escape(safe(stage.name, True))} ({stage.tasks} task(s))[/dim]")

    t0 = time.time()
    result = api.run(recipe, limit=args.limit, force=args.force, progress=progress, on_stage=on_stage)
    if result.jobs:
        for name, job in result.jobs.items():
            con.print(f"submitted {name}: slurm job {job}")
        con.print(f"the stages run on the cluster (squeue -j {','.join(result.jobs.values())}); when they finish, run "
                  "the same command again to write summary.json (it resubmits failed tasks, if any)")
        return 0
    summary = result.summary
    print_summary(summary, str(result.path))
    con.print(f"done in {time.time() - t0:.1f}s")
    if recipe.output.control_path is not None:  # an object-store output (docs/object-storage.md)
        where = (("output:   ", f"{recipe.output.path.rstrip('/')}/output"),
                 ("summary:  ", f"{recipe.output.path.rstrip('/')}/summary.json (copy: {result.folder.summary})"))
    else:
        where = (("output:   ", result.folder.output), ("summary:  ", result.folder.summary))
    for label, value in (*where, ("dashboard:", f"curate dashboard {result.path}")):
        con.print(f"{label} {escape(safe(value, True))}")
    if not summary["invariant"]["ok"]:
        con.print("[red]the ledger does not balance: documents were lost; see the problems above[/red]")
        return 1
    from curation.outcome import empty_run_problem

    empty = empty_run_problem(summary, str(result.path))
    if empty and not recipe.output.allow_empty:
        print(f"error: {safe(empty, True)} (set output.allow_empty: true if that is intended)", file=sys.stderr)
        return 1
    return 0


def cmd_mix(args) -> int:
    from rich.markup import escape

    from curation.mix import mix

    t0 = time.time()
    result = mix(args.mix_file, force=args.force, output=args.output)
    m, con = result.mixture, _console()
    approx = "~" if m["tokens_estimated"] else ""
    for s in m["sources"]:
        rejected = f", {s['rejected']:,} rejected" if s["rejected"] else ""
        con.print(f"{escape(safe(s['name'], True))}: {s['documents']:,} docs, {approx}{s['tokens']:,} tokens, "
                  f"{s['epochs']:g} epochs, share {s['achieved_share']:.2%} (asked {s['asked_share']:.2%})"
                  f"{rejected}")
    where = result.path / ("tokenized" if m["format"] == "tokens" else "output")
    con.print(f"done in {time.time() - t0:.1f}s: {m['documents']:,} documents in "
              f"{escape(safe(where, True))}")
    return 0


def _guard(fn):
    """User errors -> one line on stderr and exit 2 (no traceback); Ctrl+C -> 130."""

    def run(args) -> int:
        try:
            return int(fn(args) or 0)
        except (RecipeError, UsageError, FileNotFoundError, UnsafePathError, SummaryError) as e:
            print(f"error: {safe(e, one_line=True)}", file=sys.stderr)
            return 2
        except (StorageError, ServiceError) as e:  # object store or Redis: unreachable, bad credentials
            print(f"error: {safe(e, one_line=True)}", file=sys.stderr)
            return 1
        except OSError as e:
            if e.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise
            print(f"error: {safe(e, one_line=True)}; free some space and run the same command again to resume",
                  file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("interrupted; run the same command again to resume", file=sys.stderr)
            return 130

    return run


def register_cli(sub) -> None:
    """Add `run`, `validate`, `ops`, `sample`, `stats` and `mix` to an argparse subparsers object."""
    p = sub.add_parser("run", help="run a recipe into its run folder (resumable)", epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("recipe", help="recipe YAML file")
    p.add_argument("--limit", type=int, help="read at most N input records, readable or rejected (split evenly "
                   "over tasks)")
    p.add_argument("--dry-run", action="store_true", help="print the resolved recipe and the plan, run nothing")
    p.add_argument("--force", action="store_true", help="discard an existing run folder and start over")
    p.add_argument("--output", help="override output.path (the run folder)")
    p.add_argument("--tasks", type=int, help="override executor.tasks")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a TTY")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value, e.g. --set input.path=data/x.jsonl (repeatable; YAML values)")
    p.set_defaults(func=_guard(cmd_run))
    p = sub.add_parser("validate", help="validate a recipe and print it with every default filled in")
    p.add_argument("recipe")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe value")
    p.set_defaults(func=_guard(cmd_validate))
    p = sub.add_parser("ops", help="list every op and input format with params, defaults and docs")
    p.set_defaults(func=_guard(cmd_ops))
    p = sub.add_parser("sample", help="print a few kept, removed or rejected documents of a run")
    p.add_argument("run_dir")
    p.add_argument("-n", type=int, default=5, help="how many documents")
    p.add_argument("--removed", metavar="STEP", help="removed by this step (removed/<STEP>/)")
    p.add_argument("--reason", help="only documents removed for this reason")
    p.add_argument("--rejected", action="store_true", help="unreadable input records")
    p.add_argument("--seed", type=int, default=0, help="which documents (drawn uniformly over all shards)")
    p.add_argument("--chars", type=int, default=600, help="show at most this many characters of each text")
    p.set_defaults(func=_guard(cmd_sample))
    p = sub.add_parser("stats", help="print the funnel of a finished run from its summary.json")
    p.add_argument("run_dir")
    p.add_argument("--json", action="store_true", help="print summary.json as is")
    p.set_defaults(func=_guard(cmd_stats))
    p = sub.add_parser("mix", help="mix run folders and inputs into one training mixture by weights or amounts (docs/mixtures.md)")
    p.add_argument("mix_file", help="mix YAML file (e.g. recipes/mixes/sample_code.yaml)")
    p.add_argument("--force", action="store_true", help="replace a mixture or run folder rootstock wrote")
    p.add_argument("--output", help="override output.path (the mixture folder)")
    p.set_defaults(func=_guard(cmd_mix))
    add_classifier_commands(sub, _guard)


def build_parser(prog: str = "curate") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="rootstock: turn raw text into LLM training data with datatrove recipes.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    register_cli(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: list[str] | None = None) -> int:
    """The curation commands alone (`python -m curation.cli`); `curate` is rootstock.cli.main."""
    args = build_parser("python -m curation.cli").parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
