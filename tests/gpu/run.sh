#!/usr/bin/env bash
# The GPU check of the CuPy backend, in one command on a machine with an NVIDIA GPU and CuPy,
# NumPy and pytest installed (nothing is downloaded). From the repository root:
#     bash tests/gpu/run.sh
# 1. the whole suite on gpu(0) only; 2. the demo (MLP + CNN) trained on gpu:0; 3. the benchmarks.
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
status=0
step() { printf '\n=== %s === (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

step "install the checkout"
$PY -m pip install -q -e . --no-deps --no-build-isolation || exit 1
$PY -m mxplug info
$PY -c "import mxplug as mx; mx.backends.get('cupy')" || exit 1  # no GPU: stop with the reason

step "test suite on cupy"
MXPLUG_TEST_BACKENDS=cupy $PY -m pytest -q --tb=line --maxfail=30 -p no:cacheprovider tests/ -k cupy \
    || status=1

step "demo: MLP and CNN on gpu:0"
if $PY -c "import sklearn" 2>/dev/null; then
    MXPLUG_DEFAULT_CONTEXT=gpu:0 $PY -m mxplug demo --no-progress || status=1
else
    echo "skipped: scikit-learn is not installed (the demo's digits data set comes from it)"
fi

step "benchmarks on gpu:0"
$PY benchmarks/bench_ops.py --ctx gpu:0 --no-import || status=1
$PY benchmarks/bench_training.py --ctx cpu,gpu:0 --steps 30 || status=1
exit $status
