"""The token-shard folder's contract shared by `curate tokenize` and `curate mix` (format tokens): only
files the manifest lists are ever removed, a foreign folder is refused, the split rule is stable."""

from __future__ import annotations

import pytest

from runfolder.token_folder import TokenFolderError, claim_folder, create_file, listed_files, split_of


def test_claim_removes_only_listed_files_and_refuses_a_foreign_folder(tmp_path):
    out = tmp_path / "tok"
    claim_folder(out)
    written: list[str] = []
    with create_file(out, "train_00000.npy", written) as f:
        f.write(b"x")
    (out / "mine.npy").write_bytes(b"user")
    assert "train_00000.npy" in listed_files(out)
    claim_folder(out)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "mine.npy"]
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "a.npy").write_bytes(b"a")
    with pytest.raises(TokenFolderError, match="not empty"):
        claim_folder(foreign)
    assert (foreign / "a.npy").read_bytes() == b"a"
    with pytest.raises(TokenFolderError, match="already exists"), create_file(out, "mine.npy", []):
        pass


def test_the_split_rule_is_a_stable_hash_of_the_id():
    ids = [f"doc{i}" for i in range(2000)]
    val = [i for i in ids if split_of(i, 0.1) == "validation"]
    assert 120 < len(val) < 280  # ~10 %
    assert split_of("doc7", 0.1) == split_of("doc7", 0.1) and split_of("doc7", 0.0) == "train"
