"""Shape ops every layer needs: reshape (with MXNet's special values), transpose, expand_dims,
squeeze, Flatten, cast, copy and stop_gradient."""

from __future__ import annotations

import math

import numpy as np

from ..base import MXNetValueError
from . import infer as I
from .attrs import Axes, Bool, Dtype, Shape
from .call import F
from .registry import Sample, defop


def reshape_shape(src, target, reverse=False, op="reshape"):
    """MXNet 1.x reshape: 0 copies a dim, -1 infers one, -2 copies the rest, -3 merges two dims,
    -4 splits one dim into the next two values (one may be -1); ``reverse`` matches from the
    right."""
    src, target = tuple(src), tuple(target)
    if reverse:
        src, target = src[::-1], _reverse_target(target)
    out, infer_at, i, j = [], None, 0, 0  # i: position in target, j: position in src
    try:
        while i < len(target):
            t = target[i]
            if t > 0:
                out.append(t)
                j += 1
            elif t == 0:
                out.append(src[j])
                j += 1
            elif t == -1:
                if infer_at is not None:
                    raise MXNetValueError(f"{op}: Expect: at most one -1 / Actual: shape={target}")
                infer_at = len(out)
                out.append(1)
                j += 1
            elif t == -2:
                out.extend(src[j:])
                j = len(src)
            elif t == -3:
                out.append(src[j] * src[j + 1])
                j += 2
            elif t == -4:
                d, (a, b) = src[j], target[i + 1 : i + 3]
                a, b = (d // b if a == -1 else a), (d // a if b == -1 else b)
                if a * b != d:
                    raise MXNetValueError(f"{op}: Expect: -4 split of {d} / Actual: {a} x {b}")
                out += [a, b]
                i += 2
                j += 1
            else:
                raise MXNetValueError(
                    f"{op}: Expect: dims > 0 or special values 0,-1,-2,-3,-4 "
                    f"/ Actual: {t} in shape={target}"
                )
            i += 1
    except IndexError:
        raise MXNetValueError(
            f"{op}: Expect: target shape {target} to fit the input's {src} "
            f"/ Actual: it refers past the input's dimensions"
        ) from None
    size = math.prod(src)
    if infer_at is not None:
        rest = math.prod(out)
        if rest == 0 or size % rest:
            raise MXNetValueError(
                f"{op}: Expect: size {size} divisible by {rest} to infer -1 "
                f"/ Actual: shape={target} for input {src}"
            )
        out[infer_at] = size // rest
    if math.prod(out) != size:
        raise MXNetValueError(
            f"{op}: Expect: target size == input size {size} / Actual: "
            f"{tuple(out)} has {math.prod(out)} elements "
            f"(input shape {src[::-1] if reverse else src})"
        )
    return tuple(out[::-1]) if reverse else tuple(out)


def _reverse_target(t):
    """Reverse a target shape keeping each ``-4, a, b`` group in order (a, b swap places)."""
    groups, i = [], 0
    while i < len(t):
        if t[i] == -4:
            groups.append((-4, t[i + 2], t[i + 1]))
            i += 3
        else:
            groups.append((t[i],))
            i += 1
    return tuple(x for g in groups[::-1] for x in g)


reshape = defop(
    "reshape",
    ("data",),
    {"shape": Shape(()), "reverse": Bool(False)},
    infer=lambda x, shape=(), reverse=False: I.Spec(
        reshape_shape(x.shape, shape, reverse), x.dtype
    ),
    aliases=("Reshape",),
    doc="Reshape; accepts MXNet's special values 0, -1, -2, -3, -4.",
)


@reshape.impl
def _(xp, x, shape=(), reverse=False):
    return xp.reshape(x, reshape_shape(x.shape, shape, reverse))


reshape.vjp(lambda g, out, x, shape=(), reverse=False: (F.reshape(g, shape=x.shape),))
reshape.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 4)), shape=(4, -1)),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 4)), shape=(0, -3)),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 4)), shape=(-4, 1, 2, -2)),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 4)), shape=(-1, 0), reverse=True),
)


def _transpose_axes(ndim, axes):
    return tuple(range(ndim))[::-1] if not axes else tuple(a % ndim for a in axes)


def _transpose_infer(x, axes=()):
    ax = _transpose_axes(x.ndim, axes)
    I.expect(
        sorted(ax) == list(range(x.ndim)),
        "transpose",
        f"a permutation of {x.ndim} axes",
        f"axes={axes}",
    )
    return I.Spec(tuple(x.shape[a] for a in ax), x.dtype)


transpose = defop(
    "transpose",
    ("data",),
    {"axes": Shape(())},
    infer=_transpose_infer,
    doc="Permute axes (reverse them when ``axes`` is empty).",
)
transpose.impl(lambda xp, x, axes=(): xp.permute_dims(x, _transpose_axes(x.ndim, axes)))
transpose.vjp(lambda g, out, x, axes=(): (
    F.transpose(g, axes=tuple(np.argsort(_transpose_axes(x.ndim, axes)))),))
