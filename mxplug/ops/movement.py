"""Movement, joining and index ops: swapaxes, flip, tile, repeat, broadcasts, pad, slices, take,
pick, one_hot, where, gather_nd/scatter_nd, concat/stack/split, diag, shape_array, depth/space.

MXNet 1.x semantics: results own their memory (no views of the input), index inputs may be float
arrays (truncated toward zero), index outputs are float32 unless a ``dtype`` attribute says
otherwise, and nothing is 0-d (a scalar result has shape (1,)). Sorting ops live in sorting.py.
"""
from __future__ import annotations

import ast
import math

import numpy as np

from . import infer as I
from .attrs import Attr, Bool, Enum, Float, Int, Shape
from .registry import Sample, defop


# -- helpers ---------------------------------------------------------------------------------------
class _OptInts(Attr):
    """A tuple of ints where ``None`` entries mean "the default" (``slice``'s begin/end/step)."""

    __slots__ = ()

    def __init__(self, default=()):
        super().__init__(default, "tuple of int or None")

    def parse(self, value, op="op", name="attr"):
        v = ast.literal_eval(value) if isinstance(value, str) else value
        if v is None:
            return self.default
        try:
            v = (v,) if isinstance(v, (int, np.integer)) else tuple(v)
            return tuple(None if e is None else int(e) for e in v)
        except (TypeError, ValueError) as e:
            raise I.MXNetValueError(f"{op}: attribute {name}={value!r} is not a tuple of ints "
                                    f"or None: {e}") from None


class _IntOrInts(Attr):
    """An int (number of sections) or a tuple of ints (split points): ``split_v2``."""

    __slots__ = ()

    def __init__(self, default=1):
        super().__init__(default, "int or tuple of int")

    def parse(self, value, op="op", name="attr"):
        v = ast.literal_eval(value) if isinstance(value, str) else value
        if v is None:
            return self.default
        try:
            return int(v) if isinstance(v, (int, np.integer)) else tuple(int(e) for e in v)
        except (TypeError, ValueError) as e:
            raise I.MXNetValueError(f"{op}: attribute {name}={value!r} is not an int or a tuple "
                                    f"of ints: {e}") from None


class _IntOrNone(Attr):
    """An int where ``None`` (or the string "None" of symbol JSON) means "absent": repeat's
    ``axis`` (flatten), slice_axis's ``end`` (to the end)."""

    __slots__ = ()

    def __init__(self, default=None, kind="int"):
        super().__init__(default, kind)

    def parse(self, value, op="op", name="attr"):
        if value is None or (isinstance(value, str) and value.strip() == "None"):
            return None
        return super().parse(value, op, name)


def _spec(a):
    """The Spec of a backend array (its dtype left as the namespace's own dtype object)."""
    return I.Spec(tuple(a.shape), a.dtype)


def _common_dtype(*specs):
    """The inputs' shared dtype, else NumPy promotion (no NumPy call when they agree, so the
    rules also run on the Specs of non-NumPy arrays)."""
    dts = [s.dtype for s in specs if isinstance(s, I.Spec)]
    return dts[0] if all(d == dts[0] for d in dts) else I.result_dtype(*specs)


def _xp_dtype(xp, name):
    """The namespace's dtype object for an attribute's dtype name ("float32" -> xp.float32)."""
    return getattr(xp, np.dtype(name).name)


def _own(xp, r):
    """A copy that owns its memory: MXNet's movement ops never return views of their input."""
    return xp.asarray(r, copy=True)


def _axis(axis, ndim, op):
    """One normalised axis, with a Chainer-style error naming ``op``."""
    I.expect(-ndim <= axis < max(ndim, 1), op, f"-{ndim} <= axis < {ndim}", f"axis={axis}")
    return axis % max(ndim, 1)


def _as_index(xp, idx):
    """Index arrays arrive as floats (MXNet's default dtype): truncate toward zero to int64."""
    return xp.astype(idx, xp.int64)


def _prod(shape):
    return math.prod(int(s) for s in shape)


