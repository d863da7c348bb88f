#!/usr/bin/env bash
# The CUDA check of issue 15: training, the census and a 4-cell sweep, CPU vs GPU, timed.
# Run from the checkout's root on a machine with a GPU and PyTorch (no install needed: the
# checkout's src/ goes on the path); about 5 minutes on an H200 machine with 16 cores.
#   benchmarks/device_check.sh            # CUDA
#   benchmarks/device_check.sh --device cpu --small   # the same steps on the CPU, small budgets
# Prints everything to stdout (and to $OUT/device_check.log when $OUT is set).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python3)}
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
if [ -n "${OUT:-}" ]; then
  "$PY" benchmarks/device_check.py "$@" 2>&1 | tee "$OUT/device_check.log"
else
  "$PY" benchmarks/device_check.py "$@"
fi
