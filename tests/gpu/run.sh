#!/usr/bin/env bash
# The GPU check of the CuPy backend, in one command on a machine with an NVIDIA GPU and CuPy,
# NumPy and pytest installed (nothing is downloaded). From the repository root:
#     bash tests/gpu/run.sh
# 1. the benchmarks on gpu:0 against CuPy and PyTorch on the same GPU, and a profile of the
# MLP step (short, so they come first);
# 2. the demo (MLP + CNN) trained on gpu:0; 3. the whole suite on gpu(0) only, in parallel with
# pytest-xdist when it is installed.
# Knobs: GPU_SUITE_TIMEOUT=seconds bounds step 3 (0, the default, does not); GPU_TEST_WORKERS
# (default 8); PYTEST_ADDOPTS passes more pytest options (e.g. --junitxml=FILE).
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
status=0
step() { printf '\n=== %s === (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

step "install the checkout"
$PY -m pip install -q -e . --no-deps --no-build-isolation || exit 1
$PY -m mxplug info
$PY -c "import mxplug as mx; mx.backends.get('cupy')" || exit 1  # no GPU: stop with the reason
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null

step "benchmarks on gpu:0"
$PY benchmarks/bench_ops.py --ctx gpu:0 --no-import || status=1
$PY benchmarks/bench_training.py --ctx gpu:0 --steps 30 || status=1
$PY benchmarks/bench_gluon.py --ctx gpu:0 --only mlp,lenet --steps 30 || status=1
$PY benchmarks/bench_rnn.py --ctx gpu:0 --only lm,lstm --steps 5 || status=1
for mode in "" --hybridize; do  # where the MLP step's host time goes, per phase and function
    $PY benchmarks/profile_gluon.py --ctx gpu:0 --model mlp $mode --steps 100 --top 20 || status=1
done

step "demo: MLP and CNN on gpu:0"
if $PY -c "import sklearn" 2>/dev/null; then
    MXPLUG_DEFAULT_CONTEXT=gpu:0 $PY -m mxplug demo --no-progress || status=1
else
    echo "skipped: scikit-learn is not installed (the demo's digits data set comes from it)"
fi

step "test suite on cupy"
workers=()
if $PY -c "import xdist" 2>/dev/null; then workers=(-n "${GPU_TEST_WORKERS:-8}"); fi
MXPLUG_TEST_BACKENDS=cupy timeout "${GPU_SUITE_TIMEOUT:-0}" \
    $PY -m pytest -q --tb=short -rfE --timeout 300 -p no:cacheprovider "${workers[@]}" \
    tests/ -k "cupy or cuda" || status=1
step "done (status $status)"
exit $status
