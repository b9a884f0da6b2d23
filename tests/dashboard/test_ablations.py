"""dashboard/ablations.py on the fields newer results.json files carry (adjusted verdicts, control
kinds, evals.<name>, transfer[]) and on older files that lack them."""

import json

from dashboard import ablations
from runfolder.results import load_results
from tests.dashboard.synthetic_ablation import write_synthetic_ablation, write_synthetic_scale_study


def test_verdict_is_the_adjusted_one_when_the_file_has_it():
    excluded = {"delta_bpb": -0.005, "ci95": [-0.009, -0.001]}
    # a CI clear of 0 that the adjustment did not resolve
    assert ablations.verdict({**excluded, "resolved": False}) == "not resolved"
    assert ablations.verdict({**excluded, "resolved": True}) == "better (resolved)"
    assert ablations.verdict({"delta_bpb": 0.2, "ci95": [0.1, 0.3], "resolved": True}) == "worse (resolved)"
    assert ablations.verdict(excluded) == "better (unadjusted CI)"  # an old file says so


def test_comparisons_keep_an_unresolved_ci_that_excludes_zero(ablation_dir):
    comps = ablations.comparisons_frame(load_results(ablation_dir))
    clear = (comps["lo"] > 0) | (comps["hi"] < 0)
    assert not comps.loc[~clear, "resolved"].any()  # a bar across 0 is never resolved
    assert ((comps["verdict"] == "not resolved") & clear).any()  # the stand-in adjustment removed some
    assert ablations.adjust_method(load_results(ablation_dir)) == "holm"


def test_evals_frame_reports_what_each_domain_scored(ablation_dir):
    scored = ablations.evals_frame(load_results(ablation_dir)).set_index("eval")
    assert scored.loc["en_prose", "docs"] == 48 and "nltk-brown 30" in scored.loc["en_prose", "sources"]
    assert list(scored["out_of_pool"]) == [False, False, True]


def test_open_ended_multiplier_cis_are_bounds_not_question_marks(ablation_dir):
    results = load_results(ablation_dir)
    m = next(m for m in results["multipliers"] if not m["extrapolated"])
    m["ci95"] = [None, 1.38]  # the Δ CI's worse end falls below the baseline's smallest budget
    row = ablations.multipliers_frame(results).iloc[0]
    assert row["ci95"].startswith("[< ") and row["ci95"].endswith("1.38x]") and "?" not in row["ci95"]
    smallest = min(p["tokens"] for p in results["variants"]["baseline"]["points"])
    assert f"< {smallest / m['tokens']:.2g}x" in row["ci95"] and "bound" in row["note"]


def test_transfer_frame_shows_tau_interval_and_both_rankings(ablation_dir):
    tf = ablations.transfer_frame(load_results(ablation_dir))
    assert list(tf["eval"]) == ["en_prose", "tech_docs", "multilingual"]
    assert tf.loc[0, "tau_ci95"] == "[-0.33, +1.00]" and tf.loc[0, "sizes"] == "micro → tiny"
    assert tf.loc[0, "ranking, best first (tiny)"] == "roots < roots+dedup < baseline"


def test_old_files_render_without_the_new_parts(tmp_path):
    results = write_synthetic_ablation(tmp_path / "old", new_fields=False)
    assert ablations.evals_frame(results).empty and ablations.transfer_frame(results).empty
    assert ablations.adjust_method(results) is None
    assert set(ablations.controls_frame(results)["kind"]) == {"positive"}
    assert "resolved" not in ablations.comparisons_frame(results)["verdict"].str.cat()


def test_scale_study_is_recognized_by_its_kind(tmp_path):
    write_synthetic_scale_study(tmp_path / "scale")
    assert ablations.scale_study(tmp_path / "scale")["sizes"]["tiny"]["params"] == 463424 * 3
    assert ablations.scale_study(tmp_path / "scale" / "micro") is None
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "results.json").write_text(json.dumps([1, 2]))
    assert ablations.scale_study(tmp_path / "bad") is None
