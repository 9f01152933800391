"""The recorder: what the profiler keeps while it runs, and the timing wrappers it hands out.

While the state is 'run' the recorder is the op registry's kernel wrapper
(:func:`mxplug.ops.registry.set_kernel_wrapper`): every op resolves to a timing wrapper around
its kernel, composites and out-kernels are wrapped the same way, and bound graphs recompile
their steps so that planned bodies (which call no op) are timed as steps. On 'stop' the wrapper
is removed and every op resolves to its plain kernel again: profiling costs nothing when off.
"""

from __future__ import annotations

import contextvars
import threading
import weakref
from time import perf_counter_ns

from ..ndarray import NDArray
from ..ops import registry
from ..ops.registry import mxnet_name
from .cuda_timer import CudaTimer
from .opencl_timer import OpenCLTimer

__all__ = ["Recorder", "DEFAULT_SCOPE", "current_scope", "CUSTOM_CATEGORY"]

DEFAULT_SCOPE = "<unk>:"
#: The profiler scope (``mx.profiler.scope``): op events carry it in their args.
current_scope = contextvars.ContextVar("mxplug_profiler_scope", default=DEFAULT_SCOPE)

#: MXNet's category for custom ops: a ``Custom`` call is ``<op_type>::pure_python`` (its
#: gradient ``_backward_<op_type>::pure_python``) and the ops its Python code runs are
#: ``<op_type>::<op>`` there, not under ``operator``.
CUSTOM_CATEGORY = "Custom Operator"
#: The registry ops that run a user's CustomOp, and the prefix MXNet gives their names.
_CUSTOM_OP_PREFIX = {"Custom": "", "_backward_Custom": "_backward_"}
#: ``[_backward_]<op_type>`` while a CustomOp's Python code runs (None outside).
current_custom_op = contextvars.ContextVar("mxplug_profiler_custom_op", default=None)

#: Where user annotations (Task, Frame, Event, Marker, Counter, scope) go in the trace.
ANNOTATION_PID = "python"


_ATOMS = (int, float, bool, str, type(None))
_SCALARS = (int, float, bool)


def _specs(xs) -> tuple:
    """What an event keeps of its arrays: ``(shape, dtype)`` pairs (no reference to the data);
    Python scalars as they are; anything else as its repr. Formatted at dump time."""
    out = []
    for x in xs:
        shape = getattr(x, "shape", None)
        if shape is not None:
            out.append((shape, x.dtype))
        else:
            out.append(x if type(x) in _ATOMS else repr(x))
    return tuple(out)


_DTYPE_NAMES: dict = {}  # id(dtype) -> (dtype, name): dtype.name costs microseconds


def _dtype_name(dtype) -> str:
    hit = _DTYPE_NAMES.get(id(dtype))
    if hit is None:
        name = getattr(dtype, "name", None) or str(dtype).rsplit(".", 1)[-1]
        hit = _DTYPE_NAMES[id(dtype)] = (dtype, name)  # keeps dtype alive: ids stay unique
    return hit[1]


def describe(specs) -> list:
    """``["float32(2, 3)", "2.0"]`` from :func:`_specs`."""
    return [f"{_dtype_name(s[1])}{tuple(s[0])}" if type(s) is tuple else repr(s) for s in specs]


def _itemsize(dtype) -> int:
    size = getattr(dtype, "itemsize", None)
    if size is None:  # array_api_strict dtypes
        import numpy as np
        size = np.dtype(_dtype_name(dtype)).itemsize
    return size


def _storage(x):
    """An identity for the memory ``x`` lives in: a view and its base share it."""
    inner = getattr(x, "_array", None)  # array_api_strict wraps a NumPy array
    if inner is not None:
        x = inner
    buf = getattr(x, "buf", None)  # an OpenCL CLArray
    if buf is not None:
        return id(buf)
    base = getattr(x, "base", None)
    return id(base if base is not None else x)


def _size(x) -> int:
    n = 1
    for s in x.shape:
        n *= int(s)
    return n


