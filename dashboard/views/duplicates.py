"""Duplicates page: cluster sizes, the largest clusters, and two members side by side with their diff."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import data, documents, markup, ui

args, label, path, summary = ui.run_page("Duplicates")

# the cards come from summary.json: drawn before the sample is read
dedup_steps = [s for s in summary["steps"] if "dedup" in str(s.get("op", s.get("name", "")))]
cards = [(s["name"], s.get("removed", 0), s.get("in", 0)) for s in dedup_steps]
stats = {k: v for k, v in summary.get("dedup", {}).items() if isinstance(v, (int, float))}
if cards or stats:
    cols = st.columns(len(cards) + len(stats) or 1)
    for col, (name, removed, n_in) in zip(cols, cards):
        ui.stat_card(
            col,
            name,
            ui.fmt_int(removed),
            f"{ui.fmt_pct(removed, n_in)} of its input",
            help=f"documents {name} removed",
        )
    for col, (key, value) in zip(cols[len(cards) :], stats.items()):
        col.metric(
            key.replace("_", " ").capitalize(),
            ui.fmt_int(value),
            border=True,
            help=f"summary.json dedup.{key}",
        )

# removed lines (line_dedup): from removed_units/ and summary.json, drawn before the sample is read
for step in [s for s in summary["steps"] if s.get("op") == "line_dedup"]:
    st.subheader(f"Removed lines: {markup.text(step['name'])}")
    modified, n_in = step.get("modified", 0), step.get("in", 0)
    too_short = step.get("removed_by_reason", {}).get("too_short_after_line_dedup", 0)
    c1, c2, c3 = st.columns(3)
    ui.stat_card(c1, "Documents modified", ui.fmt_int(modified), f"{ui.fmt_pct(modified, n_in)} of its input")
    ui.stat_card(c2, "Bytes removed", ui.fmt_bytes(step.get("bytes_removed", 0)), "from kept documents")
    ui.stat_card(c3, "Left too short", ui.fmt_int(too_short), "documents removed after their lines went")
    try:
        rows = ui.removed_units(path, step["name"], args.show_pii)
    except ValueError as e:  # a damaged removed_units/ file: said on the page, the rest still drawn
        st.error(markup.text(e))
        continue
    if not rows:
        st.info("No removed lines recorded for this step.")
        continue
    st.caption(
        "The most removed units (summed over tasks; each task remembers up to 500), with one document."
    )
    st.dataframe(
        markup.frame(pd.DataFrame(rows, columns=["count", "unit", "example_id"])),
        hide_index=True,
        height=300,
        column_config={
            "count": st.column_config.NumberColumn("times removed"),
            "unit": st.column_config.TextColumn("removed text", width="large"),
        },
    )

frame = ui.sample(path, args.show_pii)

clusters = documents.clusters_frame(frame)
if clusters.empty:
    st.info("No duplicate clusters in the sample (no `dedup.cluster` or `dup_of` metadata).")
    st.stop()
st.caption(ui.sample_caption(frame, summary) + " Clusters are those the sample touches.")

left, right = st.columns([2, 3])
with left:
    st.subheader("Cluster sizes")
    dist = (
        clusters["size"].value_counts().sort_index().rename_axis("cluster size").reset_index(name="clusters")
    )
    chart = (
        alt.Chart(dist)
        .mark_bar(color=ui.REMOVED_COLOR)
        .encode(
            x=alt.X("cluster size:O", title="documents in the cluster"),
            y=alt.Y("clusters:Q", title="clusters", scale=alt.Scale(zero=True)),
            tooltip=["cluster size", "clusters"],
        )
    )
    st.altair_chart(chart, width="stretch", height=260)
with right:
    st.subheader("Largest clusters")
    st.dataframe(
        markup.frame(clusters.head(50).assign(cluster=lambda d: d["cluster"].map(documents.cluster_label))),
        hide_index=True,
        height=260,
        column_config={"in_sample": st.column_config.NumberColumn("members in sample")},
    )

st.subheader("Compare two members")
options = list(clusters["cluster"].head(200))
sizes = dict(zip(clusters["cluster"], clusters["size"]))
cluster = st.selectbox(
    "Cluster",
    options,
    key="cluster",
    bind="query-params",
    format_func=lambda c: f"{documents.cluster_label(c)} ({sizes[c]} docs)",
)
row = clusters.set_index("cluster").loc[cluster]
kept_id = row["kept_id"]
members = documents.cluster_members(frame, cluster, kept_id)
if pd.notna(kept_id) and str(kept_id) not in set(members["id"].astype(str)):
    found = ui.find_documents(str(path), (str(kept_id),), args.show_pii)
    if not found.empty:
        members = pd.concat([found, members], ignore_index=True)
members = (
    members.drop_duplicates("id").sort_values("kind", key=lambda s: s != data.KEPT).reset_index(drop=True)
)
if len(members) < 2:
    st.info("Only one member of this cluster could be read; pick another cluster.")
    st.stop()
ids = list(members["id"].astype(str))
c1, c2 = st.columns(2)
a_id = c1.selectbox("Left", ids, index=0, key="dup_a")
b_id = c2.selectbox("Right", [i for i in ids if i != a_id], index=0, key="dup_b")
a = members[members["id"].astype(str) == a_id].iloc[0]
b = members[members["id"].astype(str) == b_id].iloc[0]
html_a, html_b, ratio = documents.diff_html(str(a["text"]), str(b["text"]))
st.caption(f"Similarity {ratio:.1%} (difflib, word level). Highlighted: spans found in only one of the two.")
for col, doc, body in ((c1, a, html_a), (c2, b, html_b)):
    with col:
        verdict = "kept" if doc["kind"] == data.KEPT else f"removed by {doc['step']} ({doc['reason']})"
        st.markdown(f"**{markup.code(doc['id'])}** · {markup.text(verdict)}")
        ui.html_doc(body)
