"""mxplug.parallel under a real MPI: tests/parallel/ under ``mpiexec -n 2`` and ``-n 4`` (4 ranks
oversubscribe CI's 2 cores), the collective check and fault handling; plus what needs no second
rank. (tests/parallel/ also runs in the plain pytest run, as a world of size 1.)"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import mxplug as mx

ROOT = Path(__file__).resolve().parent.parent
MPIEXEC = Path(sys.executable).parent / "mpiexec"  # the one matching mpi4py's MPI (PLATFORM.md)
HAVE_MPI = importlib.util.find_spec("mpi4py") is not None and MPIEXEC.exists()
needs_mpi = pytest.mark.skipif(not HAVE_MPI, reason="needs mpi4py and an mpiexec next to the "
                                                    "Python: pip install 'mxplug[mpi]'")


def _env(**extra):
    # a clean MPI environment: no PMI/Open MPI variables of an enclosing job or singleton
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI_", "PMIX_", "OMPI_", "MPIR_", "HYDRA_"))}
    env.update(MPIEXEC_TIMEOUT="150", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               POCL_MAX_PTHREAD_COUNT="1", PYTHONFAULTHANDLER="1")
    env.update(extra)
    return env


def _mpiexec(n, *args, timeout=180, **env):
    """``mpiexec -n n python -m mpi4py args...`` (an exception on any rank aborts the job)."""
    cmd = [str(MPIEXEC), "-n", str(n), sys.executable, "-m", "mpi4py", *args]
    return subprocess.run(cmd, cwd=ROOT, env=_env(**env), capture_output=True, text=True,
                          timeout=timeout)


def _python(code, **env):
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(**env),
                          capture_output=True, text=True, timeout=120)


def _pytest_on_ranks(n, tmp_path, *args) -> dict:
    """tests/parallel under ``mpiexec -n n``; every rank's tally (tests/parallel/conftest.py)."""
    res = _mpiexec(n, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "tests/parallel",
                   MXPLUG_PARALLEL_REPORT=str(tmp_path))
    out = (res.stdout + res.stderr)[-6000:]
    assert res.returncode == 0, out
    tallies = {p.name: json.loads(p.read_text()) for p in tmp_path.glob("rank*.json")}
    assert sorted(tallies) == [f"rank{r}.json" for r in range(n)], out
    for name, t in tallies.items():
        assert t["failed"] == t["error"] == t["exitstatus"] == 0, (name, t, out)
    passed = {t["passed"] for t in tallies.values()}
    assert len(passed) == 1, tallies  # every rank ran the same tests
    return passed.pop()


@needs_mpi
def test_parallel_suite_on_2_ranks(tmp_path):
    assert _pytest_on_ranks(2, tmp_path) >= 18


@needs_mpi
def test_parallel_suite_on_4_oversubscribed_ranks(tmp_path):
    # numpy only: 4 ranks compiling OpenCL kernels on a cold cache would cost CI seconds
    assert _pytest_on_ranks(4, tmp_path, "-k", "not opencl") >= 17


def _marker_line(script, marker):
    lines = (ROOT / script).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if marker in line)


@needs_mpi
def test_check_collectives_names_the_ranks_and_lines_that_differ():
    script = "tests/parallel/mismatch_script.py"
    res = _mpiexec(2, script, MXPLUG_CHECK_COLLECTIVES="1", timeout=60)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    shape0, shape1 = (_marker_line(script, m) for m in ("LINE-SHAPE-0", "LINE-SHAPE-1"))
    # 1) same op, different shapes: caught on both ranks, naming both calls
    assert out.count("caught:") == 2, out
    assert re.search(rf"rank 0: allreduce\(shape=\(3,\) .*mismatch_script.py:{shape0}", out), out
    assert re.search(rf"rank 1: allreduce\(shape=\(4,\) .*mismatch_script.py:{shape1}", out), out
    assert "differing rank(s): 1" in out
    # 2) different ops: uncaught, the job is aborted with the error
    op1 = _marker_line(script, "LINE-OP-1")
    assert "CollectiveMismatchError" in out
    assert re.search(rf"rank 1: broadcast\(.*mismatch_script.py:{op1}", out), out
    assert "unreachable" not in out


@needs_mpi
def test_an_exception_on_one_rank_ends_the_job():
    start = time.monotonic()
    res = _mpiexec(2, "tests/parallel/raise_script.py", timeout=60)
    assert res.returncode != 0
    assert "rank 1 fails on purpose" in res.stderr
    assert time.monotonic() - start < 30  # aborted, not left hanging