# -- swapaxes, flip, tile, repeat ------------------------------------------------------------------
def _swap_perm(ndim, dim1, dim2):
    a, b = _axis(dim1, ndim, "swapaxes"), _axis(dim2, ndim, "swapaxes")
    perm = list(range(ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return tuple(perm)


swapaxes = defop("swapaxes", ("data",), {"dim1": Int(0), "dim2": Int(0)},
                 infer=lambda x, dim1=0, dim2=0: I.Spec(
                     tuple(x.shape[p] for p in _swap_perm(x.ndim, dim1, dim2)), x.dtype),
                 aliases=("SwapAxis",), doc="Interchange two axes of an array.")
swapaxes.impl(lambda xp, x, dim1=0, dim2=0:
              _own(xp, xp.permute_dims(x, _swap_perm(x.ndim, dim1, dim2))))
swapaxes.samples(lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 4)), dim1=0, dim2=2),
                 lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 4)), dim1=-1, dim2=1))


def _flip_infer(x, axis=()):
    I.normalize_axis(axis, x.ndim, "flip")
    return x


flip = defop("flip", ("data",), {"axis": Shape(())}, infer=_flip_infer, aliases=("reverse",),
             doc="Reverse the order of elements along ``axis`` (an int or a tuple of ints).")
flip.impl(lambda xp, x, axis=(): _own(xp, xp.flip(x, axis=I.normalize_axis(axis, x.ndim, "flip"))))
flip.samples(lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), axis=(0,)),
             lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 4)), axis=(0, -1)))


def _tile_infer(x, reps=()):
    I.expect(all(r >= 0 for r in reps), "tile", "reps >= 0", f"reps={reps}")
    n = max(x.ndim, len(reps))
    shape = (1,) * (n - x.ndim) + tuple(x.shape)
    reps = (1,) * (n - len(reps)) + tuple(reps)
    return I.Spec(tuple(s * r for s, r in zip(shape, reps)), x.dtype)


tile = defop("tile", ("data",), {"reps": Shape(())}, infer=_tile_infer,
             doc="Repeat the whole array ``reps`` times along each axis (as ``numpy.tile``).")


@tile.impl
def _(xp, x, reps=()):
    _tile_infer(_spec(x), reps)
    return xp.tile(x, tuple(reps)) if reps else _own(xp, x)


tile.samples(lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), reps=(2, 2)),
             lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), reps=(3,)),
             lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), reps=(2, 1, 2)))


def _repeat_infer(x, repeats=1, axis=None):
    I.expect(repeats >= 0, "repeat", "repeats >= 0", f"repeats={repeats}")
    if axis is None:
        return I.Spec((x.size * repeats,), x.dtype)
    ax = _axis(axis, x.ndim, "repeat")
    return I.Spec(tuple(s * repeats if i == ax else s for i, s in enumerate(x.shape)), x.dtype)


repeat = defop("repeat", ("data",), {"repeats": Int(1), "axis": _IntOrNone(None, "axis")},
               infer=_repeat_infer,
               doc="Repeat each element ``repeats`` times along ``axis`` (flattened when None).")


@repeat.impl
def _(xp, x, repeats=1, axis=None):
    _repeat_infer(_spec(x), repeats, axis)
    if axis is None:
        return xp.repeat(xp.reshape(x, (-1,)), repeats)
    return xp.repeat(x, repeats, axis=axis % x.ndim)


repeat.samples(lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), repeats=2),
               lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), repeats=3, axis=1),
               lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 2)), repeats=2, axis=-3))


# -- broadcasts ------------------------------------------------------------------------------------
def _broadcast_to_infer(x, shape=(), op="broadcast_to"):
    shape = tuple(shape)
    I.expect(len(shape) >= x.ndim, op, f"len(shape) >= data.ndim ({x.ndim})", f"shape={shape}")
    src = (1,) * (len(shape) - x.ndim) + tuple(x.shape)
    out = tuple(s if t == 0 else t for s, t in zip(src, shape))
    ok = all(s == t or s == 1 for s, t in zip(src, out))
    I.expect(ok, op, f"data shape {tuple(x.shape)} to broadcast to {shape} (each dim equal or 1)",
             f"{tuple(x.shape)} -> {shape}")
    return I.Spec(out, x.dtype)


broadcast_to = defop("broadcast_to", ("data",), {"shape": Shape(())}, infer=_broadcast_to_infer,
                     doc="Broadcast to ``shape``; a 0 in ``shape`` keeps the input's dim.")
broadcast_to.impl(lambda xp, x, shape=(): _own(
    xp, xp.broadcast_to(x, _broadcast_to_infer(_spec(x), shape).shape)))
broadcast_to.samples(lambda rng: Sample(rng.uniform(-1, 1, (2, 1, 3)), shape=(2, 4, 3)),
                     lambda rng: Sample(rng.uniform(-1, 1, (1, 3)), shape=(4, 0)),
                     lambda rng: Sample(rng.uniform(-1, 1, (3,)), shape=(2, 3)))


