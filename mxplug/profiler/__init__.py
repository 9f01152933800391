"""``mx.profiler``: MXNet 1.x's profiler over mxplug's op dispatch.

::

    mx.profiler.set_config(profile_all=True, aggregate_stats=True, filename="trace.json")
    mx.profiler.set_state("run")
    ...                                   # ops, Gluon steps, bound executors
    mx.profiler.set_state("stop")
    print(mx.profiler.dumps())            # per-op count / total / min / max / avg
    mx.profiler.dump()                    # Chrome trace JSON (chrome://tracing, Perfetto)

Profiling costs nothing while stopped: 'run' installs timing wrappers through the op registry
(``mxplug.ops.registry.set_kernel_wrapper``) and 'stop' removes them (see ``docs/profiler.md``).
"""

from __future__ import annotations

import atexit
import contextlib
import warnings

from ..base import MXNetError, MXNetNotImplementedError, MXNetValueError
from . import report
from .objects import Counter, Domain, Event, Frame, Marker, Task
from .recorder import _DEFAULTS, DEFAULT_SCOPE, Recorder, current_scope

__all__ = ["set_config", "set_state", "get_state", "pause", "resume", "dump", "dumps",
           "dump_profile", "profiler_set_config", "profiler_set_state", "set_kvstore_handle",
           "scope", "Scope", "Domain", "Task", "Frame", "Event", "Counter", "Marker"]

RECORDER = Recorder()
_BOOL_KEYS = ("profile_all", "profile_symbolic", "profile_imperative", "profile_memory",
              "profile_api", "continuous_dump", "aggregate_stats")


class _BadChoice(MXNetValueError, KeyError, AssertionError):
    """An argument outside its choices. MXNet's Python profiler fails there with a KeyError
    (``set_state``'s lookup) or an AssertionError (``dumps``' checks); this is both, and an
    ``MXNetValueError``."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def _check_process(profile_process, what):
    if profile_process == "worker":
        return
    if profile_process == "server":
        raise MXNetNotImplementedError(
            f"profiler.{what}: profile_process='server' profiles a kvstore server, and mxplug's "
            f"distributed kvstore has none (it is MPI allreduce); profile the workers")
    raise _BadChoice(f"profiler.{what}: profile_process must be 'worker' or 'server', got "
                          f"{profile_process!r}")


def _as_bool(key, v):
    if isinstance(v, str) and v.lower() in ("true", "false", "1", "0"):
        return v.lower() in ("true", "1")
    if isinstance(v, (bool, int)):
        return bool(v)
    raise MXNetValueError(f"profiler.set_config: {key} must be a bool, got {v!r}")


def set_config(**kwargs):
    """Configure the profiler (keyword arguments only).

    Parameters
    ----------
    filename : str
        The Chrome trace file :func:`dump` writes (default ``'profile.json'``).
    profile_all : bool
        Every profile type, and a device synchronisation after each op so that its time
        includes the device's work (see ``sync``).
    profile_symbolic : bool
        Ops run by bound graphs (``Executor``, hybridized blocks / CachedOp).
    profile_imperative : bool
        Ops run eagerly (``mx.nd``, autograd, non-hybridized Gluon).
    profile_memory : bool
        Bytes allocated by op outputs, per device (a counter track and ``Device Storage``).
    profile_api : bool
        Accepted for MXNet compatibility; mxplug has no C API to time.
    continuous_dump : bool
        With ``dump_period``, write the trace every ``dump_period`` seconds while running.
    dump_period : float
        Seconds between periodic dumps (0: none).
    aggregate_stats : bool
        Keep per-op statistics for :func:`dumps`.
    profile_process : str
        'worker' (the only one here).
    sync : bool, optional
        mxplug: wait for the device after every op (wall time then includes asynchronous
        device work). Defaults to ``profile_all``.
    """
    unknown = sorted(set(kwargs) - set(_DEFAULTS))
    if unknown:
        raise MXNetValueError(f"profiler.set_config: unknown option(s) {unknown}; known: "
                              f"{sorted(_DEFAULTS)}")
    new = dict(RECORDER.config)
    for k, v in kwargs.items():
        if k in _BOOL_KEYS:
            v = _as_bool(k, v)
        elif k == "sync":
            v = None if v is None else _as_bool(k, v)
        elif k == "filename":
            if not isinstance(v, str) or not v:
                raise MXNetValueError(f"profiler.set_config: filename must be a non-empty str, "
                                      f"got {v!r}")
        elif k == "dump_period":
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise MXNetValueError(f"profiler.set_config: dump_period must be a number of "
                                      f"seconds, got {v!r}") from None
        elif k == "profile_process":
            _check_process(v, "set_config")
        new[k] = v
    RECORDER.config = new
    RECORDER.configured = RECORDER.output = True
    RECORDER._apply_config()


def set_state(state="stop", profile_process="worker"):
    """Start ('run') or stop ('stop') profiling.

    Parameters
    ----------
    state : {'stop', 'run'}
        'run' installs the timing wrappers; 'stop' removes them (ops resolve to their plain
        kernels again).
    profile_process : str
        'worker' (the only one here).
    """
    _check_process(profile_process, "set_state")
    if state == "run":
        RECORDER.start()
        RECORDER.output = True  # as in MXNet: running (again) enables dump()
    elif state == "stop":
        RECORDER.stop()
    else:
        raise _BadChoice(f"profiler.set_state: state must be 'run' or 'stop', got {state!r}")


def get_state() -> str:
    """'run' or 'stop' (also readable as ``mx.profiler.state``)."""
    return "run" if RECORDER.running else "stop"


def __getattr__(name):
    if name == "state":
        return get_state()
    raise AttributeError(f"module 'mxplug.profiler' has no attribute {name!r}")


def pause(profile_process="worker"):
    """Stop recording without removing the wrappers (cheap to :func:`resume`)."""
    _check_process(profile_process, "pause")
    RECORDER.set_paused(True)


def resume(profile_process="worker"):
    """Resume recording after :func:`pause`."""
    _check_process(profile_process, "resume")
    RECORDER.set_paused(False)


def dump(finished=True, profile_process="worker"):
    """Write the trace recorded so far to the configured ``filename`` (atomically) as Chrome
    trace-event JSON.

    Parameters
    ----------
    finished : bool
        True (as in MXNet): the trace is complete. Its records are dropped, and ``dump`` is
        refused until ``set_state('run')`` (or ``set_config``) starts a new trace. False: keep
        them; the next dump rewrites the file with what was recorded since.
    profile_process : str
        'worker' (the only one here).

    Notes
    -----
    As in MXNet, a trace that was recorded but never dumped is written when the process exits.
    """
    _check_process(profile_process, "dump")
    if not RECORDER.output:
        if RECORDER.configured or RECORDER.ever_ran:
            raise MXNetError("profiler.dump: the trace was already written by "
                             "dump(finished=True); set_state('run') starts a new one")
        raise MXNetError("profiler.dump: the profiler has not been run; configure it with "
                         "mx.profiler.set_config(filename=...) and start it with "
                         "mx.profiler.set_state('run') first")
    _write(finished)


def _write(finished):
    trace = report.chrome_trace(RECORDER)
    report.write_atomic(RECORDER.config["filename"], _json(trace))
    if finished:
        RECORDER.trace = []
        RECORDER.output = False


@atexit.register
def _dump_at_exit():
    """MXNet's profiler writes what was never dumped when the process ends; so does this."""
    if RECORDER.output and RECORDER.trace:
        try:
            _write(True)
        except Exception as e:  # the interpreter is going down: say it, never raise
            warnings.warn(f"mx.profiler: could not write {RECORDER.config['filename']!r} at "
                          f"exit: {e}", RuntimeWarning, stacklevel=1)


