"""Ablations page: bits per byte against training tokens per eval domain with seed bands, delta bpb
against the baseline with 95% CIs per budget, multipliers with CIs (extrapolated ones marked, never
shown as values), the positive controls and the joint fit's status, from an ablation's results.json."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import ablations, markup, ui
from runfolder.results import ResultsError, load_results

args = ui.app_args()
st.title("Ablations")
if not args.ablations:
    st.info(
        "No ablation folder was given. Pass a folder with results.json: `curate dashboard runs/ablation-x`."
    )
    st.stop()
labels = list(args.ablations)
label = st.selectbox("Ablation", labels, key="ablation", bind="query-params")
label = label if label in args.ablations else labels[0]
path = args.ablations[label]
try:
    results = load_results(path)
except ResultsError as e:
    st.error(str(e))
    st.stop()
about = " · ".join(f"{k} **{markup.text(results[k])}**" for k in ("name", "model", "baseline") if results.get(k))
st.caption(f"{about} · wall time {results['wall_seconds'] / 60:.1f} min · {markup.code(path / 'results.json')}")
if results.get("metric"):  # instruction ablations (training/instruct_ablate.py) say what bpb and budgets mean
    st.caption(f"metric: {markup.text(results['metric'])} · "
               f"budgets: {markup.text(results.get('budget_unit', 'training tokens'))}")

st.subheader("Positive controls")
controls = ablations.controls_frame(results)
if controls.empty:
    st.warning(
        "This ablation has no positive controls: a null result cannot be told from an insensitive setup."
    )
else:
    for c in controls.itertuples():
        (st.success if c.passed else st.warning)(
            f"{'PASSED' if c.passed else 'FAILED'} · **{markup.text(c.control)}** · {markup.text(c.detail)}"
        )

evals = list(results["evals"])
ev = (st.segmented_control("Eval domain", evals, default=evals[0], key="eval", bind="query-params",
                         format_func=markup.text) or evals[0])
band = ablations.seed_band(results, ev)
variants = list(results["variants"])
color = alt.Color(
    "variant:N",
    scale=alt.Scale(domain=variants, scheme="tableau10"),
    legend=alt.Legend(orient="top", title=None),
)
log_x = alt.Scale(type="log", base=2, nice=False)
# prompt use (instruction ablations) is a difference of two bpb, not a bpb: say so on the axis
is_diff = ev.endswith("prompt_use")
metric = "prompt use (Δ bpb: own prompt − another prompt)" if is_diff else "bits per byte"
st.subheader(f"{metric} vs training tokens · {markup.text(ev)}")
base = alt.Chart(band).encode(x=alt.X("tokens:Q", scale=log_x, title="training tokens"), color=color)
chart = alt.layer(
    base.mark_area(opacity=0.18).encode(
        y=alt.Y("min:Q", scale=alt.Scale(zero=False), title="Δ bpb" if is_diff else "bpb"),
        y2="max:Q",
    ),
    base.mark_line().encode(y="mean:Q"),
    base.mark_point(filled=True, size=40).encode(
        y="mean:Q",
        shape=alt.Shape(
            "repeats:N",
            title="repeats data",
            scale=alt.Scale(domain=[False, True], range=["circle", "cross"]),
        ),
        tooltip=[
            "variant",
            alt.Tooltip("tokens:Q", format=",.0f"),
            alt.Tooltip("mean:Q", format=".4f"),
            "seeds",
            "repeats",
        ],
    ),
)
st.altair_chart(chart, width="stretch", height=360)
st.caption(
    "Line: mean over seeds; band: min–max over seeds; a cross marks a point that repeats data (epochs > 1)."
)

st.subheader(f"Δ bpb vs baseline, 95% CI · {markup.text(ev)}")
comps = ablations.comparisons_frame(results, ev)
if comps.empty:
    st.info("No comparisons for this eval domain.")
else:
    comps["pair"] = comps["variant"] + " − " + comps["baseline"]
    pair_color = alt.Color("pair:N", legend=alt.Legend(orient="top", title=None))
    cb = alt.Chart(comps).encode(x=alt.X("tokens:Q", scale=log_x, title="training tokens"), color=pair_color)
    bars = alt.layer(
        cb.mark_errorbar(ticks=True).encode(
            y=alt.Y("lo:Q", title="Δ bpb (negative = variant better)"), y2="hi:Q"
        ),
        cb.mark_point(filled=True).encode(
            y="delta_bpb:Q",
            tooltip=[
                "pair",
                alt.Tooltip("tokens:Q", format=",.0f"),
                alt.Tooltip("delta_bpb:Q", format="+.4f"),
                alt.Tooltip("lo:Q", format="+.4f"),
                alt.Tooltip("hi:Q", format="+.4f"),
                "verdict",
            ],
        ),
        alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(strokeDash=[4, 3], color="#8d99ae").encode(y="y:Q"),
    )
    st.altair_chart(bars, width="stretch", height=320)
    st.dataframe(
        comps.drop(columns=["pair", "eval"]),
        hide_index=True,
        column_config={
            "delta_bpb": st.column_config.NumberColumn("Δ bpb", format="%+.4f"),
            "lo": st.column_config.NumberColumn("CI lo", format="%+.4f"),
            "hi": st.column_config.NumberColumn("CI hi", format="%+.4f"),
        },
    )

st.subheader(f"Effective-data multipliers · {markup.text(ev)}")
mult = ablations.multipliers_frame(results, ev)
if mult.empty:
    st.info("No multipliers for this eval domain.")
else:
    st.caption(
        "Tokens of the baseline that one token of the variant is worth, read off the baseline's *measured* "
        "curve (interpolated, 95% CI from the Δ bpb CI). Outside the measured range only a bound is known: "
        "those rows say **extrapolated: not a result**."
    )
    table = mult.pivot_table(index="variant", columns="tokens", values="shown", aggfunc="first")
    table.columns = [f"{c:,.0f} tok" for c in table.columns]
    st.dataframe(table)

ok, line = ablations.fit_status(results)
(st.info if ok else st.warning)(markup.text(line, limit=2000))
