"""What the profiler writes: the Chrome trace (``dump``) and the aggregate tables (``dumps``)."""

from __future__ import annotations

import json

from ..base import MXNetError, MXNetFileError, atomic_write
from .recorder import ANNOTATION_PID

__all__ = ["chrome_trace", "write_atomic", "table", "as_json", "SORT_KEYS"]

#: The device-side track of a process (one per device): OpenCL kernel spans per op.
DEVICE_TID = 0
MEMORY_CATEGORIES = ("Device Storage",)
SORT_KEYS = ("total", "avg", "min", "max", "count")
_INSTANT_SCOPES = {"global": "g", "process": "p", "thread": "t", "task": "t", "marker": "t"}


def chrome_trace(rec) -> dict:
    """The records since the last finished dump as Chrome trace-event JSON: a process per device
    (``pid``), a thread per Python thread (``tid``), ``X`` complete events per op with the input
    and output shapes/dtypes in ``args``; OpenCL / CUDA device time on the device's own track."""
    pids: dict = {}
    threads: dict = {}  # pid -> set of tids
    events = []

    def us(t):
        return (t - rec.epoch) / 1000.0

    def pid_of(label):
        p = pids.get(label)
        if p is None:
            p = pids[label] = len(pids)
        return p

    for r in rec.trace:
        kind = r[0]
        if kind in "OX":  # an op, or a user annotation's span
            _, name, cat, label, tid, t0, t1, args, span = r
            if kind == "O":
                args = rec.op_args(args)
            p = pid_of(label)
            threads.setdefault(p, set()).add(tid)
            times = span.times() if span is not None else None
            if times is not None:
                start, end, busy = times
                device_args = {"kernel_us": busy / 1000.0, **span.args()}
                args = {**args, **device_args}
                threads[p].add(DEVICE_TID)
                events.append({"name": name, "cat": "kernel", "ph": "X", "ts": us(start),
                               "dur": (end - start) / 1000.0, "pid": p, "tid": DEVICE_TID,
                               "args": device_args})
            events.append({"name": name, "cat": cat, "ph": "X", "ts": us(t0),
                           "dur": (t1 - t0) / 1000.0, "pid": p, "tid": tid, "args": args})
        elif kind == "C":
            _, name, cat, label, tid, t, values = r
            events.append({"name": name, "cat": cat, "ph": "C", "ts": us(t), "pid": pid_of(label),
                           "tid": tid, "args": values})
        else:  # "i": a marker
            _, name, cat, label, tid, t, scope = r
            p = pid_of(label)
            threads.setdefault(p, set()).add(tid)
            events.append({"name": name, "cat": cat, "ph": "i", "ts": us(t), "pid": p,
                           "tid": tid, "s": _INSTANT_SCOPES.get(scope, "p")})
    names = {tid: name for tid, name in rec.threads.values()}
    meta = []
    for label, p in pids.items():
        meta.append({"name": "process_name", "ph": "M", "pid": p, "tid": 0,
                     "args": {"name": rec.devices.get(label, label)}})
        meta.append({"name": "process_sort_index", "ph": "M", "pid": p, "tid": 0,
                     "args": {"sort_index": p + (1000 if label == ANNOTATION_PID else 0)}})
        for tid in sorted(threads.get(p, ())):
            tname = f"{label} device queue" if tid == DEVICE_TID else names.get(tid, str(tid))
            meta.append({"name": "thread_name", "ph": "M", "pid": p, "tid": tid,
                         "args": {"name": tname}})
    return {"traceEvents": meta + events, "displayTimeUnit": "ms",
            "otherData": {"producer": "mxplug.profiler", "time_unit": "us"}}


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory."""
    data = text.encode()
    try:
        atomic_write(path, lambda f: f.write(data), "trace file")
    except MXNetFileError as e:
        raise MXNetError(f"profiler.dump: {e}") from None


# -- aggregate statistics ------------------------------------------------------------------------
def _sections(rec):
    """``[(category, {name: _Stat})]``: memory first (as MXNet prints it), then the rest; with
    ops on several devices, one extra ``operator: <device>`` section per device."""
    rec.settle()
    cats = list(rec.stats.items())
    out = [c for c in cats if c[0] in MEMORY_CATEGORIES]
    out += [c for c in cats if c[0] not in MEMORY_CATEGORIES]
    if len(rec.device_stats) > 1:
        out += [(f"operator: {label}", stats) for label, stats in rec.device_stats.items()]
    return out


def _sort_value(s, key):
    if key == "count":
        return s.count
    if key == "min":
        return s.min
    if key == "max":
        return s.max
    if key == "avg":
        return s.total / s.count
    return s.total


def _rows(stats, sort_by, ascending):
    return sorted(stats.items(), key=lambda kv: _sort_value(kv[1], sort_by), reverse=not ascending)


def _ms(ns):
    return ns / 1e6


def as_json(rec, sort_by="total", ascending=False) -> str:
    """MXNet's JSON layout: ``{"Time": {category: {name: {Count, Total, Min, Max, Avg}}},
    "Memory": {"Device Storage": {name: {Count, Min, Max, Avg}}}, "Unit": {...}}``."""
    time, memory = {}, {}
    for cat, stats in _sections(rec):
        is_mem = cat in MEMORY_CATEGORIES
        entries = {}
        for name, s in _rows(stats, sort_by, ascending):
            if is_mem:
                entries[name] = {"Count": s.count, "Min": s.min / 1e3, "Max": s.max / 1e3,
                                 "Avg": s.total / s.count / 1e3}
            elif s.counter:
                entries[name] = {"Count": s.count, "Total": s.total, "Min": s.min, "Max": s.max,
                                 "Avg": s.total / s.count}
            else:
                entries[name] = {"Count": s.count, "Total": _ms(s.total), "Min": _ms(s.min),
                                 "Max": _ms(s.max), "Avg": _ms(s.total / s.count)}
        (memory if is_mem else time)[cat] = entries
    return json.dumps({"Time": time, "Memory": memory, "Unit": {"Time": "ms", "Memory": "kB"}},
                      indent=4)


def table(rec, sort_by="total", ascending=False) -> str:
    """MXNet's aggregate table: one block per category, one row per name."""
    lines = ["", "Profile Statistics:", "\tNote the difference in units for different entries."]
    if not rec.aggregate and not rec.stats:
        lines.append("(no aggregate statistics: call mx.profiler.set_config(aggregate_stats=True) "
                     "before set_state('run') to collect them)")
    for cat, stats in _sections(rec):
        is_mem = cat in MEMORY_CATEGORIES
        width = max([25] + [len(n) + 2 for n in stats])
        lines += [cat, "================="]
        if is_mem:
            heads = ("Total Count", "Min Use  (kB)", "Max Use  (kB)", "Avg Use  (kB)")
        else:
            heads = ("Total Count", "Time (ms)", "Min Time (ms)", "Max Time (ms)",
                     "Avg Time (ms)")
        lines.append("Name".ljust(width) + " ".join(h.rjust(16) for h in heads))
        lines.append("----".ljust(width) + " ".join(("-" * len(h)).rjust(16) for h in heads))
        for name, s in _rows(stats, sort_by, ascending):
            if is_mem:
                vals = [s.min / 1e3, s.max / 1e3, s.total / s.count / 1e3]
            elif s.counter:  # counter values, not times
                vals = [s.total, s.min, s.max, s.total / s.count]
            else:
                vals = [_ms(s.total), _ms(s.min), _ms(s.max), _ms(s.total / s.count)]
            lines.append(name.ljust(width) + str(s.count).rjust(16) + " " +
                         " ".join(f"{v:16.4f}" for v in vals))
        lines.append("")
    return "\n".join(lines) + "\n"
