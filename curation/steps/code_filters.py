"""`code_filters`: StarCoder / The Stack style heuristics for source files, one metric each.

The filters follow the heuristics of Codex (Chen et al. 2021, §3.1: max line > 1000, mean line > 100,
low alphanumeric fraction, auto-generated), The Stack (Kocetkov et al. 2022: files > 1 MB dropped) and
StarCoder (Li et al. 2023, §3: alnum < 0.25, comment filters, per-language rules for data formats).
Metrics go to `code.<metric>`; per-language thresholds are keyed by the reader's `language`.
"""

from __future__ import annotations

import re

from datatrove.data import Document
from pydantic import Field

from curation.registry import OpParams, StepContext, register_op
from curation.steps.base import ScoredFilter

# Codex §3.1 / StarCoder §3.1: mean line > 100, max line > 1000, alnum < 0.25; The Stack: > 1 MB.
DEFAULTS = {
    "max_line_length": 1000,  # characters
    "max_mean_line_length": 100.0,  # characters
    "min_alnum_frac": 0.25,
    "max_comment_frac": 0.8,  # StarCoderData drops files with > 80% comment characters; we count lines
    "max_blob_frac": 0.5,  # share of characters inside base64 / hex runs
    "max_size_bytes": 1_000_000,
}
# Prose and data formats have legitimately long lines / few letters (StarCoder treats them separately).
PER_LANGUAGE = {
    "markdown": {"max_line_length": 3000, "max_mean_line_length": 300.0},
    "restructuredtext": {"max_line_length": 3000, "max_mean_line_length": 300.0},
    "text": {"max_line_length": 3000, "max_mean_line_length": 300.0},
    "tex": {"max_line_length": 3000, "max_mean_line_length": 300.0},
    "html": {"max_line_length": 2000, "max_mean_line_length": 200.0},
    "json": {"min_alnum_frac": 0.15},
    "csv": {"min_alnum_frac": 0.15, "max_mean_line_length": 200.0},
}
# fmt: off
LINE_COMMENTS = {
    "#": ("python", "shell", "ruby", "perl", "r", "makefile", "yaml", "toml", "dockerfile", "cmake", "powershell",
          "julia", "ini"),
    "//": ("c", "cpp", "java", "javascript", "typescript", "go", "rust", "php", "scala", "kotlin", "swift",
           "objective-c", "csharp"),
    "--": ("sql", "lua", "haskell"),
    ";": ("emacs-lisp", "assembly", "ini"),
    "%": ("tex",),
    '"': ("vim",),
}
# fmt: on
BLOCK_COMMENTS = {"/*": "*/", "<!--": "-->"}
_BLOCK_LANGS = {"/*": LINE_COMMENTS["//"] + ("css", "sql"), "<!--": ("html", "xml", "markdown")}

# StarCoder looks for these in the first lines of a file; we also accept them in any of the first 5 lines.
GENERATED = re.compile(
    r"auto[- ]?generated|automatically generated|generated (?:by|from)|do not (?:edit|modify)|"
    r"don't (?:edit|modify)|@generated|code generator",
    re.IGNORECASE,
)
# Base64 / hex runs of 64+ chars (48+ bytes: longer than any identifier), found by mapping every other
# byte to a space and splitting (C speed; a regex tries every start position inside every identifier).
_B64_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_ONLY = bytes(c if c in _B64_CHARS else 32 for c in range(256))
_HEX_CHARS = frozenset(b"0123456789abcdefABCDEF")
# hex literals: 16+ comma-separated 0x values, or 16+ \x escapes (literal prefixes: fast to scan)
_HEX = [
    re.compile(r"0x[0-9a-fA-F]{1,8}(?:\s*,\s*0x[0-9a-fA-F]{1,8}){15,}"),
    re.compile(r"(?:\\x[0-9a-fA-F]{2}){16,}"),
]
_ALNUM_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_ALNUM = re.compile(r"[^\W_]+")


def _encoded(run: bytes) -> bool:
    """A 64+ char run is data when it is hex with a digit, or base64 mixing upper, lower and digits
    (a long word or `aaaa...` is neither)."""
    digit = any(48 <= c <= 57 for c in run)
    if digit and all(c in _HEX_CHARS for c in run):
        return True
    return digit and any(65 <= c <= 90 for c in run) and any(97 <= c <= 122 for c in run)


def blob_chars(text: str) -> int:
    """Characters inside base64 runs, hex runs and hex-literal lists."""
    runs = text.encode("utf-8", errors="surrogatepass").translate(_B64_ONLY).split()
    n = sum(len(r) for r in runs if len(r) >= 64 and _encoded(r))
    return n + sum(len(m) for p in _HEX for m in p.findall(text))


def alnum_chars(text: str) -> int:
    if text.isascii():
        b = text.encode()
        return len(b) - len(b.translate(None, _ALNUM_BYTES))
    return len(text) - len(_ALNUM.sub("", text))


def comment_markers(language: str) -> tuple[list[str], list[tuple[str, str]]]:
    line = [m for m, langs in LINE_COMMENTS.items() if language in langs]
    block = [(o, BLOCK_COMMENTS[o]) for o, langs in _BLOCK_LANGS.items() if language in langs]
    return line, block


