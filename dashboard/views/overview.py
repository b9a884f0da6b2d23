"""Overview page: the run's funnel (docs and bytes per step), removals by reason, time per step, recipe.

Reads summary.json and recipe.resolved.yaml only, so it paints fast on any run size.
"""

from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import analysis, markup, ui
from runfolder.tokens import HOW, bytes_per_token, output_tokens, tokens_label


def _when(summary: dict) -> str:
    """The header caption: when the run started and how long it took."""
    return f"{summary.get('started', '?')[:19].replace('T', ' ')} · {summary.get('seconds', 0) or 0:,.1f} s"


TOKENS_COL = "tokens kept (est.)"

args, label, path, summary = ui.run_page("Overview", caption=_when)
funnel = analysis.funnel_frame(summary)
inp, out = summary["input"], summary["output"]
n_in, n_out, n_rej = int(inp.get("docs") or 0), int(out.get("docs") or 0), int(summary["rejected"])
n_removed = int(funnel["removed"].sum()) if not funnel.empty else 0

cols = st.columns(5)
ui.stat_card(cols[0], "Input documents", ui.fmt_int(n_in), f"{ui.fmt_bytes(inp.get('bytes'))} read")
ui.stat_card(
    cols[1], "Kept", ui.fmt_int(n_out), f"{ui.fmt_pct(n_out, n_in)} of input", help="Documents in output/"
)
ui.stat_card(cols[2], "Removed", ui.fmt_int(n_removed), f"{ui.fmt_pct(n_removed, n_in)} of input")
ui.stat_card(
    cols[3],
    "Rejected",
    ui.fmt_int(n_rej),
    f"{ui.fmt_pct(n_rej, n_in)} unreadable",
    help="Input records that could not be read (rejected/)",
)
tokens, how = output_tokens(path, summary)
ui.stat_card(
    cols[4],
    "Output size",
    ui.fmt_bytes(out.get("bytes")),
    tokens_label(tokens, how),
    help=f"Tokens {HOW[how]}.",
)

inv = summary.get("invariant") or {}
balance = n_out + n_removed + n_rej
if n_in and balance != n_in:
    st.warning(
        f"The ledger does not balance: input {n_in:,} ≠ kept {n_out:,} + removed {n_removed:,} + "
        f"rejected {n_rej:,} = {balance:,}.",
        icon="⚠️",
    )
elif inv and not inv.get("ok", True):
    st.warning("summary.json marks the invariant check as failed.", icon="⚠️")

st.subheader("Funnel")
if funnel.empty:
    st.info("summary.json lists no steps.")
else:
    long = funnel.melt(
        id_vars=["step"], value_vars=["kept", "removed"], var_name="outcome", value_name="docs"
    )
    order = list(funnel["step"])
    chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("step:N", sort=order, title=None),
            x=alt.X("docs:Q", title="documents", stack="zero"),
            color=alt.Color(
                "outcome:N", scale=ui.outcome_scale(["kept", "removed"]), legend=alt.Legend(orient="top")
            ),
            order=alt.Order("outcome:N", sort="ascending"),
            tooltip=["step", "outcome", alt.Tooltip("docs:Q", format=",")],
        )
        .properties(height={"step": 30})
    )
    st.altair_chart(chart, width="stretch")
    table = funnel.copy()
    if (table["op"] == table["step"]).all():
        table = table.drop(columns="op")
    table["removed %"] = (100 * table["removed"] / table["in"].where(table["in"] > 0)).round(2)
    table["docs/s"] = (table["in"] / table["seconds"].where(table["seconds"] > 0)).round(0)
    per_token, tokens_how = bytes_per_token(path, summary)
    if "bytes_kept" in table:  # runs made before the ledger counted bytes per step have no such column
        table[TOKENS_COL] = (table["bytes_kept"] / per_token).round(0)
    st.dataframe(
        markup.frame(table),
        hide_index=True,
        column_config={
            "in": st.column_config.NumberColumn("in", format="localized"),
            "kept": st.column_config.NumberColumn("kept", format="localized"),
            "removed": st.column_config.NumberColumn("removed", format="localized"),
            "removed %": st.column_config.ProgressColumn(
                "removed %", min_value=0, max_value=100, format="%.1f%%"
            ),
            "seconds": st.column_config.NumberColumn("seconds", format="%.1f"),
            "docs/s": st.column_config.NumberColumn("docs/s", format="localized"),
            TOKENS_COL: st.column_config.NumberColumn(
                TOKENS_COL, format="localized", help=f"Tokens the step kept, {HOW[tokens_how]}."
            ),
        },
    )
    bytes_cols = [c for c in funnel.columns if c.startswith("bytes")]
    st.caption(
        f"Bytes: {ui.fmt_bytes(inp.get('bytes'))} in → {ui.fmt_bytes(out.get('bytes'))} out"
        + (f" ({ui.fmt_pct(out.get('bytes') or 0, inp.get('bytes') or 0)} kept)" if inp.get("bytes") else "")
        + ("" if bytes_cols else ". The ledger records no bytes per step.")
    )

left, right = st.columns(2)
with left:
    st.subheader("Removed by reason")
    reasons = analysis.reasons_frame(summary)
    if reasons.empty:
        st.info("Nothing was removed.")
    else:
        reasons["label"] = reasons["step"] + " · " + reasons["reason"]
        chart = (
            alt.Chart(reasons)
            .mark_bar()
            .encode(
                y=alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelLimit=320)),
                x=alt.X("docs:Q", title="documents"),
                color=alt.Color(
                    "step:N", scale=ui.step_scale(list(dict.fromkeys(reasons["step"]))), legend=None
                ),
                tooltip=["step", "reason", alt.Tooltip("docs:Q", format=",")],
            )
            .properties(height={"step": 24})
        )
        st.altair_chart(chart, width="stretch")
with right:
    st.subheader("Time per step")
    if funnel.empty or funnel["seconds"].sum() == 0:
        st.info("No timings recorded.")
    else:
        chart = (
            alt.Chart(funnel)
            .mark_bar(color="#264653")
            .encode(
                y=alt.Y("step:N", sort=list(funnel["step"]), title=None),
                x=alt.X("seconds:Q", title="seconds"),
                tooltip=["step", alt.Tooltip("seconds:Q", format=",.1f")],
            )
            .properties(height={"step": 30})
        )
        st.altair_chart(chart, width="stretch")

extra = {k: summary[k] for k in ("languages", "pii", "dedup", "decontamination") if summary.get(k)}
if extra:
    with st.expander("Other ledger sections (languages, PII, dedup, …)"):
        st.json(extra, expanded=1)

st.subheader("Resolved recipe")
recipe = ui.recipe_text(path)
if recipe:
    st.caption("`recipe.resolved.yaml`: the recipe with every default filled in.")
    st.code(recipe, language="yaml", height=360)
else:
    st.info("This run folder has no recipe.resolved.yaml.")
