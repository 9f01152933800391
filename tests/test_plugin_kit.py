"""The plugin kit (issue #9): the conformance kit, the coverage table, the example plugin.

The example plugin (``examples/plugin``, device type ``counting``) is loaded the way a plugin
under development is, without installing it: ``MXPLUG_PLUGINS=counting=mxplug_counting:
CountingBackend`` with ``examples/plugin`` on ``PYTHONPATH``, in subprocesses, so that this
session's backend registry stays as it was. (CI also installs it with pip; see .ci/run.)
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import mxplug as mx
from mxplug import testing
from mxplug.backends import registry
from mxplug.backends.array_api import ArrayAPIBackend
from mxplug.backends.protocol import BackendBase
from mxplug.ops import REGISTRY
from mxplug.testing.coverage import STATUSES, counts, format_backend, format_matrix

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(mx.__file__)))
PLUGIN = os.path.join(ROOT, "examples", "plugin")
PLUGIN_ENV = {"MXPLUG_PLUGINS": "counting=mxplug_counting:CountingBackend"}
OP_NAMES = sorted({op.name for op in REGISTRY.values()})
N_SAMPLES = sum(len(REGISTRY[n].sample_fns) for n in OP_NAMES)


def run_python(*args, env=None, timeout=120):
    """``python *args`` from the checkout with the example plugin importable."""
    full = {**os.environ, **(env or {})}
    full["PYTHONPATH"] = os.pathsep.join([ROOT, PLUGIN, full.get("PYTHONPATH", "")])
    for k in ("MXPLUG_DEFAULT_CONTEXT", "MXPLUG_TEST_BACKENDS", "MXPLUG_HOST_FALLBACK"):
        full.pop(k, None)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=full,
                          timeout=timeout, cwd=ROOT)


@pytest.fixture
def extra_backend(monkeypatch):
    """Register backend instances for one test only (the registry is restored afterwards)."""
    def add(be):
        monkeypatch.setitem(registry.entry_points(), be.name, f"<test: {type(be).__name__}>")
        monkeypatch.setitem(registry._loaded, be.name, be)
        return be
    return add


# -- the kit on the in-tree backends ------------------------------------------------------------
def test_kit_quick_passes_on_in_tree_backend(backend):
    report = testing.run(backend, quick=True)
    assert report.passed, report.summary()
    cats = {r.category for r in report.results}
    assert cats == set(testing.CHECKS)
    ops = [r for r in report.results if r.category == "ops"]
    assert len(ops) == N_SAMPLES  # every sample of every op, float32 in quick mode
    assert {r.name.split("[")[0] for r in ops} == set(OP_NAMES)
    assert sum(r.category == "gradients" for r in report.results) >= 10
    assert set(report.coverage) == set(OP_NAMES)
    assert "PASSED" in report.summary().splitlines()[-1]


def test_kit_reports_a_wrong_kernel(extra_backend):
    """A backend whose relu is wrong fails the op check for relu and the ops built on it."""
    class WrongRelu(ArrayAPIBackend):
        namespace, name, device_type = np, "wrongrelu", "wrongrelu"

        def kernel(self, op_name):
            return (lambda be, x, **a: np.abs(x)) if op_name == "relu" else None

    extra_backend(WrongRelu())
    report = testing.run("wrongrelu", quick=True, only=("ops", "random"))
    assert not report.passed
    failed = {r.name for r in report.failures}
    assert "relu[0] float32" in failed
    assert all(r.category == "ops" for r in report.failures)
    assert not any(n.startswith(("exp[", "dot[")) for n in failed)
    assert report.coverage["relu"] == "native"
    summary = report.summary()
    assert "FAIL ops: relu[0] float32: AssertionError" in summary
    assert summary.splitlines()[-1].startswith("FAILED: ")


def test_coverage_statuses(extra_backend):
    """A backend with no namespace: ops with only a generic body are missing, or host-fallback
    when it offers one; its kernels are native; composites stay composite."""
    class Bare(BackendBase):
        name, device_type = "bare", "bare"

        def __init__(self, fallback):
            self.fallback = fallback

        def asarray(self, obj, dtype, device_id):
            return np.array(obj, dtype=dtype)

        def to_numpy(self, a):
            return np.array(a)

        def kernel(self, op_name):
            return (lambda be, x, **a: np.tanh(x)) if op_name == "tanh" else None

        def host_fallback(self, op):
            return (lambda *a, **k: None) if self.fallback else None

    extra_backend(Bare(fallback=False))
    table = mx.backends.coverage("bare")
    assert list(table) == OP_NAMES
    assert table["tanh"] == {"bare": "native"}
    assert table["exp"] == {"bare": "missing"}
    assert table["Activation"] == {"bare": "composite"}
    n = counts(table, "bare")
    assert n["native"] == 1 and n["missing"] > 100 and sum(n.values()) == len(OP_NAMES)
    grid = format_backend(table, "bare").splitlines()
    assert grid[0].split() == ["op", *STATUSES]
    assert grid[-1] == f"bare: {len(OP_NAMES)} ops: " + ", ".join(
        f"{v} {k}" for k, v in n.items() if v)

    extra_backend(Bare(fallback=True))
    assert mx.backends.coverage("bare")["exp"] == {"bare": "host-fallback"}


def test_coverage_of_every_available_backend():
    table = mx.backends.coverage()
    available = [b.name for b in mx.backends.list() if b.available]
    assert list(table) == OP_NAMES
    assert all(list(row) == available for row in table.values())
    assert table["FullyConnected"]["numpy"] == "native"   # the NumPy backend's own kernel
    assert table["exp"]["numpy"] == "generic"
    assert all(s in STATUSES for row in table.values() for s in row.values())
    text = format_matrix(table)
    assert text.splitlines()[0].split() == ["op", *available]
    assert f"numpy: {len(OP_NAMES)} ops: " in text
    with pytest.raises(mx.MXNetError, match="no backend named 'nosuch'"):
        mx.backends.coverage("nosuch")


# -- command lines, and the example plugin, as a user runs them ---------------------------------
def test_info_ops_and_kit_cli():
    r = run_python("-m", "mxplug", "info", "--ops")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:2] == ["op", "numpy"]
    assert any(ln.split()[:2] == ["FullyConnected", "native"] for ln in lines)
    r = run_python("-m", "mxplug.testing", "--backend", "nosuch")
    assert r.returncode == 2 and "no backend named 'nosuch'" in r.stderr


def test_example_plugin_passes_the_kit():
    r = run_python("-m", "mxplug.testing", "--backend", "counting", "--quick", env=PLUGIN_ENV)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = r.stdout
    assert "conformance of backend 'counting' on counting(0):" in out
    assert out.strip().splitlines()[-1].startswith("PASSED: ")
    grid = {ln.split()[0]: ln for ln in out.splitlines() if ln.strip()}
    assert grid["op"].split() == ["op", *STATUSES]
    # the plugin's two kernel overrides are native; everything else runs through its namespace
    assert f"counting: {len(OP_NAMES)} ops: 2 native, " in out


def test_example_plugin_in_info_and_a_gluon_model_on_it():
    r = run_python("-m", "mxplug", "info", env=PLUGIN_ENV)
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("counting "))
    assert line.startswith("counting available  (device_type=counting, mxplug-counting 0.1.0")
    r = run_python(os.path.join(PLUGIN, "train_counting.py"), env=PLUGIN_ENV)
    assert r.returncode == 0, r.stderr
    out = dict(ln.split(": ", 1) for ln in r.stdout.splitlines())
    first, last = float(out["step  0"].split()[1]), float(out["step 29"].split()[1])
    assert last < 0.2 * first
    assert float(out["accuracy"]) > 0.9
    assert out["output context"] == "counting(0)"
    assert "matmul" in out["namespace calls"]
    assert out["kernel calls"].startswith("{'relu': ")  # the override ran, once per forward
