"""A 20-step CPU training run on the `tiny` preset: loss falls, metrics.jsonl/eval.json/checkpoint
are written, `curate eval` on the checkpoint agrees, and bad configs exit with code 2.

Run: pytest tests/training/test_train.py
"""

import json

import pytest

from tests.training.conftest import SAMPLE
from training.cli import main
from training.evaluate import evaluate_checkpoint
from training.shards import tokenize_run
from training.train import TrainConfig, train


@pytest.fixture(scope="module")
def trained(run_dir, tokenizer_dir, tmp_path_factory):
    data = tmp_path_factory.mktemp("tokenized")
    tokenize_run(run_dir, tokenizer_dir, data, val_fraction=0.05)
    out = tmp_path_factory.mktemp("train")
    cfg = TrainConfig(
        data=str(data),
        out_dir=str(out),
        model="tiny",
        tokens=20 * 4 * 64,
        seq_len=64,
        micro_batch=4,
        lr=3e-3,
        eval_sets=[SAMPLE],
        eval_max_tokens=3000,
        val_max_tokens=2000,
        log_every=1,
        quiet=True,
    )
    return out, train(cfg)


def test_loss_falls_and_files_are_written(trained):
    out, _rec = trained
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in lines] == list(range(1, 21))
    assert set(lines[0]) >= {"step", "tokens", "loss", "lr", "tokens_per_s"}
    first = sum(m["loss"] for m in lines[:3]) / 3
    last = sum(m["loss"] for m in lines[-3:]) / 3
    assert last < first - 0.5, (first, last)
    ev = json.loads((out / "eval.json").read_text())
    assert ev["metric_version"] == 1 and ev["tokens"] == 20 * 256
    r = ev["eval_sets"]["web_sample"]
    assert 0 < r["bpb"] < 10 and r["bytes"] > 0 and r["tokens"] >= 3000
    assert ev["validation"]["loss"] is not None
    assert (out / "checkpoint" / "model.safetensors").exists()


def test_eval_checkpoint_matches_training_eval(trained, tmp_path):
    out, rec = trained
    again = evaluate_checkpoint(out / "checkpoint", [SAMPLE], out=tmp_path / "eval.json", max_tokens=3000)
    assert again["eval_sets"]["web_sample"]["bpb"] == pytest.approx(
        rec["eval_sets"]["web_sample"]["bpb"], rel=1e-4
    )


def test_bad_configs_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: x\nout_dir: y\nlearning_rate: 1\n")
    assert main(["train", str(bad)]) == 2
    assert "learning_rate" in capsys.readouterr().err
    bad.write_text(f"data: {tmp_path}\nout_dir: {tmp_path / 'o'}\n")
    assert main(["train", str(bad)]) == 2  # no tokenized data
    assert main(["eval", str(tmp_path), "--data", SAMPLE]) == 2  # not a checkpoint


def test_resume_continues_where_it_stopped(run_dir, tokenizer_dir, tmp_path, monkeypatch):
    import training.train as tr

    data = tmp_path / "tok"
    tokenize_run(run_dir, tokenizer_dir, data, val_fraction=0.0)
    base = {
        "data": str(data),
        "model": "tiny",
        "tokens": 10 * 2 * 32,
        "seq_len": 32,
        "micro_batch": 2,
        "log_every": 1,
        "eval_max_tokens": 500,
        "val_max_tokens": 0,
        "quiet": True,
        "save_checkpoint": False,
    }
    straight = train(TrainConfig(**base, out_dir=str(tmp_path / "a")))

    real_lr = tr.lr_at

    def crash_at_7(step, *a):
        if step == 7:
            raise RuntimeError("simulated crash")
        return real_lr(step, *a)

    monkeypatch.setattr(tr, "lr_at", crash_at_7)
    cfg = TrainConfig(
        **{**base, "save_checkpoint": True}, out_dir=str(tmp_path / "b"), checkpoint_every=5, resume=True
    )
    with pytest.raises(RuntimeError):
        train(cfg)
    monkeypatch.setattr(tr, "lr_at", real_lr)
    resumed = train(cfg)
    steps = [json.loads(x)["step"] for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 11))
    assert resumed["final_train_loss"] == pytest.approx(straight["final_train_loss"], abs=1e-3)
    assert resumed["eval_sets"] == {} and resumed["tokens"] == straight["tokens"]


def test_window_loader_repeats_data_and_counts_epochs():
    import numpy as np

    from training.train import WindowLoader

    arrays = [np.arange(0, 41, dtype=np.uint16), np.arange(100, 121, dtype=np.uint16)]  # 4 + 2 windows of 10
    loader = WindowLoader(arrays, seq_len=10, seed=0)
    assert loader.tokens_per_epoch == 60
    firsts = []
    for _ in range(3):  # 3 epochs, one window per call
        x, y = loader.next(6)
        assert (y[:, :-1] == x[:, 1:]).all()
        firsts.append(sorted(x[:, 0].tolist()))
    assert firsts[0] == firsts[1] == firsts[2] == [0, 10, 20, 30, 100, 110]  # every window once per epoch
    assert loader.epochs == 3.0
