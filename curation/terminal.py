"""Printing document-derived strings to a terminal without letting them drive it.

A crawled text or id can hold escape sequences: OSC 52 writes the clipboard, OSC 0/2 sets the window
title, CSI 2J clears the screen, a carriage return or a bidi override hides what precedes it. `curate
sample` prints such strings, so every control character is shown as a visible escape (`\\x1b`, `\\r`,
`\\u202e`) instead of being sent: the whole sequence stays readable as text, nothing is interpreted.
Line breaks and tabs stay in texts; in one-line fields (ids, sources, errors) they are escaped too.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls (0x9b is a one-byte CSI, 0x9d a one-byte OSC),
# bidi embeddings, overrides and isolates, line/paragraph separators.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_LINE = re.compile(_CONTROL.pattern[:-1] + r"\t\n]")


def _visible(m: re.Match) -> str:
    ch = m.group()
    return {"\t": "\\t", "\n": "\\n", "\r": "\\r"}.get(ch) or (
        f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
    )


def safe(value, one_line: bool = False) -> str:
    """`str(value)` with every control character replaced by a visible escape (see the module doc)."""
    return (_CONTROL_LINE if one_line else _CONTROL).sub(_visible, str(value))
