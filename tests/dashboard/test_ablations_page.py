"""The Ablations page on newer results.json files (adjusted verdicts, control kinds, what each eval
domain scored, the scale-transfer table), on a scale study's folder, and on older files without them."""

from tests.dashboard.synthetic_ablation import write_synthetic_ablation, write_synthetic_scale_study
from tests.dashboard.test_pages import open_page, page_text


def _frames(at) -> list:
    return [d.value for d in at.dataframe]


def test_page_shows_adjusted_verdicts_control_kinds_and_scored_documents(dashboard_args, ablation_dir):
    dashboard_args(ablation_dir)
    at = open_page("ablations")
    text = page_text(at)
    assert "holm multiplicity adjustment" in text and "Negative (A/A)" in text
    assert any("negative" in s.value and "same" in s.value for s in at.success)
    frames = _frames(at)
    scored = next(f for f in frames if "out_of_pool" in f.columns)
    assert list(scored["docs"]) == [48, 44, 41]
    transfer = next(f for f in frames if "kendall_tau" in f.columns)
    assert list(transfer["eval"]) == ["en_prose", "tech_docs", "multilingual"]
    comps = next(f for f in frames if "verdict" in f.columns)
    assert "not resolved" in set(comps["verdict"])
    mult = next(f for f in frames if "multiplier" in f.columns)
    assert list(mult.columns) == ["variant", "tokens", "multiplier", "ci95", "note"]
    assert "open-ended" in text  # what a bound such as `< 0.12x` in a CI means


def test_page_renders_an_old_results_file_without_the_new_parts(dashboard_args, tmp_path):
    write_synthetic_ablation(tmp_path / "old", new_fields=False)
    dashboard_args(tmp_path / "old")
    at = open_page("ablations")
    text = page_text(at)
    assert "no multiplicity-adjusted verdicts" in text and "predates" in text
    assert "No negative (A/A) control" in text
    assert not any("kendall_tau" in f.columns for f in _frames(at))


def test_scale_study_shows_rank_agreement_then_one_size(dashboard_args, tmp_path):
    write_synthetic_scale_study(tmp_path / "scale")
    dashboard_args(tmp_path / "scale")
    at = open_page("ablations")
    assert "Rank agreement across model sizes" in page_text(at)
    first = _frames(at)[0]
    assert list(first["sizes"].unique()) == ["micro → tiny"]
    assert "micro" in page_text(at)  # the first size's ablation is shown below
    at.segmented_control(key="size").set_value("tiny").run()
    assert not at.exception and "tiny" in page_text(at)
