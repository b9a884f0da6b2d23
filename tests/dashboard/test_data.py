"""Unit tests of the dashboard's plain modules: dashboard/data.py (reading run folders, sampling),
dashboard/analysis.py (funnels, thresholds, what-if, histograms, YAML export), dashboard/documents.py
(duplicate clusters, diffs, PII, per-language funnel, sample filters) and
dashboard/ablations.py (results.json, scaling curves, effective-data multipliers).

Run: `.venv/bin/python -m pytest tests/dashboard/test_data.py`
"""

import gzip
import json

import pandas as pd
import pytest
import yaml

from dashboard import ablations, analysis, data, documents
from runfolder.results import ResultsError, load_results
from tests.dashboard.synthetic import write_synthetic_run

# --- data.py -------------------------------------------------------------------------------------


def test_parse_app_args_sorts_runs_ablations_and_expands_parents(synthetic_run, ablation_dir, tmp_path):
    args = data.parse_app_args([str(synthetic_run), str(ablation_dir), str(tmp_path / "nope"), "--show-pii"])
    assert list(args.runs) == ["synthetic-web"] and list(args.ablations) == ["ablation-demo"]
    assert args.missing == [str(tmp_path / "nope")] and args.show_pii
    parent = data.parse_app_args([str(synthetic_run.parent)])  # a folder holding runs
    assert parent.runs == {"synthetic-web": synthetic_run}
    assert data.parse_app_args([]).runs == {}


def test_load_summary_fills_optional_sections_and_rejects_bad_files(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({"schema": 1, "input": {"docs": 3}, "steps": None}))
    s = data.load_summary(tmp_path)
    assert s["steps"] == [] and s["pii"] == {} and s["thresholds"] == {} and s["rejected"] == 0
    (tmp_path / "summary.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        data.load_summary(tmp_path)
    (tmp_path / "summary.json").write_text(json.dumps({"schema": 2}))
    with pytest.raises(ValueError, match="schema 2"):
        data.load_summary(tmp_path)
    with pytest.raises(ValueError, match="run folder"):
        data.load_summary(tmp_path / "missing")


def test_sample_reads_every_category_with_weights(synthetic_run):
    summary = data.load_summary(synthetic_run)
    frame = data.sample_documents(synthetic_run, cap=600)
    steps_with_removals = {s["name"] for s in summary["steps"] if s["removed"]}
    assert set(frame.loc[frame["kind"] == data.REMOVED, "step"]) == steps_with_removals
    # weights scale the sample back to the run: kept + removed estimate = the summary's count
    est = frame.groupby("kind")["weight"].sum()
    assert est[data.KEPT] == pytest.approx(summary["output"]["docs"])
    assert est[data.REMOVED] == pytest.approx(sum(s["removed"] for s in summary["steps"]))
    assert len(frame) <= 600 + data.MIN_PER_CATEGORY * len(steps_with_removals)
    # metadata became columns; removal bookkeeping became step/reason
    assert {"lang", "lang_score", "roots.char_rep_ratio", "text_len"} <= set(frame.columns)
    assert "removed_by" not in frame.columns
    assert (frame.loc[frame["kind"] == data.REMOVED, "reason"] != "").all()


def test_sample_spreads_over_shards_and_reads_parquet(tmp_path):
    run = tmp_path / "run"
    write_synthetic_run(run, n_docs=1500, fmt="parquet", max_shard_docs=200)
    shards = data.list_shards(run)[(data.KEPT, "")]
    assert len(shards) > 2
    frame = data.sample_documents(run, cap=300)
    kept = frame[frame["kind"] == data.KEPT]
    assert kept["id"].str[-7:].astype(int).max() > 500  # not only the first shard
    assert frame["roots.char_rep_ratio"].notna().any()


def test_sample_hides_pii_originals_unless_asked(tmp_path):
    run = tmp_path / "run"
    (run / "output").mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({"schema": 1, "output": {"docs": 1}, "steps": []}))
    doc = {
        "text": "mail <EMAIL>",
        "id": "a",
        "metadata": {"pii.email": 1, "pii.originals": {"email": ["x@y.z"]}},
    }
    with gzip.open(run / "output" / "00000_00000.jsonl.gz", "wt") as f:
        f.write(json.dumps(doc) + "\n")
    hidden = data.sample_documents(run)
    assert not any("original" in c for c in hidden.columns)
    shown = data.sample_documents(run, show_pii=True)
    assert shown.loc[0, "pii.originals.email"] == '["x@y.z"]'


