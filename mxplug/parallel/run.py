"""The per-rank bootstrap of ``mxplug launch``.

``python -m mxplug.parallel.run [--backend cpu|gpu|opencl] (script.py | -m module | -c code)
[args ...]`` does three things on every rank, then gets out of the way:

1. An uncaught exception (or ``sys.exit`` with a non-zero status) ends the *whole* job with
   ``MPI_Abort`` after the traceback is printed, as ``python -m mpi4py`` does. Plain ``mpiexec
   python script.py`` hangs instead: the failed rank blocks in ``MPI_Finalize`` and the others
   wait for it forever. Beyond mpi4py, a rank that fails before it ever initialised MPI
   initialises it just to abort, for the other ranks are waiting for it all the same.
2. ``--backend`` sets the rank's default context through ``MXPLUG_DEFAULT_CONTEXT``
   (``opencl:<local rank % devices>``, ``gpu:<local rank % devices>``, ``cpu``) before the
   program runs; mxplug reads that variable when the default context is first asked for.
3. The program runs as ``__main__`` with ``sys.argv`` as if it had been started directly
   (``mpi4py.run.run_command_line``).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

__all__ = ["LOCAL_RANK_VARS", "local_rank", "device_context", "main"]

#: Where launchers put the node-local rank, most specific first: ``SLURM_LOCALID`` is last
#: because a batch script's own value (0) leaks into ranks that ``mpiexec`` starts from it.
LOCAL_RANK_VARS = ("MPI_LOCALRANKID",              # MPICH hydra, Intel MPI
                   "OMPI_COMM_WORLD_LOCAL_RANK",   # Open MPI
                   "MV2_COMM_WORLD_LOCAL_RANK",    # MVAPICH
                   "SLURM_LOCALID")                # srun
USAGE = ("usage: python -m mxplug.parallel.run [--backend cpu|gpu|opencl] "
         "(script.py | -m module | -c code) [args ...]")


def local_rank(environ: Mapping[str, str] | None = None) -> int:
    """This rank's index among the ranks on its node.

    Read from the launcher's environment; without one, from a shared-memory split of
    ``COMM_WORLD`` (which initialises MPI).
    """
    environ = os.environ if environ is None else environ
    for name in LOCAL_RANK_VARS:
        value = environ.get(name, "").strip()
        if value.isdigit():
            return int(value)
    from mpi4py import MPI
    node = MPI.COMM_WORLD.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return node.Get_rank()
    finally:
        node.Free()


def device_context(backend: str, local: int, num_devices: int) -> str:
    """The ``MXPLUG_DEFAULT_CONTEXT`` value for a rank: devices are shared round-robin."""
    if backend == "cpu":
        return "cpu:0"
    if num_devices < 1:
        raise RuntimeError(f"--backend {backend}: no {backend} device on this host")
    return f"{backend}:{local % num_devices}"


def _num_devices(device_type: str) -> int:
    """Devices of ``device_type`` on this host, or an error saying why there are none."""
    from mxplug.backends import registry
    from mxplug.base import MXNetError
    from mxplug.context import Context

    try:
        return registry.backend_for(Context(device_type, 0)).num_devices() or 1
    except MXNetError as e:
        import socket
        raise RuntimeError(f"--backend {device_type} on {socket.gethostname()}: {e}") from None


def _exit_status(exc: BaseException) -> int:
    """The status the process will exit with when ``exc`` escapes (as mpi4py computes it)."""
    if isinstance(exc, SystemExit):
        code = exc.code
        return 0 if code is None else code if isinstance(code, int) else 1
    if isinstance(exc, KeyboardInterrupt):
        return 130
    return 1


def _abort_job_at_exit(exc: BaseException) -> None:
    """Make the interpreter's exit call ``MPI_Abort`` (after the traceback is printed)."""
    status = _exit_status(exc)
    if not status:
        return
    try:
        from mpi4py import MPI  # initialises MPI if the program never did
        from mpi4py.run import set_abort_status
    except Exception as e:          # no MPI at all: the plain exit is all there is
        print(f"mxplug.parallel.run: cannot abort the MPI job ({e})", file=sys.stderr)
        return
    set_abort_status(status)
    if sys.excepthook is sys.__excepthook__ and isinstance(exc, Exception):
        comm = MPI.COMM_WORLD
        sys.excepthook = _rank_excepthook(f"{comm.Get_rank()} of {comm.Get_size()} (host "
                                          f"{MPI.Get_processor_name()})")


def _is_bootstrap(code) -> bool:
    """Whether a traceback frame is this module's, mpi4py.run's or runpy's."""
    import runpy

    mpi4py_run = sys.modules.get("mpi4py.run")
    ours = {__file__, runpy.__file__, "<frozen runpy>", getattr(mpi4py_run, "__file__", None)}
    return code.co_filename in ours


def _rank_excepthook(where: str):
    """The default hook, naming the rank first and leaving out the bootstrap's frames (the
    ranks' outputs interleave, and the user's frames are what matter)."""
    def hook(kind, value, tb):
        user = tb
        while user is not None and _is_bootstrap(user.tb_frame.f_code):
            user = user.tb_next
        sys.stderr.write(f"mxplug: rank {where} raised; aborting the whole job\n")
        if user is not None and value is not None:
            value = value.with_traceback(user)   # the hook prints the exception's own
            tb = user
        sys.__excepthook__(kind, value, tb)
    return hook


def _split_options(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    argv = list(argv)
    backend = None
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt == "--":
            break
        name, eq, value = opt.partition("=")
        if name != "--backend":
            raise SystemExit(f"mxplug.parallel.run: unknown option {opt!r}\n{USAGE}")
        if not eq:
            if not argv:
                raise SystemExit(f"mxplug.parallel.run: --backend needs a value\n{USAGE}")
            value = argv.pop(0)
        if value not in ("cpu", "gpu", "opencl"):
            raise SystemExit(f"mxplug.parallel.run: --backend {value!r}: expected cpu, gpu or "
                             "opencl")
        backend = value
    if not argv or argv[0] in ("-m", "-c") and len(argv) < 2:
        raise SystemExit(f"mxplug.parallel.run: no program given\n{USAGE}")
    return backend, argv


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m mxplug.parallel.run``."""
    try:
        backend, program = _split_options(sys.argv[1:] if argv is None else argv)
        if backend is not None:
            n = 0 if backend == "cpu" else _num_devices(backend)
            os.environ["MXPLUG_DEFAULT_CONTEXT"] = device_context(backend, local_rank(), n)
        from mpi4py.run import run_command_line
        run_command_line(program)
    except BaseException as exc:
        _abort_job_at_exit(exc)
        raise


if __name__ == "__main__":
    main()