def _norm_axes(axes, ndim, op):
    if axes is None:
        return ()
    return tuple(_axis(a, ndim, op) for a in ((axes,) if isinstance(axes, int) else axes))


def _broadcast_like_infer(lhs, rhs, lhs_axes=None, rhs_axes=None):
    op = "broadcast_like"
    la, ra = _norm_axes(lhs_axes, lhs.ndim, op), _norm_axes(rhs_axes, rhs.ndim, op)
    if not la and not ra:
        return _broadcast_to_infer(lhs, rhs.shape, op)
    I.expect(len(la) == len(ra), op, "len(lhs_axes) == len(rhs_axes)",
             f"{len(la)} != {len(ra)} (lhs_axes={lhs_axes}, rhs_axes={rhs_axes})")
    out = list(lhs.shape)
    for a, b in zip(la, ra):
        I.expect(lhs.shape[a] in (1, rhs.shape[b]), op, f"lhs.shape[{a}] == 1 or rhs.shape[{b}]",
                 f"{lhs.shape[a]} vs {rhs.shape[b]} (lhs {tuple(lhs.shape)}, "
                 f"rhs {tuple(rhs.shape)})")
        out[a] = rhs.shape[b]
    return I.Spec(tuple(out), lhs.dtype)


broadcast_like = defop("broadcast_like", ("lhs", "rhs"),
                       {"lhs_axes": Attr(None, "axes"), "rhs_axes": Attr(None, "axes")},
                       infer=_broadcast_like_infer,
                       doc="Broadcast ``lhs`` to the shape of ``rhs`` (or only ``lhs_axes`` to the "
                           "sizes of ``rhs_axes``).")
broadcast_like.impl(lambda xp, a, b, lhs_axes=None, rhs_axes=None: _own(xp, xp.broadcast_to(
    a, _broadcast_like_infer(_spec(a), _spec(b), lhs_axes, rhs_axes).shape)))
broadcast_like.nograd("rhs")
broadcast_like.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (2, 1)), rng.uniform(-1, 1, (2, 3))),
    lambda rng: Sample(rng.uniform(-1, 1, (1, 3)), rng.uniform(-1, 1, (4, 5)), lhs_axes=(0,),
                       rhs_axes=(-1,)),
    lambda rng: Sample(rng.uniform(-1, 1, (1, 2, 1)), rng.uniform(-1, 1, (3, 4)), lhs_axes=(0, 2),
                       rhs_axes=(1, 0)),
)


def _broadcast_axis_infer(x, axis=(), size=()):
    op = "broadcast_axis"
    axes = _norm_axes(axis, x.ndim, op)
    I.expect(len(axes) == len(size), op, "len(axis) == len(size)", f"axis={axis}, size={size}")
    out = list(x.shape)
    for a, s in zip(axes, size):
        I.expect(x.shape[a] == 1, op, f"data.shape[{a}] == 1", f"{x.shape[a]} != 1 "
                                                                 f"(data shape {tuple(x.shape)})")
        out[a] = s
    return I.Spec(tuple(out), x.dtype)


broadcast_axis = defop("broadcast_axis", ("data",), {"axis": Shape(()), "size": Shape(())},
                       infer=_broadcast_axis_infer, aliases=("broadcast_axes",),
                       doc="Broadcast the size-1 axes ``axis`` to ``size``.")
broadcast_axis.impl(lambda xp, x, axis=(), size=(): _own(
    xp, xp.broadcast_to(x, _broadcast_axis_infer(_spec(x), axis, size).shape)))
broadcast_axis.samples(lambda rng: Sample(rng.uniform(-1, 1, (1, 3, 1)), axis=(0, 2), size=(2, 4)),
                       lambda rng: Sample(rng.uniform(-1, 1, (3, 1)), axis=(-1,), size=(5,)))


# -- pad -------------------------------------------------------------------------------------------
def _pad_infer(x, mode="constant", pad_width=(), constant_value=0.0):
    op = "pad"
    pw = tuple(pad_width)
    I.expect(len(pw) == 2 * x.ndim, op, f"len(pad_width) == 2 * data.ndim = {2 * x.ndim} "
             f"(MXNet's flat (before_0, after_0, before_1, after_1, ...))", f"{len(pw)}: {pw}")
    I.expect(all(p >= 0 for p in pw), op, "pad_width >= 0", f"pad_width={pw}")
    for i, n in enumerate(x.shape):
        b, a = pw[2 * i], pw[2 * i + 1]
        if mode == "reflect":
            I.expect(max(b, a) < n, op, f"reflect pads < data.shape[{i}] = {n}",
                     f"pad ({b}, {a}) on axis {i}")
        elif mode == "edge":
            I.expect(n > 0 or b + a == 0, op, f"edge padding of a non-empty axis {i}", f"size {n}")
    return I.Spec(tuple(n + pw[2 * i] + pw[2 * i + 1] for i, n in enumerate(x.shape)), x.dtype)


