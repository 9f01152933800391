"""``mxplug info`` and the command-line skeleton, run as a user would: in a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import mxplug
from mxplug import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(mxplug.__file__)))


def run(*args, env=None):
    """``python -m mxplug *args`` from the checkout; returns the CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    # Run the checkout even when it is not pip-installed.
    full_env["PYTHONPATH"] = ROOT + os.pathsep + full_env.get("PYTHONPATH", "")
    for k, v in list(full_env.items()):
        if v is None:
            del full_env[k]
    return subprocess.run([sys.executable, "-m", "mxplug", *args], capture_output=True,
                          text=True, env=full_env, timeout=120, cwd=ROOT)


def clean_env(**extra):
    """The current environment without mxplug's variables, plus ``extra``."""
    env = {k: None for k in cli.ENV_VARS}
    env.update(extra)
    return env


def test_info_lists_every_backend_first():
    r = run("info", env=clean_env())
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    rows = mxplug.backends.list()
    assert len(rows) >= 1
    for line, row in zip(lines, rows):
        assert line.startswith(row.name + " ")
        assert line.startswith(f"{row.name} available") or \
            line.startswith(f"{row.name} unavailable: ")
    numpy_line = next(ln for ln in lines if ln.startswith("numpy "))
    assert numpy_line.startswith("numpy available")
    assert "device_type=cpu" in numpy_line


def test_info_versions_context_and_mpi_lines():
    import numpy as np
    r = run("info", env=clean_env())
    out = r.stdout
    assert f"mxplug: {mxplug.__mxplug_version__}" in out
    assert f"python: {sys.version.split()[0]}" in out
    assert f"numpy: {np.__version__}\n" in out
    assert "default context: cpu(0)  (backend numpy)" in out
    mpi = next(ln for ln in out.splitlines() if ln.startswith("mpi: "))
    assert mpi.startswith("mpi: mpi4py ") or mpi.startswith("mpi: not installed")


def test_info_does_not_initialise_mpi():
    """Only package metadata is read: importing mpi4py.MPI would start MPI."""
    code = ("import sys, mxplug.cli as c; c.collect_info(); "
            "print('mpi4py.MPI' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": ROOT}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_info_json_matches_text():
    r = run("info", "--json", env=clean_env())
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["mxplug"]["version"] == mxplug.__mxplug_version__
    names = [b["name"] for b in info["backends"]]
    assert "numpy" in names
    npb = info["backends"][names.index("numpy")]
    assert npb["available"] is True and npb["reason"] is None
    assert npb["line"].startswith("numpy available")
    for b in info["backends"]:
        assert b["available"] == (b["reason"] is None)
    assert info["default_context"] == {"context": "cpu(0)", "backend": "numpy", "error": None}
    assert set(info["mpi"]) == {"mpi4py", "mpi_wheels", "mpiexec", "flavour"}
    assert info["python"]["version"] == sys.version.split()[0]


def test_info_reports_default_context_from_env():
    r = run("info", env=clean_env(MXPLUG_DEFAULT_CONTEXT="cpu:3"))
    assert r.returncode == 0, r.stderr
    assert "default context: cpu(3)  (backend numpy)" in r.stdout
    assert "env: MXPLUG_DEFAULT_CONTEXT=cpu:3" in r.stdout


def test_info_survives_bad_default_context():
    """A diagnostic tool must still print when the configured default is wrong."""
    r = run("info", env=clean_env(MXPLUG_DEFAULT_CONTEXT="nosuchdevice:0"))
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("default context:"))
    assert "unusable" in line and "nosuchdevice" in line
    assert r.stdout.splitlines()[0].startswith("numpy available")


def test_info_host_fallback_flag():
    r = run("info", "--json", env=clean_env(MXPLUG_HOST_FALLBACK="1"))
    assert json.loads(r.stdout)["host_fallback"] is True
    r = run("info", "--json", env=clean_env())
    assert json.loads(r.stdout)["host_fallback"] is False


@pytest.mark.parametrize("command", ["bench"])
def test_future_commands_say_not_available(command):
    r = run(command)
    assert r.returncode == 2
    assert "not available yet" in r.stderr
    assert r.stdout == ""


def test_no_command_prints_usage():
    r = run()
    assert r.returncode == 2
    assert "usage: mxplug" in r.stderr
    for name in cli.COMMANDS:
        assert name in r.stderr


def test_unknown_command_is_an_error():
    r = run("frobnicate")
    assert r.returncode == 2
    assert "invalid choice" in r.stderr


def test_version_flag():
    r = run("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"mxplug {mxplug.__mxplug_version__}"


def test_main_in_process(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[0] in {b.name for b in mxplug.backends.list()}


def test_mpi_line_formats():
    assert cli._mpi_line({"mpi4py": None, "mpi_wheels": {}, "mpiexec": None}).startswith(
        "not installed")
    line = cli._mpi_line({"mpi4py": "4.0.1", "mpi_wheels": {"mpich": "4.2.3"},
                          "mpiexec": "/x/mpiexec"})
    assert line == "mpi4py 4.0.1 with mpich 4.2.3; mpiexec: /x/mpiexec"
    line = cli._mpi_line({"mpi4py": "4.0.1", "mpi_wheels": {}, "mpiexec": None})
    assert "a system MPI library" in line and "no mpiexec on PATH" in line
