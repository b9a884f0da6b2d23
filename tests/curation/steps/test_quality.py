"""Tests of the datatrove quality-filter ops (curation/steps/quality.py): Gopher quality / repetition,
C4, FineWeb and the URL filter.

Checks that params mirror the filters' `__init__`, that each op removes what datatrove removes with
datatrove's reason, that removed documents go to the exclusion writer, and that nothing downloads
(tldextract runs on its bundled suffix list). Run: HF_HUB_OFFLINE=1 pytest tests/curation/steps/test_quality.py
"""

import inspect

import pytest
from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
    URLFilter,
)

from curation.registry import StepContext, get_op
from curation.steps.quality import OfflineURLFilter  # registers the ops even if other step modules ran first

GOOD = (
    "The committee met on Tuesday to discuss the new budget for the library.\n"
    "Members agreed that the reading room needs better lighting and more chairs.\n"
    "They also asked the staff to extend the opening hours during the exam period.\n"
    "A final decision on the heating system will be taken at the next meeting.\n"
    "The chair thanked the volunteers for their work over the past year.\n"
    "Everyone was invited to send suggestions to the secretary before the end of the month.\n"
)

OPS = {
    "gopher_quality": GopherQualityFilter,
    "gopher_repetition": GopherRepetitionFilter,
    "c4_quality": C4QualityFilter,
    "fineweb_quality": FineWebQualityFilter,
    "url_filter": URLFilter,
}


def build(name: str, tmp_path, keep_removed: bool = False, **params):
    op = get_op(name)
    return op.build(
        op.params(**params), StepContext(run_dir=tmp_path, step_id=name, keep_removed=keep_removed)
    )


def doc(text: str, i: int = 0, **metadata) -> Document:
    return Document(text=text, id=str(i), metadata=dict(metadata))


@pytest.mark.parametrize("name,cls", OPS.items())
def test_params_mirror_init(name, cls):
    init = set(inspect.signature(cls.__init__).parameters) - {"self", "exclusion_writer"}
    assert set(get_op(name).params.model_fields) == init


@pytest.mark.parametrize("name", ["gopher_quality", "gopher_repetition", "c4_quality", "fineweb_quality"])
def test_good_document_is_kept(name, tmp_path):
    step = build(name, tmp_path)
    assert [d.id for d in step.run(iter([doc(GOOD)]))] == ["0"]


def test_gopher_quality_reason_and_param(tmp_path):
    step = build("gopher_quality", tmp_path)
    assert list(step.run(iter([doc("too short to be a document")]))) == []
    assert step.stats.stats["dropped_gopher_short_doc"].total == 1
    relaxed = build("gopher_quality", tmp_path, min_doc_words=3, min_stop_words=0)
    assert len(list(relaxed.run(iter([doc("too short to be a document")])))) == 1


def test_gopher_repetition_duplicated_lines(tmp_path):
    step = build("gopher_repetition", tmp_path)
    text = "\n".join(["the same line again and again"] * 10 + ["one different line"])
    assert list(step.run(iter([doc(text)]))) == []
    assert step.stats.stats["dropped_dup_line_frac"].total == 1


def test_c4_quality_curly_bracket_and_lorem(tmp_path):
    step = build("c4_quality", tmp_path)
    docs = [doc(GOOD + "function f() { return 1; }.\n", 0), doc(GOOD + "Lorem ipsum dolor sit amet.\n", 1)]
    assert list(step.run(iter(docs))) == []
    assert step.stats.stats["dropped_curly_bracket"].total == 1
    assert step.stats.stats["dropped_lorem_ipsum"].total == 1


def test_fineweb_quality_line_punctuation(tmp_path):
    step = build("fineweb_quality", tmp_path)
    text = "\n".join(f"menu item number {i} without any final punctuation" for i in range(10))
    assert list(step.run(iter([doc(text)]))) == []
    assert step.stats.stats["dropped_line_punct_ratio"].total == 1


def test_url_filter_offline_and_missing_url(tmp_path):
    # use_integrated_lists=False keeps the test fast (loading datatrove's bundled lists takes ~10 s);
    # those lists ship in the datatrove wheel and are extracted locally, no download either way
    step = build("url_filter", tmp_path, extra_domains=["blocked-site.com"], use_integrated_lists=False)
    assert isinstance(step, OfflineURLFilter)
    assert step.tldextractor.suffix_list_urls == ()  # bundled public suffix snapshot, no fetch
    docs = [
        doc(GOOD, 0, url="https://www.wikipedia.org/wiki/Library"),
        doc(GOOD, 1, url="https://news.blocked-site.com/a"),
        doc(GOOD, 2),
    ]
    assert [d.id for d in step.run(iter(docs))] == ["0", "2"]
    assert step.stats.stats["dropped_domain"].total == 1
    assert step.stats.stats["missing_url"].total == 1


def test_removed_documents_go_to_the_exclusion_writer(tmp_path):
    step = build("gopher_quality", tmp_path, keep_removed=True)
    assert step.exclusion_writer is not None
    assert list(step.run(iter([doc("short")]))) == []
    assert list((tmp_path / "removed" / "gopher_quality").glob("*.jsonl.gz"))