def _device_id(x) -> int:
    dev = getattr(x, "device", None)
    i = getattr(dev, "id", None)  # CuPy
    return i if isinstance(i, int) else 0


def _in_custom_op(fn, prefix):
    """``fn`` (the body running a CustomOp's forward or backward) with
    :data:`current_custom_op` set to ``<prefix><op_type>`` while it runs."""
    def run(*args, **attrs):
        token = current_custom_op.set(f"{prefix}{attrs.get('op_type')}")
        try:
            return fn(*args, **attrs)
        finally:
            current_custom_op.reset(token)
    return run


class _Stat:
    """Aggregate of one name in one category: count, total, min, max (ns or bytes)."""

    __slots__ = ("count", "total", "min", "max", "counter")

    def __init__(self, counter=False):
        self.count, self.total, self.min, self.max = 0, 0, None, None
        self.counter = counter

    def add(self, v):
        self.count += 1
        self.total += v
        self.min = v if self.min is None or v < self.min else self.min
        self.max = v if self.max is None or v > self.max else self.max


_DEFAULTS = {
    "filename": "profile.json",
    "profile_all": False,
    "profile_symbolic": True,
    "profile_imperative": True,
    "profile_memory": True,
    "profile_api": True,
    "continuous_dump": True,
    "dump_period": 0.0,
    "aggregate_stats": False,
    "profile_process": "worker",
    "sync": None,  # mxplug: wait for the device after each op (default: profile_all)
}


