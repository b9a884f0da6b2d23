"""Shared Streamlit pieces of the dashboard: cached loaders, the run picker, colours, text display.

Only this layer knows Streamlit. Loaders wrap `dashboard/data.py` in `st.cache_data`, keyed by the
folder's path and modification time, so a finished run is read once and a re-run folder is re-read.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import data, markup

# Altair validates every chart object against the Vega-Lite schema as it is built (~40 ms a chart); our
# specs are fixed and covered by tests, so skip it (Streamlit still validates once when it serialises).
alt.utils.schemapi.disable_debug_mode()

ENV_ARGS = "ROOTSTOCK_DASHBOARD_ARGS"  # JSON list: run/ablation folders and flags (set by `curate dashboard`)
KEPT_COLOR, REMOVED_COLOR, OTHER_COLOR, REJECTED_COLOR = "#2a9d8f", "#e76f51", "#b8c0cc", "#6d597a"
OUTCOME_COLORS = {
    "kept": KEPT_COLOR,
    "removed": REMOVED_COLOR,
    "removed by this filter": REMOVED_COLOR,
    "removed by another filter": OTHER_COLOR,
    "rejected": REJECTED_COLOR,
}
STEP_PALETTE = ["#e76f51", "#f4a261", "#e9c46a", "#9c6644", "#d62828", "#b5838d", "#6d597a", "#bc4749"]
RUN_COLORS = ["#264653", "#e9c46a"]
TEXT_PREVIEW_CHARS = 1_500

CSS = """
<style>
mark.del {background:#fde2dc; color:#9b2c16; border-radius:3px; padding:0 1px;}
mark.ins {background:#d8f3ee; color:#1d6b61; border-radius:3px; padding:0 1px;}
mark.tag {background:#fff1c2; color:#7a5b00; font-weight:600; border-radius:3px; padding:0 2px;}
.rs-doc {font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:0.85rem; white-space:pre-wrap;
         word-break:break-word; line-height:1.45; background:#f8f9fb; border:1px solid #e6e8ec;
         border-radius:8px; padding:0.8rem; max-height:28rem; overflow:auto;}
/* stat cards' notes ("12,345 tokens", "of 1,234 scanned") wrap instead of being cut off with an ellipsis */
[data-testid="stMetricDelta"] div {white-space:normal; overflow:visible; text-overflow:clip;}
</style>
"""


def app_args() -> data.AppArgs:
    """Folders and flags given to the dashboard: $ROOTSTOCK_DASHBOARD_ARGS, else `streamlit run app.py -- ...`."""
    raw = os.environ.get(ENV_ARGS)
    if raw:
        argv = json.loads(raw)
    elif Path(sys.argv[0]).name == "app.py":
        argv = sys.argv[1:]
    else:
        argv = []
    return data.parse_app_args(list(argv))


@st.cache_data(show_spinner=False, max_entries=32)
def _summary(path: str, mtime: float) -> dict:
    return data.load_summary(path)


def summary(path: Path) -> dict:
    return _summary(str(path), data.folder_mtime(path))


@st.cache_data(show_spinner=False, max_entries=32)
def _recipe(path: str, mtime: float) -> str | None:
    return data.load_recipe_text(path)


def recipe_text(path: Path) -> str | None:
    return _recipe(str(path), data.folder_mtime(path))


@st.cache_data(show_spinner=False, max_entries=6)
def _sample(path: str, mtime: float, show_pii: bool, cap: int) -> pd.DataFrame:
    return data.sample_documents(path, cap=cap, show_pii=show_pii)


def sample(path: Path, show_pii: bool = False, cap: int = data.SAMPLE_CAP) -> pd.DataFrame:
    """The run's document sample (read once per run and modification time)."""
    with st.spinner(f"Reading a sample of up to {cap:,} documents…"):
        return _sample(str(path), data.folder_mtime(path), show_pii, cap)


@st.cache_data(show_spinner=False, max_entries=6)
def _rejected(path: str, mtime: float, show_pii: bool) -> pd.DataFrame:
    return data.read_rejected(path, show_pii=show_pii)


def rejected(path: Path, show_pii: bool = False) -> pd.DataFrame:
    return _rejected(str(path), data.folder_mtime(path), show_pii)


@st.cache_data(show_spinner=False, max_entries=16)
def _removed_units(path: str, mtime: float, step_id: str, show_pii: bool) -> list[dict]:
    return data.removed_units(path, step_id, show_pii)


def removed_units(path: Path, step_id: str, show_pii: bool = False) -> list[dict]:
    """The units (lines, paragraphs) a `line_dedup` step removed most, with counts and one document id."""
    return _removed_units(str(path), data.folder_mtime(path), step_id, show_pii)


@st.cache_data(show_spinner="Looking up documents…", max_entries=64)
def find_documents(path: str, ids: tuple[str, ...], show_pii: bool = False) -> pd.DataFrame:
    return data.find_documents(path, list(ids), show_pii=show_pii)


@st.cache_data(show_spinner=False, max_entries=16)
def _results(path: str, mtime: float) -> dict:
    return data.load_results(path)


def results(path: Path) -> dict:
    return _results(str(path), data.folder_mtime(path))


def run_picker(args: data.AppArgs) -> None:
    """The sidebar's run selector, drawn by app.py around every run page.

    It lives in the entry point (not in a page) so that it is one widget for all pages: the choice
    survives page switches, and the URL keeps it (`?run=<label>`) for links.
    """
    if args.runs:
        st.sidebar.selectbox(
            "Run",
            list(args.runs),
            key="run",
            bind="query-params",
            persist_state="session",  # kept while on Compare / Ablations, which have no run picker
            help="Run folders given on the command line. The URL keeps the choice (`?run=`).",
        )


def current_run(args: data.AppArgs) -> tuple[str, Path] | None:
    """The run picked in the sidebar, or None (with a hint on the page) when no run was given."""
    if not args.runs:
        st.info("No run folder was given. Start the dashboard with `curate dashboard runs/<name>`.", icon="ℹ️")
        return None
    label = st.session_state.get("run")
    label = label if label in args.runs else next(iter(args.runs))
    return label, args.runs[label]


def load_summary_or_stop(path: Path) -> dict:
    try:
        return summary(path)
    except ValueError as e:
        st.error(str(e))
        st.stop()


class RunPage(NamedTuple):
    """What a run page starts from: the dashboard's arguments and the picked run."""

    args: data.AppArgs
    label: str
    path: Path
    summary: dict


def run_page(title: str, caption: Callable[[dict], str] | None = None) -> RunPage:
    """The start of every run page: pick the run, load its summary, draw the page header.

    Stops the page (with a hint or the error on it) when no run was given or its summary.json is unreadable.

    Args:
        title: page title; ` · <run label>` is appended.
        caption: builds the header's extra caption from the summary (none when omitted).

    Returns:
        The arguments, the run's label and folder, and its summary.json.
    """
    args = app_args()
    picked = current_run(args)
    if picked is None:
        st.stop()
    label, path = picked
    summary_ = load_summary_or_stop(path)
    page_header(f"{title} · {markup.text(label)}", summary_, path, caption(summary_) if caption else "")
    return RunPage(args, label, path, summary_)


def page_header(title: str, summary_: dict | None, path: Path | None, caption: str = "") -> None:
    """Title and caption of a page; `title` is markdown the caller made safe, the recipe name and the
    path come from data and are escaped here (a recipe name is text a run folder carries)."""
    st.title(title)
    bits = []
    if summary_:
        bits.append(f"recipe **{markup.text(summary_.get('recipe', '?'))}**")
    if path is not None:
        bits.append(markup.code(path))
    if caption:
        bits.append(caption)
    if bits:
        st.caption(" · ".join(bits))


def sample_caption(frame: pd.DataFrame, summary_: dict) -> str:
    total = int(summary_.get("output", {}).get("docs") or 0) + sum(
        int(s.get("removed") or 0) for s in summary_["steps"]
    )
    n = len(frame)
    if n >= total:
        return f"All {n:,} documents (kept and removed) are shown."
    return (
        f"Counts marked ≈ or (est.) are estimates from a uniform random sample of {n:,} of {total:,} "
        f"documents (kept and removed; seed {data.SAMPLE_SEED}), scaled to the whole run; "
        "numbers from summary.json (the ledger) are exact."
    )


def stat_card(col, label: str, value: str, note: str | None = None, help: str | None = None) -> None:
    """A bordered `st.metric` whose delta is a plain grey note (no arrow, no good/bad colour)."""
    col.metric(label, value, delta=note, delta_color="off", delta_arrow="off", border=True, help=help)


def outcome_scale(domain: list[str] | None = None) -> alt.Scale:
    domain = domain or ["kept", "removed by this filter", "removed by another filter"]
    return alt.Scale(domain=domain, range=[OUTCOME_COLORS.get(d, OTHER_COLOR) for d in domain])


def step_scale(steps: list[str]) -> alt.Scale:
    domain = ["kept"] + [s for s in steps if s != "kept"]
    colors = [KEPT_COLOR] + [STEP_PALETTE[i % len(STEP_PALETTE)] for i in range(len(domain) - 1)]
    return alt.Scale(domain=domain, range=colors)


def fmt_int(x) -> str:
    return "—" if x is None or (isinstance(x, float) and pd.isna(x)) else f"{round(x):,}"


def fmt_bytes(n) -> str:
    if n is None:
        return "—"
    n = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def fmt_pct(part, whole) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "—"


def show_text(text: str, text_len: int | None = None, limit: int = TEXT_PREVIEW_CHARS) -> None:
    """A document's text, shown verbatim (no markdown or `$` math); long texts cut with an expander."""
    text = markup.no_bidi(text or "")
    text_len = text_len or len(text)
    if len(text) <= limit:
        st.code(text, language=None, wrap_lines=True)
        return
    st.code(text[:limit] + " …", language=None, wrap_lines=True)
    with st.expander(f"Full text ({text_len:,} characters)"):
        if text_len > len(text):
            st.caption(f"The sample keeps the first {len(text):,} characters.")
        st.code(text, language=None, wrap_lines=True, height=500)


def html_doc(body_html: str) -> None:
    """Pre-escaped document HTML (diffs, tagged PII) in a scrollable monospace box."""
    st.html(CSS + f'<div class="rs-doc">{markup.no_bidi(body_html)}</div>')
