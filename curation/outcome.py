"""Whether a finished run produced anything: a run that keeps no document is almost always a mistake.

A `text_key` typo rejects every record, a `language_id.keep` of the wrong code removes every document,
and both used to end with a balanced ledger and exit 0 (`input 856 = output 0 + removed 0 + rejected
856 ok`). `empty_run_problem` says what happened in one message, naming the biggest cause; the CLI
prints it and exits 1 unless the recipe sets `output.allow_empty: true`.
"""

from __future__ import annotations


def _top(counts: dict[str, int]) -> str:
    items = sorted(((k, v) for k, v in (counts or {}).items() if v), key=lambda kv: -kv[1])[:3]
    return ", ".join(f"{k} {v:,}" for k, v in items)


def empty_run_problem(summary: dict, run_dir: str = "RUN") -> str | None:
    """A message when the run's input had records but its output holds no document, else None."""
    records = summary["input"]["docs"]
    if summary["output"]["docs"] or not records:
        return None
    rejected = summary.get("rejected", 0)
    if rejected >= records:
        why = "; ".join(f"{n:,} x {k}" for k, n in sorted(summary.get("rejected_by_reason", {}).items(),
                                                            key=lambda kv: -kv[1])[:3])  # fmt: skip
        return (
            f"every one of the {records:,} input records was rejected ({why}): check input.format, "
            f"input.text_key and input.id_key; `curate sample {run_dir} --rejected` shows them"
        )
    steps = [s for s in summary["steps"] if s["removed"]]
    biggest = max(steps, key=lambda s: s["removed"]) if steps else None
    cause = (
        f"; {biggest['name']} removed {biggest['removed']:,} ({_top(biggest['removed_by_reason'])})"
        if biggest
        else ""
    )
    return f"the run kept no documents of {records:,} input records ({rejected:,} rejected){cause}"
