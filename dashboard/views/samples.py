"""Samples page: browse kept, removed and rejected documents with their reason and metrics.

Every filter is a query parameter, so `/samples?kind=removed&step=roots_filters&doc=3` is a link to
one document. Texts are shown verbatim (never as markdown) and long ones are cut with an expander.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import analysis, data, documents, markup, ui

ANY = "(any)"

args, label, path, summary = ui.run_page("Samples")

kind = (
    st.segmented_control(
        "Documents",
        [data.KEPT, data.REMOVED, data.REJECTED],
        default=data.REMOVED,
        key="kind",
        bind="query-params",
    )
    or data.REMOVED
)


def _nav(n: int) -> int:
    """Previous / next buttons and the index box (query parameter `doc`, 1-based); returns the 0-based index."""

    def move(d: int) -> None:
        st.session_state["doc"] = min(max(1, int(st.session_state.get("doc", 1)) + d), n)

    if int(st.session_state.get("doc", 1)) > n:
        st.session_state["doc"] = 1
    c1, c2, c3, _ = st.columns([1, 1, 2, 4], vertical_alignment="bottom")
    c1.button("◀ Previous", on_click=move, args=(-1,), disabled=n <= 1, key="prev", width="stretch")
    c2.button("Next ▶", on_click=move, args=(1,), disabled=n <= 1, key="next", width="stretch")
    i = c3.number_input(f"Document (of {n:,})", 1, max(n, 1), key="doc", bind="query-params")
    return int(i) - 1


if kind == data.REJECTED:
    rej = ui.rejected(path, args.show_pii)
    st.caption(f"{summary['rejected']:,} unreadable input records in this run; {len(rej):,} read.")
    if rej.empty:
        st.info("No rejected records.")
        st.stop()
    errors = [ANY] + sorted(rej["error"].astype(str).unique())
    err = st.selectbox("Error", errors, key="error", bind="query-params")
    sub = rej if err == ANY else rej[rej["error"].astype(str) == err]
    i = _nav(len(sub))
    rec = sub.iloc[i]
    left, right = st.columns([3, 1])
    with left:
        ui.show_text(str(rec["raw"]))
    with right:
        st.markdown(f"**Error**  \n{markup.text(rec['error'])}")
        where = markup.code(f"{rec['source']}:{rec['line']}")
        st.markdown(f"**Where**  \n{where}")
    st.stop()

frame = ui.sample(path, args.show_pii)
frame = frame[frame["kind"] == kind]
st.caption(ui.sample_caption(ui.sample(path, args.show_pii), summary))
if frame.empty:
    st.info(f"No {kind} documents in this run folder.")
    st.stop()


def _options(col: str, sub: pd.DataFrame) -> list[str]:
    return [ANY] + (sorted(sub[col].dropna().astype(str).unique()) if col in sub else [])


cols = st.columns(4)
filters: dict[str, str | None] = {}
for box, col in zip(cols, ["step", "reason", "lang", "source"]):
    if kind == data.KEPT and col in ("step", "reason"):
        continue
    opts = _options(col, documents.filter_docs(frame, **{k: v for k, v in filters.items() if v}))
    value = box.selectbox(col.capitalize(), opts, key=col, bind="query-params")
    filters[col] = None if value in (ANY, None) else value
metrics = data.metric_columns(frame)
metric, lo, hi = None, None, None
if metrics:
    m1, m2 = st.columns([1, 3])
    metric = m1.selectbox("Metric range", [ANY] + metrics, key="metric", bind="query-params")
    if metric and metric != ANY:
        vals = pd.to_numeric(frame[metric], errors="coerce").dropna()
        if len(vals) and vals.min() < vals.max():
            lo, hi = m2.slider(
                markup.text(metric),
                float(vals.min()),
                float(vals.max()),
                (float(vals.min()), float(vals.max())),
                format="%.4g",
                key=f"range_{metric}",
            )
    else:
        metric = None
sub = documents.filter_docs(frame, **filters, metric=metric, lo=lo, hi=hi)
if sub.empty:
    st.warning("No document matches these filters.")
    st.stop()
i = _nav(len(sub))
doc = sub.iloc[i]

left, right = st.columns([2, 1], gap="medium")
with left:
    head = f"**{markup.code(doc['id'])}**"
    if kind == data.REMOVED:
        head += f" · removed by **{markup.text(doc['step'])}** · reason **{markup.code(doc['reason'])}**"
    st.markdown(head)
    ui.show_text(str(doc["text"]), int(doc["text_len"]))
with right:
    st.markdown("**Document**")
    facts = {
        "language": doc.get("lang"),
        "source": doc.get("source"),
        "characters": f"{int(doc['text_len']):,}",
        "bytes": f"{int(doc['bytes']):,}",
    }
    st.dataframe(
        markup.frame(
            pd.DataFrame({"value": {k: str(v) for k, v in facts.items() if v is not None and pd.notna(v)}})
        ),
        width="stretch",
        column_config={"_index": st.column_config.TextColumn("")},
    )
# Metadata under both columns, at the page's full width: in the narrow right column long keys pushed
# the value column off the right edge.
own = set(data.FRAME_COLUMNS)
meta = {k: doc[k] for k in sub.columns if k not in own and pd.notna(doc[k])}
if meta:
    st.markdown("**Metadata**")
    ths: dict[str, list] = {}  # a metric may have two bounds (roots.n_words: min and max)
    for t in analysis.thresholds_from_summary(summary):
        ths.setdefault(t.metric, []).append(t)
    rows = []
    for k, v in meta.items():
        value = f"{v:.4g}" if isinstance(v, float) else str(v)
        failed = [t for t in ths.get(k, []) if analysis.violates(sub.loc[[doc.name]], t).iloc[0]]
        if failed:
            limit = failed[0].per_lang.get(str(doc.get("lang")), failed[0].value)
            value = f"✗ {value} (keeps " + ("≤" if failed[0].keeps_below else "≥") + f" {limit:g})"
        rows.append({"key": k, "value": value})
    st.dataframe(
        markup.frame(pd.DataFrame(rows)),
        hide_index=True,
        width="stretch",
        height=min(600, 36 * (len(rows) + 1)),
        key="metadata",
        column_config={
            "key": st.column_config.TextColumn("key", width="medium"),
            "value": st.column_config.TextColumn("value", width="large"),
        },
    )
    st.caption("✗: fails the recipe's threshold (the value for this document's language).")