pad = defop("pad", ("data",), {"mode": Enum("constant", "edge", "reflect"),
                               "pad_width": Shape(()), "constant_value": Float(0.0)},
            infer=_pad_infer, aliases=("Pad",),
            doc="Pad with a constant, the edge values or a reflection. ``pad_width`` is MXNet's "
                "flat tuple (before_0, after_0, before_1, after_1, ...); unlike MXNet, any ndim "
                "and any axis may be padded.")


def _take_range(xp, x, axis, start, stop):
    return x[(slice(None),) * axis + (slice(start, stop), ...)]   # array API: a full key


@pad.impl
def _(xp, x, mode="constant", pad_width=(), constant_value=0.0):
    _pad_infer(_spec(x), mode, pad_width, constant_value)
    for ax in range(x.ndim):            # one axis at a time, with array-API concat only
        b, a = pad_width[2 * ax], pad_width[2 * ax + 1]
        if b == 0 and a == 0:
            continue
        n = x.shape[ax]
        if mode == "constant":
            shp = list(x.shape)
            parts = []
            for k in (b, a):
                shp[ax] = k
                parts.append(xp.full(tuple(shp), constant_value, dtype=x.dtype,
                                     device=x.device))
            before, after = parts
        elif mode == "edge":
            reps = [1] * x.ndim
            reps[ax] = b
            before = xp.tile(_take_range(xp, x, ax, 0, 1), tuple(reps))
            reps[ax] = a
            after = xp.tile(_take_range(xp, x, ax, n - 1, n), tuple(reps))
        else:   # reflect: mirror without repeating the edge value
            before = xp.flip(_take_range(xp, x, ax, 1, b + 1), axis=ax)
            after = xp.flip(_take_range(xp, x, ax, n - 1 - a, n - 1), axis=ax)
        x = xp.concat((before, x, after), axis=ax)
    return _own(xp, x)


pad.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (1, 2, 3, 4)), pad_width=(0, 0, 0, 0, 1, 2, 2, 1),
                       constant_value=1.5),
    lambda rng: Sample(rng.uniform(-1, 1, (1, 2, 3, 4)), mode="edge",
                       pad_width=(0, 0, 0, 0, 2, 1, 0, 3)),
    lambda rng: Sample(rng.uniform(-1, 1, (1, 2, 4, 5)), mode="reflect",
                       pad_width=(0, 0, 0, 0, 3, 1, 2, 4)),
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), mode="reflect", pad_width=(1, 2, 0, 1)),
)


# -- slices ----------------------------------------------------------------------------------------
def _slices(shape, begin, end, step):
    """Python slices for MXNet's ``slice``: short tuples leave the trailing axes whole."""
    op = "slice"
    begin, end = tuple(begin), tuple(end)
    step = tuple(step) or (None,) * len(begin)
    I.expect(len(begin) == len(end) == len(step), op, "len(begin) == len(end) == len(step)",
             f"begin={begin}, end={end}, step={step}")
    I.expect(len(begin) <= len(shape), op, f"len(begin) <= data.ndim ({len(shape)})",
             f"begin={begin} for data shape {tuple(shape)}")
    I.expect(all(s != 0 for s in step), op, "step != 0", f"step={step}")
    return tuple(slice(b, e, s) for b, e, s in zip(begin, end, step)) + (...,)


def _sliced_shape(shape, slices):
    slices = [sl for sl in slices if sl is not Ellipsis]
    return tuple(len(range(*sl.indices(n))) for sl, n in zip(slices, shape)) + \
        tuple(shape[len(slices):])


def _slice_infer(x, begin=(), end=(), step=()):
    return I.Spec(_sliced_shape(x.shape, _slices(x.shape, begin, end, step)), x.dtype)


slice_ = defop("slice", ("data",), {"begin": _OptInts(()), "end": _OptInts(()),
                                    "step": _OptInts(())},
               infer=_slice_infer, aliases=("crop",),
               doc="``data[begin:end:step]`` per axis; ``None`` entries take the default and "
                   "axes past ``len(begin)`` are kept whole.")
