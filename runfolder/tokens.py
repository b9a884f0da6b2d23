"""How many tokens a run's output holds: counted by its tokenizer when `curate tokenize` has run, else
an estimate from UTF-8 bytes, always labelled as one or the other.

`tokenized/index.json` (docs/CONTRACTS.md) holds the exact count per split; each document there carries
one separator token, which is not text, so it is subtracted. Without it the estimate is bytes / 4:
about what a byte-level BPE gives on English web text (`curate tokenize` on the bundled sample run
prints 4.2 bytes/token with the default 8,192-token vocabulary); other scripts and code differ, which is
why the label says "estimate".

Per step of the funnel only bytes are known (summary.json `steps[].bytes_in` / `bytes_kept`), so step
figures are always estimates: at the run's own bytes per token when its tokenizer has counted the
output (`how` "tokenizer ratio"), else at bytes / 4; either way marked as estimates ("≈", "(est.)").
"""

from __future__ import annotations

import json
from pathlib import Path

BYTES_PER_TOKEN = 4.0  # estimate only; see the module docstring


def output_tokens(run_dir: str | Path | None, summary: dict) -> tuple[int | None, str]:
    """(tokens, how): `how` is "tokenizer" (exact, tokenized/index.json), "estimate" (bytes / 4) or
    "unknown" (no byte count either). `run_dir` None: from the summary alone."""
    try:
        if run_dir is None:
            raise OSError("no run folder")
        splits = json.loads((Path(run_dir) / "tokenized" / "index.json").read_text())["splits"]
        return sum(int(s["tokens"]) - int(s["docs"]) for s in splits.values()), "tokenizer"
    except (OSError, ValueError, KeyError, TypeError):
        pass
    nbytes = (summary.get("output") or {}).get("bytes")
    if isinstance(nbytes, (int, float)) and nbytes > 0:
        return round(nbytes / BYTES_PER_TOKEN), "estimate"
    return None, "unknown"


def tokens_label(tokens: int | None, how: str) -> str:
    """Short enough for a card's sub-label: `12,345 tokens`, `≈ 12,000 tokens (est.)`, `tokens: no byte count`."""
    if tokens is None:
        return "tokens: no byte count"
    if how == "tokenizer":
        return f"{tokens:,} tokens"
    return f"≈ {float(f'{tokens:.2g}'):,.0f} tokens (est.)"


HOW = {
    "tokenizer": "counted by the run's tokenizer (tokenized/index.json)",
    "estimate": f"estimated as UTF-8 bytes / {BYTES_PER_TOKEN:g} (`curate tokenize` counts them exactly)",
    "unknown": "unknown: summary.json has no output byte count",
    "tokenizer ratio": "estimated from the step's UTF-8 bytes at the bytes per token the run's tokenizer "
    "gave its output",
}


def bytes_per_token(run_dir: str | Path | None, summary: dict) -> tuple[float, str]:
    """(bytes per token, how) for per-step estimates: the run's tokenizer's own ratio on its output
    ("tokenizer ratio") when it has counted it, else BYTES_PER_TOKEN ("estimate")."""
    tokens, how = output_tokens(run_dir, summary)
    nbytes = (summary.get("output") or {}).get("bytes")
    if how == "tokenizer" and tokens and isinstance(nbytes, (int, float)) and nbytes > 0:
        return nbytes / tokens, "tokenizer ratio"
    return BYTES_PER_TOKEN, "estimate"


def step_tokens(nbytes, per_token: float) -> int | None:
    """Estimated tokens in `nbytes` of text; None when the ledger has no byte count."""
    if not isinstance(nbytes, (int, float)) or nbytes < 0:
        return None
    return round(nbytes / per_token)


def step_tokens_label(tokens: int | None) -> str:
    """A funnel cell, narrow enough for an 80-column table: `≈170k` (≈ marks an estimate; the table's
    caption says how), `-` where the step's bytes were not recorded."""
    if tokens is None:
        return "-"
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if tokens >= scale:
            return f"≈{float(f'{tokens / scale:.2g}'):g}{unit}"
    return f"≈{tokens}"
