"""The ablation docs cannot mistype a number: docs/ablations.md holds the report.md of the demo and
classifier runs between markers, and each block must be what training/report.py renders from the
committed results.json of that run (docs/results/<name>.json); every 3-decimal number elsewhere in the
section must appear in it."""

import json
import re
from pathlib import Path

import pytest

from runfolder.results import validate
from training.intervals import paired_t
from training.report import render, render_transfer

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ablations.md"


SECTIONS = {
    "demo": "## The data ablation (demo)",
    "classifier": "## Learned quality filter vs ROOTS",
    "mixtures": "## Mixture weightings (web:code)",
}


def _section(heading: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(heading)
    return text[start : text.index("\n## ", start + 1)]


def _numbers(text: str) -> list[str]:
    return re.findall(r"[+-]?\d+\.\d{3}\b", text.replace("−", "-"))


@pytest.mark.parametrize("name", SECTIONS)
def test_the_docs_report_block_is_rendered_from_the_committed_results(name):
    res = json.loads((ROOT / "docs" / "results" / f"{name}.json").read_text())
    assert validate(res) == []
    section = _section(SECTIONS[name])
    block = section.split(f"<!-- report:{name}:start -->\n", 1)[1].split(f"<!-- report:{name}:end -->", 1)[0]
    rendered = render(res).split("\n", 2)[2]  # without the title line
    assert block == rendered
    outside = section.replace(block, "").replace("−", "-")
    missing = [n for n in _numbers(outside) if n not in _numbers(rendered)]
    assert not missing, f"numbers in the docs that the committed results.json does not give: {missing}"
    # an interval quoted in the text is the report's interval of that very delta
    for quoted in re.findall(r"[+-]\d+\.\d{3} \[[+-]\d+\.\d{3}, [+-]\d+\.\d{3}\]", outside):
        assert quoted in rendered.replace("**", ""), quoted


@pytest.mark.parametrize("name", ["demo", "mixtures"])
def test_the_committed_run_meets_the_done_criteria(name):
    """>= 40 scored documents per domain, one out of pool, a positive and a negative control, every
    control passed, and every resolved comparison excludes 0 under the plain paired t-interval
    recomputed from the per-seed points."""
    res = json.loads((ROOT / "docs" / "results" / f"{name}.json").read_text())
    assert all(e["docs"] >= 40 for e in res["evals"].values())
    assert any(e["out_of_pool"] for e in res["evals"].values())
    kinds = {c["kind"] for c in res["controls"]}
    assert kinds == {"positive", "negative"} and all(c["passed"] for c in res["controls"])
    bpb = {(n, p["tokens"], p["seed"]): p["bpb"] for n, v in res["variants"].items() for p in v["points"]}
    for c in res["comparisons"]:
        diffs = [bpb[c["variant"], c["tokens"], s][c["eval"]] - bpb[c["baseline"], c["tokens"], s][c["eval"]] for s in res["seeds"]]  # fmt: skip
        (lo, hi), _ = paired_t(diffs)
        if c["resolved"]:
            assert lo > 0 or hi < 0
        assert abs(lo - c["ci95"][0]) < 1e-9 and abs(hi - c["ci95"][1]) < 1e-9


def test_the_docs_scale_tables_are_rendered_from_the_committed_scale_results():
    """The transfer-across-scale tables are the report of the committed scale run, not typed by hand."""
    res = json.loads((ROOT / "docs" / "results" / "scale.json").read_text())
    per_size = {
        p: json.loads((ROOT / "docs" / "results" / f"scale_{p}.json").read_text()) for p in res["sizes"]
    }
    assert all(validate(r) == [] for r in per_size.values())
    section = _section("## Transfer across scale")
    block = section.split("<!-- report:scale:start -->\n", 1)[1].split("<!-- report:scale:end -->", 1)[0]
    assert block == render_transfer(res, per_size).split("\n", 2)[2]
    assert {r["eval"] for r in res["transfer"]} == {"en_prose", "tech_docs", "multilingual"}
