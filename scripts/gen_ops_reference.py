"""Write docs/reference/ops.md from the op and format registries: what `curate ops` prints, as a page.

The page is generated, never edited by hand, so it cannot drift from the code: every op's docstring,
every param with its default and `Field(description=...)`, every input and output format.
tests/docs/test_ops_reference.py fails when the committed page differs from what this writes (an op
added or a default changed without regenerating).
Usage (repo root): python scripts/gen_ops_reference.py [--check]
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "reference" / "ops.md"
HEADER = """# Ops and formats reference

Generated from the op registry by `python scripts/gen_ops_reference.py` (the same information as
`curate ops`); do not edit by hand. How ops fit into a recipe: [Recipes and ops](../recipes.md).
"""
# Markdown would read these outside code spans: `<EMAIL>` as an HTML tag, `*` as emphasis, `|` as a cell.
_SPECIAL = re.compile(r"([\\*<|])")
_CODE = re.compile(r"(`[^`]*`)")


def md(text: str) -> str:
    """Plain docstring text as markdown that shows the same characters (code spans left as they are)."""
    parts = _CODE.split(text)
    return "".join(
        p if i % 2 else _SPECIAL.sub(lambda m: "&lt;" if m[1] == "<" else "\\" + m[1], p)
        for i, p in enumerate(parts)
    )


def cell(text: str) -> str:
    """`md` for a table cell, on one line."""
    return md(" ".join(text.split()))


def params_table(model, skip: set[str] = frozenset()) -> list[str]:
    """One row per field of a pydantic params model: name, default (or required), description."""
    rows = ["| param | default | what |", "|---|---|---|"]
    for name, f in model.model_fields.items():
        if name in skip:
            continue
        default = "required" if f.is_required() else f"`{f.get_default(call_default_factory=True)!r}`"
        rows.append(f"| `{name}` | {default} | {cell(f.description or '')} |")
    return rows if len(rows) > 2 else []


def render() -> str:
    """The whole page, from the registries (imports every op and format module)."""
    from curation.formats.writers import OUTPUT_FORMATS
    from curation.registry import InputParams, all_ops, all_readers

    readers, ops = all_readers(), all_ops()
    out = [HEADER, "## Input formats", "", "`input: {format: NAME, path: ..., ...}`", ""]
    out += ["| format | what |", "|---|---|"]
    out += [
        f"| `{name}` | {cell(spec.doc.splitlines()[0] if spec.doc else '')} |"
        for name, spec in readers.items()
    ]
    out += ["", "Fields every input format accepts:", "", *params_table(InputParams)]
    common = set(InputParams.model_fields)
    for name, spec in readers.items():
        extra = params_table(spec.params, skip=common)
        if extra:
            out += ["", f"Fields of `{name}`:", "", *extra]
    out += ["", "## Output formats", "", "`output: {format: NAME, ...}`", ""]
    out += ["| format | what |", "|---|---|"]
    for name, fn in sorted(OUTPUT_FORMATS.items()):
        doc = inspect.getdoc(fn) or ""
        out.append(f"| `{name}` | {cell(doc.splitlines()[0] if doc else '')} |")
    out += ["", "## Ops", "", "`steps: [- NAME: {param: value, ...}]`, in pipeline order."]
    for name, op in ops.items():
        out += ["", f"### {name}", "", md(inspect.cleandoc(op.doc or "")), ""]
        out += params_table(op.params) or ["No params."]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/reference/ops.md is not up to date")
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != text:
            print(
                f"{PAGE.relative_to(REPO)} is stale: run python scripts/gen_ops_reference.py", file=sys.stderr
            )
            return 1
        return 0
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(REPO)} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
