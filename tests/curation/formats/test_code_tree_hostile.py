"""The `code` reader stays inside the tree it was given and reads regular files only, bounded: a symlink
to a file outside (a crawled repository pulling in `~/.aws/credentials`), a link to `/dev/zero`, a FIFO
and a file over `input.max_doc_bytes` are each rejected with the reason, never read (no leak, no OOM,
no hang), and the ledger still balances. Links inside the tree are read with `follow_symlinks: true`.

Run: `.venv/bin/python -m pytest tests/curation/formats/test_code_tree_hostile.py`
"""

import os

from tests.conftest import read_output
from tests.curation.formats.test_hostile import rejected, run_one


def hostile_tree(tmp_path):
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.py").write_text("x = 1\n")
    (tree / "big.py").write_text("#" * 5001)
    (tmp_path / "credentials").write_text("aws_secret_access_key = CANARY-OUTSIDE\n")
    os.symlink(tmp_path / "credentials", tree / "creds.py")
    os.symlink("/dev/zero", tree / "zero.py")
    os.mkfifo(tree / "fifo.py")
    os.symlink("../a.py", tree / "sub" / "inside.py")
    os.symlink("..", tree / "sub" / "loop")
    return tree


def reasons(run_dir):
    return {r["source"]: r["error"] for r in rejected(run_dir)}


def test_code_reader_rejects_links_out_devices_fifos_and_oversized_files(run_recipe, tmp_path):
    run_dir, summary = run_one(run_recipe, "code", hostile_tree(tmp_path), max_doc_bytes=100)
    kept = {d["id"] for d in read_output(run_dir)}
    assert kept == {"a.py"}
    why = reasons(run_dir)
    assert "max_doc_bytes 100" in why["big.py"] and "5001 bytes" in why["big.py"]
    assert "FIFO" in why["fifo.py"]
    for link in ("creds.py", "zero.py", "sub/inside.py", "sub/loop"):
        assert "symlink" in why[link], (link, why[link])
    assert summary["input"]["docs"] == 7 and summary["rejected"] == 6
    assert not any("CANARY-OUTSIDE" in p.read_text(errors="replace") for p in run_dir.rglob("*") if p.is_file())


def test_follow_symlinks_reads_links_inside_the_tree_only(run_recipe, tmp_path):
    run_dir, _ = run_one(run_recipe, "code", hostile_tree(tmp_path), follow_symlinks=True)
    assert {d["id"] for d in read_output(run_dir)} == {"a.py", "big.py", "sub/inside.py"}
    why = reasons(run_dir)
    assert "outside the input tree" in why["creds.py"] and "outside the input tree" in why["zero.py"]
    assert "folder" in why["sub/loop"] and "FIFO" in why["fifo.py"]
