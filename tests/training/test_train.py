"""A 20-step CPU training run on the `tiny` preset: loss falls, metrics.jsonl/eval.json/checkpoint
are written, `curate eval` on the checkpoint agrees, and bad configs exit with code 2.

Run: pytest tests/training/test_train.py
"""

import json

import pytest

from tests.training.conftest import HELDOUT, SAMPLE
from training.cli import main
from training.errors import ConfigError
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
        eval_sets=[HELDOUT],
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
    r = ev["eval_sets"]["roots_udhr"]
    assert 0 < r["bpb"] < 10 and r["bytes"] > 0 and r["tokens"] >= 3000
    assert ev["validation"]["loss"] is not None
    assert (out / "checkpoint" / "model.safetensors").exists()


def test_eval_checkpoint_matches_training_eval(trained, tmp_path):
    out, rec = trained
    again = evaluate_checkpoint(out / "checkpoint", [HELDOUT], out=tmp_path / "eval.json", max_tokens=3000)
    assert again["eval_sets"]["roots_udhr"]["bpb"] == pytest.approx(
        rec["eval_sets"]["roots_udhr"]["bpb"], rel=1e-4
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

    from training.windows import WindowLoader

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


def test_window_pool_is_a_random_nested_subset_repeated_each_epoch():
    import numpy as np

    from training.windows import WindowLoader

    arrays = [np.arange(i * 1000, i * 1000 + 401, dtype=np.int64) for i in range(10)]  # 10 docs x 40 windows

    def pool(k, seed=0):
        loader = WindowLoader(arrays, seq_len=10, seed=seed, pool_windows=k)
        firsts = [sorted(loader.next(k)[0][:, 0].tolist()) for _ in range(2)]
        assert firsts[0] == firsts[1]  # the same pool every epoch
        assert loader.epochs == 2.0
        return set(firsts[0])

    small, big = pool(8), pool(80)
    assert len(small) == 8 and len(big) == 80 and small < big  # nested within a seed
    assert len({w // 1000 for w in big}) >= 8  # spread over the documents, not a prefix of the first
    assert pool(8, seed=1) != small  # another seed draws another pool
    with pytest.raises(ConfigError, match="pool of 401 windows"):
        WindowLoader(arrays, seq_len=10, seed=0, pool_windows=401)


def _wsd(data, out, **kw) -> TrainConfig:
    base = {
        "data": str(data),
        "out_dir": str(out),
        "model": "micro",
        "seq_len": 32,
        "micro_batch": 2,
        "schedule": "wsd",
        "warmup_steps": 3,
        "decay_frac": 0.25,
        "eval_sets": [HELDOUT],
        "eval_max_tokens": 600,
        "val_max_tokens": 200,
        "quiet": True,
        "save_checkpoint": False,
    }
    return TrainConfig(**{**base, **kw})


def test_wsd_branch_equals_standalone_run(run_dir, tokenizer_dir, tmp_path):
    """One wsd run with a branch at 16 steps gives the same numbers as a standalone 16-step wsd run, and
    the main run continues as if the branch had not happened (same result as a run without branches)."""
    data = tmp_path / "tok"
    tokenize_run(run_dir, tokenizer_dir, data, val_fraction=0.05)
    step = 2 * 32
    branched = train(_wsd(data, tmp_path / "a", tokens=24 * step, branch_tokens=[8 * step, 16 * step]))
    alone = train(_wsd(data, tmp_path / "b", tokens=16 * step))
    plain = train(_wsd(data, tmp_path / "c", tokens=24 * step))
    assert [b["tokens"] for b in branched["budgets"]] == [8 * step, 16 * step, 24 * step]
    b16 = branched["budgets"][1]
    assert b16["final_train_loss"] == pytest.approx(alone["final_train_loss"], abs=1e-5)
    assert b16["eval_sets"]["roots_udhr"]["bpb"] == pytest.approx(
        alone["eval_sets"]["roots_udhr"]["bpb"], abs=1e-5
    )
    assert b16["epochs"] == alone["epochs"]
    assert branched["eval_sets"]["roots_udhr"]["bpb"] == pytest.approx(
        plain["eval_sets"]["roots_udhr"]["bpb"], abs=1e-5
    )
    # the 8-step branch is a different (earlier) point: it must not coincide with the 16-step one
    assert branched["budgets"][0]["eval_sets"]["roots_udhr"]["bpb"] != b16["eval_sets"]["roots_udhr"]["bpb"]


def test_wsd_schedule_shape():
    from training.schedule import wsd_lr

    lrs = [wsd_lr(s, 20, 1.0, 4, 5) for s in range(20)]
    assert lrs[:4] == [0.25, 0.5, 0.75, 1.0] and set(lrs[4:15]) == {1.0}
    assert lrs[15:] == [1.0, 0.8, 0.6, 0.4, 0.2]


def test_resume_refuses_a_planted_pickle(run_dir, tokenizer_dir, tmp_path):
    """optimizer.pt is read with weights_only=True: a pickle that runs code on load is refused (exit 2),
    and its code never runs."""
    import pickle

    data = tmp_path / "tok"
    tokenize_run(run_dir, tokenizer_dir, data, val_fraction=0.0)
    out = tmp_path / "run"
    cfg = _wsd(data, out, tokens=8 * 64, checkpoint_every=4, eval_sets=[])  # keeps the step-4 checkpoint
    train(cfg)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (out / "checkpoint" / "optimizer.pt").write_bytes(pickle.dumps({"optimizer": Evil(), "step": 1}))
    from training.errors import ConfigError

    with pytest.raises(ConfigError, match="refused"):
        train(TrainConfig(**{**cfg.__dict__, "resume": True}))
    assert not marker.exists()
    yaml_cfg = tmp_path / "c.yaml"
    yaml_cfg.write_text(
        f"data: {data}\nout_dir: {out}\nmodel: micro\ntokens: 512\nseq_len: 32\nresume: true\n"
    )
    assert main(["train", str(yaml_cfg)]) == 2
    assert not marker.exists()


def test_resume_from_a_truncated_optimizer_file_is_one_line_exit_2(run_dir, tokenizer_dir, tmp_path, capsys):
    data = tmp_path / "tok"
    tokenize_run(run_dir, tokenizer_dir, data, val_fraction=0.0)
    out = tmp_path / "run"
    train(_wsd(data, out, tokens=8 * 64, checkpoint_every=4, eval_sets=[]))  # keeps the step-4 checkpoint
    opt = out / "checkpoint" / "optimizer.pt"
    opt.write_bytes(opt.read_bytes()[:-100])  # a copy cut short
    yaml_cfg = tmp_path / "c.yaml"
    yaml_cfg.write_text(f"data: {data}\nout_dir: {out}\nmodel: micro\ntokens: 512\nseq_len: 32\nresume: true\n")
    capsys.readouterr()
    assert main(["train", str(yaml_cfg)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0] and str(opt) in err[0] and "truncated" in err[0]


def test_resume_refuses_a_mismatched_checkpoint(run_dir, tokenizer_dir, tmp_path):
    """Resuming from weights of another shape is an error, not a silent strict=False partial load."""
    from safetensors.torch import load_file, save_file

    data = tmp_path / "tok"
    tokenize_run(run_dir, tokenizer_dir, data, val_fraction=0.0)
    out = tmp_path / "run"
    cfg = _wsd(data, out, tokens=8 * 64, checkpoint_every=4, eval_sets=[])  # keeps the step-4 checkpoint
    train(cfg)
    f = out / "checkpoint" / "model.safetensors"
    sd = load_file(str(f))
    sd.pop("model.norm.weight")
    save_file(sd, str(f))
    from training.errors import ConfigError

    with pytest.raises(ConfigError, match="model.norm.weight"):
        train(TrainConfig(**{**cfg.__dict__, "resume": True}))
