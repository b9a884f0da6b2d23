"""Relative links in README.md and the docs pages point at files that exist, and every file path the
docs tell users to run (`recipes/...yaml`, `bench/...py`, `tests/...py`) exists.

mkdocs `--strict` checks links between pages of the site; this also covers README.md (not part of
the site) and runs in the ordinary test suite, where a page moved or renamed shows up first.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
# repository paths named in code spans: `recipes/ablations/demo.yaml`, `tests/curation/test_run.py::test_x`
REPO_PATH = re.compile(
    r"`((?:recipes|bench|tests|scripts|curation|training|runfolder|dashboard)/[\w./-]+\.(?:yaml|py|md|sh))"
)


def relative_links(page: Path) -> list[tuple[str, Path, str]]:
    """(link as written, file it points at, anchor) for every relative link of a markdown page."""
    text = re.sub(
        r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL
    )  # code blocks are not links
    out = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        out.append((target, (page.parent / path).resolve() if path else page, anchor))
    return out


def anchors(page: Path) -> set[str]:
    """The heading ids a page has, slugged as MkDocs' toc extension does (lowercase, punctuation dropped)."""
    out = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"#{1,6}\s+(.*)", line):
            slug = re.sub(r"[^\w\s-]", "", m.group(1).strip().lower())
            out.add(re.sub(r"[-\s]+", "-", slug).strip("-"))
    return out


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_an_existing_file_and_heading(page):
    broken = []
    for target, path, anchor in relative_links(page):
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target}: no heading #{anchor} in {path.name}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_path_the_docs_name_exists(page):
    text = page.read_text(encoding="utf-8")
    missing = sorted({p for p in REPO_PATH.findall(text) if not (ROOT / p).exists()})
    assert not missing, f"{page.relative_to(ROOT)} names files that do not exist: {missing}"


def test_the_link_check_sees_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    (tmp_path / "there.md").write_text("# A heading\n")
    page.write_text(
        "[ok](there.md#a-heading) [gone](missing.md) [bad anchor](there.md#nope) [web](https://x.org)\n"
    )
    got = {(t, p.exists(), a in anchors(p) if a else None) for t, p, a in relative_links(page)}
    assert got == {
        ("there.md#a-heading", True, True),
        ("missing.md", False, None),
        ("there.md#nope", True, False),
    }
