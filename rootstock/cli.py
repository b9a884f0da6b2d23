"""`curate`: one command for every part of rootstock. It only dispatches.

Each package adds its own subcommands with `register_cli(subparsers)` and handles its own errors
(exit 2 for a user error, one line, no traceback). This module sits above the packages so that none of
them imports another's CLI: curation knows nothing of training, the dashboard or bench.
"""

from __future__ import annotations

import argparse
import sys

from curation import cli as curation_cli

EXAMPLES = curation_cli.EXAMPLES + """  curate tokenize runs/sample                 train a BPE on a run and write token shards
  curate ablate recipes/ablations/demo.yaml   data variants x budgets x seeds -> scaling fits
  curate dashboard runs/sample                browse a run in a local web app
  curate bench --quick                        every benchmark, short settings
"""


def _register_optional(sub, module: str) -> None:
    """A package that is not installed (a slim install without training) just has no commands."""
    try:
        if module == "training":
            from training import cli
        elif module == "dashboard":
            from dashboard import cli
        else:
            from bench import cli
    except ModuleNotFoundError as e:
        if e.name and module.startswith(e.name):
            return
        raise
    cli.register_cli(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="curate",
        description="rootstock: turn raw text into LLM training data with datatrove recipes, train small "
        "models to measure it, and browse the results.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    curation_cli.register_cli(sub)
    for module in ("training", "dashboard", "bench"):
        _register_optional(sub, module)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
