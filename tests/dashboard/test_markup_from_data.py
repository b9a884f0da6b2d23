"""Text that a run or ablation folder carries is inert on every page: the recipe name in each run
page's header; results.json's name, model, metric, controls and fit warnings on the Ablations page;
and bidi controls (U+202E makes `gnp.exe` read as `exe.png`) are shown as visible escapes.

Run: `.venv/bin/python -m pytest tests/dashboard/test_markup_from_data.py`
"""

import json

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import markup
from tests.dashboard.conftest import APP
from tests.dashboard.synthetic import write_synthetic_run
from tests.dashboard.synthetic_ablation import write_synthetic_ablation
from tests.dashboard.test_markup import _markdown_strings, unsafe

IMG = "x` ![i](http://h/b.png) `y"
RLO = "report\u202egnp.exe"
BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_bidi_controls_are_visible_escapes_in_every_helper():
    for out in (markup.text(RLO), markup.code(RLO), markup.plain(RLO), markup.no_bidi(RLO)):
        assert "\u202e" not in out and "u202e" in out
    assert not any(c in markup.text(BIDI) + markup.code(BIDI) for c in BIDI)


def _open(monkeypatch, folder, page):
    monkeypatch.setenv("ROOTSTOCK_DASHBOARD_ARGS", json.dumps([str(folder)]))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return _markdown_strings(at) + [t.value for t in at.title] + [s.value for s in at.subheader]


@pytest.mark.parametrize("page", ["overview", "samples"])
def test_recipe_name_in_the_page_header_is_inert(monkeypatch, tmp_path, page):
    run = tmp_path / "run"
    write_synthetic_run(run, n_docs=50)
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, "recipe": IMG + RLO}))
    strings = _open(monkeypatch, run, page)
    assert {s: unsafe(s) for s in strings if unsafe(s)} == {}
    assert any("http://h/b.png" in s.replace("\\", "") for s in strings)  # shown, inert
    assert not any("\u202e" in s for s in strings)


def test_results_json_text_fields_are_inert(monkeypatch, tmp_path):
    folder = tmp_path / "abl"
    res = write_synthetic_ablation(folder)
    res.update(name=IMG, model=IMG, metric=IMG + RLO)
    res["controls"] = [{"name": IMG, "passed": False, "detail": RLO + IMG}]
    res["fit"] = {**(res.get("fit") or {}), "ok": False, "se_beta_rel": 1.0, "warnings": [IMG, RLO]}
    (folder / "results.json").write_text(json.dumps(res))
    strings = _open(monkeypatch, folder, "ablations")
    assert {s: unsafe(s) for s in strings if unsafe(s)} == {}
    assert sum("http://h/b.png" in s.replace("\\", "") for s in strings) >= 4
    assert not any("\u202e" in s for s in strings)


def test_arabic_letter_mark_is_shown_not_applied():
    """U+061C is a bidi control too (found by the by-hand recheck): shown as an escape like U+202E."""
    from dashboard import markup

    assert "\\u061c" in markup.text("name\u061cgnp.exe") and "\u061c" not in markup.text("name\u061cgnp.exe")


def _frame_cells(at: AppTest) -> list[str]:
    cells = []
    for df in at.dataframe:
        v = df.value
        cells += [str(c) for c in v.astype(str).values.ravel()] + [str(c) for c in (*v.columns, *v.index)]
    return cells


@pytest.mark.parametrize("page", ["overview", "duplicates"])
def test_bidi_controls_in_table_cells_are_visible_escapes(monkeypatch, tmp_path, page):
    """A step name, a line_dedup removed line and its document id shown in a table keep no live bidi
    control (the grid renders no markdown, but the browser applies U+202E / U+2066-2069 / U+061C)."""
    run = tmp_path / "run"
    write_synthetic_run(run, n_docs=50)
    summary = json.loads((run / "summary.json").read_text())
    step = {"name": "line_dedup", "op": "line_dedup", "in": 40, "kept": 40, "removed": 0}
    step |= {"removed_by_reason": {}, "modified": 3, "bytes_removed": 90, "seconds": 0.1, "cpu_seconds": 0.1}
    summary["steps"] = [{**summary["steps"][0], "name": "s" + RLO}, *summary["steps"][1:], step]
    (run / "summary.json").write_text(json.dumps(summary))
    units = run / "removed_units" / "line_dedup"
    units.mkdir(parents=True)
    rows = [{"unit": "nav " + RLO + "\u2066x\u2069\u061c", "count": 9, "example_id": "d" + RLO}]
    (units / "00000.json").write_text(json.dumps(rows))
    monkeypatch.setenv("ROOTSTOCK_DASHBOARD_ARGS", json.dumps([str(run)]))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    if page != "overview":
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    cells = _frame_cells(at)
    assert not at.error, [e.value for e in at.error]
    assert any("report\\u202egnp.exe" in c for c in cells), "the value is shown, escaped"
    assert [c for c in cells if any(b in c for b in BIDI + "\u061c")] == []


def test_a_damaged_removed_units_file_is_an_error_on_the_page_not_an_exception(monkeypatch, tmp_path):
    run = tmp_path / "run"
    write_synthetic_run(run, n_docs=50)
    summary = json.loads((run / "summary.json").read_text())
    step = {"name": "line_dedup", "op": "line_dedup", "in": 40, "kept": 40, "removed": 0}
    step |= {"removed_by_reason": {}, "modified": 3, "bytes_removed": 90, "seconds": 0.1, "cpu_seconds": 0.1}
    summary["steps"] = [*summary["steps"], step]
    (run / "summary.json").write_text(json.dumps(summary))
    units = run / "removed_units" / "line_dedup"
    units.mkdir(parents=True)
    (units / "00000.json").write_text('[{"unit": "a", "count": "x", "example_id": 1}]')
    monkeypatch.setenv("ROOTSTOCK_DASHBOARD_ARGS", json.dumps([str(run)]))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("views/duplicates.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("00000.json" in e.value.replace("\\", "") for e in at.error)
