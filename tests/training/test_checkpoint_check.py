"""Checkpoint files are checked before torch / safetensors read them: a truncated or foreign
`optimizer.pt` or `model.safetensors` is one ConfigError naming the file (exit 2 in the CLI), not a
library traceback. The files are written by the real torch.save / safetensors, then damaged."""

import os

import pytest
import torch
from safetensors.torch import save_file

from training.checkpoint_check import check_checkpoint_folder, check_safetensors, check_torch_zip
from training.errors import ConfigError


@pytest.fixture
def files(tmp_path):
    opt, weights = tmp_path / "optimizer.pt", tmp_path / "model.safetensors"
    torch.save({"optimizer": {"state": {}}, "step": 3, "w": torch.arange(1000.0)}, opt)
    save_file({"a": torch.zeros(64, 8), "b": torch.ones(3)}, str(weights))
    return opt, weights


def test_complete_files_pass(files):
    check_torch_zip(files[0])
    check_safetensors(files[1])


@pytest.mark.parametrize("keep", [0, 3, 100, -10])
def test_truncated_torch_checkpoint_is_one_error_naming_it(files, keep):
    opt = files[0]
    data = opt.read_bytes()
    opt.write_bytes(data[: keep if keep >= 0 else len(data) + keep])
    with pytest.raises(ConfigError, match=f"^{opt}: unusable checkpoint file .*truncated or corrupt"):
        check_torch_zip(opt)


def test_corrupt_torch_entry_and_non_zip_are_refused(files, tmp_path):
    opt = files[0]
    data = bytearray(opt.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the tensor data: the zip's CRC no longer matches
    opt.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="corrupt"):
        check_torch_zip(opt)
    other = tmp_path / "legacy.pt"
    other.write_bytes(b"\x80\x04K\x01.")  # a bare pickle: never handed to torch
    with pytest.raises(ConfigError, match="no PK"):
        check_torch_zip(other)


@pytest.mark.parametrize("cut", [4, 20, 1])
def test_truncated_safetensors_is_one_error_naming_it(files, cut):
    weights = files[1]
    data = weights.read_bytes()
    weights.write_bytes(data[:cut] if cut < 8 else data[:-cut])
    with pytest.raises(ConfigError, match=f"^{weights}: unusable safetensors file"):
        check_safetensors(weights)


def test_safetensors_with_a_junk_header_is_refused(tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes((10**12).to_bytes(8, "little") + b"{}")
    with pytest.raises(ConfigError, match="header length"):
        check_safetensors(bad)
    bad.write_bytes((4).to_bytes(8, "little") + b"nope")
    with pytest.raises(ConfigError, match="unusable safetensors"):
        check_safetensors(bad)


def _rewrite_header(path, edit) -> None:
    import json
    import struct

    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = edit(json.loads(raw[8 : 8 + n]))
    head = header.encode() if isinstance(header, str) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(head)) + head + raw[8 + n :])


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (lambda h: {k: {**t, "dtype": "F64"} for k, t in h.items()}, "offsets span"),  # was SafetensorError
        (lambda h: {k: {**t, "shape": [2**40, 2**40]} for k, t in h.items()}, "its offsets span"),
        (lambda h: {k: {**t, "dtype": "X9"} for k, t in h.items()}, "unknown dtype"),
        (lambda h: "[" * 50_000 + "]" * 50_000, "recursion"),  # was RecursionError, exit 1
        (lambda h: {**h, "__metadata__": [1, 2]}, "__metadata__"),  # was SafetensorError, no file name
    ],
)
def test_a_safetensors_header_that_disagrees_with_itself_is_one_error_naming_it(files, edit, why):
    _, st = files
    _rewrite_header(st, edit)
    with pytest.raises(ConfigError, match=f"{st}: unusable safetensors file.*{why}"):
        check_safetensors(st)


def test_a_fifo_in_place_of_a_checkpoint_file_is_refused_without_blocking(tmp_path):
    """`open` of a FIFO blocks until a writer comes: `curate eval` hung on one named model.safetensors."""
    for name, check in (("model.safetensors", check_safetensors), ("optimizer.pt", check_torch_zip)):
        os.mkfifo(tmp_path / name)
        with pytest.raises(ConfigError, match="not a regular file"):
            check(tmp_path / name)


@pytest.mark.parametrize(
    "name", ["config.json", "tokenizer.json", "tokenizer_config.json", "train_state.json"]
)
def test_curate_eval_refuses_a_fifo_checkpoint_json_file_without_blocking(tmp_path, capsys, name):
    """A FIFO config.json hung `curate eval` (transformers opened it); a FIFO tokenizer.json ended in a
    5-line 'install sentencepiece' error, exit 1. Now one line naming it, exit 2, before any open."""
    from training.cli import main

    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text('{"vocab_size": 64, "hidden_size": 8}')
    (ckpt / name).unlink(missing_ok=True)
    os.mkfifo(ckpt / name)
    (tmp_path / "held.jsonl").write_text('{"id": "a", "text": "x"}\n')
    assert main(["eval", str(ckpt), "--data", str(tmp_path / "held.jsonl")]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"error: {ckpt / name}: unusable checkpoint file (not a regular file (a FIFO, folder or device))\n"
    )


def test_a_config_json_that_disagrees_with_the_weights_is_one_error_naming_it(files):
    """vocab_size 10**12 in config.json: transformers' 10-line size-mismatch RuntimeError, exit 1."""
    ckpt = files[1].parent
    save_file({"model.embed_tokens.weight": torch.zeros(64, 8)}, str(files[1]))
    (ckpt / "config.json").write_text('{"vocab_size": 64, "hidden_size": 8}')
    check_checkpoint_folder(ckpt)
    (ckpt / "config.json").write_text('{"vocab_size": 1000000000000, "hidden_size": 8}')
    with pytest.raises(
        ConfigError, match=f"^{ckpt / 'config.json'}: vocab_size, hidden_size .* do not match"
    ):
        check_checkpoint_folder(ckpt)
    (ckpt / "config.json").write_text("[1]")
    with pytest.raises(ConfigError, match="not a JSON object"):
        check_checkpoint_folder(ckpt)