def test_importing_parallel_leaves_mpi_alone():
    res = _python("import sys, mxplug.parallel, mxplug.kvstore.dist; "
                  "assert 'mpi4py.MPI' not in sys.modules, 'MPI initialised on import'")
    assert res.returncode == 0, res.stderr


def test_random_stream_follows_the_launcher_rank():
    code = ("import mxplug as mx; mx.random.seed(5); "
            "print(mx.random.get_state()[1], mx.nd.random.uniform(shape=(3,)).asnumpy().tolist())")
    outs = [_python(code, PMI_RANK=str(r), PMI_SIZE="2") for r in (0, 1, 1)]
    assert all(o.returncode == 0 for o in outs), [o.stderr for o in outs]
    (s0, v0), (s1, v1), (_, v1b) = (o.stdout.split(" ", 1) for o in outs)
    assert (s0, s1) == ("0", "1") and v0 != v1 and v1 == v1b


@needs_mpi
def test_gpu_aware_detection_asks_the_mpi_library(monkeypatch):
    import ctypes

    from mxplug.parallel import comm

    monkeypatch.delenv("MXPLUG_GPU_AWARE_MPI", raising=False)
    answer = comm.gpu_aware_mpi()  # never raises, whatever MPI is loaded
    assert answer in (True, False)
    if not hasattr(ctypes.CDLL(None), "MPIX_Query_cuda_support"):
        assert answer is False  # e.g. the MPICH wheel: built without CUDA


@needs_mpi
def test_dist_kvstore_names_and_errors_in_one_process():
    assert mx.kv.create("dist_sync").num_workers >= 1
    with pytest.raises(mx.MXNetError, match="dist_async.*synchronous"):
        mx.kv.create("dist_async")
    with pytest.raises(mx.MXNetError, match="unknown kvstore"):
        mx.kv.create("bogus")


@needs_mpi
def test_distributed_trainer_alone_trains_like_a_trainer():
    from mxplug import autograd, gluon, parallel

    def run(make):
        mx.random.seed(3)
        net = gluon.nn.Dense(2, in_units=3)
        net.initialize()
        trainer = make(net.collect_params())
        for _ in range(2):
            with autograd.record():
                loss = (net(mx.nd.ones((4, 3))) ** 2).sum()
            loss.backward()
            trainer.step(4)
        trainer.join()  # a no-op for a plain Trainer, and with nobody left for a world of 1
        return net.weight.data().asnumpy()

    opt = {"learning_rate": 0.1, "momentum": 0.5}
    if parallel.size() != 1:
        pytest.skip("this process is itself an MPI rank; the comparison needs a world of 1")
    np.testing.assert_allclose(
        run(lambda p: parallel.DistributedTrainer(p, "sgd", dict(opt))),
        run(lambda p: gluon.Trainer(p, "sgd", dict(opt))), rtol=1e-6)


def test_environment_settings_are_checked(monkeypatch):
    from mxplug.parallel import buckets, comm

    monkeypatch.setenv("MXPLUG_BUCKET_BYTES", "1e6")
    assert buckets.default_bucket_bytes() == 1_000_000
    monkeypatch.setenv("MXPLUG_BUCKET_BYTES", "-3")
    with pytest.raises(mx.MXNetError, match="MXPLUG_BUCKET_BYTES"):
        buckets.default_bucket_bytes()
    monkeypatch.setenv("MXPLUG_MPI_WAIT", "0.001,0.0002")
    assert comm._wait_policy(1) == (0.001, 0.0002)
    monkeypatch.setenv("MXPLUG_MPI_WAIT", "fast")
    with pytest.raises(mx.MXNetError, match="MXPLUG_MPI_WAIT"):
        comm._wait_policy(1)
    monkeypatch.delenv("MXPLUG_MPI_WAIT")
    cores = len(os.sched_getaffinity(0))
    assert comm._wait_policy(cores + 1)[0] < comm._wait_policy(1)[0]  # oversubscribed: sleep
    monkeypatch.setenv("MXPLUG_GPU_AWARE_MPI", "1")
    assert comm.gpu_aware_mpi() is True
    monkeypatch.setenv("MXPLUG_GPU_AWARE_MPI", "0")
    assert comm.gpu_aware_mpi() is False
