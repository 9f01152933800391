"""The op x backend coverage table, as text: what ``mxplug info --ops`` and the kit print."""
from __future__ import annotations

__all__ = ["STATUSES", "format_matrix", "format_backend", "counts"]

#: How a backend runs an op (:meth:`mxplug.ops.registry.Op.coverage`), best first.
STATUSES = ("native", "generic", "composite", "host-fallback", "missing")


def counts(table: dict, backend: str) -> dict:
    """``{status: number of ops}`` for one backend column of :func:`mxplug.backends.coverage`."""
    out = dict.fromkeys(STATUSES, 0)
    for row in table.values():
        out[row[backend]] += 1
    return out


def _totals(table, backend) -> str:
    return ", ".join(f"{n} {s}" for s, n in counts(table, backend).items() if n)


def format_matrix(table: dict) -> str:
    """Ops down, backends across, one status word per cell; a totals line per backend."""
    backends = list(next(iter(table.values()), {}))
    width = max(map(len, table), default=2)
    cols = [max(len(b), len("host-fallback")) for b in backends]
    lines = ["op".ljust(width) + "  " + "  ".join(b.ljust(c) for b, c in zip(backends, cols))]
    lines += [name.ljust(width) + "  " + "  ".join(row[b].ljust(c) for b, c in zip(backends, cols))
              for name, row in table.items()]
    lines.append("")
    lines += [f"{b}: {len(table)} ops: {_totals(table, b)}" for b in backends]
    return "\n".join(line.rstrip() for line in lines)


def format_backend(table: dict, backend: str) -> str:
    """One backend's column as an op x status grid (an ``x`` under the op's status)."""
    width = max(map(len, table), default=2)
    lines = ["op".ljust(width) + "  " + "  ".join(STATUSES)]
    for name, row in table.items():
        marks = ["x".center(len(s)) for s in STATUSES]
        marks = [m if s == row[backend] else " " * len(s) for m, s in zip(marks, STATUSES)]
        lines.append((name.ljust(width) + "  " + "  ".join(marks)).rstrip())
    lines.append(f"{backend}: {len(table)} ops: {_totals(table, backend)}")
    return "\n".join(lines)
