"""MinHash barrier files: per-task signatures in, clusters out, each written atomically.

Files under `work/<step_id>/` (each written to a temporary name, then renamed, so a crash never
leaves a half-written file that a resumed run would trust):
- `signatures/<rank:05d>.npz`: `sigs` uint32[docs, num_perm], `ids` (UTF-8 bytes) + `id_offsets`,
  `index` (position in the task's document stream), `counts` (shingles per doc), `meta` (JSON: rank,
  world_size, docs, num_perm, digest).
- `clusters.npz`: `table` int64[clustered docs, 4] = (rank, index, cluster, cluster size), keeper
  first within a cluster; the keeper id of each cluster (`keepers`); `meta` (JSON: clusters,
  clustered_docs, duplicates, docs, digest of the inputs and settings, used to skip a finished stage).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from array import array
from pathlib import Path

import numpy as np

from curation.steps.barrier import parse_position, position
from runfolder import atomic_open

UNKNOWN_COUNT = 2**32 - 1  # shingle count of a document signed by an older version: treated as long


def atomic_savez(path: Path, **arrays) -> None:
    """`np.savez` (uncompressed) through the run folder's one atomic writer (temp file, fsync, rename).

    A value may be a `SpilledRows`: it is written as one array, block after block, read back from its
    spill file, so a task's signatures are never held in memory."""
    with atomic_open(path) as f:
        if not any(isinstance(v, SpilledRows) for v in arrays.values()):
            np.savez(f, **arrays)
            return
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, value in arrays.items():
                with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
                    if isinstance(value, SpilledRows):
                        header = {"descr": "<u4", "fortran_order": False, "shape": value.shape}
                        np.lib.format.write_array_header_1_0(out, header)
                        for block in value.blocks():  # the same bytes as np.save of all rows
                            out.write(block.reshape(-1).view(np.uint8))
                    else:
                        np.lib.format.write_array(out, np.asanyarray(value), allow_pickle=False)


class SpilledRows:
    """A task's signature rows, streamed to disk as they are made.

    Signatures go in blocks of BLOCK_BYTES to an unnamed temporary file in the signature folder, so the
    task holds one block, not its signatures (1 KB per document at 256 permutations: 244 MiB for a
    250k-document task). Unnamed, so two attempts of the same task (a requeue while the first still
    runs) never share it and a killed task leaves nothing behind. Ids, positions and shingle counts stay
    in memory (~90 B per document). Unsigned documents (None rows) are skipped."""

    BLOCK_BYTES = 2 << 20

    def __init__(self, folder: Path, num_perm: int):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.num_perm = folder, num_perm
        self.file = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 (kept open; close() closes it)
        self.block_rows = max(1, self.BLOCK_BYTES // (4 * num_perm))
        self.block = np.empty((self.block_rows, num_perm), dtype=np.uint32)
        self.fill = self.spilled = 0
        self._sha = hashlib.sha1()  # of the rows' bytes, updated as they are spilled
        self.ids: list[str] = []
        self.index, self.counts = array("q"), array("I")

    def append(self, row) -> None:
        if row is None:
            return
        sig, doc_id, index, count = row
        if self.fill == self.block_rows:
            self._spill()
        self.block[self.fill] = sig
        self.fill += 1
        self.ids.append(doc_id)
        self.index.append(index)
        self.counts.append(count)

    def _spill(self) -> None:
        data = self.block[: self.fill].reshape(-1).view(np.uint8)
        self._sha.update(data)
        self.file.write(data)
        self.spilled += self.fill
        self.fill = 0

    def sha1(self):
        """A sha1 object fed with every row's bytes so far (the rows are not read back for it)."""
        self._spill()
        return self._sha.copy()

    @property
    def shape(self) -> tuple[int, int]:
        return (self.spilled + self.fill, self.num_perm)

    def blocks(self):
        """The rows in order, a block at a time, read back from the spill file."""
        self._spill()
        self.file.flush()
        self.file.seek(0)
        for start in range(0, self.spilled, self.block_rows):
            out = np.empty((min(self.block_rows, self.spilled - start), self.num_perm), dtype=np.uint32)
            _fill(self.file, out, f"{self.folder}: signature spill file")
            yield out

    def close(self) -> None:
        self.file.close()


def pack_ids(ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    encoded = [i.encode() for i in ids]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(e) for e in encoded], dtype=np.int64)
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def unpack_ids(blob: np.ndarray, offsets: np.ndarray) -> list[str]:
    raw, off = blob.tobytes(), offsets.tolist()
    return [raw[off[i] : off[i + 1]].decode() for i in range(len(off) - 1)]


