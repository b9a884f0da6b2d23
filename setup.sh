#!/usr/bin/env bash
# One command from a fresh clone: a virtualenv in .venv, every dependency, then the demo recipe on
# the bundled sample corpus. Safe to run again (it reuses .venv and resumes or redoes the demo run).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
echo "==> installing (torch CPU build first, so no multi-GB CUDA build is pulled in)"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[dev]"

echo "==> running the demo recipe: recipes/sample.yaml"
.venv/bin/curate run recipes/sample.yaml --force
echo
echo "output:    $(pwd)/runs/sample/output   (jsonl.gz shards; summary in runs/sample/summary.json)"
echo "dashboard: .venv/bin/curate dashboard runs/sample   (then open http://127.0.0.1:8501)"
echo "tests:     .venv/bin/python -m pytest"
