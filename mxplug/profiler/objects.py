"""MXNet's profiling objects: Domain, Task, Frame, Event, Counter, Marker.

They record into the trace only while the profiler runs (and is not paused), on the
``python`` process track, each on the thread that stopped it; durations are also aggregated
(under the domain's name, or ``event`` for Events) when ``aggregate_stats`` is on.
"""

from __future__ import annotations

from time import perf_counter_ns

from ..base import MXNetError, MXNetValueError

__all__ = ["Domain", "Task", "Frame", "Event", "Counter", "Marker"]


def _recorder():
    from . import RECORDER
    return RECORDER


class Domain:
    """A named group of tasks, frames, counters and markers (a category in chrome://tracing).

    Parameters
    ----------
    name : str
        Name of the domain.
    """

    def __init__(self, name):
        self.name = str(name)

    def __str__(self):
        return self.name

    def __repr__(self):
        return f"<Domain {self.name}>"

    def new_task(self, name):
        """A :class:`Task` of this domain."""
        return Task(self, name)

    def new_frame(self, name):
        """A :class:`Frame` of this domain."""
        return Frame(self, name)

    def new_counter(self, name, value=None):
        """A :class:`Counter` of this domain, set to ``value`` when given."""
        return Counter(self, name, value)

    def new_marker(self, name):
        """A :class:`Marker` of this domain."""
        return Marker(self, name)


def _check_domain(domain, what):
    if not isinstance(domain, Domain):
        raise MXNetValueError(f"profiler.{what}: domain must be a profiler.Domain, got "
                              f"{type(domain).__name__}")
    return domain


class _Duration:
    """A named span: ``start()`` ... ``stop()`` (or ``with obj:``) becomes one trace event."""

    _kind = "duration"

    def __init__(self, category, name):
        self.name = str(name)
        self._category = category
        self._start = None

    def start(self):
        """Start timing this object's scope."""
        self._start = perf_counter_ns()

    def stop(self):
        """Stop timing; the span since ``start()`` goes into the trace."""
        if self._start is None:
            raise MXNetError(f"profiler.{type(self).__name__} {self.name!r}: stop() without "
                             f"start()")
        t0, self._start = self._start, None
        _recorder().span(self.name, self._category, t0, perf_counter_ns(), {"kind": self._kind})

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def __str__(self):
        return self.name


class Task(_Duration):
    """A logical unit of work on one thread; passes through it are aggregated together.

    Parameters
    ----------
    domain : Domain
        Domain the task belongs to.
    name : str
        Name of the task.
    """

    _kind = "task"

    def __init__(self, domain, name):
        super().__init__(_check_domain(domain, "Task").name, name)


class Frame(_Duration):
    """A span analysed per pass (a frame of work, as a video frame).

    Parameters
    ----------
    domain : Domain
        Domain the frame belongs to.
    name : str
        Name of the frame.
    """

    _kind = "frame"

    def __init__(self, domain, name):
        super().__init__(_check_domain(domain, "Frame").name, name)


class Event(_Duration):
    """A demarcated region of code on the current thread.

    Parameters
    ----------
    name : str
        Name of the event.
    """

    _kind = "event"

    def __init__(self, name):
        super().__init__("event", name)


class Counter:
    """A value tracked over time (a counter track in chrome://tracing).

    Parameters
    ----------
    domain : Domain
        Domain the counter belongs to.
    name : str
        Name of the counter.
    value : int, optional
        Initial value.
    """

    def __init__(self, domain, name, value=None):
        self._domain = _check_domain(domain, "Counter").name
        self.name = str(name)
        self.value = 0
        if value is not None:
            self.set_value(value)

    def set_value(self, value):
        """Set the counter to ``value``."""
        self.value = int(value)
        _recorder().counter(self.name, self._domain, self.value)

    def increment(self, delta=1):
        """Add ``delta`` to the counter."""
        self.set_value(self.value + int(delta))

    def decrement(self, delta=1):
        """Subtract ``delta`` from the counter."""
        self.set_value(self.value - int(delta))

    def __iadd__(self, delta):
        self.increment(delta)
        return self

    def __isub__(self, delta):
        self.decrement(delta)
        return self

    def __str__(self):
        return self.name


class Marker:
    """An instant in time.

    Parameters
    ----------
    domain : Domain
        Domain the marker belongs to.
    name : str
        Name of the marker.
    """

    SCOPES = ("global", "process", "thread", "task", "marker")

    def __init__(self, domain, name):
        self._domain = _check_domain(domain, "Marker").name
        self.name = str(name)

    def mark(self, scope="process"):
        """Record the instant; ``scope`` is one of 'global', 'process', 'thread', 'task',
        'marker' (how far the marker line reaches in the viewer)."""
        if scope not in self.SCOPES:
            raise MXNetValueError(f"profiler.Marker.mark: scope must be one of {self.SCOPES}, "
                                  f"got {scope!r}")
        _recorder().instant(self.name, self._domain, scope)

    def __str__(self):
        return self.name
