"""``mxplug launch`` and the per-rank bootstrap ``mxplug.parallel.run``.

The command construction, hostfile parsing and rank-side helpers are pure functions, tested
directly. The real launches start ``python -m mxplug launch`` in a subprocess (with ``timeout=`` and
``MPIEXEC_TIMEOUT``: a hung MPI job must fail the test, not the CI budget); they use the numpy
backend except one small OpenCL check.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import mxplug
from mxplug import cli
from mxplug.base import MXNetError, MXNetValueError
from mxplug.parallel import launch, run
from mxplug.parallel.launch import Command, Host, LaunchError, LaunchSpec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(mxplug.__file__)))
PY = sys.executable
MPIEXEC = launch.find_mpiexec(PY)
try:
    MPI_FLAVOUR = launch.mpi4py_flavour(PY)[0] if MPIEXEC else None
except LaunchError:
    MPI_FLAVOUR = None
needs_mpi = pytest.mark.skipif(MPI_FLAVOUR is None,
                               reason="needs mpi4py with an MPI library and its mpiexec")


def launch_env(env=None) -> dict:
    """The environment the launcher runs in during these tests."""
    full = {**os.environ, "MPIEXEC_TIMEOUT": "90", "POCL_MAX_PTHREAD_COUNT": "1", **(env or {})}
    # Ranks import the checkout even when it is not pip-installed.
    full["PYTHONPATH"] = ROOT + os.pathsep + full.get("PYTHONPATH", "")
    for name in cli.ENV_VARS:               # the developer's own settings must not leak in
        if name not in (env or {}):
            full.pop(name, None)
    return full


def mxplug_launch(*args, cwd, env=None, timeout=120):
    """``python -m mxplug launch *args`` as a user runs it; returns (CompletedProcess, seconds)."""
    start = time.perf_counter()
    r = subprocess.run([PY, "-m", "mxplug", "launch", *args], capture_output=True, text=True,
                       env=launch_env(env), cwd=cwd, timeout=timeout, stdin=subprocess.DEVNULL)
    return r, time.perf_counter() - start


def write(tmp_path: Path, name: str, code: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    return path


def spec(n=2, program=("train.py", "--epochs", "3"), **kw) -> LaunchSpec:
    return LaunchSpec(n, list(program), **kw)


RANK = [PY, "-m", "mxplug.parallel.run"]


# -- hosts and hostfiles ------------------------------------------------------------------------
def test_parse_hosts():
    assert launch.parse_hosts("node1:4,node2:2") == [Host("node1", 4, "colon"),
                                                     Host("node2", 2, "colon")]
    assert launch.parse_hosts("a, b.example.org:1") == [Host("a"), Host("b.example.org", 1,
                                                                        "colon")]
    for bad, why in [("a,,b", "empty host name"), ("a:0", "positive integer"),
                     ("a:x", "positive integer"), ("a b", "not a host name"),
                     (":3", "not a host name")]:
        with pytest.raises(MXNetValueError, match=why) as e:
            launch.parse_hosts(bad)
        assert "-H" in str(e.value)


def test_parse_hostfile_accepts_both_syntaxes_and_comments(tmp_path):
    f = write(tmp_path, "hosts", """\
        # the cluster
        node1:4          # MPICH style
        node2 slots=2 max_slots=8
        node3

        node4 slots=1
        """)
    assert launch.parse_hostfile(f) == [Host("node1", 4, "colon"), Host("node2", 2, "slots"),
                                        Host("node3"), Host("node4", 1, "slots")]


@pytest.mark.parametrize("line, why", [
    ("node2 cores=4", "cannot parse"),
    ("node2 slots=0", "positive integer"),
    ("node2:four", "positive integer"),
    ("node2 slots", "cannot parse"),
    ("no/de", "not a host name"),
])
def test_parse_hostfile_errors_name_file_and_line(tmp_path, line, why):
    f = write(tmp_path, "hosts", f"node1:2\n# comment\n{line}\n")
    with pytest.raises(MXNetValueError, match=why) as e:
        launch.parse_hostfile(f)
    assert f"{f}:3" in str(e.value)


def test_hostfile_missing_or_empty(tmp_path):
    with pytest.raises(LaunchError, match="does not exist"):
        launch.parse_hostfile(tmp_path / "nope")
    with pytest.raises(LaunchError, match="lists no hosts"):
        launch.parse_hostfile(write(tmp_path, "empty", "# nothing\n\n"))


# -- which MPI ----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, flavour", [
    ("HYDRA build details:\n    Version: 5.0.2", "mpich"),
    ("MPICH Version:      5.0.2\nMPICH Release date: ...", "mpich"),
    ("Intel(R) MPI Library 2021.10 for Linux* OS", "mpich"),
    ("MVAPICH2 Version      :	2.3.7", "mpich"),
    ("mpirun (Open MPI) 5.0.11\n\nReport bugs to https://www.open-mpi.org/community/help/",
     "openmpi"),
    ("mpiexec (OpenRTE) 4.1.4", "openmpi"),
    ("Open MPI v4.1.4, package: Debian OpenMPI, ident: 4.1.4", "openmpi"),
    ("some other MPI 1.0", None),
])
def test_flavour_from_version(text, flavour):
    assert launch.flavour_from_version(text) == flavour


def test_find_mpiexec_prefers_the_one_next_to_python(tmp_path):
    venv_bin = tmp_path / "venv" / "bin"
    other = tmp_path / "other"
    venv_bin.mkdir(parents=True)
    other.mkdir()
    for d in (venv_bin, other):
        (d / "mpiexec").write_text("#!/bin/sh\n")
        (d / "mpiexec").chmod(0o755)
    assert launch.find_mpiexec(str(venv_bin / "python"), path=str(other)) == str(
        venv_bin / "mpiexec")
    assert launch.find_mpiexec(str(tmp_path / "python"), path=str(other)) == str(
        other / "mpiexec")
    assert launch.find_mpiexec(str(tmp_path / "python"), path=str(tmp_path)) is None


@needs_mpi
def test_detects_the_installed_mpi():
    assert launch.mpiexec_flavour(MPIEXEC) == MPI_FLAVOUR
    info = cli.mpi_status()
    assert info["flavour"] == MPI_FLAVOUR and info["mpiexec"] == MPIEXEC


# -- command construction -----------------------------------------------------------------------
def test_mpich_command():
    s = spec(hosts=launch.parse_hosts("node1:2,node2:2"), backend="opencl",
             env={"OMP_NUM_THREADS": "1", "MSG": "a b"}, timeout=90.5)
    cmd = launch.build_mpiexec_command(s, "mpich", "/v/bin/mpiexec", PY, is_root=True, cores=2)
    assert cmd.argv == ["/v/bin/mpiexec", "-n", "2", "-hosts", "node1:2,node2:2",
                        "-genv", "OMP_NUM_THREADS", "1", "-genv", "MSG", "a b",
                        *RANK, "--backend", "opencl", "train.py", "--epochs", "3"]
    assert cmd.env == {"MPIEXEC_TIMEOUT": "91"}
    # MPICH needs neither a root flag nor an oversubscription flag
    cmd = launch.build_mpiexec_command(spec(8), "mpich", "mpiexec", PY, is_root=True, cores=2)
    assert cmd.argv == ["mpiexec", "-n", "8", *RANK, "train.py", "--epochs", "3"]
    assert cmd.env == {}                    # MPIEXEC_TIMEOUT only when asked for


def test_openmpi_command():
    s = spec(4, hosts=launch.parse_hosts("node1:2,node2"), env={"K": "v=1"}, timeout=30)
    environ = {"MXPLUG_DEFAULT_CONTEXT": "cpu", "PYTHONPATH": "/src", "HOME": "/root",
               "POCL_DEVICES": "cpu", "K": "old"}
    cmd = launch.build_mpiexec_command(s, "openmpi", "mpiexec", PY, is_root=True, cores=64,
                                       environ=environ)
    # 4 ranks on 3 slots (node2 counts as one): --oversubscribe; the root flag; forwarded env
    assert cmd.argv == ["mpiexec", "-n", "4", "--allow-run-as-root", "--oversubscribe",
                        "--host", "node1:2,node2",
                        "-x", "MXPLUG_DEFAULT_CONTEXT", "-x", "POCL_DEVICES", "-x", "PYTHONPATH",
                        "-x", "K=v=1", *RANK, "train.py", "--epochs", "3"]
    assert cmd.env == {"MPIEXEC_TIMEOUT": "30"}
    cmd = launch.build_mpiexec_command(spec(2), "openmpi", "mpiexec", PY, is_root=False,
                                       cores=2, environ={})
    assert cmd.argv == ["mpiexec", "-n", "2", *RANK, "train.py", "--epochs", "3"]
    cmd = launch.build_mpiexec_command(spec(3), "openmpi", "mpiexec", PY, cores=2, environ={})
    assert "--oversubscribe" in cmd.argv and "--allow-run-as-root" not in cmd.argv


def test_hostfile_is_passed_on_in_the_mpis_own_syntax(tmp_path):
    colon = write(tmp_path, "colon", "node1:2\nnode2\n")
    slots = write(tmp_path, "slots", "node1 slots=2\nnode2\n")

    def argv(flavour, f):
        s = spec(hosts=launch.parse_hostfile(f), hostfile=str(f))
        return launch.build_mpiexec_command(s, flavour, "mpiexec", PY, environ={}).argv

    assert argv("mpich", colon)[3:5] == ["-f", str(colon)]
    assert argv("openmpi", slots)[3:5] == ["--hostfile", str(slots)]
    # the other MPI's syntax is translated into a host list
    assert argv("mpich", slots)[3:5] == ["-hosts", "node1:2,node2"]
    assert argv("openmpi", colon)[3:5] == ["--host", "node1:2,node2"]


def test_srun_command():
    s = spec(4, hosts=launch.parse_hosts("n1:2,n2:2,n1:1"), env={"A": "1"}, timeout=61,
             backend="gpu")
    cmd = launch.build_srun_command(s, "mpich", "/usr/bin/srun", PY)
    assert cmd.argv == ["/usr/bin/srun", "-n", "4", "--mpi=pmi2", "--nodelist=n1,n2",
                        "--time=2", *RANK, "--backend", "gpu", "train.py", "--epochs", "3"]
    assert cmd.env == {"A": "1"}            # srun passes its own environment on
    cmd = launch.build_srun_command(spec(2), "openmpi", "srun", PY)
    assert cmd.argv[:4] == ["srun", "-n", "2", "--mpi=pmix"] and cmd.env == {}
    with pytest.raises(MXNetValueError, match="unknown MPI flavour"):
        launch.build_srun_command(spec(2), "lam", "srun", PY)


def test_under_slurm(tmp_path):
    srun = tmp_path / "srun"
    srun.write_text("#!/bin/sh\n")
    srun.chmod(0o755)
    assert launch.under_slurm({"SLURM_JOB_ID": "7", "PATH": str(tmp_path)}) == str(srun)
    assert launch.under_slurm({"PATH": str(tmp_path)}) is None
    assert launch.under_slurm({"SLURM_JOB_ID": "7", "PATH": str(tmp_path / "x")}) is None


def test_command_shell_line_round_trips():
    cmd = Command(["mpiexec", "-n", "2", "python", "s.py", "it's", "a b", "$HOME"],
                  {"MPIEXEC_TIMEOUT": "30"})
    line = cmd.shell()
    assert line.startswith("MPIEXEC_TIMEOUT=30 mpiexec -n 2 ")
    assert shlex.split(line) == ["MPIEXEC_TIMEOUT=30", *cmd.argv]


def parse(*argv):
    return cli.build_parser().parse_args(["launch", *argv])


def test_spec_from_args(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "s.py", "")
    s = launch.spec_from_args(parse("-n", "3", "--env", "A=1", "--env", "B=x=y", "-H", "h:3",
                                    "--backend", "cpu", "s.py", "-n", "5", "--env", "C"))
    assert (s.nprocs, s.program, s.env, s.backend) == (
        3, ["s.py", "-n", "5", "--env", "C"], {"A": "1", "B": "x=y"}, "cpu")
    assert s.hosts == [Host("h", 3, "colon")] and s.hostfile is None
    s = launch.spec_from_args(parse("-n", "2", "-m", "pkg.mod", "-q", "x"))
    assert s.program == ["-m", "pkg.mod", "-q", "x"]
    for argv, why in [(["-n", "0", "s.py"], "at least 1"),
                      (["-n", "2"], "no script given"),
                      (["-n", "2", "missing.py"], "'missing.py' does not exist"),
                      (["-n", "2", "--env", "NOVALUE", "s.py"], "expected NAME=VALUE"),
                      (["-n", "2", "--env", "1X=2", "s.py"], "expected NAME=VALUE"),
                      (["-n", "2", "--timeout", "0", "s.py"], "must be positive"),
                      (["-n", "2", "--backend", "cpu", "--env", "MXPLUG_DEFAULT_CONTEXT=cpu",
                        "s.py"], "give one")]:
        with pytest.raises(MXNetValueError, match=why):
            launch.spec_from_args(parse(*argv))


# -- the rank side ------------------------------------------------------------------------------
def test_local_rank_from_the_launchers_environment():
    assert run.local_rank({"MPI_LOCALRANKID": "3"}) == 3
    assert run.local_rank({"OMPI_COMM_WORLD_LOCAL_RANK": "1"}) == 1
    assert run.local_rank({"SLURM_LOCALID": "2"}) == 2
    # mpiexec inside a Slurm batch script: the batch step's SLURM_LOCALID=0 must not win
    assert run.local_rank({"SLURM_LOCALID": "0", "MPI_LOCALRANKID": "1"}) == 1


def test_device_context():
    assert run.device_context("opencl", 3, 2) == "opencl:1"
    assert run.device_context("gpu", 5, 8) == "gpu:5"
    assert run.device_context("cpu", 5, 0) == "cpu:0"
    with pytest.raises(RuntimeError, match="no gpu device"):
        run.device_context("gpu", 0, 0)


def test_bootstrap_usage_errors():
    for argv, why in [([], "no program given"), (["--backend", "tpu", "s.py"], "expected cpu"),
                      (["--verbose", "s.py"], "unknown option"), (["-m"], "no program given")]:
        with pytest.raises(SystemExit, match=why):
            run._split_options(argv)
    assert run._split_options(["--backend=opencl", "s.py", "--backend", "x"]) == (
        "opencl", ["s.py", "--backend", "x"])


def test_importing_the_launcher_leaves_mpi_uninitialised():
    code = ("import sys, mxplug.parallel.launch, mxplug.parallel.run, mxplug.cli as c; "
            "c.collect_info(); print('mpi4py.MPI' in sys.modules)")
    r = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": ROOT})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


# -- the command line, without running a job ----------------------------------------------------
@needs_mpi
def test_dry_run_prints_the_exact_command_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    write(tmp_path, "s.py", f"open({str(marker)!r}, 'w').close()\n")
    r, _ = mxplug_launch("-n", "2", "--env", "GREETING=hello world", "--timeout", "20",
                         "--dry-run", "s.py", "--lr", "0.1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    want = launch.build_mpiexec_command(
        spec(2, ["s.py", "--lr", "0.1"], env={"GREETING": "hello world"}, timeout=20),
        MPI_FLAVOUR, MPIEXEC, PY, is_root=os.geteuid() == 0, cores=launch.physical_cores(),
        environ=launch_env())
    assert r.stdout.strip() == want.shell()
    assert shlex.split(r.stdout)[0] == "MPIEXEC_TIMEOUT=20"
    assert not marker.exists()


@needs_mpi
def test_dry_run_under_slurm_uses_srun(tmp_path):
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    (bin_ / "srun").write_text("#!/bin/sh\nexit 99\n")
    (bin_ / "srun").chmod(0o755)
    write(tmp_path, "s.py", "")
    env = {"SLURM_JOB_ID": "42", "PATH": f"{bin_}{os.pathsep}{os.environ['PATH']}"}
    r, _ = mxplug_launch("-n", "4", "--env", "A=1", "--dry-run", "s.py", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    flag = "--mpi=pmi2" if MPI_FLAVOUR == "mpich" else "--mpi=pmix"
    assert shlex.split(r.stdout) == ["A=1", str(bin_ / "srun"), "-n", "4", flag, *RANK, "s.py"]
    # --launcher mpiexec overrides the allocation
    r, _ = mxplug_launch("-n", "4", "--launcher", "mpiexec", "--dry-run", "s.py", cwd=tmp_path,
                         env=env)
    assert shlex.split(r.stdout)[0] == MPIEXEC


@needs_mpi
def test_setup_errors_say_what_to_fix(tmp_path):
    write(tmp_path, "s.py", "raise SystemExit('must not run')\n")
    write(tmp_path, "hosts", "node1:2\nnode2 slots=two\n")
    r, _ = mxplug_launch("-n", "2", "--hostfile", "hosts", "s.py", cwd=tmp_path)
    assert r.returncode == 2 and "hosts:2" in r.stderr and "positive integer" in r.stderr
    r, _ = mxplug_launch("-n", "2", "-H", "no-such-host.invalid:2", "s.py", cwd=tmp_path)
    assert r.returncode == 2
    assert "'no-such-host.invalid' (from -H) does not resolve" in r.stderr
    # an mpiexec of the other flavour than mpi4py's library: the ranks would not form one job
    other = "openmpi" if MPI_FLAVOUR == "mpich" else "mpich"
    r, _ = mxplug_launch("-n", "2", "--mpi", other, "s.py", cwd=tmp_path)
    assert r.returncode == 2 and "would not form one job" in r.stderr, r.stderr
    r, _ = mxplug_launch("-n", "2", "--launcher", "srun", "s.py", cwd=tmp_path,
                         env={"SLURM_JOB_ID": ""})
    assert r.returncode == 2 and "not inside a Slurm allocation" in r.stderr
    assert "must not run" not in r.stdout + r.stderr


def test_host_checks_name_the_missing_ssh_and_the_failed_login(tmp_path, monkeypatch):
    hosts = spec(hosts=[Host("localhost", 2)])
    monkeypatch.setattr(launch, "is_local_host", lambda name: False)   # pretend it is remote
    monkeypatch.setattr(launch.shutil, "which", lambda *a, **k: None)
    with pytest.raises(LaunchError, match="needs ssh, and no `ssh` is on PATH"):
        launch._check_hosts(hosts, use_ssh=True)
    launch._check_hosts(hosts, use_ssh=False)      # srun starts the ranks: no ssh needed
    ssh = tmp_path / "ssh"
    ssh.write_text("#!/bin/sh\necho 'Permission denied (publickey).' >&2\nexit 255\n")
    ssh.chmod(0o755)
    monkeypatch.setattr(launch.shutil, "which", lambda *a, **k: str(ssh))
    with pytest.raises(LaunchError, match="cannot ssh to localhost without a password") as e:
        launch._check_hosts(hosts, use_ssh=True)
    assert "Permission denied (publickey)" in str(e.value) and "ssh-copy-id localhost" in str(
        e.value)


@pytest.mark.skipif(any(b.available and b.device_type == "gpu" for b in mxplug.backends.list()),
                    reason="this machine has a GPU backend: the missing-device error cannot occur")
def test_backend_check_names_the_missing_device():
    with pytest.raises(LaunchError, match=r"--backend gpu: context gpu\(0\) is unavailable"):
        launch._check_backend(spec(backend="gpu"))
    # ranks only on other hosts (a login node without the device): not checked here
    launch._check_backend(spec(backend="gpu", hosts=[Host("node-elsewhere")]))


# -- real jobs ----------------------------------------------------------------------------------
ALLREDUCE = """\
    import os, sys
    from mpi4py import MPI
    import mxplug
    comm = MPI.COMM_WORLD
    total = comm.allreduce(comm.rank + 1)
    sys.stdout.write(f"rank {comm.rank} of {comm.size}: sum {total} context "
                     f"{mxplug.current_context()} argv {sys.argv[1:]} name {__name__} "
                     f"greeting {os.environ.get('GREETING')}\\n")  # one write: lines stay whole
    sys.stdout.flush()
    """


@needs_mpi
def test_launch_two_ranks_allreduce(tmp_path):
    write(tmp_path, "job.py", ALLREDUCE)
    r, _ = mxplug_launch("-n", "2", "--env", "GREETING=hi there", "job.py", "--lr", "0.5",
                         cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "setup ok" in r.stderr and "allreduce smoke test" in r.stderr
    lines = sorted(ln for ln in r.stdout.splitlines() if ln.startswith("rank "))
    assert lines == [f"rank {i} of 2: sum 3 context cpu(0) argv ['--lr', '0.5'] name __main__ "
                     "greeting hi there" for i in range(2)]


@needs_mpi
def test_launch_runs_a_module_and_returns_the_jobs_exit_status(tmp_path):
    write(tmp_path, "jobmod.py", textwrap.dedent(ALLREDUCE) + "sys.exit(3)\n")
    r, _ = mxplug_launch("-n", "2", "--no-check", "-m", "jobmod", "-x", cwd=tmp_path,
                         env={"PYTHONPATH": str(tmp_path)})
    assert r.stdout.count("sum 3") == 2 and "argv ['-x']" in r.stdout, r.stdout + r.stderr
    assert r.returncode == 3


@needs_mpi
@pytest.mark.parametrize("when", ["in_collective", "before_mpi_init"])
def test_a_failing_rank_ends_the_job_with_its_traceback(tmp_path, when):
    if when == "in_collective":     # rank 0 waits in an allreduce that rank 1 never joins
        code = """\
            from mpi4py import MPI
            if MPI.COMM_WORLD.rank == 1:
                raise ValueError("rank 1 failed on purpose")
            MPI.COMM_WORLD.allreduce(1)
            print("rank 0 finished", flush=True)
            """
    else:                           # rank 1 dies before it has even initialised MPI
        code = """\
            import os
            if os.environ["PMI_RANK" if "PMI_RANK" in os.environ else
                          "OMPI_COMM_WORLD_RANK"] == "1":
                raise ValueError("rank 1 failed on purpose")
            from mpi4py import MPI
            MPI.COMM_WORLD.allreduce(1)
            print("rank 0 finished", flush=True)
            """
    write(tmp_path, "fail.py", code)
    r, seconds = mxplug_launch("-n", "2", "--no-check", "fail.py", cwd=tmp_path, timeout=60)
    assert r.returncode != 0
    assert "Traceback" in r.stderr and "ValueError: rank 1 failed on purpose" in r.stderr
    assert 'fail.py", line' in r.stderr and "rank 1 of 2 (host " in r.stderr
    assert "mpi4py" + os.sep + "run.py" not in r.stderr    # the bootstrap's frames are left out
    assert "rank 0 finished" not in r.stdout
    assert seconds < 10, f"the job took {seconds:.1f} s to end"


def _opencl_available() -> bool:
    return any(b.available and b.device_type == "opencl" for b in mxplug.backends.list())


@needs_mpi
@pytest.mark.skipif(not _opencl_available(), reason="no OpenCL device (PoCL) on this machine")
def test_backend_opencl_sets_each_ranks_default_context(tmp_path):
    write(tmp_path, "job.py", ALLREDUCE)
    r, _ = mxplug_launch("-n", "2", "--backend", "opencl", "job.py", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    ndev = mxplug.backends.registry.num_devices("opencl")
    contexts = sorted(ln.split("context ")[1].split()[0] for ln in r.stdout.splitlines()
                      if ln.startswith("rank "))
    assert contexts == sorted(f"opencl({i % ndev})" for i in range(2))
    assert "context opencl" in r.stderr     # the smoke test ran on the device too


def test_launch_errors_are_mxnet_errors():
    assert issubclass(LaunchError, MXNetError)
