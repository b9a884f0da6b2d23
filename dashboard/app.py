"""rootstock dashboard: the entry point `curate dashboard` runs with `streamlit run`.

Run folders and ablation folders come after `--` (`streamlit run dashboard/app.py -- runs/a runs/b
--show-pii`) or as a JSON list in $ROOTSTOCK_DASHBOARD_ARGS. Pages live in `dashboard/views/`; each
page's URL is `/<page>` and its choices are query parameters (`/filters?run=a&family=roots`,
`/samples?run=a&kind=removed&step=roots_filters&doc=3`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `streamlit run` outside an install

from dashboard import LOADING  # the package's __init__ imports nothing

_t0 = time.perf_counter()
st.set_page_config(page_title="rootstock dashboard", page_icon="🌱", layout="wide")
# First paint: a session's first run on a cold server spends seconds importing pandas and altair (ui,
# the pages) before any page draws, and the browser showed an empty page meanwhile. So the title and a
# loading line go out before those imports; the page replaces them. Only on a session's first run: on
# later runs the imports are done and the line would flicker over the page's title.
_loading = st.empty()
if not st.session_state.get("_painted"):
    _loading.markdown(f"# 🌱 rootstock dashboard\n\n{LOADING}")

from dashboard import markup, ui  # after the first paint, see above

args = ui.app_args()
st.session_state["_args"] = args

PAGES = {
    "Run": [
        st.Page(
            "views/overview.py",
            title="Overview",
            icon=":material/filter_alt:",
            url_path="overview",
            default=True,
        ),
        st.Page("views/filters.py", title="Filters", icon=":material/tune:", url_path="filters"),
        st.Page("views/languages.py", title="Languages", icon=":material/translate:", url_path="languages"),
        st.Page(
            "views/duplicates.py", title="Duplicates", icon=":material/content_copy:", url_path="duplicates"
        ),
        st.Page("views/pii.py", title="PII", icon=":material/shield_person:", url_path="pii"),
        st.Page("views/samples.py", title="Samples", icon=":material/article:", url_path="samples"),
    ],
    "Across runs": [
        st.Page(
            "views/compare.py", title="Compare runs", icon=":material/compare_arrows:", url_path="compare"
        ),
        st.Page("views/ablations.py", title="Ablations", icon=":material/monitoring:", url_path="ablations"),
    ],
}
page = st.navigation(PAGES)
if page.title in {p.title for p in PAGES["Run"]}:
    ui.run_picker(args)

with st.sidebar:
    st.markdown("### :material/eco: rootstock")
    if args.missing:
        st.warning("Not a run or ablation folder: " + ", ".join(markup.code(m) for m in args.missing))
    st.caption(
        f"{len(args.runs)} run(s), {len(args.ablations)} ablation(s) · read-only"
        + (" · **PII originals shown**" if args.show_pii else "")
    )

_loading.empty()
st.session_state["_painted"] = True
page.run()
st.session_state["_script_s"] = time.perf_counter() - _t0  # read by bench/dashboard.py
