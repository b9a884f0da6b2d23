"""First paint: pages with summary-based cards draw them before the (slow) document sample is read
(issue 14 item 12: screenshots within ~3 s showed only a "Reading a sample…" spinner).

Reading the sample is made to fail; the cards must already be on the page when it does.
Run: `.venv/bin/python -m pytest tests/dashboard/test_first_paint.py`
"""

import json

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import LOADING, data
from tests.dashboard.conftest import APP
from tests.dashboard.synthetic import write_synthetic_run


@pytest.mark.parametrize("page", ["duplicates", "languages", "pii"])
def test_cards_are_drawn_before_the_sample_is_read(monkeypatch, tmp_path, page):
    run = tmp_path / f"paint-{page}"  # a folder of its own: no cached sample from another test
    write_synthetic_run(run, n_docs=300)

    def still_reading(*args, **kwargs):
        raise TimeoutError("still reading the sample")

    monkeypatch.setattr(data, "sample_documents", still_reading)
    monkeypatch.setenv("ROOTSTOCK_DASHBOARD_ARGS", json.dumps([str(run)]))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page(f"views/{page}.py").run()
    assert at.exception and "still reading" in at.exception[0].message
    assert at.metric, "the summary-based cards are on the page before the sample is read"


def test_samples_metadata_table_spans_the_page(dashboard_args, synthetic_run):
    """The metadata table is under both columns (full width), not in the narrow right one, and its
    value column is the wide one (issue 14 item 12: it was cut off on the right)."""
    dashboard_args(synthetic_run)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["kind"] = "removed"
    at.run()
    at.switch_page("views/samples.py").run()
    assert not at.exception

    def is_meta(df) -> bool:
        return list(df.value.columns) == ["key", "value"]

    assert [d for d in at.dataframe if is_meta(d)], "the document has a metadata table"
    assert not [d for col in at.columns for d in col.dataframe if is_meta(d)]


def test_title_and_loading_line_paint_before_the_app_loads(monkeypatch, synthetic_run, dashboard_args):
    """A session's first run draws the title and a loading line before the heavy part of the app
    (issue 27 item 8: a cold server's first page stayed blank past the browser's first paint). The app
    is made to fail right after that point; the line must already be on the page."""
    from dashboard import ui

    dashboard_args(synthetic_run)

    def still_loading(*args, **kwargs):
        raise TimeoutError("still loading the app")

    monkeypatch.setattr(ui, "app_args", still_loading)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert at.exception and "still loading" in at.exception[0].message
    assert any(LOADING in m.value and "rootstock dashboard" in m.value for m in at.markdown)


def test_the_loading_line_is_gone_once_the_page_draws(synthetic_run, dashboard_args):
    dashboard_args(synthetic_run)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception and at.title and "Overview" in at.title[0].value
    at.run()  # a later run of the same session (a widget change) does not flash it over the title
    assert not at.exception and not [m for m in at.markdown if LOADING in m.value]


def test_nothing_heavy_is_imported_before_the_first_paint():
    """pandas and altair (seconds on a cold, loaded machine) are imported after the loading line is
    sent: app.py runs as a plain script, stopped at its first markdown call."""
    import subprocess
    import sys

    probe = (
        "import sys, streamlit\n"
        "from streamlit.delta_generator import DeltaGenerator\n"
        "def paint(self, body, *a, **k):\n"
        "    print('HEAVY', [m for m in ('pandas', 'altair', 'pyarrow') if m in sys.modules])\n"
        "    raise SystemExit(0)\n"
        "DeltaGenerator.markdown = paint\n"
        f"sys.argv = [{str(APP)!r}]\n"
        f"exec(compile(open({str(APP)!r}).read(), {str(APP)!r}, 'exec'), {{'__file__': {str(APP)!r}}})\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=False, capture_output=True, text=True, timeout=60
    )
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr[-2000:]