class Recorder:
    """Profiler state, records and aggregates (one per process: ``mx.profiler``'s)."""

    def __init__(self):
        self.config = dict(_DEFAULTS)
        self.configured = False  # set_config was called
        self.output = False  # dump() allowed: configured or run, and not finished since
        self.ever_ran = False
        self.running = False
        self.paused = False
        self.on = False  # running and not paused: what the wrappers read
        self.trace: list = []  # records since the last finished dump
        self.stats: dict = {}  # category -> name -> _Stat
        self.device_stats: dict = {}  # device label -> op name -> _Stat
        self.pending: list = []  # (label, name, device span): device times not aggregated yet
        self.live: dict = {}  # device label -> live bytes of op outputs
        self._alive: dict = {}  # id(weakref to an op output) -> (weakref, device label, bytes)
        self.devices: dict = {}  # device label -> its name in the trace
        self.threads: dict = {}  # thread ident -> (tid, thread name)
        self.opencl = OpenCLTimer()
        self.cuda: dict = {}  # id(cupy backend) -> CudaTimer
        self.tls = threading.local()
        self.epoch = perf_counter_ns()
        self.next_dump = None  # perf_counter_ns of the next periodic dump
        self.periodic_dump = None  # callable, set by the package
        self._apply_config()

    # -- configuration and state --------------------------------------------------------------
    def _apply_config(self):
        c = self.config
        everything = bool(c["profile_all"])
        self.imperative = everything or bool(c["profile_imperative"])
        self.symbolic = everything or bool(c["profile_symbolic"])
        self.memory = everything or bool(c["profile_memory"])
        self.sync = everything if c["sync"] is None else bool(c["sync"])
        self.aggregate = bool(c["aggregate_stats"])
        period = float(c["dump_period"] or 0)
        self.period_ns = int(period * 1e9) if c["continuous_dump"] and period > 0 else 0
        if self.running:
            self.next_dump = perf_counter_ns() + self.period_ns if self.period_ns else None

    def start(self):
        if self.running:
            return
        if not self.ever_ran:
            self.epoch = perf_counter_ns()  # the trace's time 0: the first start
        self.running = self.ever_ran = True
        # as MXNet's Profiler::SetState: 'run' clears an earlier pause()
        self.paused = False
        self.on = True
        self._apply_config()
        registry.set_kernel_wrapper(self)

    def stop(self):
        if not self.running:
            return
        self.running = self.on = False
        registry.set_kernel_wrapper(None)
        self.opencl.restore()

    def set_paused(self, paused: bool):
        self.paused = paused
        self.on = self.running and not paused

    # -- the wrappers (the registry's kernel-wrapper interface) ------------------------------
    def _labeler(self, backend):
        """``fn(raw arrays) -> device label`` ("cpu/0", "opencl/1") for ``backend``'s ops."""
        kind, name = backend.device_type, backend.name
        devices = self.devices
        if name == "opencl":
            ids: dict = {}

            def label(raw):
                rt = next((x.rt for x in raw if hasattr(x, "rt")), None)
                i = ids.get(id(rt))
                if i is None:
                    i = next((k for k, r in getattr(backend, "_runtimes", {}).items()
                              if r is rt), 0)
                    ids[id(rt)] = i
                lab = f"{kind}/{i}"
                devices.setdefault(lab, f"{lab} ({name})")
                return lab
            return label

        def label(raw):
            x = next((x for x in raw if hasattr(x, "shape")), None)
            lab = f"{kind}/{_device_id(x) if x is not None else 0}"
            devices.setdefault(lab, f"{lab} ({name})")
            return lab
        return label

    def device_timer(self, backend):
        """The device-time source of ``backend`` (OpenCL or CUDA events), or None."""
        if backend.name == "opencl":
            return self.opencl
        if backend.name == "cupy" and getattr(backend, "cp", None) is not None:
            timer = self.cuda.get(id(backend))
            if timer is None:
                timer = self.cuda[id(backend)] = CudaTimer(backend.cp)
            return timer
        return None

    def _timed(self, name, backend, call, raw_of, memory, name_of=None, category=None):
        """A timing wrapper: ``call(*a, **kw)`` timed as op ``name`` (or ``name_of(a, kw)``);
        ``raw_of(a) -> (inputs, raw arrays giving the device)``."""
        rec, tls = self, self.tls
        label_of = self._labeler(backend)
        timer = self.device_timer(backend)

        def timed(*a, **kw):
            if not rec.on:
                return call(*a, **kw)
            symbolic = getattr(tls, "graph", False)
            if not (rec.symbolic if symbolic else rec.imperative):
                return call(*a, **kw)
            ins, where = raw_of(a)
            if rec.sync:
                backend.synchronize(None)
            token = timer.begin(where) if timer is not None else None
            t0 = perf_counter_ns()
            try:
                out = call(*a, **kw)
                if rec.sync:
                    backend.synchronize(None)
            finally:
                span = timer.end(token) if token is not None else None
            t1 = perf_counter_ns()
            # an out-kernel returns nothing: its result is ``out``, the first array of ``where``
            outs = out if type(out) is tuple else (out,) if out is not None else where[:1]
            rec.op_event(name if name_of is None else name_of(a, kw), label_of(where), symbolic,
                         t0, t1, ins, outs, memory, span, category=category)
            return out
        return timed

    def kernel(self, op, backend, fn):
        """``fn(*raw arrays, **attrs)``, timed. A binary op with a Python scalar operand is
        named as MXNet names it (``x + 1``: ``_plus_scalar``)."""
        from ..graph.serialize import SCALAR_OPS
        left, right = SCALAR_OPS.get((op.name, False)), SCALAR_OPS.get((op.name, True))
        name_of = None
        if left or right:
            def name_of(a, kw, name=mxnet_name(op)):
                if len(a) == 2:
                    if type(a[1]) in _SCALARS and right:
                        return right
                    if type(a[0]) in _SCALARS and left:
                        return left
                return name
        return self._timed(mxnet_name(op), backend, fn, lambda a: (a, a), True, name_of)

    def out_kernel(self, op, backend_name, fn):
        """``fn(backend, out, *raw arrays, **attrs)``, timed (it allocates nothing)."""
        wrappers: dict = {}

        def call(be, out, *raw, **attrs):
            w = wrappers.get(be)
            if w is None:
                w = wrappers[be] = self._timed(mxnet_name(op), be, fn, lambda a: (a[2:], a[1:]),
                                               False)
            return w(be, out, *raw, **attrs)
        return call

    def composite(self, op, fn):
        """``fn(*ndarrays, **attrs)`` (a body in mxplug ops), timed around its primitives.
        Called with no NDArray (while tracing a graph) it runs untimed."""
        wrappers: dict = {}
        name_of = category = None
        prefix = _CUSTOM_OP_PREFIX.get(op.name)
        if prefix is not None:  # a user's CustomOp: named and grouped as MXNet does
            fn = _in_custom_op(fn, prefix)
            category = CUSTOM_CATEGORY

            def name_of(a, kw):
                return f"{prefix}{kw.get('op_type')}::pure_python"

        def raw_of(a):
            raw = [x._data if type(x) is NDArray else x for x in a]
            return raw, raw

        def call(*args, **attrs):
            if not self.on:
                return fn(*args, **attrs)
            ctx = None
            for x in args:
                if isinstance(x, NDArray):
                    if type(x) is not NDArray:  # a graph tracer's stand-in: nothing runs
                        return fn(*args, **attrs)
                    ctx = ctx or x._ctx
            if ctx is None:
                return fn(*args, **attrs)
            be = ctx._backend or ctx.backend
            w = wrappers.get(be)
            if w is None:
                w = wrappers[be] = self._timed(mxnet_name(op), be, fn, raw_of, False, name_of,
                                               category)
            out = w(*args, **attrs)
            return out
        return call

    def step(self, step, fn, planned):
        """A compiled graph step ``fn(values, bufs, draws)``: its ops are recorded as symbolic;
        a planned body (no op call) is timed here as one op."""
        rec, tls = self, self.tls
        name = mxnet_name(step.op)
        out0 = step.outs[0]
        ins = step.ins
        label = None
        if step.ctx is not None:
            be = step.ctx.backend
            label = f"{be.device_type}/{step.ctx.device_id}"
            rec.devices.setdefault(label, f"{label} ({be.name})")
        extra = None
        program = step.attrs.get("program") if step.op.name == "_fused_elemwise" else None
        if program:
            extra = {"program": "+".join(p[0] for p in program)}

        def timed_step(values, bufs, draws):
            if not rec.on:
                return fn(values, bufs, draws)
            prev, tls.graph = getattr(tls, "graph", False), True
            try:
                if not (planned and bufs is not None and rec.symbolic):
                    return fn(values, bufs, draws)
                t0 = perf_counter_ns()
                fn(values, bufs, draws)
                t1 = perf_counter_ns()
            finally:
                tls.graph = prev
            raw = [v._data if isinstance(v, NDArray) else v for v in (values[i] for i in ins)]
            out = values[out0]
            lab = label or f"{out.context.device_type}/{out.context.device_id}"
            rec.op_event(name, lab, True, t0, t1, raw, (out._data,), False, None, extra)
        return timed_step

    # -- records -------------------------------------------------------------------------------
    def tid(self) -> int:
        ident = threading.get_ident()
        t = self.threads.get(ident)
        if t is None:
            t = self.threads[ident] = (len(self.threads) + 1, threading.current_thread().name)
        return t[0]

    def op_event(self, name, label, symbolic, t0, t1, ins, outs, memory, span, extra=None,
                 category=None):
        """Record one op (``span``: its device time, read later); its ``args`` are made at dump
        time (see ``op_args``). ``category`` None: 'operator', or 'Custom Operator' (the name
        prefixed with the op type) for an op a CustomOp's code runs."""
        if category is None:
            custom = current_custom_op.get()
            category = "operator" if custom is None else CUSTOM_CATEGORY
            if custom is not None:
                name = f"{custom}::{name}"
        tid = self.tid()
        nbytes = self._allocated(label, ins, outs, t1, tid) if memory and self.memory else None
        info = (_specs(ins), _specs(outs), symbolic, current_scope.get(), nbytes, extra)
        self.trace.append(("O", name, category, label, tid, t0, t1, info, span))
        if self.aggregate:
            dur = t1 - t0
            self.stat(category, name).add(dur)
            by_dev = self.device_stats.setdefault(label, {})
            s = by_dev.get(name)
            if s is None:
                s = by_dev[name] = _Stat()
            s.add(dur)
            if span is not None:
                self.pending.append((label, name, span))
        if self.next_dump is not None and t1 >= self.next_dump:
            self.next_dump = t1 + self.period_ns
            self.periodic_dump()

    @staticmethod
    def op_args(info) -> dict:
        """The trace ``args`` of an op event: shapes and dtypes, mode, scope, bytes."""
        ins, outs, symbolic, scope, nbytes, extra = info
        args = {"inputs": describe(ins), "outputs": describe(outs),
                "mode": "symbolic" if symbolic else "imperative"}
        if scope != DEFAULT_SCOPE:
            args["scope"] = scope
        if nbytes is not None:
            args["bytes"] = nbytes
        if extra:
            args.update(extra)
        return args

    def stat(self, category, name, counter=False) -> _Stat:
        cat = self.stats.setdefault(category, {})
        s = cat.get(name)
        if s is None:
            s = cat[name] = _Stat(counter)
        return s

    def _allocated(self, label, ins, outs, t, tid) -> int:
        """Bytes of the outputs that do not share an input's memory; their release is tracked
        where the array type allows weak references."""
        held = {_storage(x) for x in ins if hasattr(x, "shape")}
        total = 0
        for o in outs:
            if not hasattr(o, "shape") or _storage(o) in held:
                continue
            n = _size(o) * _itemsize(o.dtype)
            total += n
            try:  # a weak reference is much cheaper than weakref.finalize
                ref = weakref.ref(o, self._released)
            except TypeError:  # NumPy scalars: counted as allocated, never as live
                continue
            self._alive[id(ref)] = (ref, label, n)  # by id: arrays (and their refs) don't hash
            self._memory_change(label, n, t, tid)
        return total

    def _released(self, ref):
        _, label, n = self._alive.pop(id(ref), (None, None, 0))
        if label is None:
            return
        if self.running:
            self._memory_change(label, -n, perf_counter_ns(), self.tid())
        else:
            self.live[label] = self.live.get(label, 0) - n

    def _memory_change(self, label, delta, t, tid):
        live = self.live[label] = self.live.get(label, 0) + delta
        name = f"Memory: {label}"
        self.trace.append(("C", name, "memory", label, tid, t, {"bytes": live}))
        if self.aggregate and delta > 0:
            self.stat("Device Storage", name, counter=True).add(live)

    def span(self, name, category, t0, t1, args=None):
        """A user annotation (Task, Frame, Event, scope) that ran from ``t0`` to ``t1``."""
        if not self.on:
            return
        self.devices.setdefault(ANNOTATION_PID, "python (profiler objects and scopes)")
        self.trace.append(("X", name, category, ANNOTATION_PID, self.tid(), t0, t1, args or {},
                           None))
        if self.aggregate:
            self.stat(category, name).add(t1 - t0)

    def instant(self, name, category, scope):
        if not self.on:
            return
        self.devices.setdefault(ANNOTATION_PID, "python (profiler objects and scopes)")
        self.trace.append(("i", name, category, ANNOTATION_PID, self.tid(), perf_counter_ns(),
                           scope))

    def counter(self, name, category, value):
        if not self.on:
            return
        self.devices.setdefault(ANNOTATION_PID, "python (profiler objects and scopes)")
        self.trace.append(("C", name, category, ANNOTATION_PID, self.tid(), perf_counter_ns(),
                           {name: value}))
        if self.aggregate:
            self.stat(category, name, counter=True).add(value)

    def settle(self):
        """Fold the device times of the ops recorded so far into the aggregates (waiting for
        the devices to finish them)."""
        pending, self.pending = self.pending, []
        for label, name, span in pending:
            times = span.times()
            if times is not None:
                self.stat(f"Device kernels: {label}", name).add(times[2])

    def reset_stats(self):
        self.stats.clear()
        self.device_stats.clear()
        self.pending.clear()