def _json(trace):
    import json
    return json.dumps(trace, separators=(",", ":"))


RECORDER.periodic_dump = lambda: _write(False)


def dump_profile():
    """Deprecated: :func:`dump`."""
    warnings.warn("profiler.dump_profile() is deprecated. Please use profiler.dump() instead",
                  DeprecationWarning, stacklevel=2)
    dump(True)


def dumps(reset=False, format="table", sort_by="total", ascending=False):
    """The aggregate statistics (``set_config(aggregate_stats=True)``) as a printable table
    or JSON: per op, the count and the total, min, max and average time.

    Parameters
    ----------
    reset : bool
        Clear the statistics after formatting them.
    format : {'table', 'json'}
    sort_by : {'total', 'avg', 'min', 'max', 'count'}
        The statistic that orders the rows of each category.
    ascending : bool
        Sort ascending instead of descending.
    """
    if format not in ("table", "json"):
        raise _BadChoice(f"profiler.dumps: format must be 'table' or 'json', got "
                              f"{format!r}")
    if sort_by not in report.SORT_KEYS:
        raise _BadChoice(f"profiler.dumps: sort_by must be one of {report.SORT_KEYS}, got "
                              f"{sort_by!r}")
    fmt = report.table if format == "table" else report.as_json
    text = fmt(RECORDER, sort_by, bool(ascending))
    if reset:
        RECORDER.reset_stats()
    return text


def profiler_set_config(mode="symbolic", filename="profile.json"):
    """Deprecated: :func:`set_config` with ``profile_<mode>=True``."""
    warnings.warn("profiler.profiler_set_config() is deprecated. Please use "
                  "profiler.set_config() instead", DeprecationWarning, stacklevel=2)
    if mode not in ("symbolic", "all", "imperative", "memory", "api"):
        raise MXNetValueError(f"profiler.profiler_set_config: mode must be 'symbolic' or 'all', "
                              f"got {mode!r}")
    set_config(**{"profile_" + mode: True, "filename": filename})


def profiler_set_state(state="stop"):
    """Deprecated: :func:`set_state`."""
    warnings.warn("profiler.profiler_set_state() is deprecated. Please use "
                  "profiler.set_state() instead", DeprecationWarning, stacklevel=2)
    set_state(state)


def set_kvstore_handle(handle):
    """Accepted for MXNet compatibility (a kvstore server is never profiled here)."""


@contextlib.contextmanager
def scope(name=DEFAULT_SCOPE, append_mode=False):
    """Name the ops (and allocations) run inside the block: their trace events carry
    ``args["scope"]``, and the block itself becomes a span on the ``python`` track.

    Parameters
    ----------
    name : str
        The scope name; a ``':'`` is appended when missing (``'dense0'`` -> ``'dense0:'``).
    append_mode : bool
        Append ``name`` to the enclosing scope (``'net:'`` + ``'dense0:'``) instead of
        replacing it.
    """
    from time import perf_counter_ns
    name = str(name)
    name = name if name.endswith(":") else name + ":"
    outer = current_scope.get()
    full = outer + name if append_mode and outer != DEFAULT_SCOPE else name
    token = current_scope.set(full)
    t0 = perf_counter_ns()
    try:
        yield full
    finally:
        current_scope.reset(token)
        RECORDER.span(full, "scope", t0, perf_counter_ns())


#: The name later MXNet docs give :func:`scope` (``with mx.profiler.Scope("net"):``).
Scope = scope


def _reset():
    """Stop and forget everything (tests)."""
    global RECORDER
    RECORDER.stop()
    fresh = Recorder()
    fresh.periodic_dump = RECORDER.periodic_dump
    RECORDER = fresh
