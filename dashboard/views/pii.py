"""PII page: what was scrubbed, per kind, and scrubbed documents with their tags highlighted.

Original values are never shown unless the dashboard was started with `--show-pii` (and the run kept
them in `pii.*original*` metadata); without the flag those keys are dropped when the sample is read.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import documents, markup, ui

args, label, path, summary = ui.run_page("PII")


def _cards(counts: pd.DataFrame, n_sample: int = 0) -> None:
    """Occurrences per kind: summary.json's exact count, else ≈ the sample's estimate; documents with the
    kind are estimated from the sample (n = its size)."""
    counts = counts.sort_values("summary", ascending=False, na_position="last")
    cols = st.columns(min(len(counts), 6))
    for col, row in zip(cols, counts.itertuples()):
        exact = pd.notna(row.summary)
        value = ui.fmt_int(row.summary) if exact else f"≈{ui.fmt_int(row.sample_est)}"
        note = f"in ≈{row.docs_est:,.0f} docs (est., n={n_sample:,})" if row.docs_est else None
        where = f"estimated from a uniform sample of {n_sample:,} documents"
        helptext = f"occurrences: summary.json (exact) · documents: {where}" if exact else where
        ui.stat_card(col, markup.text(row.kind), value, note, help=helptext)


# First paint: the cards from summary.json; the sample (for the per-document estimates) fills them in.
cards = st.empty()
early = documents.pii_frame(summary, pd.DataFrame())
if not early.empty:
    with cards.container():
        _cards(early)
frame = ui.sample(path, args.show_pii)
counts = documents.pii_frame(summary, frame)
if counts.empty:
    st.info(
        "No PII was found or recorded in this run (summary.json `pii` and `pii.<kind>` metadata are empty)."
    )
    st.stop()
with cards.container():
    _cards(counts, len(frame))
counts = counts.sort_values("summary", ascending=False, na_position="last")
st.caption(ui.sample_caption(frame, summary))

left, right = st.columns([3, 2])
with left:
    st.subheader("Found per kind")
    long = counts.melt(
        id_vars="kind", value_vars=["summary", "sample_est"], var_name="source", value_name="count"
    )
    long["source"] = long["source"].map(
        {"summary": "whole run (ledger, exact)", "sample_est": "sample (est.)"}
    )
    chart = (
        alt.Chart(long.dropna())
        .mark_bar()
        .encode(
            y=alt.Y("kind:N", title=None, sort="-x"),
            x=alt.X("count:Q", title="occurrences"),
            yOffset="source:N",
            color=alt.Color(
                "source:N",
                scale=alt.Scale(range=["#264653", "#e9c46a"]),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=["kind", "source", alt.Tooltip("count:Q", format=",.0f")],
        )
        .properties(height={"step": 18})
    )
    st.altair_chart(chart, width="stretch")
with right:
    st.subheader("Counts")
    st.dataframe(
        markup.frame(
            counts.round({"sample_est": 0, "docs_est": 0}).rename(
                columns={"summary": "whole run (exact)", "sample_est": "≈ from sample", "docs_est": "≈ docs"}
            )
        ),
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="localized")
            for c in ("whole run (exact)", "≈ from sample", "≈ docs")
        },
    )
    if args.show_pii:
        st.warning("Started with `--show-pii`: original values are shown where the run kept them.", icon="🔓")
    else:
        st.caption(
            "🔒 Original values are hidden. Start with `--show-pii` to reveal them where the run kept them."
        )

st.subheader("Scrubbed documents")
pii_cols = documents.pii_columns(frame)
has_pii = frame[pii_cols].fillna(0).sum(axis=1) > 0 if pii_cols else pd.Series(False, index=frame.index)
scrubbed = frame[has_pii]
if scrubbed.empty:
    st.info("No document in the sample has `pii.<kind>` counts.")
    st.stop()
kinds = ["any"] + [c[4:] for c in pii_cols]
kind = (
    st.segmented_control(
        "Kind", kinds, default="any", key="pii_kind", bind="query-params", format_func=markup.text
    )
    or "any"
)
if kind != "any":
    scrubbed = scrubbed[scrubbed[f"pii.{kind}"].fillna(0) > 0]
per_page = 5
n_pages = max(1, -(-len(scrubbed) // per_page))
page_no = st.number_input(
    f"Page (of {n_pages}; {len(scrubbed):,} scrubbed docs in the sample)", 1, n_pages, 1, key="pii_page"
)
for _, doc in scrubbed.iloc[(page_no - 1) * per_page : page_no * per_page].iterrows():
    with st.container(border=True):
        found = {c[4:]: int(doc[c]) for c in pii_cols if pd.notna(doc[c]) and doc[c]}
        where = "kept" if doc["kind"] == "kept" else f"removed by {doc['step']}"
        st.markdown(
            f"**{markup.code(doc['id'])}** · {markup.text(where)} · "
            + ", ".join(f"{markup.text(k)} × {v}" for k, v in found.items())
        )
        ui.html_doc(documents.highlight_tags(str(doc["text"])[:5000]))
        originals = {
            c: doc[c] for c in frame.columns if c.startswith("pii") and "original" in c and pd.notna(doc[c])
        }
        if args.show_pii and originals:
            st.json(originals)
