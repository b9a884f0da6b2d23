"""The dashboard hides PII unless started with `--show-pii` (issue 12 item 7).

A `pii` run that opted out of the run-folder sweep (`run_folder: false`) keeps originals in removed/ and
rejected/: the dashboard's sample, rejected records and id look-ups show tags instead, unless asked.
A swept run has nothing left to hide, and a run without `pii` is shown as it is.

Run: `.venv/bin/python -m pytest tests/dashboard/test_pii_hidden.py`
"""

import json

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import data
from tests.curation.steps.test_pii_sweep import CANARIES, EMAIL, pii_recipe, write_input
from tests.dashboard.conftest import APP


def _found(frame) -> set[str]:
    blob = frame.astype(str).to_csv()
    return {kind for kind, needles in CANARIES.items() if any(n in blob for n in needles)}


@pytest.fixture(scope="module")
def opted_out_run(tmp_path_factory):
    from curation.api import run

    tmp = tmp_path_factory.mktemp("optout")
    recipe = pii_recipe(write_input(tmp), run_folder=False)
    recipe["output"]["path"] = str(tmp / "run")
    return run(recipe).path


def test_an_unswept_pii_run_is_hidden_unless_asked(opted_out_run):
    summary = data.load_summary(opted_out_run)
    assert summary["pii_run_folder"]["scrubbed"] is False
    assert data.pii_hidden(summary) and not data.pii_hidden(summary, show_pii=True)
    assert _found(data.sample_documents(opted_out_run)) == set()
    assert _found(data.read_rejected(opted_out_run)) == set()
    shown = data.sample_documents(opted_out_run, show_pii=True)
    assert _found(shown) == set(CANARIES)  # the originals are there: the check above can fail
    assert _found(data.read_rejected(opted_out_run, show_pii=True)) == set(CANARIES)
    # a duplicate's other member is looked up by the id the sample shows
    hidden_ids = set(data.sample_documents(opted_out_run)["id"])
    found = data.find_documents(opted_out_run, sorted(hidden_ids))
    assert set(found["id"]) == hidden_ids and _found(found) == set()
    # texts are cut and scrubbed for display, lengths are those of the documents
    frame = data.sample_documents(opted_out_run)
    assert (frame["text_len"] == data.sample_documents(opted_out_run, show_pii=True)["text_len"]).all()


def test_swept_and_pii_free_runs_are_shown_as_they_are():
    assert not data.pii_hidden({"pii_run_folder": {"scrubbed": True}, "steps": [{"op": "pii"}]})
    assert not data.pii_hidden({"steps": [{"op": "length_filter"}]})
    assert data.pii_hidden({"steps": [{"op": "pii"}]})  # a run from before the sweep existed


def test_samples_page_hides_rejected_originals(monkeypatch, opted_out_run):
    monkeypatch.setenv("ROOTSTOCK_DASHBOARD_ARGS", json.dumps([str(opted_out_run)]))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["kind"] = "rejected"
    at.run()
    at.switch_page("views/samples.py").run()
    assert not at.exception
    shown = " ".join(str(e.value) for e in (*at.code, *at.markdown))
    assert "<EMAIL>" in shown and EMAIL not in shown
