"""Document-derived strings never become markdown in the dashboard (issue 12 item 11).

An id like ``x` ![i](http://h/b.png) `y`` used to close its code span, and the browser fetched the
image. The unit tests parse `markup.code`/`markup.text` output with a CommonMark parser (markdown-it,
which rich already depends on); the page test runs the dashboard under AppTest on a run whose ids,
languages, metadata keys and rejected records are hostile, and parses every markdown string the pages
produced.

Run: `.venv/bin/python -m pytest tests/dashboard/test_markup.py`
"""

import json
import re

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from dashboard import markup
from tests.dashboard.conftest import APP

HOSTILE = [
    "x` ![i](http://h/b.png) `y",
    "``` ![i](http://h/b.png)",
    "a\n\n![i](http://h/b.png)",
    "<img src=http://h/b.png>",
    "[click](http://h/) :red[big] $x^2$ **bold** :material/home:",
    "`",
    " ",
    "- item &amp; 1. ~~s~~ http://h/x.png",
]
MD = MarkdownIt("commonmark")


def _tokens(source: str):
    for block in MD.parse(source):
        yield block
        yield from block.children or []


def unsafe(source: str) -> list[str]:
    """Tokens that would fetch, link or inject: images, links, raw HTML."""
    return [t.type for t in _tokens(source) if t.type in ("image", "link_open", "html_inline", "html_block")]


def _shown(s: str) -> str:
    """What the page shows of `s`: line breaks and other control characters as one space."""
    return re.sub(r"[\x00-\x1f]+", " ", s)


def test_the_hostile_strings_are_markdown_unescaped():
    """Sanity: the parser sees the attack in the raw strings (so the checks below can fail)."""
    assert unsafe(f"**`{HOSTILE[0]}`**") == ["image"]
    assert unsafe(HOSTILE[3]) and unsafe(HOSTILE[4])


@pytest.mark.parametrize("s", HOSTILE)
def test_code_span_holds_any_string(s):
    out = f"**{markup.code(s)}** · after"
    assert unsafe(out) == []
    codes = [t.content for t in _tokens(out) if t.type == "code_inline"]
    assert codes == [_shown(s)]


@pytest.mark.parametrize("s", HOSTILE)
def test_text_is_literal(s):
    out = f"removed by {markup.text(s)}"
    assert unsafe(out) == []
    inline = [t for t in _tokens(out) if t.type not in ("paragraph_open", "paragraph_close", "inline")]
    assert [t.type for t in inline] == ["text"]  # no emphasis, code, link: one plain text run
    assert inline[0].content == ("removed by " + _shown(s)).strip()  # markdown trims the line end


def test_long_values_are_cut():
    assert len(markup.code("a" * 5000)) < 400 and markup.text("b" * 5000).endswith("…")


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """A real run whose ids, languages and metadata keys are hostile, with a hostile rejected record."""
    from curation.api import run

    tmp = tmp_path_factory.mktemp("hostile")
    rows = [
        {"id": HOSTILE[0], "text": f"Kept. Mail {i}@example.org please.", "metadata": {"lang": HOSTILE[0],
         "pii.![k](http://h/k.png)": 1}}
        for i in range(3)
    ] + [{"id": HOSTILE[1] + str(i), "text": "long " * 100} for i in range(2)]
    src = tmp / "in.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = run(
        {"name": "hostile", "input": {"format": "jsonl", "path": str(src)},
         "steps": [{"length_filter": {"max_chars": 200}}, {"pii": {"ids": False, "metadata": []}}],
         "output": {"path": str(tmp / "hostile"), "keep_removed": True}},
    )
    summary_path = tmp / "hostile" / "summary.json"  # a language label as a language_id step would count it
    summary_path.write_text(json.dumps({**json.loads(summary_path.read_text()), "languages": {HOSTILE[0]: 3}}))
    rej = tmp / "hostile" / "rejected"
    rej.mkdir(exist_ok=True)
    (rej / "00099.jsonl").write_text(json.dumps({"source": HOSTILE[0], "line": 1, "error": HOSTILE[4], "raw": "x"}) + "\n")
    return result.path


def _markdown_strings(at: AppTest) -> list[str]:
    out = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.warning)]
    out += [m.label for m in at.metric]
    out += [str(o) for s in at.get("button_group") for o in getattr(s, "options", [])]
    return out


@pytest.mark.parametrize(
    "page, query",
    [("samples", {"kind": "kept"}), ("samples", {"kind": "removed"}), ("samples", {"kind": "rejected"}),
     ("pii", {}), ("languages", {}), ("filters", {})],
)
def test_pages_render_hostile_strings_inert(monkeypatch, hostile_run, page, query):
    monkeypatch.setenv("ROOTSTOCK_DASHBOARD_ARGS", json.dumps([str(hostile_run)]))
    at = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    strings = _markdown_strings(at)
    assert {s: unsafe(s) for s in strings if unsafe(s)} == {}
    if page in ("samples", "pii", "languages") and query.get("kind") != "removed":
        assert any("http://h/b.png" in s for s in strings), "the hostile value is shown (inert), not dropped"
