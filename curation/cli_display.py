"""What `curate run` and `curate stats` print about a run: the funnel table and the ledger line.

Everything shown that comes from a run (recipe and step names, reasons) goes through
`curation.terminal.safe` and rich's `escape`, so a run folder cannot drive the terminal.
"""

from __future__ import annotations

from curation.terminal import safe
from runfolder.tokens import bytes_per_token, output_tokens, step_tokens, step_tokens_label


def _console():
    from rich.console import Console

    return Console(stderr=False, highlight=False)


# Steps that change documents without removing any, and the summary.json section counting what they did.
CHANGE_SECTIONS = {"pii": ("pii", "scrubbed")}


def changed_text(step: dict, summary: dict) -> str:
    """What a non-removing step changed, e.g. `scrubbed email 1,238, ip_address 310` for `pii`."""
    section, verb = CHANGE_SECTIONS.get(step.get("op", ""), (None, ""))
    counts = {k: v for k, v in (summary.get(section) or {}).items() if isinstance(v, int) and v} if section else {}
    if not counts:
        return f"{verb} nothing" if section else ""
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    return f"{verb} " + ", ".join(f"{k} {n:,}" for k, n in items)


def funnel_table(summary: dict, run_dir: str | None = None):
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=f"{escape(safe(summary['recipe'], True))}: funnel", title_justify="left")
    for col, just in [
        ("step", "left"),
        ("in", "right"),
        ("kept", "right"),
        ("removed", "right"),
        ("%", "right"),
        ("tokens", "right"),
        ("top reasons", "left"),
        ("s", "right"),
    ]:
        t.add_column(col, justify=just)
    per_token, _ = bytes_per_token(run_dir, summary)  # steps: estimated from their bytes, marked ≈
    inp = summary["input"]
    t.add_row(
        "input",
        f"{inp['docs']:,}",
        f"{inp.get('readable_docs', inp['docs']):,}",
        "",
        "",
        step_tokens_label(step_tokens(inp.get("bytes") or None, per_token)),
        f"rejected {summary['rejected']:,}" if summary["rejected"] else "",
        "",
    )
    for s in summary["steps"]:
        pct = f"{100 * s['removed'] / s['in']:.1f}" if s["in"] else "-"
        reasons = sorted(s["removed_by_reason"].items(), key=lambda kv: -kv[1])[:3]
        what = ", ".join(f"{r} {n:,}" for r, n in reasons) or changed_text(s, summary)
        t.add_row(
            escape(safe(s["name"], True)),
            f"{s['in']:,}",
            f"{s['kept']:,}",
            f"{s['removed']:,}",
            pct,
            step_tokens_label(step_tokens(s.get("bytes_kept"), per_token)),
            escape(safe(what, True)),
            f"{s['seconds']:.1f}",
        )
    out = summary["output"]
    tokens, how = output_tokens(run_dir, summary)  # counted by the tokenizer, or an estimate
    t.add_row(
        "output",
        "",
        f"{out['docs']:,}",
        "",
        "",
        f"{tokens:,}" if how == "tokenizer" else step_tokens_label(tokens),
        f"{out['bytes'] / 1e6:.2f} MB in {len(out['shards'])} shards",
        "",
    )
    if how == "tokenizer":
        t.caption = "tokens kept: output counted by the run's tokenizer; ≈ (est.) steps at its bytes per token"
    else:
        t.caption = "tokens kept ≈ (est.): UTF-8 bytes / 4; `curate tokenize` counts the output exactly"
    return t


def print_summary(summary: dict, run_dir: str | None = None) -> None:
    from rich.markup import escape

    con = _console()
    con.print(funnel_table(summary, run_dir))
    inv = summary["invariant"]
    status = "[green]ok[/green]" if inv["ok"] else "[red]BROKEN[/red]"
    con.print(f"ledger: input {inv['input']:,} = output {inv['output']:,} + removed {inv['removed']:,}"
              f" + rejected {inv['rejected']:,}  {status}")
    for p in inv.get("problems", []):
        con.print(f"  [red]{escape(safe(p, True))}[/red]")
    swept = summary.get("pii_run_folder")
    if swept:
        if swept.get("scrubbed"):
            con.print(f"pii: also scrubbed {swept['removed_records']:,} removed and {swept['rejected_records']:,} "
                      f"rejected records and {swept['log_files']:,} log files"
                      + ("; work/ deleted" if swept.get("work_removed") else ""))
        else:
            con.print("[yellow]pii: run_folder: false, so removed/, rejected/ and logs/ keep original values[/yellow]")
