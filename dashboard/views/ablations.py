"""Ablations page: bits per byte against training tokens per eval domain with seed bands, delta bpb
against the baseline with 95% CIs per budget and the multiplicity-adjusted verdict, multipliers with
CIs (extrapolated ones marked, never shown as values), the controls (positive and negative), what each
eval domain scored, the scale-transfer table of a scale study and the joint fit's status, from an
ablation's results.json. Text that comes from the file goes through dashboard/markup.py."""

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
scale = ablations.scale_study(path)
if scale is not None:  # a scale study: its transfer table, then one size's ablation below
    sizes = list(scale.get("sizes") or {})
    st.subheader("Rank agreement across model sizes")
    st.caption(
        "Does the ranking of the variants found with the smaller model hold one size up? Per eval domain, "
        "at each size's top budget (the same tokens per parameter): Kendall's τ between the two rankings "
        "(1 = same order, 0 = unrelated, −1 = reversed) with a 95% bootstrap interval over seeds, and the "
        "share of variant pairs both sizes order the same way (DataDecide's decision accuracy)."
    )
    st.dataframe(markup.frame(ablations.transfer_frame(scale)), hide_index=True, width="stretch")
    if not sizes:
        st.stop()
    size = st.segmented_control("Model size", sizes, default=sizes[0], key="size") or sizes[0]
    path = path / size
try:
    results = load_results(path)
except ResultsError as e:
    st.error(str(e))
    st.stop()
about = " · ".join(
    f"{k} **{markup.text(results[k])}**" for k in ("name", "model", "baseline") if results.get(k)
)
st.caption(
    f"{about} · wall time {results['wall_seconds'] / 60:.1f} min · {markup.code(path / 'results.json')}"
)
if results.get("metric"):  # instruction ablations (training/instruct_ablate.py) say what bpb and budgets mean
    st.caption(
        f"metric: {markup.text(results['metric'])} · budgets: {markup.text(results.get('budget_unit', 'training tokens'))}"
    )
adjust = ablations.adjust_method(results)
st.caption(
    f"Verdicts: a difference is called resolved only after the {markup.text(adjust)} multiplicity adjustment over "
    "the whole comparisons table."
    if adjust
    else "Verdicts: this results.json has no multiplicity-adjusted verdicts (written before `resolved`); the "
    "verdicts below read each unadjusted 95% CI on its own."
)

st.subheader("Controls")
controls = ablations.controls_frame(results)
if controls.empty:
    st.warning("This ablation has no controls: a null result cannot be told from an insensitive setup.")
else:
    st.caption(
        "Positive: a known effect the setup must resolve. Negative (A/A): two variants of the same kind of "
        "data that must come out equal; a failure means the method reports differences that are not there."
    )
    for c in controls.itertuples():
        (st.success if c.passed else st.warning)(
            f"{'PASSED' if c.passed else 'FAILED'} · {markup.text(c.kind)} · **{markup.text(c.control)}** · "
            f"{markup.text(c.detail, 600)}"
        )
if controls.empty or (controls["kind"] != "negative").all():
    st.caption("No negative (A/A) control in this file: its false-positive rate is not measured.")

st.subheader("What each eval domain scored")
scored = ablations.evals_frame(results)
if scored.empty:
    st.caption(
        "This results.json predates `evals.<name>`: the documents each domain scored are not recorded."
    )
else:
    st.dataframe(
        markup.frame(scored),
        hide_index=True,
        width="stretch",
        column_config={
            "docs": st.column_config.NumberColumn("documents scored", format="%d"),
            "bytes": st.column_config.NumberColumn("bytes scored", format="%d"),
            "sources": st.column_config.TextColumn("documents per source", width="large"),
            "out_of_pool": st.column_config.CheckboxColumn("out of pool"),
        },
    )
    st.caption("Out of pool: the domain's text comes from sources that never enter the training sample.")
if scale is None and not (tf := ablations.transfer_frame(results)).empty:  # a scale folder showed it above
    st.subheader("Rank agreement across model sizes")
    st.dataframe(markup.frame(tf), hide_index=True, width="stretch")

evals = ablations.eval_names(results)
ev = (
    st.segmented_control(
        "Eval domain", evals, default=evals[0], key="eval", bind="query-params", format_func=markup.text
    )
    or evals[0]
)
band = ablations.seed_band(results, ev)
variants = list(results["variants"])
color = alt.Color(
    "variant:N",
    scale=alt.Scale(domain=variants, scheme="tableau10"),
    legend=alt.Legend(orient="top", title=None, labelLimit=0, columns=4),  # labelLimit 0: never cut a name
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
    pair_color = alt.Color("pair:N", legend=alt.Legend(orient="top", title=None, labelLimit=0, columns=3))
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
    st.caption(
        "Bars: the 95% CI of each comparison (method in results.json `ci_method`); the verdict column is the "
        "multiplicity-adjusted one when the file has it (`resolved`), so a bar clear of 0 can still read "
        "'not resolved'."
    )
    st.dataframe(
        markup.frame(comps.drop(columns=["pair", "eval"])),
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
        "those rows say **extrapolated: not a result**. A CI end written as a bound (e.g. `< 0.12x` or "
        "`> 8x`) is open-ended: that end of the Δ bpb CI lies beyond the baseline's smallest (or largest) "
        "budget, so the curve only says the multiplier is below (or above) that value."
    )
    st.dataframe(
        markup.frame(mult[["variant", "tokens", "multiplier", "ci95", "note"]]),
        hide_index=True,
        width="stretch",
        column_config={
            "tokens": st.column_config.NumberColumn("tokens", format="%d"),
            "ci95": st.column_config.TextColumn("95% CI", width="medium"),
            "note": st.column_config.TextColumn("note", width="large"),
        },
    )

ok, line = ablations.fit_status(results)
(st.info if ok else st.warning)(markup.text(line, limit=2000))
