"""The CuPy backend's own kernels: ops whose generic bodies cost several launches each, rendered
from the kernel-template layer (``mxplug/backends/kernels``) into CUDA C.

On a GPU every CuPy call costs host time (10-20 us, measured on an H200), so an op is as fast as
the number of calls it makes: here graph fusion's ``_fused_elemwise`` becomes one
``cupy.ElementwiseKernel`` (CuPy supplies broadcasting and strides), and softmax cross-entropy,
its gradient, ``pick`` and its gradient one ``cupy.RawKernel`` launch each (the generic bodies
take six to ten), and so is each LSTM/GRU step of the ``RNN`` op, each way (about fifteen).
Operands these kernels do not take (other dtypes, layouts) run the generic body.
"""

from __future__ import annotations

import functools

import numpy as np

from ..ops import rnn
from ..ops.registry import REGISTRY
from .kernels import CUDA, ctype
from .kernels.fused import program_expression
from .kernels.rnn_cells import CELL_DTYPES, rnn_cells_source
from .kernels.rows import LOCAL_MAX, PICK_DTYPES, labels_fit, pick_source, softmax_ce_source

__all__ = ["KERNELS", "register_fused_cells"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_I64 = np.int64


def _cupy():
    import cupy
    return cupy


# -- graph fusion ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=512)
def _fused_kernel(program, in_dtypes, out_dtype):
    t = ctype(out_dtype)
    helpers, expr = program_expression(program, t, CUDA)
    params = ", ".join(f"{d} x{k}" for k, d in enumerate(in_dtypes))
    return _cupy().ElementwiseKernel(params, f"{out_dtype} out", f"out = {expr};",
                                     f"mxplug_fused_{_fused_kernel.cache_info().currsize}",
                                     preamble=CUDA.header + helpers)


def fused_elemwise(be, *xs, program=()):
    """``program`` (see ``mxplug/graph/fusion.py``) over ``xs`` as one kernel launch."""
    from ..graph.fusion import _infer_program
    from ..ops.infer import Spec

    spec = _infer_program(program, [Spec(x.shape, x.dtype) for x in xs])
    kern = _fused_kernel(program, tuple(x.dtype.name for x in xs), np.dtype(spec.dtype).name)
    out = be.cp.empty(tuple(spec.shape), spec.dtype)
    return kern(*xs, out) if out.size else out


# -- rows with a class label ----------------------------------------------------------------------
@functools.lru_cache(maxsize=64)
def _row_kernel(family, x_dtype, lab_dtype):
    render = {"softmax_ce": lambda n: softmax_ce_source(n, x_dtype, lab_dtype, False, CUDA),
              "softmax_ce_bwd": lambda n: softmax_ce_source(n, x_dtype, lab_dtype, True, CUDA),
              "pick": lambda n: pick_source(n, x_dtype, lab_dtype, False, CUDA),
              "pick_bwd": lambda n: pick_source(n, x_dtype, lab_dtype, True, CUDA)}[family]
    name = f"mxplug_{family}_{x_dtype}_{lab_dtype}"
    return _cupy().RawKernel(CUDA.header + render(name), name)


def _strides(a):
    """``a``'s strides in elements, as kernel arguments."""
    return [_I64(s // a.itemsize) for s in a.strides]


def _block(n):
    """A power of two >= min(n, LOCAL_MAX): one row's threads."""
    ls = 32  # a whole warp at least
    while ls < n and ls < LOCAL_MAX:
        ls *= 2
    return ls


def _row_stride(a):
    return _I64(a.strides[0] // a.itemsize) if a.ndim else _I64(0)


def _ce(family, x, label, out, *grad):
    n, L = x.shape
    if n:
        args = [out, _I64(0), *_strides(out.reshape(n, -1)), x, _I64(0), *_strides(x), label,
                _I64(0), _row_stride(label)]
        for g in grad:
            args += [g, _I64(0), _row_stride(g)]
        _row_kernel(family, x.dtype.name, label.dtype.name)((n,), (_block(L),), (*args, _I64(L)))
    return out


def softmax_ce(be, x, label, axis=-1):
    if not (x.dtype in _FLOATS and labels_fit(x.shape, label, axis)):
        return REGISTRY["_softmax_ce"].generic(be.xp, x, label, axis)
    return _ce("softmax_ce", x, label, be.cp.empty((x.shape[0], 1), x.dtype))


def softmax_ce_backward(be, g, x, label, axis=-1):
    if not (x.dtype in _FLOATS and labels_fit(x.shape, label, axis)
            and g.shape == (x.shape[0], 1) and g.dtype == x.dtype):
        return REGISTRY["_softmax_ce_backward"].generic(be.xp, g, x, label, axis)
    return _ce("softmax_ce_bwd", x, label, be.cp.empty(x.shape, x.dtype), g)


def pick(be, x, index, axis=-1, keepdims=False, mode="clip"):
    """``x[row, index[row]]`` of 2-D ``x``: one launch, one thread per row."""
    if not (x.dtype in PICK_DTYPES and labels_fit(x.shape, index, axis)):
        return REGISTRY["pick"].generic(be.xp, x, index, axis, keepdims, mode)
    n, L = x.shape
    out = be.cp.empty((n, 1) if keepdims else (n,), x.dtype)
    if n:
        xs = _strides(x)
        kern = _row_kernel("pick", x.dtype.name, index.dtype.name)
        kern(((n + 255) // 256,), (256,), (_I64(n), out, _I64(1), x, _I64(0), *xs, index,
                                           _I64(0), _row_stride(index), _I64(L),
                                           np.int32(mode == "wrap")))
    return out


def pick_backward(be, g, index, shape=(), axis=-1, keepdims=False, mode="clip"):
    """The gradient of ``pick``: zeros with ``g[row]`` at each row's picked column, one thread
    per element on a (columns, rows) grid."""
    shape = tuple(shape)
    want = (shape[0], 1) if keepdims else (shape[0],) if shape else ()
    if not (len(shape) == 2 and g.dtype in PICK_DTYPES and g.shape == want
            and labels_fit(shape, index, axis)):
        return REGISTRY["_pick_backward"].generic(be.xp, g, index, shape, axis, keepdims, mode)
    n, L = shape
    out = be.cp.empty(shape, g.dtype)
    if n:
        kern = _row_kernel("pick_bwd", g.dtype.name, index.dtype.name)
        tx = min(_block(L), LOCAL_MAX)
        kern(((L + tx - 1) // tx, n), (tx, 1), (_I64(n), out, g, _I64(0), _row_stride(g), index,
                                               _I64(0), _row_stride(index), _I64(L),
                                               np.int32(mode == "wrap")))
    return out


# -- recurrent cells (the RNN op's steps; see ops.rnn.FUSED_CELLS) --------------------------------
@functools.cache
def _cell_module(dtype_name):
    return _cupy().RawModule(code=CUDA.header + rnn_cells_source(dtype_name, "mxplug_rnn", CUDA))


def _cell_launch(which, n, hs, *args):
    """Kernel ``which`` on one thread per (row, unit); ``args[0]``'s dtype picks the source."""
    if n * hs:
        kern = _cell_module(args[0].dtype.name).get_function(f"mxplug_rnn_{which}")
        kern(((n * hs + 255) // 256,), (256,), (_I64(n), _I64(hs), *args))


def _dense(*arrays):
    return [_cupy().ascontiguousarray(a) for a in arrays]


def lstm_cell(ns, a, c, hs):
    if a.dtype not in CELL_DTYPES or c.dtype != a.dtype:
        return rnn._lstm_cell(ns, a, c, hs)
    cp, (a, c), n = _cupy(), _dense(a, c), a.shape[0]
    acts = cp.empty((n, 5 * hs), a.dtype)
    c_new, h_new = cp.empty((n, hs), a.dtype), cp.empty((n, hs), a.dtype)
    _cell_launch("lstm_cell", n, hs, a, _I64(0), c, _I64(0), acts, c_new, h_new)
    return acts, c_new, h_new


def lstm_cell_grad(ns, acts, c_prev, dhn, dcn):
    if isinstance(acts, tuple):  # the generic step's record (a dtype the kernels leave alone)
        return rnn._lstm_cell_grad(ns, acts, c_prev, dhn, dcn)
    cp, n, hs = _cupy(), acts.shape[0], acts.shape[1] // 5
    c_prev, dhn, dcn = _dense(c_prev, dhn, dcn)
    da, dc_prev = cp.empty((n, 4 * hs), acts.dtype), cp.empty((n, hs), acts.dtype)
    _cell_launch("lstm_grad", n, hs, acts, c_prev, _I64(0), dhn, _I64(0), dcn, _I64(0), da,
                 dc_prev)
    return da, dc_prev


def gru_cell(ns, a, hh, h, hs):
    if a.dtype not in CELL_DTYPES or hh.dtype != a.dtype or h.dtype != a.dtype:
        return rnn._gru_cell(ns, a, hh, h, hs)
    cp, (a, hh, h), n = _cupy(), _dense(a, hh, h), a.shape[0]
    acts, h_new = cp.empty((n, 4 * hs), a.dtype), cp.empty((n, hs), a.dtype)
    _cell_launch("gru_cell", n, hs, a, _I64(0), hh, _I64(0), h, _I64(0), acts, h_new)
    return acts, h_new


def gru_cell_grad(ns, acts, h_prev, dhn):
    if isinstance(acts, tuple):
        return rnn._gru_cell_grad(ns, acts, h_prev, dhn)
    cp, n, hs = _cupy(), acts.shape[0], acts.shape[1] // 4
    h_prev, dhn = _dense(h_prev, dhn)
    dgx, dgh = cp.empty((n, 3 * hs), acts.dtype), cp.empty((n, 3 * hs), acts.dtype)
    carry = cp.empty((n, hs), acts.dtype)
    _cell_launch("gru_grad", n, hs, acts, h_prev, _I64(0), dhn, _I64(0), dgx, dgh, carry)
    return dgx, dgh, carry


def register_fused_cells(xp):
    """Make the ``RNN`` op's steps over namespace ``xp`` (the backend's) use these kernels."""
    rnn.FUSED_CELLS[xp, "lstm"] = (lstm_cell, lstm_cell_grad)
    rnn.FUSED_CELLS[xp, "gru"] = (gru_cell, gru_cell_grad)


#: op name -> kernel(backend, *arrays, **attrs), looked up by ``CupyBackend.kernel``.
KERNELS = {"_fused_elemwise": fused_elemwise, "_softmax_ce": softmax_ce,
           "_softmax_ce_backward": softmax_ce_backward, "pick": pick,
           "_pick_backward": pick_backward}
