"""How an elementwise launch runs: the operands' layouts collapsed to an entry point of the
kernel family (``_c``, ``_s1``-``_s3``, ``_s``) with its geometry and grid, worked out once per
layout, and the cached device ``meta`` buffers of reductions."""

from __future__ import annotations

import builtins
import math

from ..kernels import strided_meta
from ..kernels.elementwise import entry_point, geometry_args
from .array import CLArray
from .device import drop_cache


def _broadcast_strides(a: CLArray, shape):
    """``a``'s element strides viewed at ``shape`` (0 on broadcast axes)."""
    lead = len(shape) - a.ndim
    out = [0] * lead
    for s, st, want in zip(a.shape, a._strides, shape[lead:]):
        out.append(0 if s == 1 and want != 1 else st)
    return out


def _layout(out, arrays):
    """(entry-point suffix, leading arguments, grid or None) of an elementwise launch writing
    ``out`` from ``arrays`` (``kernels.elementwise``)."""
    if out.is_contiguous and builtins.all(a.is_contiguous and a.shape == out.shape
                                          for a in arrays):
        return "_c", (out.size,), None
    return _plan(out.rt, out, arrays)


def _launch(rt, src, kname, plan, tail, dtypes):
    """Run entry point ``plan[0]`` of the kernel family ``kname`` in ``src``; ``tail`` is the
    arguments from ``out`` on."""
    suffix, lead, grid = plan
    kernel = rt.kernel(src, kname + suffix, dtypes)
    if grid is None:  # a 1-D launch; lead[0] is its size (n, or the one axis of _s1)
        rt.launch(kernel, lead[0], *lead, *tail)
    else:
        kernel(rt.queue, grid[0], grid[1], *lead, *tail)


_PLANS: dict = {}


def _plan(rt, out, arrays):
    """(entry-point suffix, leading arguments, grid) of a launch over these layouts, worked out
    once: a training step repeats the same few, and collapsing costs more than a dict lookup."""
    key = (rt, out.shape, out._strides, *((a.shape, a._strides) for a in arrays))
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= 4096:
            drop_cache(_PLANS)
        entry, dims, ost, ists = entry_point(
            out.shape, out._strides, [_broadcast_strides(a, out.shape) for a in arrays])
        if entry == "_c":
            plan = ("_c", (math.prod(dims),), None)
        elif entry == "_s1":
            plan = ("_s1", geometry_args(dims, ost, ists), None)
        elif entry != "_s":
            plan = (entry, geometry_args(dims, ost, ists), _grid(rt, dims))
        else:  # the fallback's grid: (the rest flattened, second-to-last axis, last axis)
            plan = ("_s", (rt.meta(strided_meta(dims, ost, ists)),),
                    _grid(rt, [math.prod(dims[:-2]), *dims[-2:]]))
        _PLANS[key] = plan
    return plan


def _grid(rt, dims):
    """(global, local) sizes of a 2-D or 3-D launch over ``dims`` (grid axis 0 is the last
    dim): work-groups of up to ``rt.local_size`` items, filled from the fastest axis, since
    PoCL vectorises a work-group along axis 0; every axis is rounded up to whole groups."""
    budget, limits = rt.local_size, rt.device.max_work_item_sizes
    glob, local = [], []
    for axis, size in enumerate(reversed(dims)):
        lsize = builtins.max(1, builtins.min(budget, 1 << (size - 1).bit_length(), limits[axis]))
        local.append(lsize)
        glob.append(-(-size // lsize) * lsize)
        budget //= lsize
    return tuple(glob), tuple(local)


_META_BUFS: dict = {}


def _cached_meta(key, build):
    """The device ``meta`` buffer for ``key`` (which names the runtime first), built once by
    ``build()``: a launch over the same shapes and strides then costs one dict lookup instead
    of a NumPy array, its bytes and the runtime's cache."""
    buf = _META_BUFS.get(key)
    if buf is None:
        if len(_META_BUFS) >= 4096:
            drop_cache(_META_BUFS)
        buf = _META_BUFS[key] = key[0].meta(build())
    return buf
