"""Compare runs page: two runs side by side, their funnels and one metric's distributions."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from dashboard import analysis, data, markup, ui

args = ui.app_args()
st.title("Compare runs")
if len(args.runs) < 2:
    st.info("Give the dashboard two or more run folders to compare them: `curate dashboard runs/a runs/b`.")
    st.stop()
labels = list(args.runs)
c1, c2 = st.columns(2)
a = c1.selectbox("Run A", labels, index=0, key="a", bind="query-params")
b = c2.selectbox("Run B", labels, index=1, key="b", bind="query-params")
if a == b:
    st.warning("Pick two different runs.")
    st.stop()
sa, sb = ui.load_summary_or_stop(args.runs[a]), ui.load_summary_or_stop(args.runs[b])


def _numbers(s: dict) -> dict:
    removed = sum(int(x.get("removed") or 0) for x in s["steps"])
    return {
        "Input": int(s["input"].get("docs") or 0),
        "Kept": int(s["output"].get("docs") or 0),
        "Removed": removed,
        "Rejected": int(s["rejected"]),
    }


na, nb = _numbers(sa), _numbers(sb)
for col, name, nums, other in ((c1, a, na, None), (c2, b, nb, na)):
    with col:
        st.caption(
            f"recipe **{markup.text((sa if other is None else sb).get('recipe', '?'))}** · {markup.code(args.runs[name])}"
        )
        grid = st.columns(2) + st.columns(2)
        for card, (k, v) in zip(grid, nums.items()):
            delta = None if other is None else f"{v - other[k]:+,} vs A"
            ui.stat_card(card, k, ui.fmt_int(v), delta)

st.subheader("Funnels")
fa, fb = analysis.funnel_frame(sa).assign(run=f"A · {a}"), analysis.funnel_frame(sb).assign(run=f"B · {b}")
both = pd.concat([fa, fb], ignore_index=True)
if both.empty:
    st.info("Neither run lists steps.")
else:
    inputs = {f"A · {a}": na["Input"] or 1, f"B · {b}": nb["Input"] or 1}
    both["kept % of input"] = 100 * both["kept"] / both["run"].map(inputs)
    order = list(dict.fromkeys(list(fa["step"]) + list(fb["step"])))
    chart = (
        alt.Chart(both)
        .mark_bar()
        .encode(
            y=alt.Y("step:N", sort=order, title=None),
            yOffset="run:N",
            x=alt.X("kept % of input:Q", title="documents left after the step (% of input)"),
            color=alt.Color(
                "run:N", scale=alt.Scale(range=ui.RUN_COLORS), legend=alt.Legend(orient="top", title=None)
            ),
            tooltip=[
                "run",
                "step",
                alt.Tooltip("kept:Q", format=","),
                alt.Tooltip("kept % of input:Q", format=".1f"),
            ],
        )
        .properties(height={"step": 14})
    )
    st.altair_chart(chart, width="stretch")
    table = pd.merge(
        fa[["step", "removed"]], fb[["step", "removed"]], on="step", how="outer", suffixes=(" A", " B")
    )
    table["difference"] = table["removed B"].fillna(0) - table["removed A"].fillna(0)
    table = table.set_index("step").loc[order].reset_index()
    st.dataframe(markup.frame(table), hide_index=True)

st.subheader("Metric distributions")
frame_a = ui.sample(args.runs[a], args.show_pii)
frame_b = ui.sample(args.runs[b], args.show_pii)
metrics = list(dict.fromkeys(data.metric_columns(frame_a) + data.metric_columns(frame_b)))
if not metrics:
    st.info("No document metrics in either run.")
    st.stop()
metric = st.selectbox("Metric", metrics, key="cmp_metric", bind="query-params")
va = pd.to_numeric(frame_a.get(metric), errors="coerce") if metric in frame_a else pd.Series(dtype=float)
vb = pd.to_numeric(frame_b.get(metric), errors="coerce") if metric in frame_b else pd.Series(dtype=float)
allv = pd.concat([va, vb]).dropna()
if allv.empty:
    st.info("Neither sample has this metric.")
    st.stop()
lo, hi = float(allv.quantile(0.005)), float(allv.quantile(0.995))
hi = hi if hi > lo else lo + 1.0
edges = np.linspace(lo, hi, 41)
rows = []
for name, vals, frame in ((f"A · {a}", va, frame_a), (f"B · {b}", vb, frame_b)):
    ok = vals.notna()
    if not ok.any():
        continue
    w = frame.loc[ok, "weight"].astype(float).to_numpy()
    hist, _ = np.histogram(np.clip(vals[ok].to_numpy(), lo, hi), bins=edges, weights=w)
    share = hist / hist.sum() if hist.sum() else hist
    rows += [{"run": name, "start": edges[i], "end": edges[i + 1], "share": share[i]} for i in range(40)]
hist = pd.DataFrame(rows)
chart = (
    alt.Chart(hist)
    .mark_area(opacity=0.45, interpolate="step")
    .encode(
        x=alt.X("start:Q", title=metric),
        y=alt.Y("share:Q", title="share of scored documents", stack=None, axis=alt.Axis(format="%")),
        color=alt.Color(
            "run:N", scale=alt.Scale(range=ui.RUN_COLORS), legend=alt.Legend(orient="top", title=None)
        ),
        tooltip=["run", alt.Tooltip("start:Q", format=".4g"), alt.Tooltip("share:Q", format=".1%")],
    )
)
layers = [chart]
rules = []
for name, s in ((f"A · {a}", sa), (f"B · {b}", sb)):
    rules += [{"run": name, "x": t.value} for t in analysis.thresholds_from_summary(s) if t.metric == metric]
if rules:
    layers.append(
        alt.Chart(pd.DataFrame(rules))
        .mark_rule(strokeWidth=2, strokeDash=[5, 3])
        .encode(
            x="x:Q",
            color=alt.Color("run:N", scale=alt.Scale(range=ui.RUN_COLORS), legend=None),
            tooltip=["run", alt.Tooltip("x:Q", format=".4g")],
        )
    )
st.altair_chart(alt.layer(*layers), width="stretch", height=300)
st.caption(
    "Kept and removed documents together (weighted to each whole run); dashed lines: each run's threshold."
)
