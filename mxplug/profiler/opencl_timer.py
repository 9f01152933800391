"""Kernel time on OpenCL devices, from OpenCL profiling events.

While the profiler runs, every OpenCL runtime an op touches is switched to a command queue
created with ``PROFILING_ENABLE`` (the old queue is finished first, so the order of work is
kept), and its ``kernel()`` hands out kernels whose launches put their ``cl.Event`` into the
list of the op being timed. Event times are read when a report is made, so profiling adds no
synchronisation per op. On 'stop' the profiling queue is finished and the runtime gets its own
queue and kernel lookup back: nothing stays behind.

This reaches into ``backends/opencl/device.py``'s ``Runtime`` (its ``queue`` attribute and
``kernel`` method) instead of a hook there, so that the backend's hot path is untouched.
"""

from __future__ import annotations

import threading
import time

__all__ = ["OpenCLTimer"]

#: ``sink.events``: the list the kernels launched on this thread go to (None outside an op).
sink = threading.local()


class _TimedKernel:
    """A ``cl.Kernel`` whose launches report their events to the op being timed."""

    __slots__ = ("_kernel",)

    def __init__(self, kernel):
        self._kernel = kernel

    def __call__(self, queue, *args, **kw):
        ev = self._kernel(queue, *args, **kw)
        events = getattr(sink, "events", None)
        if events is not None and ev is not None:
            events.append(ev)
        return ev

    def __getattr__(self, name):
        return getattr(self._kernel, name)


class OpenCLTimer:
    """The runtimes switched to profiling queues, and each device's clock offset."""

    def __init__(self):
        self._saved = {}  # id(rt) -> (rt, its own queue)
        self.offset_ns = {}  # id(rt) -> host perf_counter_ns minus device clock
        self._lock = threading.Lock()

    def begin(self, arrays):
        """Before an op on ``arrays``: collect the events of the kernels it launches."""
        rt = next((x.rt for x in arrays if hasattr(x, "rt")), None)
        if rt is None:
            return None
        self.ensure(rt)
        prev, sink.events = getattr(sink, "events", None), []
        return prev, sink.events, rt

    def end(self, token):
        """After the op: its :class:`KernelSpan` (None if it launched no kernel). An enclosing
        op (a composite) gets these events too."""
        prev, events, rt = token
        sink.events = prev
        if prev is not None:
            prev.extend(events)
        return KernelSpan(events, self.offset_ns[id(rt)]) if events else None

    def ensure(self, rt) -> None:
        """Switch ``rt`` to a profiling queue (once)."""
        if id(rt) in self._saved:
            return
        with self._lock:
            if id(rt) in self._saved:
                return
            cl = rt.cl
            rt.queue.finish()
            queue = cl.CommandQueue(
                rt.context, properties=cl.command_queue_properties.PROFILING_ENABLE)
            self._saved[id(rt)] = (rt, rt.queue)
            plain_kernel = type(rt).kernel.__get__(rt)
            rt.kernel = lambda *a, **kw: _TimedKernel(plain_kernel(*a, **kw))
            rt.queue = queue
            marker = cl.enqueue_marker(queue)
            marker.wait()
            self.offset_ns[id(rt)] = time.perf_counter_ns() - marker.profile.end

    def restore(self) -> None:
        """Give every runtime its own queue and kernel lookup back."""
        with self._lock:
            for rt, queue in self._saved.values():
                rt.queue.finish()
                rt.queue = queue
                rt.__dict__.pop("kernel", None)
            self._saved.clear()


class KernelSpan:
    """The kernels of one op; their times are read (waiting for them) on first use."""

    __slots__ = ("events", "count", "offset", "_times")

    def __init__(self, events, offset_ns):
        self.events, self.count, self.offset, self._times = events, len(events), offset_ns, None

    def times(self):
        """``(first start, last end, summed kernel time)`` in host ``perf_counter_ns``."""
        if self._times is None:
            start = end = None
            busy = 0
            for ev in self.events:
                ev.wait()
                s, e = ev.profile.start, ev.profile.end
                busy += e - s
                start = s if start is None or s < start else start
                end = e if end is None or e > end else end
            self._times = (start + self.offset, end + self.offset, busy)
            self.events = None  # the times are kept; the cl.Event objects can go
        return self._times

    def args(self) -> dict:
        return {"kernels": self.count}
