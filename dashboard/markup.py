"""Escaping for strings that come from documents (ids, reasons, metadata keys, errors, paths) before
they reach Streamlit markdown (`st.markdown`, captions, widget and metric labels).

Why: Streamlit renders markdown, and a document id like ``x` ![i](http://h/b.png) `y`` closes the
code span it was put in, so the browser fetches the image (a tracking pixel in a crawled corpus).
`code()` builds a CommonMark code span whose fence is longer than any backtick run inside it, so
nothing inside is markdown; `text()` backslash-escapes ASCII punctuation (but a mid-word `_` or `-`),
CommonMark treats as a literal, so no link, image, emphasis, HTML, Streamlit directive (`:red[...]`,
`:material/...:`) or `$...$` math can form. Both put control characters and line breaks as spaces (a
blank line would end the paragraph and whatever follows would be markdown again), show bidi controls
as visible escapes (`\\u202e`: a right-to-left override would make `gnp.exe` read as `exe.png`), and
cut long values.
"""

from __future__ import annotations

import re

MAX_CHARS = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Bidi marks, embeddings, overrides and isolates: U+202E makes `gnp.exe` read as `exe.png`. They are
# shown as visible escapes (`\u202e`), so a reader sees that a name holds one instead of being fooled.
_BIDI = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")  # U+061C: Arabic letter mark
# every ASCII punctuation character, except `_` inside a word (CommonMark never reads it as emphasis
# there, so `roots_filters` stays as it is) and `-` after the start (only a line-start `-` is markdown)
_PUNCT = re.compile(r"([!-,./:-@\[-^`{-~]|(?<!\w)_|_(?!\w)|^-)")
_TICKS = re.compile(r"`+")


def no_bidi(value) -> str:
    """`str(value)` with every bidi control shown as a visible escape (for text outside markdown too:
    st.code bodies, dataframe cells, pre-escaped HTML)."""
    return _BIDI.sub(lambda m: f"\\u{ord(m.group()):04x}", str(value))


def plain(value, limit: int = MAX_CHARS) -> str:
    """`value` for a place that renders no markdown (a dataframe cell, a chart label): control
    characters as spaces, bidi controls visible, long values cut."""
    return _plain(value, limit)


def _plain(value, limit: int) -> str:
    s = no_bidi(_CONTROL.sub(" ", str(value)))
    return s if len(s) <= limit else s[:limit] + "…"


def code(value, limit: int = MAX_CHARS) -> str:
    """`value` as an inline code span that nothing inside can end early."""
    s = _plain(value, limit)
    fence = "`" * (max((len(m) for m in _TICKS.findall(s)), default=0) + 1)
    if not s.strip():  # all spaces: CommonMark keeps them as they are
        return f"`{s or ' '}`"
    pad = " " if s[0] in "` " or s[-1] in "` " else ""  # one space each side is stripped by the parser
    return f"{fence}{pad}{s}{pad}{fence}"


def text(value, limit: int = MAX_CHARS) -> str:
    """`value` as literal text inside markdown (every ASCII punctuation character escaped)."""
    return _PUNCT.sub(r"\\\1", _plain(value, limit))


def frame(df):
    """`df` for `st.dataframe` with every text cell, column name and index label passed through
    `no_bidi`. Why: a grid cell renders no markdown, but the browser still applies a U+202E in a
    document id, step name or removed line, so `gnp.exe` would read as `exe.png` there too."""

    def clean(v):
        return no_bidi(v) if isinstance(v, str) else v

    out = df.map(clean)
    out.columns = out.columns.map(clean)
    out.index = out.index.map(clean)
    return out
