"""MinhashParams is the one place `num_perm` is read: the signer, the LSH index and the size of a
signature come from it, and the stage modules never read the number themselves.

Run: `.venv/bin/python -m pytest tests/curation/steps/test_minhash_params.py`
"""

from __future__ import annotations

import ast
from pathlib import Path

from curation.steps.minhash import MinhashParams

PACKAGE = Path(__file__).resolve().parents[3] / "curation" / "steps" / "minhash"


def test_the_stage_modules_read_num_perm_from_no_object():
    """bands, cluster, plan and redis get the signer, readers, index and sizes from the params object."""
    for name in ("bands", "cluster", "plan", "redis"):
        tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
        reads = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "num_perm"]
        assert reads == [], f"{name}.py reads num_perm at lines {reads}"


def test_what_num_perm_implies_follows_the_params():
    p = MinhashParams(num_perm=64, threshold=0.8)
    assert p.sig_bytes == 256
    assert p.signer().signature([b"a b c"]).shape == (64,)
    assert p.lsh_index(8, 8).h == 64  # datasketch's number of permutations
    assert MinhashParams(num_perm=128, threshold=0.8).lsh_optimum(0.5, 0.5) == (9, 13)  # datasketch's optimum
