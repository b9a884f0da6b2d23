"""Filters page: each metric's histogram over kept + removed docs against the recipe's threshold.

A what-if slider per threshold shows how many documents (and which languages and sources) a new value
would remove; the chosen values download as a recipe YAML snippet of what changed. The slider moves the
value that applies to the documents shown: on a run whose scored documents are all in one language
that is the language's own value (ROOTS tables are per language), not the top-level one. Values the
recipe does not set (`roots_filters: {}` takes the ROOTS tables) are labelled defaults.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import analysis, data, markup, ui

args, label, path, summary = ui.run_page("Filters")
frame = ui.sample(path, args.show_pii)
thresholds = analysis.thresholds_from_summary(summary)
recipe_params = analysis.recipe_steps(ui.recipe_text(path))
metrics = data.metric_columns(frame)
by_metric: dict[str, list[analysis.Threshold]] = {}
for th in thresholds:
    by_metric.setdefault(th.metric, []).append(th)
ordered = [m for m in dict.fromkeys([t.metric for t in thresholds] + metrics)]
if not ordered:
    st.info("No document metrics (`roots.*`, `quality.*`, `lang_score`, …) in this run's metadata.")
    st.stop()
st.caption(ui.sample_caption(frame, summary) + " Docs removed before a metric's step have no value for it.")
n_sample = len(frame)

families = sorted({m.split(".", 1)[0] if "." in m else m for m in ordered})
c1, c2 = st.columns([3, 1])
chosen_family = (
    c1.segmented_control(
        "Metric family",
        ["all"] + families,
        default="all",
        key="family",
        bind="query-params",
    )
    or "all"
)
only_thresholded = c2.toggle("Only metrics with a threshold", value=False, key="only_th")
shown = [m for m in ordered if chosen_family == "all" or m.split(".", 1)[0] == chosen_family]
if only_thresholded:
    shown = [m for m in shown if m in by_metric]


def _per_lang_text(t: analysis.Threshold, present: set[str]) -> str:
    """Per-language values of the languages in the sample (the others only counted)."""
    shown_ = {k: v for k, v in t.per_lang.items() if k in present}
    if not t.per_lang:
        return ""
    more = len(t.per_lang) - len(shown_)
    bits = ", ".join(f"{markup.text(k)} {v:g}" for k, v in shown_.items()) + (
        f"; +{more} other languages" if more else ""
    )
    return f" ({bits.lstrip('; ')})"


chosen: list[tuple[analysis.Threshold, float, dict]] = []
for metric in shown:
    ths = by_metric.get(metric, [])
    values = pd.to_numeric(frame[metric], errors="coerce") if metric in frame else pd.Series(dtype=float)
    # languages drawn and editable: those with a real share of the scored docs (>= 1%, at least 2 docs)
    langs = (
        frame.loc[values.notna(), "lang"].dropna().astype(str) if metric in frame else pd.Series(dtype=str)
    )
    counts = langs.value_counts()
    present = set(counts[counts >= max(2, 0.01 * len(langs))].index)
    # per threshold: the one language whose own value applies to every scored doc (else None), the value
    # that applies, and whether the recipe set it
    applies = {}
    for t in ths:
        one = analysis.applying_lang(t, set(counts.index))
        origin = analysis.value_origin(t, recipe_params.get(t.step, {}), one)
        applies[(t.step, t.key)] = (one, t.per_lang[one] if one else t.value, origin)

    with st.container(border=True):
        head = f"**{markup.code(metric)}**"
        if ths:
            parts = []
            for t in ths:
                one, cur, origin = applies[(t.step, t.key)]
                where = f" for {markup.text(one)}, the only language" if one else _per_lang_text(t, present)
                parts.append(
                    f"{markup.text(t.step)}: {'≤' if t.keeps_below else '≥'} {cur:g}{where} ({origin})"
                )
            head += " · " + " · ".join(parts)
        else:
            head += " · no threshold in this run"
        st.markdown(head)
        if values.notna().sum() == 0:
            st.caption("No document in the sample has this metric.")
            continue
        if ths:
            origins = {o for _, _, o in applies.values()}
            kind = {"default": "default (not set in the recipe)", "recipe": "recipe"}.get(
                "".join(origins), "recipe or default"
            )
            st.caption(
                f"Lines: **—** {kind} threshold · **┄** per-language values (languages with ≥ 1% of the docs) · "
                ":violet[**╌**] what-if value"
            )
        chart_col, whatif_col = st.columns([3, 2], gap="medium")
        with whatif_col:
            new_values = {}
            for th in ths:
                one, current, origin = applies[(th.step, th.key)]
                lo, hi = float(values.quantile(0.001)), float(values.quantile(0.999))
                lo, hi = min(lo, current), max(hi, current)
                span = (hi - lo) or 1.0
                # counts (roots.n_words) get an integer slider, so the exported YAML keeps integers
                integral = float(current).is_integer() and bool((values.dropna() % 1 == 0).all())
                bounds = (lo - 0.02 * span, hi + 0.02 * span, current, span / 200)
                if integral:
                    bounds = (math.floor(lo), math.ceil(hi), int(current), max(1, round(span / 200)))
                new = st.slider(
                    f"What-if threshold{f' for {one}' if one else ''} ({th.step} keeps "
                    f"{'≤' if th.keeps_below else '≥'}; {origin} value {current:g})",
                    min_value=bounds[0],
                    max_value=bounds[1],
                    value=bounds[2],
                    step=bounds[3],
                    format="%d" if integral else "%.4g",
                    key=f"th::{th.step}::{th.key}",
                )
                per_lang = dict(th.per_lang)
                if one:  # the slider is this language's value; the top-level one applies to no shown doc
                    per_lang[one], new = new, th.value
                elif any(k in present for k in th.per_lang):
                    with st.expander("Per-language values"):
                        for lang, v in th.per_lang.items():
                            if lang not in present:
                                continue
                            per_lang[lang] = st.number_input(
                                f"{lang}",
                                value=int(v) if integral else float(v),
                                step=bounds[3],
                                format="%d" if integral else "%.4g",
                                key=f"th::{th.step}::{th.key}::{lang}",
                            )
                new_values[(th.step, th.key)] = (
                    per_lang[one] if one else new
                )  # a step may bound a metric twice
                chosen.append((th, new, per_lang))
                res = analysis.what_if(frame, th, new, per_lang)
                exact = analysis.ledger_removed(summary, th)
                if exact is not None:
                    st.caption(
                        f"Removed for this check in the run: **{exact:,}** (summary.json, exact). A document "
                        "failing several checks of a step is counted under the first one it fails."
                    )
                a, b = st.columns(2)
                a.metric(
                    "Fail it now (est.)",
                    f"≈{ui.fmt_int(res['now'])}",
                    help=f"scored documents failing the recipe's threshold, estimated from {n_sample:,} sampled "
                    "documents; includes documents another check removed first",
                )
                delta = res["would"] - res["now"]
                b.metric(
                    "Would fail (est.)",
                    f"≈{ui.fmt_int(res['would'])}",
                    delta=f"{delta:+,.0f}" if round(delta) else "no change",
                    delta_color="inverse" if round(delta) else "off",
                    delta_arrow="auto" if round(delta) else "off",
                )
                if round(delta):
                    st.caption(
                        f"+{res['newly_removed']:,.0f} newly removed · −{res['newly_kept']:,.0f} newly kept "
                        f"· of {res['scored']:,.0f} scored docs"
                    )
                    by_lang, by_src = res["by_lang"].head(6), res["by_source"].head(6)
                    t1, t2 = st.columns(2)
                    t1.dataframe(by_lang, hide_index=True, height=min(250, 36 * (len(by_lang) + 1)))
                    t2.dataframe(by_src, hide_index=True, height=min(250, 36 * (len(by_src) + 1)))
            if not ths:
                st.caption(
                    f"median {values.median():.4g} · p1 {values.quantile(0.01):.4g} · "
                    f"p99 {values.quantile(0.99):.4g}"
                )
        with chart_col:
            step = ths[0].step if ths else None
            rules = [th.value for th in ths] + list(new_values.values())
            hist = analysis.histogram(frame, metric, bins=40, step=step, include=rules)
            domain = ["kept", analysis.THIS_FILTER, analysis.OTHER_FILTER] if step else ["kept", "removed"]
            hist["rank"] = hist["outcome"].map({o: i for i, o in enumerate(domain)})
            bars = (
                alt.Chart(hist)
                .mark_bar(binSpacing=0)
                .encode(
                    x=alt.X("start:Q", title=metric, bin="binned"),
                    x2="end:Q",
                    y=alt.Y("docs:Q", title="documents (est.)", stack="zero"),
                    order=alt.Order("rank:Q", sort="ascending"),
                    color=alt.Color(
                        "outcome:N",
                        scale=ui.outcome_scale(domain),
                        legend=alt.Legend(orient="top", title=None),
                    ),
                    tooltip=[
                        alt.Tooltip("start:Q", format=".4g"),
                        alt.Tooltip("end:Q", format=".4g"),
                        "outcome",
                        alt.Tooltip("docs:Q", format=",.0f"),
                    ],
                )
            )
            layers = [bars]
            rule_rows = [{"x": th.value, "what": "recipe"} for th in ths if not applies[(th.step, th.key)][0]]
            for th in ths:
                rule_rows += [
                    {"x": v, "what": f"{k} (per-language)"} for k, v in th.per_lang.items() if k in present
                ]
            rule_rows += [
                {"x": v, "what": "what-if"}
                for (s, k), v in new_values.items()
                if abs(v - applies[(s, k)][1]) > 1e-12
            ]
            if not hist.empty:  # limits far past the data are not drawn (they would squash the bars)
                x_lo, x_hi = float(hist["start"].min()), float(hist["end"].max())
                off = sorted({f"{r['what']} {r['x']:g}" for r in rule_rows if not x_lo <= r["x"] <= x_hi})
                rule_rows = [r for r in rule_rows if x_lo <= r["x"] <= x_hi]
                if off:
                    st.caption(
                        f"Off the chart (far past the data, {x_lo:.4g}–{x_hi:.4g}): {markup.text(', '.join(off))}"
                    )
            if rule_rows:
                rules_df = pd.DataFrame(rule_rows)
                rules_df["kind"] = rules_df["what"].map(
                    lambda w: w if w in ("recipe", "what-if") else "per-language"
                )
                layers.append(
                    alt.Chart(rules_df)
                    .mark_rule(strokeWidth=2)
                    .encode(
                        x="x:Q",
                        strokeDash=alt.StrokeDash(
                            "kind:N",
                            legend=None,
                            scale=alt.Scale(
                                domain=["recipe", "per-language", "what-if"], range=[[1, 0], [2, 3], [7, 4]]
                            ),
                        ),
                        color=alt.Color(
                            "kind:N",
                            legend=None,
                            scale=alt.Scale(
                                domain=["recipe", "per-language", "what-if"],
                                range=["#1d3557", "#5c677d", "#7b2cbf"],
                            ),
                        ),
                        tooltip=[alt.Tooltip("what:N", title="threshold"), alt.Tooltip("x:Q", format=".4g")],
                    )
                )
            st.altair_chart(
                alt.layer(*layers).resolve_scale(color="independent", strokeDash="independent"),
                width="stretch",
                height=250,
            )

if chosen:
    st.subheader("Export thresholds")
    per_step: dict[str, list] = {}
    for th, v, pl in chosen:
        per_step.setdefault(th.step, []).append((th, v, pl))
    rows = []
    for step, items in per_step.items():
        now = pd.Series(False, index=frame.index)
        would = pd.Series(False, index=frame.index)
        for th, v, pl in items:
            now |= analysis.violates(frame, th)
            would |= analysis.violates(frame, th, v, pl)
        w = frame["weight"].astype(float)
        rows.append(
            {
                "step": step,
                "removed now (est.)": round(w[now].sum()),
                "would remove (est.)": round(w[would].sum()),
            }
        )
    st.dataframe(markup.frame(pd.DataFrame(rows)), hide_index=True)
    snippet = analysis.thresholds_yaml(chosen, ui.recipe_text(path), label)
    st.download_button(
        "Download thresholds as recipe YAML",
        snippet,
        file_name=f"{label}-thresholds.yaml",
        mime="application/x-yaml",
        icon=":material/download:",
        type="primary",
    )
    with st.expander("Preview the YAML snippet"):
        st.code(snippet, language="yaml")