transpose.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 4))),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 4)), axes=(1, 0, 2)),
)


def _expand_infer(x, axis=0):
    nd = x.ndim + 1
    I.expect(-nd <= axis < nd, "expand_dims", f"-{nd} <= axis < {nd}", f"axis={axis}")
    shape = list(x.shape)
    shape.insert(axis % nd, 1)
    return I.Spec(tuple(shape), x.dtype)


expand_dims = defop(
    "expand_dims",
    ("data",),
    {"axis": 0},
    infer=_expand_infer,
    doc="Insert a size-1 axis at ``axis``.",
)
expand_dims.impl(lambda xp, x, axis=0: xp.reshape(x, _expand_infer(x, axis).shape))
expand_dims.vjp(lambda g, out, x, axis=0: (F.reshape(g, shape=x.shape),))
expand_dims.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), axis=1),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), axis=-1),
)


def _squeeze_infer(x, axis=None):
    axes = (
        I.normalize_axis(axis, x.ndim, "squeeze")
        if axis is not None
        else tuple(i for i, s in enumerate(x.shape) if s == 1)
    )
    for a in axes:
        I.expect(x.shape[a] == 1, "squeeze", f"data.shape[{a}] == 1", f"{x.shape[a]} != 1")
    return I.Spec(tuple(s for i, s in enumerate(x.shape) if i not in axes) or (1,), x.dtype)


squeeze = defop(
    "squeeze",
    ("data",),
    {"axis": Axes(None)},
    infer=_squeeze_infer,
    doc="Remove size-1 axes (all of them when ``axis`` is None); never returns 0-d.",
)
squeeze.impl(lambda xp, x, axis=None: xp.reshape(x, _squeeze_infer(x, axis).shape))
squeeze.vjp(lambda g, out, x, axis=None: (F.reshape(g, shape=x.shape),))
squeeze.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (2, 1, 3, 1))),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 1, 3, 1)), axis=1),
)


def _flatten_infer(x):
    return I.Spec(
        (x.shape[0], math.prod(x.shape[1:])) if x.ndim else (1, 1), x.dtype
    )


flatten = defop(
    "Flatten",
    ("data",),
    infer=_flatten_infer,
    aliases=("flatten",),
    doc="Collapse all axes after the first: (N, ...) -> (N, prod(...)).",
)
flatten.impl(lambda xp, x: xp.reshape(x, _flatten_infer(x).shape))
flatten.vjp(lambda g, out, x: (F.reshape(g, shape=x.shape),))
flatten.samples(lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 4))))

cast = defop(
    "cast",
    ("data",),
    {"dtype": Dtype("float32")},
    infer=lambda x, dtype="float32": I.Spec(x.shape, np.dtype(dtype)),
    aliases=("Cast",),
    doc="Convert to ``dtype``.",
)
cast.impl(lambda xp, x, dtype="float32": x.astype(dtype))
cast.vjp(lambda g, out, x, dtype="float32": (F.cast(g, dtype=np.dtype(x.dtype).name),))
cast.samples(
    lambda rng: Sample(rng.uniform(-3, 3, (3, 4)), dtype="float64"),
    lambda rng: Sample(rng.uniform(-3, 3, (3, 4)), dtype="int32", grad=False),
)

copy = defop(
    "copy",
    ("data",),
    infer=I.same,
    aliases=("identity", "_copy"),
    doc="A copy that owns its memory.",
)
copy.impl(lambda xp, x: xp.asarray(x, copy=True))
copy.vjp(lambda g, out, x: (g,))
copy.samples(lambda rng: Sample(rng.uniform(-1, 1, (2, 3))))

stop_gradient = defop(
    "stop_gradient",
    ("data",),
    infer=I.same,
    differentiable=False,
    aliases=("BlockGrad",),
    doc="Identity whose gradient is zero.",
)
stop_gradient.impl(lambda xp, x: x)
stop_gradient.samples(lambda rng: Sample(rng.uniform(-1, 1, (2, 3))))


reshape_like = defop("reshape_like", ("lhs", "rhs"),
                     infer=lambda a, b: I.Spec(reshape_shape(a.shape, b.shape, op="reshape_like"),
                                               a.dtype),
                     doc="``lhs`` reshaped to the shape of ``rhs`` (sizes must match).")
reshape_like.impl(lambda xp, a, b: xp.reshape(a, reshape_shape(a.shape, b.shape,
                                                                op="reshape_like")))
reshape_like.vjp(lambda g, out, a, b: (F.reshape(g, shape=a.shape), None))
reshape_like.nograd("rhs")
reshape_like.samples(lambda rng: Sample(rng.uniform(-1, 1, (2, 6)), rng.uniform(-1, 1, (3, 4))))


# their kernels may return views of the input (NumPy's, PyOpenCL's): eager calls copy them
for _op in (transpose, expand_dims, squeeze, flatten, stop_gradient, reshape_like):
    _op.view_of_input = True
