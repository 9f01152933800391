"""MXNet 1.x's ``im2col`` and ``col2im`` (``mx.nd.im2col`` / ``mx.nd.col2im``): the sliding blocks
of a 1-D/2-D/3-D image (N, C, *spatial) as columns (N, C * prod(kernel), L), L the number of
block positions (the spatial size a Convolution with the same kernel, stride, dilate and pad
gives), and their adjoint, which sums the columns back into an image of ``output_size``.

Rows are channel-major (row ``c * prod(kernel) + k`` holds channel c at kernel offset k, offsets
in row-major order), columns the block positions in row-major order, as in MXNet. Each op is the
other's gradient. The bodies are array-API slicing, ``stack`` and adds, so they run on every
backend (a NumPy ``sliding_window_view`` kernel measured only 1.2x faster: not worth a second
path).

Where MXNet 1.9.1 differs: its CPU kernels fail for 1-D and 3-D blocks although it documents
and shape-infers them (mxplug computes them as documented); it accepts any dtype in shape
inference and fails when computing with a non-float one (mxplug rejects it up front); it reads
data of the wrong rank for the kernel, extra col2im axes or a negative pad without complaint
(mxplug raises).
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from . import infer as I
from .attrs import Shape
from .call import F
from .conv import _pad, _slices, _spatial
from .registry import Sample, defop

_WIN = {"kernel": Shape(()), "stride": Shape(()), "dilate": Shape(()), "pad": Shape(())}


def _check_float(op, name, spec):
    if np.dtype(spec.dtype).kind != "f":
        I.expect(False, op, f"float16, float32 or float64 {name} (MXNet computes only these)",
                 f"{name}.dtype={np.dtype(spec.dtype).name}")


def _geom(op, image, kernel, stride, dilate, pad, what):
    """Validate the window over ``image`` (a Spec (N, C, *spatial)); return (stride, dilate, pad,
    out) with the defaults filled in, ``out`` the block positions per spatial axis."""
    _, stride, dilate, pad, _ = _spatial(op, kernel, image, stride, dilate, pad, None)
    padded = tuple(n + 2 * p for n, p in zip(image.shape[2:], pad))
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilate, kernel))
    I.expect(all(s <= n for s, n in zip(span, padded)), op,
             f"a dilated kernel of extent {span} (kernel={tuple(kernel)}, dilate={dilate}) "
             f"within the padded {what} {padded} (pad={pad})", f"{what} {image.shape[2:]}")
    out = tuple((n - s) // st + 1 for n, s, st in zip(padded, span, stride))
    return stride, dilate, pad, out


def _offsets(kernel, dilate):
    """The spatial offset of every kernel tap, in row-major tap order."""
    return [tuple(o * d for o, d in zip(off, dilate))
            for off in itertools.product(*(range(k) for k in kernel))]


# -- im2col ---------------------------------------------------------------------------------------
def _im2col_geom(x, kernel, stride, dilate, pad):
    _check_float("im2col", "data", x)
    return _geom("im2col", x, kernel, stride, dilate, pad, "input")


def _im2col_infer(x, kernel=(), stride=(), dilate=(), pad=()):
    out = _im2col_geom(x, kernel, stride, dilate, pad)[3]
    return I.Spec((x.shape[0], x.shape[1] * math.prod(kernel), math.prod(out)), x.dtype)


im2col = defop("im2col", ("data",), _WIN, infer=_im2col_infer,
               doc="Sliding blocks of data (N, C, *spatial) as columns (N, C*prod(kernel), L): "
                   "row c*prod(kernel) + k holds channel c at kernel offset k, column l the l-th "
                   "block position (row-major); L = prod((n + 2*pad - dilate*(k-1) - 1)//stride "
                   "+ 1). 1-D/2-D/3-D as ``len(kernel)``; zero padding.")


@im2col.impl
def _(xp, x, kernel=(), stride=(), dilate=(), pad=()):
    stride, dilate, pad, out = _im2col_geom(x, kernel, stride, dilate, pad)
    xpad = _pad(xp, x, pad, pad)
    taps = [xpad[_slices(off, stride, out)] for off in _offsets(kernel, dilate)]
    n, c = x.shape[:2]
    return xp.reshape(xp.stack(taps, axis=2), (n, c * len(taps), math.prod(out)))


im2col.vjp(lambda g, out, x, **attrs: (F.col2im(g, output_size=x.shape[2:], **attrs),))


# -- col2im ---------------------------------------------------------------------------------------
def _col2im_geom(cols, output_size, kernel, stride, dilate, pad):
    """Validate a col2im call; return (channels, stride, dilate, pad, out)."""
    op = "col2im"
    I.expect(len(output_size) == len(kernel), op,
             f"len(output_size) == len(kernel) == {len(kernel)}",
             f"output_size={tuple(output_size)}, kernel={tuple(kernel)}")
    I.expect(cols.ndim == 3, op, "data of shape (N, C * prod(kernel), L)",
             f"data.shape={tuple(cols.shape)}")
    _check_float(op, "data", cols)
    image = I.Spec((cols.shape[0], 1) + tuple(output_size), cols.dtype)
    stride, dilate, pad, out = _geom(op, image, kernel, stride, dilate, pad, "output_size")
    kk, L = math.prod(kernel), math.prod(out)
    I.expect(cols.shape[1] % kk == 0 and cols.shape[2] == L, op,
             f"data of shape (N, C * {kk}, {L}): C * prod(kernel={tuple(kernel)}) rows and one "
             f"column per block position {out}", f"data.shape={tuple(cols.shape)}")
    return cols.shape[1] // kk, stride, dilate, pad, out


def _col2im_infer(cols, output_size=(), kernel=(), stride=(), dilate=(), pad=()):
    c = _col2im_geom(cols, output_size, kernel, stride, dilate, pad)[0]
    return I.Spec((cols.shape[0], c) + tuple(output_size), cols.dtype)


col2im = defop("col2im", ("data",), {"output_size": Shape(()), **_WIN}, infer=_col2im_infer,
               doc="The adjoint of im2col (its gradient, and im2col is col2im's): columns "
                   "(N, C*prod(kernel), L) summed back into an image (N, C, *output_size), "
                   "overlapping blocks adding up; padding positions are dropped.")


@col2im.impl
def _(xp, cols, output_size=(), kernel=(), stride=(), dilate=(), pad=()):
    c, stride, dilate, pad, out = _col2im_geom(I.Spec(cols.shape, cols.dtype), output_size,
                                               kernel, stride, dilate, pad)
    offsets = _offsets(kernel, dilate)
    n = cols.shape[0]
    cols = xp.reshape(cols, (n, c, len(offsets)) + out)
    size = tuple(m + 2 * p for m, p in zip(output_size, pad))
    buf = xp.zeros((n, c) + size, dtype=cols.dtype, device=cols.device)
    for i, off in enumerate(offsets):        # overlapping blocks: scatter-add tap by tap
        idx = _slices(off, stride, out)
        buf[idx] = buf[idx] + cols[:, :, i]
    return buf[(slice(None),) * 2 + tuple(slice(p, p + m) for p, m in zip(pad, output_size))]


col2im.vjp(lambda g, out, cols, output_size=(), **attrs: (F.im2col(g, **attrs),))


# -- samples --------------------------------------------------------------------------------------
def _u(rng, *shape):
    return rng.uniform(-1, 1, shape)


im2col.samples(
    lambda rng: Sample(_u(rng, 2, 3, 4, 5), kernel=(2, 3)),
    lambda rng: Sample(_u(rng, 2, 2, 6, 5), kernel=(3, 2), stride=(2, 1), dilate=(1, 2),
                       pad=(1, 1)),
    lambda rng: Sample(_u(rng, 2, 3, 7), kernel=(3,), stride=(2,), pad=(2,)),
    lambda rng: Sample(_u(rng, 1, 2, 4, 3, 4), kernel=(2, 2, 3), stride=(2, 1, 1),
                       dilate=(1, 1, 1), pad=(0, 1, 0)),
    lambda rng: Sample(_u(rng, 2, 3, 3, 4), kernel=(1, 1)),         # the data, reshaped
)


def _col2im_sample(rng, n, c, output_size, **attrs):
    shape = _im2col_infer(I.Spec((n, c) + output_size, np.float64),
                          **im2col.parse_attrs(attrs)).shape
    return Sample(_u(rng, *shape), output_size=output_size, **attrs)


col2im.samples(
    lambda rng: _col2im_sample(rng, 2, 3, (4, 5), kernel=(2, 3)),
    lambda rng: _col2im_sample(rng, 2, 2, (6, 5), kernel=(3, 2), stride=(2, 1), dilate=(1, 2),
                               pad=(1, 1)),
    lambda rng: _col2im_sample(rng, 2, 3, (7,), kernel=(3,), stride=(2,), pad=(2,)),
    lambda rng: _col2im_sample(rng, 1, 2, (4, 3, 4), kernel=(2, 2, 3), stride=(2, 1, 1),
                               pad=(0, 1, 0)),
    # stride past the kernel: input positions no block reads get 0
    lambda rng: _col2im_sample(rng, 1, 2, (7, 6), kernel=(2, 2), stride=(3, 2)),
)