def test_truncated_shard_keeps_what_was_read(tmp_path):
    run = tmp_path / "run"
    (run / "output").mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({"schema": 1, "output": {"docs": 50}, "steps": []}))
    raw = gzip.compress(
        "".join(json.dumps({"text": f"t{i}", "id": str(i)}) + "\n" for i in range(50)).encode()
    )
    (run / "output" / "00000_00000.jsonl.gz").write_bytes(raw[: len(raw) // 2])
    frame = data.sample_documents(run)
    assert 0 < len(frame) < 50


def test_empty_run_folder_gives_empty_frame(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({"schema": 1}))
    frame = data.sample_documents(tmp_path)
    assert frame.empty and set(data.FRAME_COLUMNS) <= set(frame.columns)
    assert data.read_rejected(tmp_path).empty


def test_rejected_and_find_documents(synthetic_run):
    rej = data.read_rejected(synthetic_run)
    assert len(rej) == data.load_summary(synthetic_run)["rejected"]
    assert {"source", "line", "error", "raw"} <= set(rej.columns)
    found = data.find_documents(synthetic_run, ["doc-0000001", "doc-0000002", "missing"])
    assert set(found["id"]) <= {"doc-0000001", "doc-0000002"} and len(found) >= 1


def test_metric_columns_keep_metrics_only():
    frame = pd.DataFrame(
        {
            "id": ["a"],
            "kind": ["kept"],
            "weight": [1.0],
            "lang_score": [0.9],
            "roots.x": [0.1],
            "quality.y": [2],
            "code.z": [0.3],
            "pii.email": [1],
            "dedup.cluster_size": [3],
            "source": ["s"],
            "roots.flag": ["no"],
        }
    )
    assert data.metric_columns(frame) == ["lang_score", "roots.x", "quality.y", "code.z"]


# --- analysis.py ---------------------------------------------------------------------------------


def frame_of(rows):
    base = {"kind": "kept", "step": "", "reason": "", "lang": "en", "source": "s", "weight": 1.0}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_thresholds_violations_and_per_language_values():
    summary = {
        "thresholds": {
            "roots": {"roots.r": {"op": "max", "value": 0.5, "per_lang": {"zh": 0.3}}},
            "lid": {"lang_score": {"op": "min", "value": 0.7}},
        }
    }
    ths = analysis.thresholds_from_summary(summary)
    for bad, why in (({"op": "max"}, "value must be a number"), ({"op": "le", "value": 1}, "op must be one of")):
        with pytest.raises(ValueError, match=why):  # exactly the contract (docs/CONTRACTS.md): no aliases
            analysis.thresholds_from_summary({"thresholds": {"roots": {"bad": bad}}})
    assert [(t.step, t.metric) for t in ths] == [("roots", "roots.r"), ("lid", "lang_score")]
    frame = frame_of([{"roots.r": 0.4}, {"roots.r": 0.4, "lang": "zh"}, {"roots.r": 0.6}, {"roots.r": None}])
    assert list(analysis.violates(frame, ths[0])) == [False, True, True, False]
    assert list(analysis.violates(frame, ths[0], value=0.35, per_lang={})) == [True, True, True, False]
    low = frame_of([{"lang_score": 0.6}, {"lang_score": 0.9}])
    assert list(analysis.violates(low, ths[1])) == [True, False]


def test_what_if_counts_are_weighted_and_split_by_language_and_source():
    th = analysis.Threshold("roots", "roots.r", "max", 0.5)
    frame = frame_of(
        [
            {"roots.r": 0.6, "kind": "removed", "step": "roots", "weight": 10.0, "lang": "fr"},
            {"roots.r": 0.45, "weight": 2.0, "source": "b"},
            {"roots.r": 0.1, "weight": 2.0},
        ]
    )
    res = analysis.what_if(frame, th, 0.4)
    assert (res["scored"], res["now"], res["would"]) == (14.0, 10.0, 12.0)
    assert (res["newly_removed"], res["newly_kept"]) == (2.0, 0.0)
    assert dict(zip(res["by_lang"]["lang"], res["by_lang"]["docs"])) == {"fr": 10, "en": 2}
    assert dict(zip(res["by_source"]["source"], res["by_source"]["docs"])) == {"s": 10, "b": 2}
    assert analysis.what_if(frame, th, 0.9)["newly_kept"] == 10.0


def test_histogram_bins_split_by_outcome_and_include_the_threshold():
    frame = frame_of(
        [{"m": float(i)} for i in range(10)]
        + [
            {"m": 20.0, "kind": "removed", "step": "s", "reason": "s_m"},
            {"m": 5.0, "kind": "removed", "step": "t", "reason": "other"},
        ]
    )
    hist = analysis.histogram(frame, "m", bins=5, step="s", include=[30.0])
    width = (hist["end"] - hist["start"]).iloc[0]
    assert width == pytest.approx((30.0 - frame["m"].quantile(0.005)) / 5)  # the range reaches the threshold
    assert hist.groupby("outcome")["docs"].sum().to_dict() == {
        "kept": 10,
        analysis.THIS_FILTER: 1,
        analysis.OTHER_FILTER: 1,
    }
    assert analysis.histogram(frame, "absent").empty


def test_outcome_labels_use_the_reason_when_it_names_the_metric():
    frame = frame_of(
        [
            {"kind": "removed", "step": "roots", "reason": "roots_char_rep_ratio"},
            {"kind": "removed", "step": "roots", "reason": "roots_stopword_ratio"},
            {},
        ]
    )
    labels = analysis.outcome_labels(frame, "roots", "roots.char_rep_ratio")
    assert list(labels) == [analysis.THIS_FILTER, analysis.OTHER_FILTER, "kept"]
    # reasons that never name the metric: every removal by the step counts
    assert list(analysis.outcome_labels(frame, "roots", "roots.n_words"))[:2] == [analysis.THIS_FILTER] * 2


def test_funnel_and_reasons_frames(synthetic_run):
    summary = data.load_summary(synthetic_run)
    funnel = analysis.funnel_frame(summary)
    assert list(funnel["step"]) == [s["name"] for s in summary["steps"]]
    assert (funnel["in"] == funnel["kept"] + funnel["removed"]).all()
    reasons = analysis.reasons_frame(summary)
    assert reasons["docs"].sum() == funnel["removed"].sum() + summary["rejected"]
    assert analysis.funnel_frame({"steps": []}).empty


def test_thresholds_yaml_uses_recipe_param_names_and_is_valid_yaml(synthetic_run):
    recipe = data.load_recipe_text(synthetic_run)
    summary = data.load_summary(synthetic_run)
    ths = {t.metric: t for t in analysis.thresholds_from_summary(summary)}
    chosen = [
        (ths["roots.char_rep_ratio"], 0.12, {"zh": 0.11}),
        (ths["quality.chars"], 150, {}),
        (analysis.Threshold("code_filters", "code.alnum_frac", "min", 0.25, param="min_alnum_frac"), 0.3, {}),
    ]
    text = analysis.thresholds_yaml(chosen, recipe, "synthetic-web")
    assert text.startswith("# Thresholds chosen")
    steps = yaml.safe_load(text)["steps"]
    assert steps[0] == {
        "roots_filters": {"max_char_rep_ratio": 0.12, "per_lang": {"zh": {"max_char_rep_ratio": 0.11}}}
    }
    assert steps[1] == {"length_filter": {"min_chars": 150}}
    assert steps[2] == {"code_filters": {"min_alnum_frac": 0.3}}
    assert "guessed" not in text
    guessed = analysis.thresholds_yaml(
        [(analysis.Threshold("x", "roots.new", "max", 1.0), 2.0, {})], None, "r"
    )
    assert "guessed" in guessed and yaml.safe_load(guessed)["steps"] == [{"x": {"max_new": 2.0}}]


def test_recipe_steps_accepts_both_step_spellings_and_numbers_repeats():
    text = "steps:\n  - roots_filters: {max_x: 1}\n  - op: pii\n    replace: tag\n  - roots_filters: {max_x: 2}\n"
    assert analysis.recipe_steps(text) == {
        "roots_filters": {"max_x": 1},
        "pii": {"replace": "tag"},
        "roots_filters_2": {"max_x": 2},
    }
    assert analysis.recipe_steps("::: not yaml") == {} and analysis.recipe_steps(None) == {}


def test_clusters_sizes_members_and_exact_duplicate_groups():
    frame = frame_of(
        [
            {"id": "k1", "dedup.cluster": "c1", "dedup.cluster_size": 3},
            {"id": "r1", "kind": "removed", "dedup.cluster": "c1", "dedup.cluster_size": 3, "dup_of": "k1"},
            {"id": "r2", "kind": "removed", "dup_of": "k9"},  # exact duplicate of a doc not in the sample
            {"id": "x"},
        ]
    )
    clusters = documents.clusters_frame(frame)
    assert clusters.to_dict("records") == [
        {"cluster": "c1", "size": 3, "in_sample": 2, "kept_id": "k1"},
        {"cluster": "dup_of:k9", "size": 2, "in_sample": 1, "kept_id": "k9"},
    ]
    assert set(documents.cluster_members(frame, "c1", "k1")["id"]) == {"k1", "r1"}
    assert set(documents.cluster_members(frame, "dup_of:k9", "k9")["id"]) == {"r2"}
    assert documents.clusters_frame(frame_of([{"id": "a"}])).empty


def test_diff_html_marks_only_the_differences_and_escapes():
    a, b, ratio = documents.diff_html("costs $5 <b>today</b> for all", "costs $5 <b>tomorrow</b> for all")
    assert '<mark class="del">today</mark>' in a and '<mark class="ins">tomorrow</mark>' in b
    assert "&lt;b&gt;" in a and "<b>" not in a.replace('<mark class="del">', "")
    assert 0.7 < ratio < 1.0
    assert documents.diff_html("same", "same")[2] == 1.0


def test_pii_frame_and_tag_highlighting(synthetic_run):
    frame = data.sample_documents(synthetic_run)
    summary = data.load_summary(synthetic_run)
    pii = documents.pii_frame(summary, frame).set_index("kind")
    assert pii.loc["email", "summary"] == summary["pii"]["email"]
    assert pii.loc["email", "sample_est"] == pytest.approx(summary["pii"]["email"], rel=0.5)
    html = documents.highlight_tags("write to <EMAIL> & <script>")
    assert '<mark class="tag">&lt;EMAIL&gt;</mark>' in html and "&lt;script&gt;" in html


def test_lang_funnel_quantiles_and_filter_docs(synthetic_run):
    frame = data.sample_documents(synthetic_run)
    funnel = documents.lang_funnel(frame)
    de = funnel[funnel["lang"] == "de"]
    assert set(de["outcome"]) == {"language_id"}  # German is not in the recipe's keep list
    q = documents.quantiles_by(frame, "lang_score", "lang")
    assert (q["p5"] <= q["median"]).all() and (q["median"] <= q["p95"]).all()
    sub = documents.filter_docs(
        frame, kind="removed", step="roots_filters", metric="roots.char_rep_ratio", lo=0.2
    )
    assert len(sub) and (sub["roots.char_rep_ratio"] >= 0.2).all() and (sub["step"] == "roots_filters").all()


# --- ablations.py --------------------------------------------------------------------------------


def test_ablation_frames_follow_the_contract(ablation_dir):
    results = load_results(ablation_dir)
    points = ablations.points_frame(results)
    assert set(points["variant"]) == {"baseline", "roots", "roots+dedup", "planted", "planted_dedup"}
    assert len(points) == 5 * 6 * 2 * 3  # variants x budgets x seeds x eval domains
    band = ablations.seed_band(results, "tech_docs")
    assert (band["seeds"] == 2).all() and (band["min"] <= band["max"]).all()
    assert band["repeats"].sum() == 1  # the one planted point with epochs > 1
    comps = ablations.comparisons_frame(results, "en_prose")
    assert set(comps["verdict"]) <= {"better (resolved)", "worse (resolved)", "not resolved"}
    assert (comps["lo"] <= comps["delta_bpb"]).all() and (comps["delta_bpb"] <= comps["hi"]).all()
    mult = ablations.multipliers_frame(results, "en_prose")
    ext = mult[mult["extrapolated"]]
    assert len(ext) and ext["value"].isna().all() and ext["note"].str.contains("not a result").all()
    inside = mult[~mult["extrapolated"]]
    assert len(inside) and inside["value"].notna().all()
    controls = ablations.controls_frame(results)
    assert list(controls["passed"]) == [True, False, True]
    assert list(controls["kind"]) == ["positive", "positive", "negative"]


def test_a_flagged_fit_is_never_shown_as_numbers(ablation_dir):
    results = load_results(ablation_dir)
    assert ablations.fit_status(results)[0]
    results["fit"] = {**results["fit"], "ok": False, "warnings": ["SE(beta)/beta = 0.8 > 0.25"]}
    ok, line = ablations.fit_status(results)
    assert not ok and "beta 0." not in line and "flagged" in line


def test_results_that_break_the_contract_are_refused(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"variants": {}, "comparisons": []}))
    with pytest.raises(ResultsError, match="multipliers"):
        load_results(tmp_path)
    with pytest.raises(ResultsError, match="not found"):
        load_results(tmp_path / "missing")
