"""Device time on CUDA (the CuPy backend), from CUDA events.

Each timed op records one event on the current stream before it and one after it; a reference
event recorded (and waited for) the first time a device is seen ties the device's clock to the
host's, so an op's span can be placed on the trace's timeline. Events are read when a report is
made, so profiling adds no synchronisation per op. This is stream time between the two events:
it includes any idle gap while the host was still launching the op's kernels.
"""

from __future__ import annotations

from time import perf_counter_ns

__all__ = ["CudaTimer"]


class CudaTimer:
    def __init__(self, cp):
        self.cp = cp
        self._ref: dict = {}  # device id -> (reference event, host perf_counter_ns at it)

    def _device(self, arrays) -> int:
        for x in arrays:
            dev = getattr(getattr(x, "device", None), "id", None)
            if isinstance(dev, int):
                return dev
        return self.cp.cuda.Device().id

    def begin(self, arrays):
        cp = self.cp
        dev = self._device(arrays)
        with cp.cuda.Device(dev):
            if dev not in self._ref:
                ref = cp.cuda.Event()
                ref.record()
                ref.synchronize()
                self._ref[dev] = (ref, perf_counter_ns())
            start = cp.cuda.Event()
            start.record()
        return dev, start

    def end(self, token):
        dev, start = token
        with self.cp.cuda.Device(dev):
            stop = self.cp.cuda.Event()
            stop.record()
        return CudaSpan(self.cp, self._ref[dev], start, stop)


class CudaSpan:
    """One op's pair of events; read on first use."""

    __slots__ = ("cp", "ref", "start", "stop", "_times")

    def __init__(self, cp, ref, start, stop):
        self.cp, self.ref, self.start, self.stop, self._times = cp, ref, start, stop, None

    def times(self):
        """``(start, end, elapsed)`` in host ``perf_counter_ns``."""
        if self._times is None:
            self.stop.synchronize()
            elapsed_ms = self.cp.cuda.get_elapsed_time
            ref, host = self.ref
            begin = host + int(elapsed_ms(ref, self.start) * 1e6)
            busy = int(elapsed_ms(self.start, self.stop) * 1e6)
            self._times = (begin, begin + busy, busy)
            self.start = self.stop = None
        return self._times

    def args(self) -> dict:
        return {"source": "cuda events"}
