"""A real full disk under `curate tokenize`: one line naming the file and the cause, exit 1, and no
truncated shard under a name the manifest lists (training/shard_manifest.py writes each shard under a
temporary name and links it into place when whole; index.json is written atomically, last). After the
filesystem grows, the same command gives the shards of a tokenization that never ran out of space.

The disk is a 512 KiB tmpfs (`tiny_disk`, tests/conftest.py); the shards of the sample need more.
Needs root to mount; skipped with the reason otherwise.
"""

import json
import os
import re
import subprocess

import numpy as np

from training.cli import main


def shards(folder) -> dict[str, list[int]]:
    index = json.loads((folder / "index.json").read_text())
    files = [s["file"] for split in index["splits"].values() for s in split["shards"]]
    return {f: np.load(folder / f).tolist() for f in files}


def test_a_full_disk_is_one_line_naming_the_file_and_no_listed_shard_is_truncated(
    run_dir, tokenizer_dir, tiny_disk, tmp_path, capsys
):
    out = tiny_disk / "tok"
    args = ["tokenize", run_dir, "--tokenizer", tokenizer_dir, "--val-fraction", "0.5", "--out"]
    assert main([*args, str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert re.fullmatch(
        rf"error: {re.escape(str(out))}/\S+: No space left on device \(the disk is full\); free some space "
        r"and run the same command again\n",
        err,
    ), err
    listed = json.loads((out / "manifest.json").read_text())["files"]
    for name in listed:
        if name.endswith(".npy") and (out / name).exists():
            np.load(out / name)  # whole: a truncated .npy raises ValueError
    assert not (out / "index.json").exists()
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]  # the partial write is gone

    subprocess.run(["mount", "-o", "remount,size=64m", str(tiny_disk)], check=True)  # space freed
    assert main([*args, str(out)]) == 0
    assert main([*args, str(tmp_path / "straight")]) == 0
    assert shards(out) == shards(tmp_path / "straight") and shards(out)


def test_a_disk_that_fills_while_the_tokenizer_copy_is_saved_names_the_folder(
    run_dir, tokenizer_dir, tiny_disk, tmp_path, capsys
):
    """The tokenizer copy is saved by the Rust tokenizers library, whose full disk is a bare
    `Exception: No space left on device (os error 28)`: it is the same one line, naming tokenized/tokenizer."""
    args = ["tokenize", run_dir, "--tokenizer", tokenizer_dir, "--max-docs", "5", "--out"]
    assert main([*args, str(tmp_path / "probe")]) == 0
    shard_bytes = sum(-(-p.stat().st_size // 4096) * 4096 for p in (tmp_path / "probe").glob("*.npy"))
    subprocess.run(["mount", "-o", "remount,size=4m", str(tiny_disk)], check=True)
    vfs = os.statvfs(tiny_disk)
    room = shard_bytes + 5 * 4096  # the shards, their .tmp overlap and the manifest, not the tokenizer copy
    (tiny_disk / "filler").write_bytes(b"\0" * (vfs.f_bavail * vfs.f_frsize - room))
    capsys.readouterr()
    assert main([*args, str(tiny_disk / "tok")]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"error: {tiny_disk / 'tok' / 'tokenizer'}: No space left on device (the disk is full); "
        "free some space and run the same command again\n"
    )