slice_.impl(lambda xp, x, begin=(), end=(), step=():
            _own(xp, x[_slices(x.shape, begin, end, step)]))
slice_.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4, 5)), begin=(0, 1), end=(2, 3)),
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4, 5)), begin=(None, -3, 0), end=(None, None, 5),
                       step=(1, 1, 2)),
    lambda rng: Sample(rng.uniform(-1, 1, (4, 5)), begin=(3, None), end=(0, None), step=(-1, -2)),
)


def _slice_axis_key(shape, axis, begin, end):
    return (slice(None),) * _axis(axis, len(shape), "slice_axis") + (slice(begin, end), ...)


def _slice_axis_infer(x, axis=0, begin=0, end=None):
    return I.Spec(_sliced_shape(x.shape, _slice_axis_key(x.shape, axis, begin, end)), x.dtype)


slice_axis = defop("slice_axis", ("data",), {"axis": Int(0), "begin": Int(0),
                                             "end": _IntOrNone(None, "int")},
                   infer=_slice_axis_infer,
                   doc="``data[begin:end]`` along ``axis``; ``end=None`` means to the end.")
slice_axis.impl(lambda xp, x, axis=0, begin=0, end=None:
                _own(xp, x[_slice_axis_key(x.shape, axis, begin, end)]))
slice_axis.samples(lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), axis=1, begin=1, end=3),
                   lambda rng: Sample(rng.uniform(-1, 1, (3, 4, 2)), axis=-2, begin=-3),
                   lambda rng: Sample(rng.uniform(-1, 1, (5, 2)), axis=0, begin=1, end=-1))


def _slice_like_infer(x, like, axes=()):
    op = "slice_like"
    if not axes:
        I.expect(x.ndim == like.ndim, op, "data.ndim == shape_like.ndim when axes is empty",
                 f"{x.ndim} != {like.ndim} ({tuple(x.shape)} vs {tuple(like.shape)})")
    out = list(x.shape)
    for a in (_norm_axes(axes, x.ndim, op) if axes else range(x.ndim)):
        I.expect(a < like.ndim, op, f"axis {a} < shape_like.ndim ({like.ndim})", f"axes={axes}")
        I.expect(like.shape[a] <= x.shape[a], op, f"shape_like.shape[{a}] <= data.shape[{a}]",
                 f"{like.shape[a]} > {x.shape[a]}")
        out[a] = like.shape[a]
    return I.Spec(tuple(out), x.dtype)


slice_like = defop("slice_like", ("data", "shape_like"), {"axes": Shape(())},
                   infer=_slice_like_infer,
                   doc="Slice ``data`` from the start to the shape of ``shape_like`` (on ``axes``, "
                       "or all axes when empty).")
slice_like.impl(lambda xp, x, like, axes=(): _own(xp, x[tuple(
    slice(0, n) for n in _slice_like_infer(_spec(x), _spec(like), axes).shape)]))
slice_like.nograd("shape_like")
slice_like.samples(lambda rng: Sample(rng.uniform(-1, 1, (4, 5)), rng.uniform(-1, 1, (2, 3))),
                   lambda rng: Sample(rng.uniform(-1, 1, (4, 5, 3)), rng.uniform(-1, 1, (2, 6, 2)),
                                      axes=(0, -1)))


# -- concat, stack, split --------------------------------------------------------------------------
def _concat_infer(*xs, dim=1):
    op = "concat"
    I.expect(len(xs) >= 1, op, "at least one input", "none")
    nd = xs[0].ndim
    ax = _axis(dim, nd, op)
    for i, x in enumerate(xs):
        same = x.ndim == nd and all(a == b for j, (a, b) in enumerate(zip(x.shape, xs[0].shape))
                                    if j != ax)
        I.expect(same, op, f"data[{i}].shape == data[0].shape {tuple(xs[0].shape)} except on "
                 f"dim {ax}", f"data[{i}].shape == {tuple(x.shape)}")
    shape = list(xs[0].shape)
    shape[ax] = sum(x.shape[ax] for x in xs)
    return I.Spec(tuple(shape), _common_dtype(*xs))


concat = defop("concat", ("data",), {"dim": Int(1)}, infer=_concat_infer, variadic=True,
               aliases=("Concat",), doc="Join arrays along an existing axis ``dim``.")


