"""docs/reference/ops.md is what scripts/gen_ops_reference.py writes from the op registry today: an op
added, removed or re-documented (a default, a description) without regenerating the page fails here."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from curation.registry import all_ops, all_readers

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "reference" / "ops.md"


def generator():
    spec = importlib.util.spec_from_file_location(
        "gen_ops_reference", ROOT / "scripts" / "gen_ops_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_ops_page_is_the_generated_one():
    assert PAGE.read_text(encoding="utf-8") == generator().render(), (
        "docs/reference/ops.md is stale: run python scripts/gen_ops_reference.py"
    )


def test_the_ops_page_has_a_section_for_every_registered_op_and_a_row_for_every_format():
    text = PAGE.read_text(encoding="utf-8")
    assert re.findall(r"^### (\S+)$", text, re.MULTILINE) == list(all_ops())
    for name in all_readers():
        assert f"| `{name}` |" in text


def test_markdown_specials_in_docstrings_show_as_written():
    md = generator().md
    assert md("tag: <EMAIL>; a|b; '*'") == "tag: &lt;EMAIL>; a\\|b; '\\*'"
    assert md("keep `<b>|*` as code") == "keep `<b>|*` as code"
