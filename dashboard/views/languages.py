"""Languages page: distribution of `lang`, LID score per language, and the funnel per language."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import analysis, documents, markup, ui

args, label, path, summary = ui.run_page("Languages")

ledger = pd.DataFrame(
    [{"lang": k, "docs": int(v)} for k, v in summary.get("languages", {}).items()], columns=["lang", "docs"]
)
total = int(ledger["docs"].sum()) if not ledger.empty else 0
if not ledger.empty:  # the cards come from summary.json: drawn before the sample is read
    top = ledger.sort_values("docs", ascending=False)
    cols = st.columns(min(5, len(top)) + 1)
    cols[0].metric("Languages", f"{len(top)}", border=True)
    for col, row in zip(cols[1:], top.itertuples()):
        ui.stat_card(col, markup.code(row.lang), ui.fmt_int(row.docs), ui.fmt_pct(row.docs, total))

frame = ui.sample(path, args.show_pii)
funnel = documents.lang_funnel(frame)
if ledger.empty and (funnel.empty or set(funnel["lang"]) == {"—"}):
    st.info("This run records no languages (no `language_id` step and no `lang` metadata).")
    st.stop()

left, right = st.columns(2)
with left:
    st.subheader("Documents per language")
    if not ledger.empty:
        st.caption("From summary.json (`languages`): every document the language step saw.")
        data_ = ledger
    else:
        st.caption("Estimated from the sample.")
        data_ = funnel.groupby("lang", as_index=False)["docs"].sum()
    if len(data_) > 25:
        st.caption(f"The 25 largest of {len(data_)} languages.")
        data_ = data_.nlargest(25, "docs")
    chart = (
        alt.Chart(data_)
        .mark_bar(color="#264653")
        .encode(
            y=alt.Y("lang:N", sort="-x", title=None),
            x=alt.X("docs:Q", title="documents"),
            tooltip=["lang", alt.Tooltip("docs:Q", format=",")],
        )
        .properties(height={"step": 22})
    )
    st.altair_chart(chart, width="stretch")
with right:
    st.subheader("LID score per language")
    q = documents.quantiles_by(frame, "lang_score", "lang").head(25)
    if q.empty:
        st.info("No `lang_score` in the metadata.")
    else:
        st.caption(
            "Box: 25th–75th percentile, dot: median, whiskers: 5th–95th percentile (a language with one "
            "document is its dot alone; n in the tooltip)."
        )
        base = alt.Chart(q).encode(y=alt.Y("lang:N", sort=list(q["lang"]), title=None))
        layers = [
            base.mark_rule(color="#8d99ae").encode(
                x=alt.X("p5:Q", title="lang_score", scale=alt.Scale(zero=False)), x2="p95:Q"
            ),
            base.mark_bar(color=ui.KEPT_COLOR, size=14).encode(
                x="p25:Q", x2="p75:Q", tooltip=["lang", "n", "p5", "median", "p95"]
            ),
            base.mark_tick(color="white", thickness=2, size=14).encode(x="median:Q"),
            # a language with one document has a zero-width box: the dot keeps it visible
            base.mark_point(filled=True, color=ui.KEPT_COLOR, size=40).encode(
                x="median:Q", tooltip=["lang", "n", "median"]
            ),
        ]
        ths = [t for t in analysis.thresholds_from_summary(summary) if t.metric == "lang_score"]
        if ths:
            layers.append(
                alt.Chart(pd.DataFrame({"x": [ths[0].value]}))
                .mark_rule(color="#1d3557", strokeDash=[4, 3])
                .encode(x="x:Q")
            )
        st.altair_chart(alt.layer(*layers).properties(height={"step": 22}), width="stretch")

st.subheader("Funnel per language")
st.caption(ui.sample_caption(frame, summary))
if funnel.empty:
    st.info("No documents in the sample.")
else:
    steps = [s.get("name") for s in summary["steps"]]
    outcomes = (
        ["kept"]
        + [s for s in steps if s in set(funnel["outcome"])]
        + sorted(set(funnel["outcome"]) - set(steps) - {"kept"})
    )
    totals = funnel.groupby("lang")["docs"].sum().sort_values(ascending=False)
    if len(totals) > 25:  # the long tail of a multilingual crawl becomes one row
        tail = set(totals.index[24:])
        funnel = funnel.assign(lang=funnel["lang"].where(~funnel["lang"].isin(tail), f"{len(tail)} others"))
        funnel = funnel.groupby(["lang", "outcome"], as_index=False)["docs"].sum()
        totals = funnel.groupby("lang")["docs"].sum().sort_values(ascending=False)
    order = list(totals.index)
    chart = (
        alt.Chart(funnel)
        .mark_bar()
        .encode(
            y=alt.Y("lang:N", sort=order, title=None),
            x=alt.X(
                "docs:Q",
                stack="normalize",
                title="share of the language's documents",
                axis=alt.Axis(format="%"),
            ),
            color=alt.Color(
                "outcome:N", scale=ui.step_scale(outcomes), legend=alt.Legend(orient="top", title=None)
            ),
            order=alt.Order("order:Q"),
            tooltip=["lang", "outcome", alt.Tooltip("docs:Q", format=",")],
        )
        .transform_calculate(order=f"indexof({outcomes!r}, datum.outcome)")
        .properties(height={"step": 24})
    )
    st.altair_chart(chart, width="stretch")
    pivot = funnel.pivot_table(index="lang", columns="outcome", values="docs", aggfunc="sum", fill_value=0)
    pivot = pivot[[o for o in outcomes if o in pivot.columns]]
    pivot.insert(0, "total", pivot.sum(axis=1))
    pivot["kept %"] = (100 * pivot.get("kept", 0) / pivot["total"]).round(1)
    st.dataframe(
        markup.frame(pivot.loc[order]),
        column_config={
            "kept %": st.column_config.ProgressColumn("kept %", min_value=0, max_value=100, format="%.1f%%")
        },
    )
