"""`curate train` stops at its wall-clock limit with a resumable checkpoint and an evaluation, and the
shipped example config loads and is shown in `curate train --help` (issue 14, item 10).

Run: `.venv/bin/python -m pytest tests/training/test_max_minutes.py`
"""

import json

import pytest

from tests.training.conftest import HELDOUT
from training.cli import EXAMPLE_TRAIN_CONFIG, main
from training.shards import tokenize_run
from training.train import TrainConfig, load_config, train


def test_max_minutes_stops_checkpoints_evaluates_and_resumes(run_dir, tokenizer_dir, tmp_path):
    data = tmp_path / "tok"
    tokenize_run(run_dir, tokenizer_dir, data, val_fraction=0.0)
    base = {"data": str(data), "model": "tiny", "tokens": 10 * 2 * 32, "seq_len": 32, "micro_batch": 2,
            "log_every": 1, "eval_sets": [HELDOUT], "eval_max_tokens": 500, "val_max_tokens": 0, "quiet": True}  # fmt: skip
    straight = train(TrainConfig(**base, out_dir=str(tmp_path / "a"), save_checkpoint=False))
    # a limit that has passed by the end of the first step: one step, then checkpoint and evaluation
    cut = train(TrainConfig(**base, out_dir=str(tmp_path / "b"), max_minutes=1e-9))
    assert cut["stopped_at_max_minutes"] and cut["steps"] == 1 and cut["planned_steps"] == 10
    assert cut["tokens"] == 2 * 32 and cut["eval_sets"]["roots_udhr"]["bpb"] > 0
    ev = json.loads((tmp_path / "b" / "eval.json").read_text())
    assert ev["stopped_at_max_minutes"] and ev["budgets"][-1]["steps"] == 1
    assert (tmp_path / "b" / "checkpoint" / "optimizer.pt").exists()
    # `resume: true` without the limit finishes the run as if it had never stopped
    done = train(TrainConfig(**base, out_dir=str(tmp_path / "b"), resume=True))
    assert not done["stopped_at_max_minutes"] and done["steps"] == 10
    assert done["final_train_loss"] == pytest.approx(straight["final_train_loss"], abs=1e-3)
    steps = [json.loads(x)["step"] for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 11))


def test_cli_flag_and_bad_value(tmp_path, capsys):
    cfg = tmp_path / "t.yaml"
    cfg.write_text(f"data: {tmp_path}\nout_dir: {tmp_path / 'o'}\n")
    assert main(["train", str(cfg), "--max-minutes", "2.5", "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["max_minutes"] == 2.5
    assert main(["train", str(cfg), "--max-minutes", "0", "--dry-run"]) == 2
    assert "max_minutes must be > 0" in capsys.readouterr().err


def test_example_config_ships_loads_and_is_in_help(capsys):
    cfg = load_config(EXAMPLE_TRAIN_CONFIG)
    assert cfg.model == "tiny" and cfg.max_minutes and cfg.eval_sets
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "recipes/train/tiny.yaml:" in out and "max_minutes:" in out and "--max-minutes" in out


def test_help_points_at_commands_not_at_source_files(capsys):
    for cmd in ("train", "ablate", "tokenize", "eval"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        out = capsys.readouterr().out
        assert "training/train.py" not in out and "ablation_config.py" not in out, cmd
    assert "TrainConfig" not in EXAMPLE_TRAIN_CONFIG.read_text()