def write_signatures(folder: Path, rank: int, world_size: int, sigs, ids: list[str], positions, counts=None):
    """Write one task's signatures, doc ids, positions (index in the task's stream) and shingle counts.

    `sigs`: one uint32 array, or a `SpilledRows` (written block by block from its spill file)."""
    blob, offsets = pack_ids(ids)
    index = np.asarray(positions, dtype=np.int64)
    counts = np.asarray(counts if counts is not None else [UNKNOWN_COUNT] * len(ids), dtype=np.uint32)
    if isinstance(sigs, SpilledRows):
        sha = sigs.sha1()
    else:
        sha = hashlib.sha1(np.ascontiguousarray(sigs).reshape(-1).view(np.uint8))
    for part in (blob, index, counts):
        sha.update(part.tobytes())
    meta = {"rank": rank, "world_size": world_size, "docs": len(ids), "num_perm": sigs.shape[1]}
    meta["digest"] = sha.hexdigest()
    arrays = {
        "sigs": sigs,
        "ids": blob,
        "id_offsets": offsets,
        "index": index,
        "counts": counts,
        "meta": np.array(json.dumps(meta)),
    }
    atomic_savez(folder / f"{rank:05d}.npz", **arrays)


def _npy_header(f) -> tuple[tuple, bool, np.dtype]:
    """(shape, fortran_order, dtype) of the .npy stream `f`, left at the start of the data."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    return np.lib.format.read_array_header_2_0(f)


def _fill(f, out: np.ndarray, what: str) -> None:
    """Read exactly out.nbytes from `f` into `out`, 16 MiB at a time (a zip member reads through a
    temporary bytes object of each call's size)."""
    view, got = memoryview(out.reshape(-1).view(np.uint8)), 0
    while got < len(view):
        n = f.readinto(view[got : got + (16 << 20)])
        if not n:
            raise ValueError(f"{what} is truncated")
        got += n


def _check_num_perm(path: Path, meta: dict, num_perm: int) -> None:
    if meta["num_perm"] != num_perm:
        raise ValueError(f"{path}: num_perm {meta['num_perm']} != {num_perm}; rerun the signature step")


def read_npz_member_into(path: Path, name: str, out: np.ndarray) -> None:
    """Read an (uncompressed) npz member straight into `out`: no second copy of all signatures."""
    with zipfile.ZipFile(path) as zf, zf.open(f"{name}.npy") as f:
        shape, fortran, dtype = _npy_header(f)
        if shape != out.shape or dtype != out.dtype or fortran:
            raise ValueError(f"{path}:{name} is {dtype}{shape}, expected {out.dtype}{out.shape}")
        _fill(f, out, f"{path}:{name}")


def iter_member_rows(path: Path, name: str, chunk_rows: int = 1 << 20, expect: tuple | None = None):
    """The rows of an (uncompressed) npz member, `chunk_rows` at a time (never the whole array).
    `expect`: (dtype, shape) the member must have."""
    with zipfile.ZipFile(path) as zf, zf.open(f"{name}.npy") as f:
        shape, fortran, dtype = _npy_header(f)
        if fortran or not shape:
            raise ValueError(f"{path}:{name} is not a C-ordered array of rows")
        if expect is not None and (dtype != expect[0] or shape != expect[1]):
            raise ValueError(f"{path}:{name} is {dtype}{shape}, expected {np.dtype(expect[0])}{expect[1]}")
        for start in range(0, shape[0], chunk_rows):
            chunk = np.empty((min(chunk_rows, shape[0] - start), *shape[1:]), dtype=dtype)
            _fill(f, chunk, f"{path}:{name}")
            yield chunk


SIG_CHUNK_BYTES = 16 << 20  # signatures streamed at once by a band task: 32,768 rows at 128 permutations


def sig_chunk_docs(sig_bytes: int) -> int:  # signatures of sig_bytes bytes each streamed at once
    return max(1, SIG_CHUNK_BYTES // sig_bytes)


def iter_sig_chunks(files: list[tuple[Path, dict]], num_perm: int, chunk_docs: int | None = None):
    """Yield (first global doc number, uint32[n, num_perm]) over all signature files, in rank order,
    `chunk_docs` rows (default: SIG_CHUNK_BYTES) at a time: the band-sharded path never holds every
    signature at once."""
    chunk_docs, base = chunk_docs or sig_chunk_docs(4 * num_perm), 0
    for path, meta in files:
        _check_num_perm(path, meta, num_perm)
        expect = (np.uint32, (meta["docs"], num_perm))
        for k, chunk in enumerate(iter_member_rows(path, "sigs", chunk_docs, expect)):
            yield base + k * chunk_docs, chunk
        base += meta["docs"]


def member_data_offset(path: Path, name: str) -> tuple[int, tuple, np.dtype] | None:
    """(byte offset of the array data in the file, shape, dtype) of an uncompressed npz member, or None
    if the member is missing or compressed: its rows can then be read in place, a few at a time."""
    with zipfile.ZipFile(path) as zf:
        info = zf.NameToInfo.get(f"{name}.npy")
        if info is None or info.compress_type != zipfile.ZIP_STORED:
            return None
        with zf.open(info) as f:
            shape, fortran, dtype = _npy_header(f)
            npy_header = f.tell()  # bytes into the member (magic + header)
    if fortran:
        return None
    with open(path, "rb") as raw:  # the local file header's name and extra lengths may differ from the index
        raw.seek(info.header_offset + 26)
        n, m = np.frombuffer(raw.read(4), dtype="<u2").tolist()
    return info.header_offset + 30 + n + m + npy_header, shape, dtype


class SignatureRowsReader:
    """Signatures and shingle counts of the signature files by global document number (sorted numbers,
    many at once), read in place with positioned reads of the needed rows (neighbouring rows in one
    read): the cost of a fetch is the rows fetched, not the corpus. Built once per band task (the zip
    directories are parsed here, not per fetch); nothing stays open or mapped between fetches."""

    GAP_BYTES = 8192  # rows closer than this are read in one call, the rows between them discarded

    def __init__(self, files: list[tuple[Path, dict]], num_perm: int):
        self.paths, self.sig_at, self.count_at, self.bases, base = [], [], [], [], 0
        for path, meta in files:
            _check_num_perm(path, meta, num_perm)
            sigs = member_data_offset(path, "sigs")
            if sigs is None or sigs[1] != (meta["docs"], num_perm) or sigs[2] != np.uint32:
                raise ValueError(
                    f"{path}:sigs is not an uncompressed uint32({meta['docs']}, {num_perm}) array"
                )
            counts = member_data_offset(path, "counts")  # None: signed by an older version (no counts)
            if counts is not None and (counts[1] != (meta["docs"],) or counts[2] != np.uint32):
                raise ValueError(f"{path}:counts is not an uncompressed uint32({meta['docs']}) array")
            self.paths.append(path)
            self.sig_at.append(sigs[0])
            self.count_at.append(None if counts is None else counts[0])  # None: signed by an older version
            self.bases.append(base)
            base += meta["docs"]
        self.bases.append(base)
        self.num_perm = num_perm

    def take(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(uint32[len(docs), num_perm] signatures, uint32[len(docs)] shingle counts) of `docs`
        (sorted, distinct global numbers)."""
        sigs = np.empty((len(docs), self.num_perm), dtype=np.uint32)
        counts = np.full(len(docs), UNKNOWN_COUNT, dtype=np.uint32)
        for i, path in enumerate(self.paths):
            a, b = np.searchsorted(docs, [self.bases[i], self.bases[i + 1]])
            if b == a:
                continue
            rows = docs[a:b] - self.bases[i]
            with open(path, "rb", buffering=0) as f:
                _read_rows(f.fileno(), path, self.sig_at[i], rows, sigs[a:b])
                if self.count_at[i] is not None:
                    _read_rows(f.fileno(), path, self.count_at[i], rows, counts[a:b])
        return sigs, counts


def _read_rows(fd: int, path: Path, offset: int, rows: np.ndarray, out: np.ndarray) -> None:
    """out[k] = row rows[k] of the C-ordered array at byte `offset` of the file (rows sorted)."""
    row_bytes = out[0].nbytes if len(out) else 0
    gap = max(1, SignatureRowsReader.GAP_BYTES // max(1, row_bytes))
    pos = 0
    for run in np.split(rows, np.flatnonzero(np.diff(rows) > gap) + 1):  # one read per run of rows
        first, n = int(run[0]), int(run[-1] - run[0]) + 1
        buf = os.pread(fd, n * row_bytes, offset + first * row_bytes)
        if len(buf) != n * row_bytes:
            raise ValueError(f"{path} is truncated")
        block = np.frombuffer(buf, dtype=out.dtype).reshape(n, *out.shape[1:])
        out[pos : pos + len(run)] = block[run - first]
        pos += len(run)


def read_member(path: Path, name: str) -> np.ndarray | None:
    with np.load(path) as z:
        return z[name] if name in z.files else None


def read_meta(path: Path) -> dict:
    with np.load(path) as z:
        return json.loads(str(z["meta"]))


def signature_files(folder: Path, expected_tasks: int) -> list[tuple[Path, dict]]:
    """Every task's signature file with its meta; a missing task is an error (its segment failed)."""
    files = [folder / f"{r:05d}.npz" for r in range(expected_tasks)]
    missing = [f.name for f in files if not f.exists()]
    if missing:
        raise FileNotFoundError(
            f"minhash signatures missing for {len(missing)} task(s) in {folder}: {missing[:5]}"
        )
    return [(f, read_meta(f)) for f in files]


def signatures_digest(files: list[tuple[Path, dict]]) -> str:
    """Identity of a set of signature files (their own digests, in rank order)."""
    return hashlib.sha1("".join(m["digest"] for _, m in files).encode()).hexdigest()


class Signatures:
    """All signatures in one array (preallocated: no concatenation copy) + ids, in rank order."""

    def __init__(self, files: list[tuple[Path, dict]], num_perm: int):
        self.docs = sum(m["docs"] for _, m in files)
        self.sigs = np.empty((self.docs, num_perm), dtype=np.uint32)
        self.rank = np.empty(self.docs, dtype=np.int32)
        self.index = np.empty(self.docs, dtype=np.int64)
        self.counts = np.empty(self.docs, dtype=np.uint32)
        blobs, offsets, pos, base = [], [np.zeros(1, dtype=np.int64)], 0, 0
        for path, meta in files:
            _check_num_perm(path, meta, num_perm)
            n = meta["docs"]
            read_npz_member_into(path, "sigs", self.sigs[pos : pos + n])
            with np.load(path) as z:
                self.rank[pos : pos + n] = meta["rank"]
                self.index[pos : pos + n] = z["index"]
                self.counts[pos : pos + n] = z["counts"] if "counts" in z.files else UNKNOWN_COUNT
                blobs.append(z["ids"])
                offsets.append(z["id_offsets"][1:] + base)
                base += len(blobs[-1])
                pos += n
        self.id_blob = np.concatenate(blobs) if blobs else np.zeros(0, dtype=np.uint8)
        self.id_offsets = np.concatenate(offsets)
        self.digest = signatures_digest(files)

    def id_bytes(self, i: int) -> bytes:
        return self.id_blob[self.id_offsets[i] : self.id_offsets[i + 1]].tobytes()

    def key(self, i: int) -> tuple[bytes, int, int]:
        """Keeper order: smallest id (UTF-8 bytes sort like code points), then position."""
        return self.id_bytes(i), int(self.rank[i]), int(self.index[i])


def load_clusters(path: Path, ranks: set[int] | None = None) -> dict[str, tuple[int, int, str | None]]:
    """`{position(rank, index): (cluster, cluster_size, dup_of or None for the keeper)}` of clustered docs,
    of the given signature ranks only (None: all). A cluster's rows are contiguous, keeper first, so the
    keeper is known from the whole table even when its rank is not loaded."""
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: the minhash cluster stage has not run (or failed)")
    with np.load(path) as z:
        kblob, koffsets = z["keepers"].tobytes(), z["keeper_offsets"]
    out: dict[str, tuple[int, int, str | None]] = {}
    previous = None  # the cluster of the last row of the previous chunk
    for table in iter_member_rows(path, "table"):
        keeper = np.empty(len(table), dtype=bool)
        keeper[0] = previous is None or table[0, 2] != previous
        keeper[1:] = table[1:, 2] != table[:-1, 2]
        previous = table[-1, 2]
        if ranks is not None:
            mine = np.isin(table[:, 0], sorted(ranks))
            table, keeper = table[mine], keeper[mine]
        for (rank, index, cluster, size), first in zip(table.tolist(), keeper.tolist()):
            dup_of = None if first else kblob[int(koffsets[cluster]) : int(koffsets[cluster + 1])].decode()
            out[position(rank, index)] = (cluster, size, dup_of)
    return out


class ClusterLookup:
    """`load_clusters` one signature rank at a time, when a document of that rank first arrives: a
    filter task holds the clustered documents of the shards it sees, not of the whole corpus."""

    def __init__(self, path: Path):
        if not path.exists():
            raise FileNotFoundError(f"{path} missing: the minhash cluster stage has not run (or failed)")
        self.path, self.ranks, self.entries = path, set(), {}

    def get(self, pos: str | None):
        if pos is None:
            return None
        rank = parse_position(pos)[0]
        if rank not in self.ranks:
            self.ranks.add(rank)
            self.entries.update(load_clusters(self.path, {rank}))
        return self.entries.get(pos)
