"""Every dashboard page under Streamlit's AppTest: no exception, the key numbers appear, and the main
interactions work (what-if slider, YAML export, sample browsing, deep links via query parameters).

Pages run on a real `curate run` of the sample corpus and on synthetic runs that have every metric
family (see conftest.py). Run: `.venv/bin/python -m pytest tests/dashboard/test_pages.py`
"""

import json

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from dashboard import data
from tests.dashboard.conftest import APP

PAGES = ["overview", "filters", "languages", "duplicates", "pii", "samples", "compare", "ablations"]


def open_page(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page != "overview":
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def page_text(at: AppTest) -> str:
    parts = [
        e.value
        for e in (*at.title, *at.markdown, *at.caption, *at.subheader, *at.info, *at.warning, *at.code)
    ]
    parts += [f"{m.label} {m.value} {m.delta or ''}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def all_folders(dashboard_args, synthetic_run, synthetic_run_b, ablation_dir):
    dashboard_args(synthetic_run, synthetic_run_b, ablation_dir)
    return synthetic_run


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_synthetic_runs(all_folders, page):
    at = open_page(page)
    assert not at.error, [e.value for e in at.error]
    assert at.title, "every page has a title"


@pytest.mark.parametrize("page", PAGES[:6])
def test_every_run_page_renders_on_a_real_run(dashboard_args, real_run, page):
    dashboard_args(real_run)
    at = open_page(page)
    assert not at.error, [e.value for e in at.error]
    assert "dash-real" in at.title[0].value


def test_overview_shows_the_funnel_numbers(all_folders):
    summary = data.load_summary(all_folders)
    at = open_page("overview")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Input documents"] == f"{summary['input']['docs']:,}"
    assert metrics["Kept"] == f"{summary['output']['docs']:,}"
    assert metrics["Rejected"] == f"{summary['rejected']:,}"
    assert any("roots_filters" in c.value for c in at.code)  # the resolved recipe
    funnel = at.dataframe[0].value
    assert list(funnel["removed"]) == [s["removed"] for s in summary["steps"]]


def test_overview_on_the_real_run_balances(dashboard_args, real_run):
    summary = json.loads((real_run / "summary.json").read_text())
    dashboard_args(real_run)
    at = open_page("overview")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Kept"] == f"{summary['output']['docs']:,}"
    assert not at.warning, "the ledger balances"


def test_overview_funnel_estimates_the_tokens_each_step_kept(dashboard_args, real_run):
    """From the ledger's per-step bytes, at bytes / 4 (the run has no tokenizer counts), labelled est."""
    summary = json.loads((real_run / "summary.json").read_text())
    dashboard_args(real_run)
    at = open_page("overview")
    funnel = at.dataframe[0].value.set_index("step")
    for s in summary["steps"]:
        assert funnel.loc[s["name"], "tokens kept (est.)"] == round(s["bytes_kept"] / 4)
    last = summary["steps"][-1]["name"]
    assert 0 < funnel.loc[last, "tokens kept (est.)"] <= funnel["tokens kept (est.)"].iloc[0]


def test_filters_what_if_slider_and_yaml_export(all_folders):
    at = open_page("filters")
    key = "th::roots_filters::roots.char_rep_ratio"
    slider = at.slider(key=key)
    before = [m.value for m in at.metric if m.label == "Would fail (est.)"][1]  # lang_score comes first
    slider.set_value(0.05).run()
    assert not at.exception
    after = [m.value for m in at.metric if m.label == "Would fail (est.)"][1]
    assert int(after.strip("≈").replace(",", "")) > int(before.strip("≈").replace(",", ""))
    snippet = next(c.value for c in at.code if c.value.startswith("# Thresholds chosen"))
    steps = {k: v for s in yaml.safe_load(snippet)["steps"] for k, v in s.items()}
    assert steps["roots_filters"]["max_char_rep_ratio"] == pytest.approx(0.05, rel=0.05)
    assert at.get("download_button")


def test_filters_deep_link_to_a_metric_family(all_folders):
    at = open_page("filters", {"family": "quality"})
    shown = [m.value for m in at.markdown if m.value.startswith("**`")]
    assert shown and all("quality." in s for s in shown)


def test_samples_browse_next_and_deep_link(all_folders):
    at = open_page("samples", {"kind": "removed", "step": "roots_filters"})
    assert "removed by **roots_filters**" in page_text(at)
    first = next(m.value for m in at.markdown if m.value.startswith("**`doc-"))
    at.button(key="next").click().run()
    second = next(m.value for m in at.markdown if m.value.startswith("**`doc-"))
    assert first != second and at.number_input(key="doc").value == 2
    at.button(key="prev").click().run()
    assert at.number_input(key="doc").value == 1
    # text is shown verbatim (st.code), never as markdown
    assert at.code and not any("$" in m.value and "doc-" not in m.value for m in at.markdown)


def test_samples_rejected_records(all_folders):
    at = open_page("samples", {"kind": "rejected"})
    text = page_text(at)
    assert "unreadable input records" in text and ("malformed JSON" in text or "invalid UTF-8" in text)


def test_duplicates_pair_diff(all_folders):
    at = open_page("duplicates")
    assert any("Similarity" in c.value for c in at.caption)
    clusters = at.dataframe[0].value
    assert clusters["size"].is_monotonic_decreasing and (clusters["size"] >= 2).all()


def test_pii_counts_and_no_originals_by_default(all_folders):
    summary = data.load_summary(all_folders)
    at = open_page("pii")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["email"] == f"{summary['pii']['email']:,}"
    assert "Original values are hidden" in page_text(at)


def test_pii_show_flag(dashboard_args, synthetic_run):
    dashboard_args(synthetic_run, "--show-pii")
    at = open_page("pii")
    assert any("--show-pii" in w.value for w in at.warning)


def test_compare_two_runs(all_folders):
    at = open_page("compare")
    text = page_text(at)
    assert "synthetic-web" in text and "synthetic-strict" in text
    assert any("vs A" in (m.delta or "") for m in at.metric)


def test_ablations_shows_cis_flags_and_controls(all_folders):
    at = open_page("ablations")
    text = page_text(at)
    assert "Effective-data multipliers" in text and "95% CI" in text
    assert "extrapolated: not a result" in text
    assert any("PASSED" in s.value for s in at.success) and any("FAILED" in w.value for w in at.warning)
    at = open_page("ablations", {"eval": "multilingual"})
    assert "multilingual" in page_text(at)


def test_no_folder_gives_instructions(dashboard_args):
    dashboard_args()
    at = open_page("overview")
    assert "curate dashboard" in page_text(at)
    at = open_page("ablations")
    assert "results.json" in page_text(at)


def test_ablations_refuses_an_old_results_file(dashboard_args, tmp_path):
    """A results.json from before the contract (per-variant fits, comparisons[].at) is refused with one
    error naming the missing key, not rendered with numbers that were never checked."""
    old = {"variants": {"base": {"points": [{"tokens": 1e5, "seed": 0, "bpb": 1.2}]}}, "comparisons": []}
    (tmp_path / "abl").mkdir()
    (tmp_path / "abl" / "results.json").write_text(json.dumps(old))
    dashboard_args(tmp_path / "abl")
    at = open_page("ablations")
    assert any("multipliers" in e.value for e in at.error)


def test_samples_deep_link_to_one_document(all_folders):
    at = open_page("samples", {"kind": "kept", "lang": "fr", "doc": "3"})
    assert at.number_input(key="doc").value == 3
    assert at.selectbox(key="lang").value == "fr"


def test_yaml_export_of_a_real_run_is_a_valid_recipe(dashboard_args, real_run, tmp_path):
    """The snippet's parameter names and types are what `curate validate` accepts (ints stay ints)."""
    from curation.cli import main

    dashboard_args(real_run)
    at = open_page("filters")
    at.slider(key="th::roots_filters::roots.n_words").set_value(15).run()
    snippet = next(c.value for c in at.code if c.value.startswith("# Thresholds chosen"))
    assert "guessed" not in snippet
    data = tmp_path / "in.jsonl"  # validate checks that input paths exist (relative ones start at the cwd)
    recipe = {"name": "exported", "input": {"format": "jsonl", "path": str(data)}, **yaml.safe_load(snippet)}
    assert recipe["steps"][0]["roots_filters"]["min_words"] == 15
    data.write_text('{"text": "x", "id": "1"}\n')
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    assert main(["validate", str(tmp_path / "recipe.yaml")]) == 0


def test_duplicates_removed_lines_section(dashboard_args, tmp_path):
    """A `line_dedup` run: the page shows the modified-documents card and the removed line with its count."""
    from curation.cli import main

    nav = "Prev Up Home Next"
    rows = [{"id": f"d{i}", "text": f"{nav}\nPage {i} explains one topic of the manual in a few words."}
            for i in range(4)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = {"name": "lines", "input": {"format": "jsonl", "path": str(tmp_path / "in.jsonl")},
              "steps": [{"line_dedup": {}}], "output": {"path": str(tmp_path / "run")}}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe))
    assert main(["run", str(tmp_path / "r.yaml"), "--no-progress"]) == 0
    dashboard_args(tmp_path / "run")
    at = open_page("duplicates")
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Documents modified"] == "4"
    table = at.dataframe[0].value
    assert table.iloc[0]["unit"] == nav and table.iloc[0]["count"] == 4