@concat.impl
def _(xp, *xs, dim=1):
    out = _concat_infer(*(_spec(x) for x in xs), dim=dim)
    xs = [x if x.dtype == out.dtype else xp.astype(x, out.dtype) for x in xs]
    return xp.concat(xs, axis=dim % xs[0].ndim) if len(xs) > 1 else _own(xp, xs[0])


concat.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (2, 1)),
                       rng.uniform(-1, 1, (2, 2))),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 2)), rng.uniform(-1, 1, (4, 3, 2)), dim=0),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (2, 2)), dim=-1),
)


def _stack_infer(*xs, axis=0):
    op = "stack"
    I.expect(len(xs) >= 1, op, "at least one input", "none")
    shape = tuple(xs[0].shape)
    for i, x in enumerate(xs):
        I.expect(tuple(x.shape) == shape, op, f"data[{i}].shape == data[0].shape {shape}",
                 f"data[{i}].shape == {tuple(x.shape)}")
    ax = _axis(axis, len(shape) + 1, op)
    return I.Spec(shape[:ax] + (len(xs),) + shape[ax:], _common_dtype(*xs))


stack = defop("stack", ("data",), {"axis": Int(0)}, infer=_stack_infer, variadic=True,
              doc="Join arrays of one shape along a new axis ``axis``.")


@stack.impl
def _(xp, *xs, axis=0):
    out = _stack_infer(*(_spec(x) for x in xs), axis=axis)
    xs = [x if x.dtype == out.dtype else xp.astype(x, out.dtype) for x in xs]
    return xp.stack(xs, axis=axis % (xs[0].ndim + 1))


stack.samples(lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (2, 3))),
              lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (2, 3)),
                                 rng.uniform(-1, 1, (2, 3)), axis=-1))


def _split_bounds(n, sections, op):
    """[(start, stop)] of each piece: ``sections`` is a count or a tuple of split points."""
    if isinstance(sections, int):
        I.expect(sections >= 1 and n % sections == 0, op,
                 f"the axis length {n} divisible by the number of sections",
                 f"{n} % {sections} != 0" if sections >= 1 else f"sections={sections}")
        step = n // sections
        return [(i * step, (i + 1) * step) for i in range(sections)]
    pts = [0] + [min(max(p if p >= 0 else p + n, 0), n) for p in sections] + [n]
    return [(a, max(a, b)) for a, b in zip(pts[:-1], pts[1:])]   # as numpy: empty when b < a


def _split_specs(x, bounds, axis, squeeze_axis, op):
    ax = _axis(axis, x.ndim, op)
    specs = []
    for a, b in bounds:
        if squeeze_axis:
            I.expect(b - a == 1, op, "pieces of length 1 along the axis when squeeze_axis",
                     f"a piece of length {b - a} (data shape {tuple(x.shape)}, axis {ax})")
            shape = tuple(s for i, s in enumerate(x.shape) if i != ax) or (1,)
        else:
            shape = tuple(b - a if i == ax else s for i, s in enumerate(x.shape))
        specs.append(I.Spec(shape, x.dtype))
    return specs[0] if len(specs) == 1 else tuple(specs)


def _split(xp, x, bounds, axis, squeeze_axis, out):
    ax = axis % x.ndim
    outs = (out,) if isinstance(out, I.Spec) else out
    res = tuple(xp.reshape(_own(xp, _take_range(xp, x, ax, a, b)), o.shape)
                for (a, b), o in zip(bounds, outs))
    return res[0] if len(res) == 1 else res


def _split_infer(x, num_outputs=1, axis=1, squeeze_axis=False):
    n = x.shape[_axis(axis, x.ndim, "split")]
    return _split_specs(x, _split_bounds(n, num_outputs, "split"), axis, squeeze_axis, "split")


split = defop("split", ("data",), {"num_outputs": Int(1), "axis": Int(1),
                                   "squeeze_axis": Bool(False)},
              infer=_split_infer, aliases=("SliceChannel",),
              doc="Split into ``num_outputs`` equal pieces along ``axis``; a tuple of arrays, or "
                  "one array when ``num_outputs`` is 1.")


@split.impl
def _(xp, x, num_outputs=1, axis=1, squeeze_axis=False):
    out = _split_infer(_spec(x), num_outputs, axis, squeeze_axis)
    bounds = _split_bounds(x.shape[axis % x.ndim], num_outputs, "split")
    return _split(xp, x, bounds, axis, squeeze_axis, out)


