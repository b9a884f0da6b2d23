"""Tests of the MinHash barrier files (curation/steps/minhash/files.py): signature rows streamed to an
unnamed spill file give the same bytes and digest as one array, two attempts of one task never share a
spill file, band tasks read bucket members' rows in place, and filter tasks load the cluster table one
signature rank at a time.

Run: `.venv/bin/python -m pytest tests/curation/steps/test_minhash_files.py`
"""

from __future__ import annotations

import numpy as np
import pytest

from curation.steps.minhash.files import SpilledRows
from tests.curation.steps.minhash_corpus import _corpus, _run_barrier, _write_shards


@pytest.mark.parametrize("n", [0, 5, 32768, 2 * 32768 + 5])  # 16 permutations: blocks of 32768 rows
def test_signature_rows_spilled_to_disk_give_the_same_file_as_one_array(tmp_path, n):
    """The signature step streams its rows to a spill file (one block in memory, unsigned docs
    skipped) and writes the same file, byte for byte, as one stacked array: same digest, so resumed
    runs and the cluster stage agree. The spill file is unnamed: nothing is left in the folder."""
    from curation.steps.minhash.files import read_meta, write_signatures

    rng = np.random.default_rng(3)
    sigs = rng.integers(0, 2**32, size=(n, 16), dtype=np.uint32)
    ids = [f"doc{i}" for i in range(n)]
    rows = SpilledRows(tmp_path / "spill", 16)
    for i in range(n):
        rows.append((sigs[i], ids[i], 2 * i, i % 7))
        rows.append(None)  # an unsigned document
    assert rows.block_rows == 32768 and rows.fill <= rows.block_rows and rows.shape == (n, 16)
    write_signatures(tmp_path / "one", 0, 1, sigs, ids, range(0, 2 * n, 2), [i % 7 for i in range(n)])
    write_signatures(tmp_path / "blocks", 0, 1, rows, rows.ids, rows.index, rows.counts)
    assert not list((tmp_path / "spill").iterdir())
    rows.close()
    one, blocks = tmp_path / "one" / "00000.npz", tmp_path / "blocks" / "00000.npz"
    assert one.read_bytes() == blocks.read_bytes()
    assert read_meta(blocks)["docs"] == n
    with np.load(blocks) as z:
        assert (z["sigs"] == sigs).all()


def test_signature_rows_reader_reads_the_rows_asked_for(tmp_path):
    """A band task fetches its bucket members' signatures and shingle counts in place (positioned reads
    of those rows, neighbours in one read): the same rows as loading every file, across files, an empty
    one included."""
    from curation.steps.minhash.files import SignatureRowsReader, signature_files, write_signatures

    rng = np.random.default_rng(5)
    sizes, folder, arrays, counts = [300, 0, 1000, 7], tmp_path / "signatures", [], []
    for r, n in enumerate(sizes):
        arrays.append(rng.integers(0, 2**32, size=(n, 32), dtype=np.uint32))
        counts += [r * 10_000 + i for i in range(n)]
        ids = [f"d{r}-{i}" for i in range(n)]
        write_signatures(folder, r, len(sizes), arrays[-1], ids, range(n), counts[len(counts) - n :])
    every, counts = np.concatenate(arrays), np.array(counts)
    reader = SignatureRowsReader(signature_files(folder, len(sizes)), 32)
    for docs in (np.arange(len(every)), np.sort(rng.choice(len(every), 50, replace=False)),
                 np.array([0, 299, 300, 1306]), np.array([], dtype=np.int64)):  # fmt: skip
        sigs, got = reader.take(docs)
        assert (sigs == every[docs]).all() and (got == counts[docs]).all()
    with pytest.raises(ValueError, match="num_perm"):
        SignatureRowsReader(signature_files(folder, len(sizes)), 64)


def test_two_attempts_of_one_task_do_not_share_a_spill_file(tmp_path):
    """A requeued task (same rank) writing while the first attempt still runs: each keeps its own rows."""
    from curation.steps.minhash.files import write_signatures

    rng = np.random.default_rng(8)
    a, b = (rng.integers(0, 2**32, size=(40_000, 16), dtype=np.uint32) for _ in range(2))
    first, second = SpilledRows(tmp_path / "sig", 16), SpilledRows(tmp_path / "sig", 16)
    for i in range(len(a)):  # interleaved, across several spilled blocks
        first.append((a[i], f"a{i}", i, 1))
        second.append((b[i], f"b{i}", i, 1))
    write_signatures(tmp_path / "one", 0, 1, first, first.ids, first.index, first.counts)
    write_signatures(tmp_path / "two", 0, 1, second, second.ids, second.index, second.counts)
    first.close(), second.close()
    with np.load(tmp_path / "one" / "00000.npz") as z1, np.load(tmp_path / "two" / "00000.npz") as z2:
        assert (z1["sigs"] == a).all() and (z2["sigs"] == b).all()


def test_signature_step_leaves_no_spill_file(tmp_path):
    """Only the rank files remain in the signature folder (the spill files are unnamed)."""
    shards, _ = _corpus()
    _run_barrier(tmp_path / "run", _write_shards(tmp_path / "in", shards), tasks=2)
    names = sorted(p.name for p in (tmp_path / "run" / "work" / "minhash_dedup" / "signatures").iterdir())
    assert names == ["00000.npz", "00001.npz"]


def test_filter_loads_the_clusters_of_the_ranks_it_sees_only(tmp_path):
    """A filter task loads the cluster table one signature rank at a time (memory ~ its shards, not the
    corpus), with the same decisions as the whole table, also when a keeper lies in another rank."""
    from curation.steps.minhash.files import ClusterLookup, load_clusters

    shards, _ = _corpus()
    _run_barrier(tmp_path / "run", _write_shards(tmp_path / "in", shards), tasks=3)
    path = tmp_path / "run" / "work" / "minhash_dedup" / "clusters.npz"
    full = load_clusters(path)
    rank_of = lambda pos: int(pos.split(":")[0])
    ranks = {rank_of(p) for p in full}
    assert len(ranks) > 1 and any(v[2] is not None for v in full.values())
    for r in ranks:
        assert load_clusters(path, {r}) == {p: v for p, v in full.items() if rank_of(p) == r}
    lookup = ClusterLookup(path)
    first = max(full)
    assert lookup.get(first) == full[first] and lookup.ranks == {rank_of(first)}
    assert all(lookup.get(p) == v for p, v in full.items()) and lookup.ranks == ranks
