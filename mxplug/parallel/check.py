"""``MXPLUG_CHECK_COLLECTIVES=1``: before each collective, every rank shows the others what it is
about to call (operation, shapes, dtypes, attributes) and from which line of Python; a mismatch
raises :class:`CollectiveMismatchError` on every rank instead of hanging or mixing up data.

It costs one small allgather per collective, so it is a debugging mode, off by default.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from ..base import MXNetError

__all__ = ["CollectiveMismatchError", "enabled", "call_site", "verify", "ENV"]

ENV = "MXPLUG_CHECK_COLLECTIVES"
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class CollectiveMismatchError(MXNetError, RuntimeError):
    """Ranks called different collectives (or the same one on different shapes/dtypes)."""


def enabled() -> bool:
    """Whether ``MXPLUG_CHECK_COLLECTIVES`` asks for the check (read by each new communicator)."""
    return os.environ.get(ENV, "").strip().lower() not in ("", "0", "false", "no")


def call_site() -> str:
    """``file:line`` of the innermost frame outside the mxplug package: the user's call."""
    frame = sys._getframe(1)
    innermost = None
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if innermost is None:
            innermost = f"{path}:{frame.f_lineno}"
        if not path.startswith(_PACKAGE_DIR + os.sep):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return innermost or "<unknown>"


def signature(what, arrays, **attrs) -> tuple:
    """What must agree across ranks: the op, each array's shape and dtype, the attributes."""
    arrs = tuple((tuple(a.shape) if "shape_tail" not in attrs else None,
                  np.dtype(a.dtype).name) for a in arrays)
    return (what, arrs, tuple(sorted((k, repr(v)) for k, v in attrs.items())))


def describe(sig) -> str:
    what, arrs, attrs = sig
    parts = [f"shape={s} dtype={d}" if s is not None else f"dtype={d}" for s, d in arrs]
    parts += [f"{k}={v}" for k, v in attrs]
    return f"{what}({', '.join(parts)})"


def verify(comm, what, arrays, **attrs) -> None:
    """Compare this rank's collective with every other rank's; raise on any difference."""
    sig = signature(what, arrays, **attrs)
    everyone = comm._allgather_object((sig, call_site()))
    if all(s == everyone[0][0] for s, _ in everyone):
        return
    groups: dict = {}
    for r, (s, site) in enumerate(everyone):
        groups.setdefault(s, []).append((r, site))
    # the largest group is "what was expected"; name every rank outside it
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[1][0][0]))
    lines = [f"collective mismatch ({ENV}=1): the ranks do not call the same collective"]
    for s, members in ordered:
        ranks = ", ".join(str(r) for r, _ in members)
        sites = "; ".join(sorted({site for _, site in members}))
        lines.append(f"  rank {ranks}: {describe(s)} at {sites}")
    odd = [r for _, members in ordered[1:] for r, _ in members]
    lines.append(f"differing rank(s): {', '.join(map(str, odd))} (this is rank {comm.rank})")
    raise CollectiveMismatchError("\n".join(lines))