split.nout = lambda attrs: attrs.get("num_outputs", 1)
split.output_names = lambda attrs: [f"output{i}" for i in range(attrs.get("num_outputs", 1))]
split.samples(lambda rng: Sample(rng.uniform(-1, 1, (2, 6)), num_outputs=3),
              lambda rng: Sample(rng.uniform(-1, 1, (3, 2, 2)), num_outputs=3, axis=0,
                                 squeeze_axis=True),
              lambda rng: Sample(rng.uniform(-1, 1, (2, 4)), num_outputs=1, axis=-1))


def _split_v2_infer(x, indices_or_sections=1, axis=0, squeeze_axis=False):
    n = x.shape[_axis(axis, x.ndim, "split_v2")]
    bounds = _split_bounds(n, indices_or_sections, "split_v2")
    return _split_specs(x, bounds, axis, squeeze_axis, "split_v2")


split_v2 = defop("split_v2", ("data",), {"indices_or_sections": _IntOrInts(1), "axis": Int(0),
                                         "squeeze_axis": Bool(False)},
                 infer=_split_v2_infer,
                 doc="Split along ``axis`` into equal sections (an int) or at the given indices "
                     "(a tuple), as ``numpy.split``.")


@split_v2.impl
def _(xp, x, indices_or_sections=1, axis=0, squeeze_axis=False):
    out = _split_v2_infer(_spec(x), indices_or_sections, axis, squeeze_axis)
    bounds = _split_bounds(x.shape[axis % x.ndim], indices_or_sections, "split_v2")
    return _split(xp, x, bounds, axis, squeeze_axis, out)


split_v2.nout = lambda attrs: (attrs["indices_or_sections"] if isinstance(
    attrs.get("indices_or_sections"), int) else len(attrs.get("indices_or_sections") or ()) + 1)
split_v2.samples(lambda rng: Sample(rng.uniform(-1, 1, (6, 2)), indices_or_sections=3),
                 lambda rng: Sample(rng.uniform(-1, 1, (2, 7)), indices_or_sections=(2, 3, 5),
                                    axis=-1),
                 lambda rng: Sample(rng.uniform(-1, 1, (3, 2)), indices_or_sections=(1, 2),
                                    squeeze_axis=True))


# -- diag ------------------------------------------------------------------------------------------
def _diag_len(d1, d2, k):
    return max(0, min(d1, d2 - k) if k >= 0 else min(d1 + k, d2))


def _diag_infer(x, k=0, axis1=0, axis2=1):
    op = "diag"
    if x.ndim == 1:
        m = x.shape[0] + abs(k)
        return I.Spec((m, m), x.dtype)
    a1, a2 = _axis(axis1, x.ndim, op), _axis(axis2, x.ndim, op)
    I.expect(a1 != a2, op, "axis1 != axis2", f"axis1={axis1}, axis2={axis2}")
    rest = tuple(s for i, s in enumerate(x.shape) if i not in (a1, a2))
    return I.Spec(rest + (_diag_len(x.shape[a1], x.shape[a2], k),), x.dtype)


diag = defop("diag", ("data",), {"k": Int(0), "axis1": Int(0), "axis2": Int(1)}, infer=_diag_infer,
             doc="From a 1-D array, a square matrix with it on diagonal ``k``; from an N-D array, "
                 "diagonal ``k`` of the (axis1, axis2) planes, appended as the last axis.")


@diag.impl
def _(xp, x, k=0, axis1=0, axis2=1):
    out = _diag_infer(_spec(x), k, axis1, axis2)
    if x.ndim == 1:
        m, n = out.shape[0], x.shape[0]
        r = xp.reshape(xp.arange(m, dtype=xp.int64, device=x.device), (m, 1))
        c = xp.reshape(xp.arange(m, dtype=xp.int64, device=x.device), (1, m))
        pos = xp.broadcast_to(r if k >= 0 else c, (m, m))   # which element of x lands at (r, c)
        vals = xp.reshape(xp.take(x, xp.reshape(xp.clip(pos, 0, n - 1), (-1,))), (m, m))
        return xp.where(c - r == k, vals, xp.zeros_like(vals))
    a1, a2 = axis1 % x.ndim, axis2 % x.ndim
    rest = [i for i in range(x.ndim) if i not in (a1, a2)]
    y = xp.permute_dims(x, tuple(rest) + (a1, a2))
    d1, d2 = x.shape[a1], x.shape[a2]
    i = xp.arange(out.shape[-1], dtype=xp.int64, device=x.device)
    lin = (i + max(-k, 0)) * d2 + (i + max(k, 0))
    y = xp.reshape(y, tuple(y.shape[:-2]) + (d1 * d2,))
    return xp.take(y, lin, axis=y.ndim - 1)


