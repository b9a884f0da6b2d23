"""First paint: pages with summary-based cards draw them before the (slow) document sample is read
(issue 14 item 12: screenshots within ~3 s showed only a "Reading a sample…" spinner).

Reading the sample is made to fail; the cards must already be on the page when it does.
Run: `.venv/bin/python -m pytest tests/dashboard/test_first_paint.py`
"""

import json

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import data
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
