"""`curate stats` and `curate sample`: read a finished (or running) run folder and print it."""

from __future__ import annotations

import json

from curation.cli_display import _console, print_summary
from curation.errors import UsageError
from curation.terminal import safe


def cmd_stats(args) -> int:
    from runfolder import SummaryError, read_summary

    try:
        summary = read_summary(args.run_dir)
    except SummaryError as e:
        raise UsageError(str(e)) from None
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_summary(summary, args.run_dir)
    return 0


def _check_reason(run, reason: str, step: str | None) -> None:
    """A `--reason` that no step of the run removed anything for is a user error (exit 2) with the
    closest reasons; when the summary cannot be read (run not finished) the filter is applied as is."""
    import difflib

    from runfolder import SummaryError

    try:
        steps = run.summary["steps"]
    except (SummaryError, KeyError, TypeError):
        return
    known = sorted({r for s in steps if step in (None, s.get("name")) for r in s.get("removed_by_reason", {})})
    if reason in known:
        return
    close = difflib.get_close_matches(reason, known, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    where = f"step {step}" if step else "this run"
    raise UsageError(f"--reason {reason!r}: {where} removed nothing for that reason{hint} "
                     f"(reasons: {', '.join(known) or 'none'})")


def cmd_sample(args) -> int:
    """Print a few documents of a run: kept (default), removed by a step, or rejected.

    Everything printed comes from documents, so it is printed as plain text (no rich markup, no emoji
    codes) with control characters made visible (`curation.terminal.safe`).
    """
    from rich.text import Text

    from curation.api import open_run

    run = open_run(args.run_dir)
    if args.reason and not args.rejected:
        _check_reason(run, args.reason, args.removed)
    if args.rejected:
        records = run.sample(args.n, seed=args.seed, rejected=True)
    elif args.removed or args.reason:
        records = run.sample(args.n, seed=args.seed, removed=args.removed, reason=args.reason)
    else:
        records = run.sample(args.n, seed=args.seed)
    con = _console()
    shown = 0
    for rec in records:
        meta = rec.get("metadata") or {}
        if args.rejected:
            # code trees reject whole files (no line): print the file alone, never "path:None"
            line = rec.get("line")
            where = safe(rec.get("source"), one_line=True) + (f":{line}" if line is not None else "")
            con.print(Text(where, style="bold") + Text("  " + safe(rec.get("error", ""), one_line=True)))
            raw = rec.get("raw") or ""
            con.print(Text(safe(raw[: args.chars]) + (" […]" if len(raw) > args.chars else "")))
        else:
            head = Text(safe(rec.get("id"), one_line=True), style="bold")
            if "reason" in meta:
                head += Text(f"  removed by {safe(meta.get('removed_by'), True)}: {safe(meta.get('reason'), True)}")
            con.print(head)
            metrics = {k: v for k, v in meta.items() if "." in k or k in ("lang", "lang_score", "dup_of")}
            if metrics:
                con.print(Text(safe(json.dumps(metrics, ensure_ascii=False), one_line=True), style="dim"))
            text = rec.get("text") or ""
            con.print(Text(safe(text[: args.chars]) + (" […]" if len(text) > args.chars else "")))
        con.print()
        shown += 1
    if not shown:
        con.print("no matching documents")
    return 0