diag.samples(lambda rng: Sample(rng.uniform(-1, 1, (3,))),
             lambda rng: Sample(rng.uniform(-1, 1, (3,)), k=-2),
             lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), k=1),
             lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 4)), k=-1, axis1=-1, axis2=1))


# -- shape_array, size_array -----------------------------------------------------------------------
shape_array = defop("shape_array", ("data",), differentiable=False,
                    infer=lambda x: I.Spec((max(x.ndim, 1),), np.dtype("int64")),
                    doc="The shape of the input as a 1-D int64 array.")
shape_array.impl(lambda xp, x: xp.asarray(tuple(x.shape), dtype=xp.int64))
shape_array.samples(lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 4)), grad=False),
                    lambda rng: Sample(rng.uniform(-1, 1, (5,)), grad=False))

size_array = defop("size_array", ("data",), differentiable=False,
                   infer=lambda x: I.Spec((1,), np.dtype("int64")),
                   doc="The number of elements of the input as a (1,) int64 array.")
size_array.impl(lambda xp, x: xp.asarray((_prod(x.shape),), dtype=xp.int64))
size_array.samples(lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 4)), grad=False))
shape_array.dtype_rule = size_array.dtype_rule = lambda dts, attrs: (np.dtype("int64"),)


# -- depth_to_space, space_to_depth ----------------------------------------------------------------
def _d2s_infer(x, block_size=1):
    op, b = "depth_to_space", block_size
    I.expect(x.ndim == 4, op, "a 4-D (N, C, H, W) input", f"data.shape == {tuple(x.shape)}")
    I.expect(b >= 1 and x.shape[1] % (b * b) == 0, op, f"C divisible by block_size**2 = {b * b}",
             f"C = {x.shape[1]}")
    n, c, h, w = x.shape
    return I.Spec((n, c // (b * b), h * b, w * b), x.dtype)


depth_to_space = defop("depth_to_space", ("data",), {"block_size": Int(1)}, infer=_d2s_infer,
                       doc="Move (N, C, H, W) depth blocks into space: (N, C/b^2, H*b, W*b).")


@depth_to_space.impl
def _(xp, x, block_size=1):
    out, b = _d2s_infer(_spec(x), block_size).shape, block_size
    n, c, h, w = x.shape
    y = xp.reshape(x, (n, b, b, c // (b * b), h, w))
    return xp.reshape(xp.permute_dims(y, (0, 3, 4, 1, 5, 2)), out)


depth_to_space.samples(lambda rng: Sample(rng.uniform(-1, 1, (1, 8, 2, 3)), block_size=2),
                       lambda rng: Sample(rng.uniform(-1, 1, (2, 9, 1, 2)), block_size=3))


def _s2d_infer(x, block_size=1):
    op, b = "space_to_depth", block_size
    I.expect(x.ndim == 4, op, "a 4-D (N, C, H, W) input", f"data.shape == {tuple(x.shape)}")
    I.expect(b >= 1 and x.shape[2] % b == 0 and x.shape[3] % b == 0, op,
             f"H and W divisible by block_size = {b}", f"H, W = {x.shape[2]}, {x.shape[3]}")
    n, c, h, w = x.shape
    return I.Spec((n, c * b * b, h // b, w // b), x.dtype)


space_to_depth = defop("space_to_depth", ("data",), {"block_size": Int(1)}, infer=_s2d_infer,
                       doc="Move (N, C, H, W) space blocks into depth: (N, C*b^2, H/b, W/b).")


@space_to_depth.impl
def _(xp, x, block_size=1):
    out, b = _s2d_infer(_spec(x), block_size).shape, block_size
    n, c, h, w = x.shape
    y = xp.reshape(x, (n, c, h // b, b, w // b, b))
    return xp.reshape(xp.permute_dims(y, (0, 3, 5, 1, 2, 4)), out)


space_to_depth.samples(lambda rng: Sample(rng.uniform(-1, 1, (1, 2, 4, 6)), block_size=2),
                       lambda rng: Sample(rng.uniform(-1, 1, (2, 1, 3, 3)), block_size=3))


# block_size 1 (and NumPy's reshapes) can hand back views of the input: eager calls copy them
space_to_depth.view_of_input = depth_to_space.view_of_input = True