def code_metrics(text: str, language: str, header_lines: int = 5) -> dict[str, float]:
    """The `code.*` metrics of one file (pure; see `CodeFilter.decide` for the thresholds).

    Returns:
        max_line_length, mean_line_length (chars, over all lines), alnum_frac (alphanumeric chars /
        all chars), comment_frac (comment lines / non-blank lines; 0 for languages without known
        comment syntax), autogenerated (1.0 when a marker is in the first `header_lines` lines),
        blob_frac (chars in base64 or hex runs / all chars), size_bytes (UTF-8).
    """
    lines = text.splitlines() or [""]
    lengths = [len(line) for line in lines]
    n_chars = max(len(text), 1)
    line_markers, block_markers = comment_markers(language)
    comment, nonblank, in_block = 0, 0, None
    for line in lines:
        s = line.strip()
        if not s:
            continue
        nonblank += 1
        if in_block:
            comment += 1
            if in_block in s:
                in_block = None
            continue
        if s.startswith("#!"):
            continue
        if any(s.startswith(m) for m in line_markers):
            comment += 1
            continue
        for opener, closer in block_markers:
            if s.startswith(opener):
                comment += 1
                if closer not in s[len(opener) :]:
                    in_block = closer
                break
    return {
        "max_line_length": max(lengths),
        "mean_line_length": sum(lengths) / len(lengths),
        "alnum_frac": alnum_chars(text) / n_chars,
        "comment_frac": comment / nonblank if nonblank else 0.0,
        "autogenerated": float(bool(GENERATED.search("\n".join(lines[:header_lines])))),
        "blob_frac": min(blob_chars(text) / n_chars, 1.0),
        "size_bytes": len(text.encode("utf-8", errors="surrogatepass")),
    }


class CodeFilterParams(OpParams):
    max_line_length: int = Field(
        DEFAULTS["max_line_length"], description="max characters in any line (Codex)"
    )
    max_mean_line_length: float = Field(
        DEFAULTS["max_mean_line_length"], description="max mean line length, chars"
    )
    min_alnum_frac: float = Field(
        DEFAULTS["min_alnum_frac"], ge=0, le=1, description="min alphanumeric char share"
    )
    max_comment_frac: float = Field(
        DEFAULTS["max_comment_frac"], ge=0, le=1, description="max comment-line share"
    )
    max_blob_frac: float = Field(
        DEFAULTS["max_blob_frac"], ge=0, le=1, description="max share in base64/hex runs"
    )
    max_size_bytes: int = Field(
        DEFAULTS["max_size_bytes"], ge=1, description="max file size, bytes (The Stack)"
    )
    remove_autogenerated: bool = Field(True, description="remove files with an auto-generated marker up top")
    header_lines: int = Field(5, ge=1, description="how many first lines are searched for generated markers")
    per_language: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="overrides by `language`, merged over the built-in per-language defaults",
    )


class CodeFilter(ScoredFilter):
    name = "🧑‍💻 Code filters"
    metric_prefix = "code."

    def __init__(self, params: CodeFilterParams | None = None, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.params = params or CodeFilterParams()
        self.base = {k: getattr(self.params, k) for k in DEFAULTS}
        self.per_language = {lang: dict(v) for lang, v in PER_LANGUAGE.items()}
        for lang, over in self.params.per_language.items():
            unknown = set(over) - set(DEFAULTS)
            if unknown:
                raise ValueError(f"code_filters.per_language.{lang}: unknown thresholds {sorted(unknown)}")
            self.per_language.setdefault(lang, {}).update(over)

    def thresholds_for(self, language: str) -> dict:
        return {**self.base, **self.per_language.get(language, {})}

    def score(self, doc: Document) -> dict[str, float]:
        return code_metrics(doc.text, doc.metadata.get("language", "unknown"), self.params.header_lines)

    def decide(self, doc: Document, s: dict[str, float]) -> bool | tuple[bool, str]:
        t = self.thresholds_for(doc.metadata.get("language", "unknown"))
        if not doc.text.strip():
            return False, "empty"
        if s["size_bytes"] > t["max_size_bytes"]:
            return False, "file_too_large"
        if self.params.remove_autogenerated and s["autogenerated"]:
            return False, "autogenerated"
        if s["blob_frac"] > t["max_blob_frac"]:
            return False, "data_blob"
        if s["max_line_length"] > t["max_line_length"]:
            return False, "max_line_length"
        if s["mean_line_length"] > t["max_mean_line_length"]:
            return False, "mean_line_length"
        if s["alnum_frac"] < t["min_alnum_frac"]:
            return False, "low_alnum_frac"
        if s["comment_frac"] > t["max_comment_frac"]:
            return False, "comment_frac"
        return True


_METRIC_OF = {
    "max_line_length": ("code.max_line_length", "max"),
    "max_mean_line_length": ("code.mean_line_length", "max"),
    "min_alnum_frac": ("code.alnum_frac", "min"),
    "max_comment_frac": ("code.comment_frac", "max"),
    "max_blob_frac": ("code.blob_frac", "max"),
    "max_size_bytes": ("code.size_bytes", "max"),
}


def _thresholds(p: CodeFilterParams) -> dict:
    f = CodeFilter(p)
    out = {}
    for key, (metric, op) in _METRIC_OF.items():
        per = {lang: over[key] for lang, over in f.per_language.items() if key in over}
        out[metric] = {"op": op, "value": f.base[key], **({"per_lang": per} if per else {})}
    return out


@register_op("code_filters", CodeFilterParams, thresholds=_thresholds)
def code_filters(p: CodeFilterParams, ctx: StepContext):
    """StarCoder/The Stack code filters: line lengths, alnum share, comments, generated files, data blobs, size."""
    return CodeFilter(p, exclusion_writer=ctx.removed_writer())
