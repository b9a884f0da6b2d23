"""Fuzz the dashboard's document rendering (Hypothesis): for any generated text, id or metadata value,
the HTML of a document diff or of tagged PII holds no element but `<mark>` (nothing from the text
becomes markup), `markup.text`/`markup.code` yield no link, image or HTML for CommonMark, and no bidi
control reaches the page.

Run: `.venv/bin/python -m pytest tests/dashboard/test_fuzz_documents.py`
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

pytest.importorskip("hypothesis")
from hypothesis import given
from hypothesis import strategies as st

from dashboard import documents, markup
from tests.dashboard.test_markup import unsafe

PIECES = ["<", ">", "&", "`", "![i](http://h/b.png)", "<img src=x onerror=1>", "<EMAIL>", "&lt;EMAIL&gt;", "\u202e",
          "\u2066", "\u200f", "\n\n", "$x$", ":red[x]", "</mark>", "<script>", "\x1b[2J", "**", "[", "]"]
texts = st.lists(st.sampled_from(PIECES) | st.text(max_size=12), max_size=12).map("".join)
BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, tuple]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, tuple(attrs)))


def tags_of(html: str) -> set:
    p = Tags()
    p.feed(html)
    return set(p.tags)


ALLOWED = {("mark", (("class", "del"),)), ("mark", (("class", "ins"),)), ("mark", (("class", "tag"),))}


@given(texts, texts)
def test_fuzz_diff_html_holds_only_marks(a, b):
    ha, hb, ratio = documents.diff_html(a, b)
    assert tags_of(ha) <= ALLOWED and tags_of(hb) <= ALLOWED
    assert 0.0 <= ratio <= 1.0
    assert not any(c in markup.no_bidi(ha + hb) for c in BIDI)  # what ui.html_doc sends


@given(texts)
def test_fuzz_highlight_tags_holds_only_marks(text):
    assert tags_of(documents.highlight_tags(text)) <= ALLOWED


@given(texts | st.integers() | st.none() | st.floats())
def test_fuzz_markup_is_inert(value):
    for out in (f"**{markup.code(value)}** · x", f"removed by {markup.text(value)}"):
        assert unsafe(out) == []
    for out in (markup.code(value), markup.text(value), markup.plain(value)):  # plain: no markdown there
        assert not any(c in out for c in BIDI)
