"""Nested inputs and outputs of blocks: flattening to a list and a format, regrouping, and the
checks a hybridized block makes on a call's structure before it runs its cached graph."""

from __future__ import annotations

from ..base import MXNetValueError
from ..ndarray import NDArray


def _flatten(args):
    """Flatten nested lists/tuples: (flat list, format); a None leaf is -1 in the format (as
    MXNet's), so that calls differing only in trailing Nones can share a graph."""
    if args is None:
        return [None], -1
    if not isinstance(args, (list, tuple)):
        return [args], 0
    flat, fmts = [], []
    for a in args:
        f, fmt = _flatten(a)
        flat.extend(f)
        fmts.append(fmt)
    return flat, fmts


def _regroup(flat, fmt):
    if isinstance(fmt, int):
        return flat[0], flat[1:]
    out = []
    for f in fmt:
        r, flat = _regroup(flat, f)
        out.append(r)
    return out, flat


def _match_cached_format(flat, fmt, stored):
    """A call whose argument structure differs from the cached graph's. As MXNet: trailing None
    arguments (defaults) may be added or left out, and passing an array where the graph was
    built with None (or the reverse) is an error. Any other change of structure (more or fewer
    inputs, e.g. an RNN layer called with and without states) returns None: trace a new graph.
    """
    if isinstance(fmt, list) and isinstance(stored, list):
        n = min(len(fmt), len(stored))
        if fmt[:n] == stored[:n] and all(f == -1 for f in fmt[n:] + stored[n:]):
            return flat[:len(stored)] + [None] * (len(stored) - len(flat)), stored
    if _without_none(fmt) == _without_none(stored):
        raise MXNetValueError(f"The argument structure of HybridBlock does not match the cached "
                              f"version. Stored format = {stored}, input format = {fmt}")
    return None


def _without_none(fmt):
    return [_without_none(f) for f in fmt] if isinstance(fmt, list) else 0


def _check_hybridized_inputs(block, flat):
    """A graph takes arrays (or None) on one context: what MXNet checks before a CachedOp."""
    contexts = set()
    for a in flat:
        if a is None:
            continue
        if not isinstance(a, NDArray):
            raise MXNetValueError(f"When hybridized, the input of HybridBlock {block.name} must "
                                  f"be (nested) list of Symbol or NDArray, but got {a!r} of type "
                                  f"{type(a).__name__}")
        contexts.add(a.context)
    if len(contexts) > 1:
        raise MXNetValueError(f"Find multiple contexts in the input, After hybridized, the "
                              f"HybridBlock only supports one input context. Find all contexts "
                              f"= {sorted(contexts, key=str)}")
