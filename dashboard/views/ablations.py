"""Ablations page: loss against training tokens (log-log) per variant with fitted scaling curves,
seed spread, effective-data multipliers and throughput, from an ablation folder's results.json."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import ablations, ui

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
    results = ui.results(path)
except ValueError as e:
    st.error(str(e))
    st.stop()
about = " · ".join(f"{k} **{results[k]}**" for k in ("name", "model", "eval_set") if results.get(k))
st.caption((about + " · " if about else "") + f"`{path / 'results.json'}`")
points, fits = ablations.points_frame(results), ablations.fits_frame(results)
if points.empty:
    st.info("results.json has no points yet.")
    st.stop()
variants = list(dict.fromkeys(points["variant"]))
color = alt.Color(
    "variant:N",
    scale=alt.Scale(domain=variants, scheme="tableau10"),
    legend=alt.Legend(orient="top", title=None),
)

fitted = (
    fits["metric"].iloc[0]
    if not fits.empty and fits["metric"].iloc[0] in ("eval_loss", "bpb")
    else "eval_loss"
)
metric = (
    st.segmented_control("Loss", ["eval_loss", "bpb"], default=fitted, key="loss", bind="query-params")
    or fitted
)
spread = ablations.seed_spread(results, metric)
st.subheader(f"{metric} vs training tokens")
tok = points["tokens"].dropna()
log_x = alt.Scale(type="log", domain=[float(tok.min()) / 1.15, float(tok.max()) * 1.15], nice=False)
lo_y, hi_y = float(spread["min"].min()), float(spread["max"].max())
log_y = alt.Scale(type="log", domain=[lo_y / 1.01, hi_y * 1.01], nice=False, zero=False)
layers = [
    alt.Chart(spread)
    .mark_rule(strokeWidth=2)
    .encode(
        x=alt.X("tokens:Q", scale=log_x, title="training tokens D"),
        y=alt.Y("min:Q", scale=log_y, title=metric),
        y2="max:Q",
        color=color,
    ),
    alt.Chart(spread)
    .mark_point(filled=True, size=60)
    .encode(
        x="tokens:Q",
        y="mean:Q",
        color=color,
        tooltip=[
            "variant",
            alt.Tooltip("tokens:Q", format=",.0f"),
            alt.Tooltip("mean:Q", format=".4f"),
            alt.Tooltip("std:Q", format=".4f"),
            "seeds",
        ],
    ),
]
curves = ablations.curves_frame(results)
curves = curves[curves["metric"] == metric]
if not curves.empty:
    layers.append(
        alt.Chart(curves)
        .mark_line(strokeWidth=1.5, opacity=0.8)
        .encode(x="tokens:Q", y="loss:Q", color=color, detail="variant:N")
    )
st.altair_chart(alt.layer(*layers).interactive(), width="stretch", height=380)
st.caption(
    "Points: mean over seeds; bars: min–max over seeds"
    + (
        "; lines: fitted L(D) = E + B·D^(−β)."
        if not curves.empty
        else f"; results.json has no fit of {metric}."
    )
)

left, right = st.columns(2)
with left:
    st.subheader("Fits")
    if fits.empty:
        st.info("No fits in results.json.")
    else:
        st.dataframe(
            fits,
            hide_index=True,
            column_config={
                "E": st.column_config.NumberColumn(format="%.4f", help="irreducible loss"),
                "B": st.column_config.NumberColumn(format="%.3g"),
                "beta": st.column_config.NumberColumn("β", format="%.4f"),
                "r2": st.column_config.NumberColumn("R²", format="%.4f"),
                "ok": st.column_config.CheckboxColumn("ok", help="the fit has no warnings"),
            },
        )
with right:
    st.subheader("Throughput")
    tps = points.dropna(subset=["tokens_per_s"])
    if tps.empty:
        st.info("No tokens_per_s recorded.")
    else:
        chart = alt.Chart(tps).mark_bar().encode(
            y=alt.Y("variant:N", title=None, sort=variants),
            x=alt.X("mean(tokens_per_s):Q", title="tokens / s"),
            color=alt.Color("variant:N", scale=alt.Scale(domain=variants, scheme="tableau10"), legend=None),
            tooltip=["variant", alt.Tooltip("mean(tokens_per_s):Q", format=",.0f")],
        ) + alt.Chart(tps).mark_errorbar(extent="ci").encode(
            y="variant:N", x=alt.X("tokens_per_s:Q", title="tokens / s")
        )
        st.altair_chart(chart.properties(height={"step": 34}), width="stretch")

st.subheader("Effective-data multipliers")
if fits.empty:
    st.info("Multipliers need fitted curves.")
else:
    names = list(fits["variant"])
    default = "baseline" if "baseline" in names else names[0]
    baseline = st.selectbox(
        "Baseline", names, index=names.index(default), key="baseline", bind="query-params"
    )
    mult = ablations.effective_multipliers(results, baseline)
    others = mult[mult["variant"] != baseline]
    if not others.empty:
        st.caption(
            f"How many tokens of **{baseline}** data one token of each variant is worth (from the fits): "
            "> 1× means the variant reaches the same loss with less data."
        )
        chart = (
            alt.Chart(others)
            .mark_line(point=True)
            .encode(
                x=alt.X("tokens:Q", scale=log_x, title="variant's training tokens D"),
                y=alt.Y("multiplier:Q", title="effective-data multiplier ×", scale=alt.Scale(zero=False)),
                color=color,
                tooltip=[
                    "variant",
                    alt.Tooltip("tokens:Q", format=",.0f"),
                    alt.Tooltip("multiplier:Q", format=".2f"),
                ],
            )
        )
        rule = (
            alt.Chart(pd.DataFrame({"y": [1.0]}))
            .mark_rule(strokeDash=[4, 3], color="#8d99ae")
            .encode(y="y:Q")
        )
        st.altair_chart(chart + rule, width="stretch", height=280)
        pivot = others.pivot_table(index="variant", columns="tokens", values="multiplier")
        pivot.columns = [f"{c:,.0f} tok" for c in pivot.columns]
        st.dataframe(pivot.style.format("{:.2f}×"))
comparisons = ablations.comparisons_frame(results)
if not comparisons.empty:
    st.subheader("Comparisons (from results.json)")
    st.dataframe(comparisons, hide_index=True)
