"""The parallel examples run as CI runs them: ``mxplug launch -n 2 examples/X.py``, and as one plain
process (``python examples/X.py``, a world of size 1) with fewer epochs."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MPIEXEC = Path(sys.executable).parent / "mpiexec"  # the one matching mpi4py's MPI
HAVE_MPI = importlib.util.find_spec("mpi4py") is not None and MPIEXEC.exists()
pytestmark = pytest.mark.skipif(not HAVE_MPI, reason="needs mpi4py and an mpiexec next to the "
                                                     "Python: pip install 'mxplug[mpi]'")
pytest.importorskip("sklearn", reason="the examples train on scikit-learn's bundled digits")


def _env():
    # no PMI/Open MPI variables of an enclosing job; one BLAS thread per rank on shared cores
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI_", "PMIX_", "OMPI_", "MPIR_", "HYDRA_"))}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONFAULTHANDLER="1",
               MXPLUG_DEFAULT_CONTEXT="cpu")
    return env


def _run(script, *args, ranks=2):
    if ranks == 1:
        cmd = [sys.executable, f"examples/{script}", *args]
    else:
        cmd = [sys.executable, "-m", "mxplug", "launch", "-n", str(ranks), "--timeout", "120",
               f"examples/{script}", *args]
    res = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=180)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-6000:]
    return out


def _accuracies(out):
    return {name: float(acc) for name, acc in
            re.findall(r"^(\w[\w ]*?):.*test accuracy ([\d.]+)$", out, re.M)}


def test_data_parallel_example_on_2_ranks():
    out = _run("parallel_data.py")
    acc = _accuracies(out)
    assert "mlp: 2 rank(s), dist_sync" in out and "cnn: 2 rank(s), DistributedTrainer" in out, out
    assert acc["mlp"] > 0.9 and acc["cnn"] > 0.8, out
    assert out.count("parameters identical on every rank: True") == 2, out
    assert out.count("test accuracy") == 2, out  # printed by rank 0 only


def test_pipeline_example_on_2_ranks():
    out = _run("parallel_pipeline.py")
    assert "2 stages on 2 rank(s), 4 micro-batches" in out, out
    assert _accuracies(out)["pipeline"] > 0.9, out
    assert "pipeline output equals the MLP in one process: True" in out, out


def test_tensor_parallel_example_on_2_ranks():
    out = _run("parallel_tensor.py")
    assert "tensor parallel: 2 rank(s)" in out, out
    assert _accuracies(out)["tensor parallel"] > 0.9, out
    assert "tensor-parallel output equals the MLP in one process: True" in out, out
    assert "output identical on every rank: True" in out, out


@pytest.mark.parametrize("script, args", [
    ("parallel_data.py", ["--epochs", "1", "--cnn-epochs", "1"]),
    ("parallel_pipeline.py", ["--epochs", "1"]),
    ("parallel_tensor.py", ["--epochs", "1"]),
])
def test_examples_run_as_one_plain_process(script, args):
    out = _run(script, *args, ranks=1)
    assert "1 rank(s)" in out, out
    assert "False" not in out, out  # every equality line the example prints holds
    assert all(0.0 <= a <= 1.0 for a in _accuracies(out).values()) and _accuracies(out), out
