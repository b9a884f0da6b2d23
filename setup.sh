#!/usr/bin/env bash
# One command from a fresh clone: a virtualenv in .venv, every dependency, then the demo recipe on
# the bundled sample corpus. Safe to run again (it reuses .venv and resumes or redoes the demo run).
#
# torch: the CPU build is wanted (the default recipes, tests and the demo ablation run on the CPU).
# PyPI's Linux torch wheels are CUDA builds that pull several GB of nvidia-* packages, so the order is:
#   1. a torch wheel pip already reaches without an index (find-links, a local wheelhouse), else
#   2. the index in ROOTSTOCK_TORCH_INDEX (default: PyTorch's CPU-only index), else
#   3. the default index (PyPI): a CUDA build, with a warning. ROOTSTOCK_TORCH_INDEX=none skips step 2.
# ROOTSTOCK_TORCH overrides the requirement itself (e.g. "torch==2.13.0+cpu" or "torch>=2.4").
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
TORCH_REQ=${ROOTSTOCK_TORCH:-torch==2.13.0}
TORCH_INDEX=${ROOTSTOCK_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install -q)
echo "==> installing torch ($TORCH_REQ, CPU build preferred) and the project"
"${PIP[@]}" --upgrade pip
if .venv/bin/python -c "import torch" 2>/dev/null; then
  echo "    torch $(.venv/bin/python -c 'import torch; print(torch.__version__)') already installed"
elif "${PIP[@]}" --no-index --no-deps "$TORCH_REQ" 2>/dev/null; then
  echo "    torch from a local wheel (its dependencies come with the project below)"
elif [ "$TORCH_INDEX" != none ] && "${PIP[@]}" --index-url "$TORCH_INDEX" "$TORCH_REQ" 2>/dev/null; then
  echo "    torch from $TORCH_INDEX"
else
  echo "    warning: no CPU build of $TORCH_REQ reachable; installing from the default index (on Linux" >&2
  echo "    x86_64 that is a CUDA build of several GB). Set ROOTSTOCK_TORCH_INDEX to a CPU index to avoid it." >&2
  "${PIP[@]}" "$TORCH_REQ"
fi
"${PIP[@]}" -e ".[dev]"

echo "==> running the demo recipe: recipes/sample.yaml"
.venv/bin/curate run recipes/sample.yaml --force
# `curate run` has just printed the output, summary and dashboard lines: only add what is new
echo "(the commands above are .venv/bin/curate here; the dashboard opens on http://127.0.0.1:8501)"
echo "tests:     .venv/bin/python -m pytest"
