#!/usr/bin/env bash
# One short device check for the CUDA training path (bf16 autocast, torch.compile, fused AdamW, MFU):
#   bash bench/gpu_check.sh [PEAK_TFLOPS]      # 989 = H100/H200 SXM dense bf16
# 1) throughput + MFU of every preset; 2) a compiled wsd training run with two branches on synthetic
# token shards, which must finish with finite bpb. Needs no data outside the repo. ~3-5 min on one GPU.
set -euo pipefail
PEAK=${1:-989}
PY=${PYTHON:-.venv/bin/python}
export PYTHONPATH=$PWD HF_HUB_OFFLINE=1
$PY bench/train.py --device cuda --presets micro,tiny,small,base --peak-tflops "$PEAK"
OUT=$(mktemp -d)
$PY - "$OUT" <<'PY'
import sys
from pathlib import Path
from tests.training.conftest import SAMPLE, sample_docs, make_run
from training.shards import tokenize_run
from training.tokenizer import save_tokenizer, train_bpe
from training.train import TrainConfig, train
out = Path(sys.argv[1])
run = make_run(out / "run", sample_docs())
tok = save_tokenizer(train_bpe((d["text"] for d in sample_docs()), 4096), out / "tok")
tokenize_run(run, tok, out / "data", val_fraction=0.05)
rec = train(TrainConfig(data=str(out / "data"), out_dir=str(out / "train"), model="small", tokens=2_000_000,
                        schedule="wsd", branch_tokens=[500_000, 1_000_000], eval_sets=[SAMPLE], device="cuda"))
print({b["tokens"]: round(b["eval_sets"]["web_sample"]["bpb"], 4) for b in rec["budgets"]}, rec["tokens_per_s"])
assert all(b["eval_sets"]["web_sample"]["bpb"] < 8 for b in rec["budgets"])
PY
