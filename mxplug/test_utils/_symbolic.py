"""mx.test_utils: Symbols: forward, backward, finite differences, consistency across contexts."""

from __future__ import annotations

import time
import traceback

import numpy as np

import mxplug as mx

from ..ndarray import array
from ..symbol import Symbol
from ..util import NumpySemanticsError
from ._compare import assert_almost_equal
from ._data import (
    _no_sparse,
    _sorted_dict,
    _sorted_items,
    default_context,
    default_dtype,
    default_numeric_eps,
    get_tolerance,
    get_tols,
)

# ---------------------------------------------------------------------------------------------
# Symbols: forward, backward, finite differences, consistency across contexts


class np_symbol(Symbol):  # noqa: N801 -- MXNet's name
    """MXNet's ``mx.sym.np._Symbol``, the NumPy-semantics symbol. mxplug has MXNet's legacy
    symbols only: no symbol is an ``np_symbol``, and making one raises
    :class:`~mxplug.util.NumpySemanticsError`."""

    def __new__(cls, *args, **kwargs):
        raise NumpySemanticsError("np_symbol: mxplug implements MXNet's legacy symbols only "
                                  "(no mx.sym.np); NumPy-semantics symbols cannot be made")


def _as_nd(v, ctx, dtype):
    """A location value as an NDArray on ``ctx``: NumPy input takes ``dtype`` (or its own
    with ``"asnumpy"``); an NDArray is used as given (as in MXNet), moved to ``ctx`` if it
    lives elsewhere."""
    if isinstance(v, mx.nd.NDArray):
        return v.as_in_context(ctx)
    v = np.asarray(v)
    return mx.nd.array(v, ctx=ctx, dtype=v.dtype if dtype == "asnumpy" else dtype)


def _check_dtype(dtype, allow_asnumpy=True):
    if allow_asnumpy and isinstance(dtype, str) and dtype == "asnumpy":
        return
    assert np.dtype(dtype) in (np.float16, np.float32, np.float64), \
        f"dtype must be float16, float32 or float64{' or asnumpy' * allow_asnumpy}, got {dtype}"


def _parse_location(sym, location, ctx, dtype=default_dtype()):
    """``location`` (a list in ``sym.list_arguments()`` order, or a dict by name) as a
    name-sorted dict of NDArrays on ``ctx``."""
    assert isinstance(location, (dict, list, tuple))
    _check_dtype(dtype)
    if isinstance(location, dict):
        if set(location.keys()) != set(sym.list_arguments()):
            raise ValueError("Symbol arguments and keys of the given location do not match."
                             f"symbol args:{set(sym.list_arguments())}, "
                             f"location.keys():{set(location.keys())}")
    else:
        location = dict(zip(sym.list_arguments(), location))
    return _sorted_dict({k: _as_nd(v, ctx, dtype) for k, v in location.items()})


def _parse_aux_states(sym, aux_states, ctx, dtype=default_dtype()):
    """``aux_states`` (a list in ``sym.list_auxiliary_states()`` order, or a dict) as a dict
    of NDArrays on ``ctx``; None stays None."""
    _check_dtype(dtype)
    if aux_states is None:
        return None
    if isinstance(aux_states, dict):
        if set(aux_states.keys()) != set(sym.list_auxiliary_states()):
            raise ValueError("Symbol aux_states names and given aux_states do not match."
                             f"symbol aux_names:{set(sym.list_auxiliary_states())}, "
                             f"aux_states.keys:{set(aux_states.keys())}")
    elif isinstance(aux_states, (list, tuple)):
        aux_states = dict(zip(sym.list_auxiliary_states(), aux_states))
    return {k: _as_nd(v, ctx, dtype) for k, v in aux_states.items()}


def simple_forward(sym, ctx=None, is_train=False, **inputs):
    """Run ``sym`` forward on NumPy ``inputs`` (by argument name); the output as NumPy, or a
    list of them when there are several."""
    ctx = ctx or default_context()
    inputs = {k: array(v, ctx=ctx) for k, v in inputs.items()}
    exe = sym.bind(ctx, args=inputs, grad_req="null")
    exe.forward(is_train=is_train)
    outputs = [x.asnumpy() for x in exe.outputs]
    return outputs[0] if len(outputs) == 1 else outputs


def numeric_grad(executor, location, aux_states=None, eps=1e-4, use_forward_train=True,
                 dtype=default_dtype()):
    """Central finite differences of ``sum(executor.outputs[0])`` at ``location`` (a dict of
    NumPy arrays by argument name), one element at a time, computed in ``dtype``."""
    _check_dtype(dtype, allow_asnumpy=False)
    dtype = np.dtype(dtype)
    approx_grads = {k: np.zeros(np.shape(v), dtype=dtype) for k, v in location.items()}
    for k, v in location.items():
        executor.arg_dict[k][:] = np.asarray(v).astype(dtype)
    for k in location:  # own, writable, C-ordered copies: perturbed in place below
        location[k] = np.array(location[k], order="C")

    def run():
        if aux_states is not None:  # a training forward moves the aux states: reset them
            for key, val in aux_states.items():
                executor.aux_dict[key][:] = val
        executor.forward(is_train=use_forward_train)
        return executor.outputs[0].asnumpy()

    for k, v in location.items():
        if v.dtype.kind != "f":
            continue
        old_value = v.copy()
        flat = v.reshape(-1)  # a view: location is C-contiguous
        for i in range(v.size):
            flat[i] += eps / 2.0
            executor.arg_dict[k][:] = v.astype(dtype)
            f_peps = run()
            flat[i] -= eps
            executor.arg_dict[k][:] = v.astype(dtype)
            f_neps = run()
            approx_grads[k].ravel()[i] = (f_peps - f_neps).sum() / eps
            flat[i] = old_value.ravel()[i]
        executor.arg_dict[k][:] = old_value.astype(dtype)
    return approx_grads


def _grad_nodes_and_req(sym, grad_nodes):
    if grad_nodes is None:
        grad_nodes = sym.list_arguments()
        return grad_nodes, {k: "write" for k in grad_nodes}
    if isinstance(grad_nodes, (list, tuple)):
        grad_nodes = list(grad_nodes)
        return grad_nodes, {k: "write" for k in grad_nodes}
    if isinstance(grad_nodes, dict):
        return list(grad_nodes.keys()), grad_nodes.copy()
    raise ValueError(f"grad_nodes must be None, a list or a dict, got {grad_nodes!r}")


def _check_grads(expected, actual, before, req, rtol, atol, names, equal_nan=False):
    """Compare one argument's gradient as its grad_req ``req`` says: 'write' -> ``actual``,
    'add' -> ``actual - before``, 'null' -> untouched ``before``."""
    if req == "write":
        assert_almost_equal(expected, actual, rtol, atol, names, equal_nan=equal_nan)
    elif req == "add":
        assert_almost_equal(expected, actual - before, rtol, atol, names, equal_nan=equal_nan)
    elif req == "null":
        assert_almost_equal(before, actual, rtol, atol, names, equal_nan=equal_nan)
    else:
        raise ValueError(f"Invalid grad_req {req} for argument {names[1]}")


def check_numeric_gradient(sym, location, aux_states=None, numeric_eps=None, rtol=None,
                           atol=None, grad_nodes=None, use_forward_train=True, ctx=None,
                           grad_stype_dict=None, dtype=default_dtype()):
    """Verify a symbol's backward pass against finite differences (Theano's ``verify_grad``).

    The output is projected on a random positive tensor, ``sum(sym * proj)``, whose gradient
    by every node in ``grad_nodes`` (all arguments by default; a dict gives each a grad_req)
    is compared with central differences of step ``numeric_eps``.

    Parameters
    ----------
    sym : Symbol
        A symbol with one output.
    location : list or dict of np.ndarray
        The value of every argument (a list in ``sym.list_arguments()`` order).
    aux_states : list or dict of np.ndarray, optional
    numeric_eps : None, float, or dict of dtype -> float
        The finite-difference step; ``None`` (or a dtype missing from the dict) takes
        :func:`default_numeric_eps` of the output's dtype (float16 2**-6, float32 2**-9,
        float64 2**-14).
    rtol, atol : None, float, or dict of dtype -> float
        As in :func:`assert_almost_equal`: ``None`` takes the default of ``dtype``.
    grad_nodes : None, list or dict of str
    use_forward_train : bool
        ``is_train`` of the finite-difference forwards.
    ctx : Context, optional
    dtype : np.float16, np.float32 or np.float64
    """
    _check_dtype(dtype, allow_asnumpy=False)
    if grad_stype_dict and any(v not in (None, "default") for v in grad_stype_dict.values()):
        _no_sparse("check_numeric_gradient", grad_stype_dict)
    ctx = ctx or default_context()
    location = _parse_location(sym=sym, location=location, ctx=ctx, dtype=dtype)
    location_npy = {k: v.asnumpy() for k, v in location.items()}
    aux_states = _parse_aux_states(sym=sym, aux_states=aux_states, ctx=ctx, dtype=dtype)
    aux_states_npy = None if aux_states is None else {
        k: v.asnumpy() for k, v in aux_states.items()}
    grad_nodes, grad_req = _grad_nodes_and_req(sym, grad_nodes)

    _, out_shape, _ = sym.infer_shape(**{k: v.shape for k, v in location.items()})
    proj = mx.sym.Variable("__random_proj")
    out = mx.sym.make_loss(sym * proj)
    # not too small: tiny weights lose the numerical gradient in rounding
    proj_value = np.random.rand(*out_shape[0]) + 0.1
    location = dict(location)
    location["__random_proj"] = mx.nd.array(proj_value, ctx=ctx, dtype=dtype)
    args_grad_npy = {k: np.random.normal(0, 0.01, size=location[k].shape) for k in grad_nodes}
    args_grad_npy["__random_proj"] = np.random.normal(0, 0.01, size=out_shape[0])
    args_grad = {k: mx.nd.array(v, ctx=ctx, dtype=dtype) for k, v in args_grad_npy.items()}

    executor = out.bind(ctx, grad_req=grad_req, args=location, args_grad=args_grad,
                        aux_states=aux_states)
    if len(executor.arg_arrays) != len(location):
        raise ValueError("Executor arg_arrays and and location len do not match."
                         f"Got {len(executor.arg_arrays)} inputs and {len(location)} locations")
    assert len(executor.outputs) == 1
    executor.forward(is_train=True)
    eps = get_tolerance(executor.outputs[0], numeric_eps, default_numeric_eps())
    if np.dtype(dtype) in (np.float32, np.float16):
        assert eps >= 1e-5  # no precision for smaller steps
    executor.backward()
    symbolic_grads = {k: executor.grad_dict[k].asnumpy() for k in grad_nodes}

    # differences only for the checked nodes (MXNet also perturbs the others, e.g. labels,
    # and discards the result: the same assertions at a fraction of the forwards)
    numeric_gradients = numeric_grad(executor, {k: location_npy[k] for k in grad_nodes},
                                     aux_states_npy, eps=eps,
                                     use_forward_train=use_forward_train, dtype=dtype)
    for name in grad_nodes:
        _check_grads(numeric_gradients[name], symbolic_grads[name], args_grad_npy[name],
                     grad_req[name], rtol, atol, (f"NUMERICAL_{name}", f"BACKWARD_{name}"))


def check_symbolic_forward(sym, location, expected, rtol=None, atol=None, aux_states=None,
                           ctx=None, equal_nan=False, dtype=default_dtype()):
    """Compare a symbol's forward outputs (``is_train=False``) with ``expected``.

    Parameters
    ----------
    sym : Symbol
    location : list or dict of np.ndarray
        The value of every argument (a list in ``sym.list_arguments()`` order).
    expected : list or dict of np.ndarray
        One per output (a dict by ``sym.list_outputs()`` name).
    rtol, atol : None, float, or dict of dtype -> float
        As in :func:`assert_almost_equal`: ``None`` takes the larger default of the two
        compared arrays' dtypes.
    aux_states : list or dict of np.ndarray, optional
    ctx : Context, optional
    equal_nan : bool
    dtype : "asnumpy" or a float dtype
        The dtype of the arrays made from ``location``.

    Returns
    -------
    list of NDArray
        The executor's outputs.
    """
    _check_dtype(dtype)
    ctx = ctx or default_context()
    location = _parse_location(sym=sym, location=location, ctx=ctx, dtype=dtype)
    aux_states = _parse_aux_states(sym=sym, aux_states=aux_states, ctx=ctx, dtype=dtype)
    if isinstance(expected, dict):
        expected = [expected[k] for k in sym.list_outputs()]
    executor = sym.bind(ctx=ctx, args=location, aux_states=aux_states, grad_req="null")
    executor.forward(is_train=False)
    outputs = [x.asnumpy() for x in executor.outputs]
    for output_name, expect, output in zip(sym.list_outputs(), expected, outputs):
        assert_almost_equal(expect, output, rtol, atol,
                            (f"EXPECTED_{output_name}", f"FORWARD_{output_name}"),
                            equal_nan=equal_nan)
    return executor.outputs


def _as_out_grads(out_grads, sym, ctx, dtype):
    """``out_grads`` (None, an array, a list, or a dict by output name) as a list of
    NDArrays, None for the default head gradient."""
    if out_grads is None:
        return None
    if isinstance(out_grads, dict):
        out_grads = [out_grads[k] for k in sym.list_outputs()]
    elif not isinstance(out_grads, (list, tuple)):
        out_grads = [out_grads]
    return [_as_nd(g, ctx, dtype) for g in out_grads]


def check_symbolic_backward(sym, location, out_grads, expected, rtol=None, atol=None,
                            aux_states=None, grad_req="write", ctx=None, grad_stypes=None,
                            equal_nan=False, dtype=default_dtype()):
    """Compare a symbol's gradients (after ``forward(is_train=True)`` and
    ``backward(out_grads)``) with ``expected``.

    Gradient arrays start as random normal values, so ``grad_req='add'`` is checked as
    ``grad - start`` and ``'null'`` as "left untouched".

    Parameters
    ----------
    sym : Symbol
    location : list or dict of np.ndarray
        The value of every argument (a list in ``sym.list_arguments()`` order).
    out_grads : None, list or dict of np.ndarray
        The head gradients, one per output (None: ones).
    expected : list or dict of np.ndarray
        The expected gradients (a list in ``sym.list_arguments()`` order).
    rtol, atol : None, float, or dict of dtype -> float
        As in :func:`assert_almost_equal` (``'add'`` compares ``expected`` with the float64
        increment, so float64's defaults apply there, as in MXNet).
    aux_states : list or dict of np.ndarray, optional
    grad_req : str, list or dict of str
        'write', 'add' or 'null', for all arguments or each.
    ctx : Context, optional
    equal_nan : bool
    dtype : "asnumpy" or a float dtype

    Returns
    -------
    dict of str to NDArray
        The gradient arrays.
    """
    _check_dtype(dtype)
    if grad_stypes and any(v not in (None, "default") for v in grad_stypes.values()):
        _no_sparse("check_symbolic_backward", grad_stypes)
    ctx = ctx or default_context()
    location = _parse_location(sym=sym, location=location, ctx=ctx, dtype=dtype)
    aux_states = _parse_aux_states(sym=sym, aux_states=aux_states, ctx=ctx, dtype=dtype)
    if isinstance(expected, (list, tuple)):
        expected = dict(zip(sym.list_arguments(), expected))
    # dirty the gradient buffers (deterministically, for reproducibility)
    args_grad_npy = {k: np.random.normal(size=np.shape(v)) for k, v in _sorted_items(expected)}
    args_grad_data = {
        k: mx.nd.array(v, ctx=ctx, dtype=expected[k].dtype if dtype == "asnumpy" else dtype)
        for k, v in args_grad_npy.items()}
    if isinstance(grad_req, str):
        grad_req = {k: grad_req for k in sym.list_arguments()}
    elif isinstance(grad_req, (list, tuple)):
        grad_req = dict(zip(sym.list_arguments(), grad_req))

    executor = sym.bind(ctx=ctx, args=location, args_grad=args_grad_data,
                        aux_states=aux_states, grad_req=grad_req)
    executor.forward(is_train=True)
    if any(grad_req.get(k, "null") != "null" for k in sym.list_arguments()):
        executor.backward(_as_out_grads(out_grads, sym, ctx, dtype))
    # (all 'null': nothing to compute; mxplug's executor refuses such a backward)

    grads = {k: v.asnumpy() for k, v in args_grad_data.items()}
    for name in expected:
        _check_grads(expected[name], grads[name], args_grad_npy[name], grad_req[name], rtol,
                     atol, (f"EXPECTED_{name}", f"BACKWARD_{name}"), equal_nan=equal_nan)
    return args_grad_data


def check_speed(sym, location=None, ctx=None, N=20, grad_req=None, typ="whole",  # noqa: N803
                **kwargs):
    """Seconds per run of ``sym``: forward and backward (``typ='whole'``) or forward only
    (``'forward'``), averaged over ``N`` runs after one warm-up. Shapes come from
    ``location`` (a dict of NumPy arrays) or from ``kwargs``."""
    ctx = ctx or default_context()
    grad_req = grad_req or "write"
    if location is None:
        exe = sym.simple_bind(grad_req=grad_req, ctx=ctx, **kwargs)
        location = {k: np.random.normal(size=arr.shape, scale=1.0)
                    for k, arr in exe.arg_dict.items()}
    else:
        assert isinstance(location, dict), f'Expect dict, get "location"={location}'
        exe = sym.simple_bind(grad_req=grad_req, ctx=ctx,
                              **{k: v.shape for k, v in location.items()})
    for name, iarr in location.items():
        exe.arg_dict[name][:] = iarr.astype(exe.arg_dict[name].dtype)
    if typ not in ("whole", "forward"):
        raise ValueError('typ can only be "whole" or "forward".')
    train = typ == "whole"

    def run():
        exe.forward(is_train=train)
        if train:
            exe.backward(out_grads=exe.outputs)

    run()  # warm-up: compiles kernels and plans memory
    mx.nd.waitall()
    tic = time.time()
    for _ in range(N):
        run()
    mx.nd.waitall()
    return (time.time() - tic) / N


def _smaller_dtype(dt1, dt2):
    """The less precise of two dtypes (``dt1`` when ``dt2`` is None or on ties of size)."""
    return dt1 if dt2 is None or np.dtype(dt1).itemsize < np.dtype(dt2).itemsize else dt2


def _ctx_of(arr):
    return getattr(arr, "context", "numpy")


def check_consistency(sym, ctx_list, scale=1.0, grad_req="write", arg_params=None,
                      aux_params=None, rtol=None, atol=None, raise_on_err=True,
                      ground_truth=None, equal_nan=False, use_uniform=False,
                      rand_type=np.float64):
    """Check that a symbol gives the same outputs and gradients on several contexts/dtypes.

    Each entry of ``ctx_list`` is a dict of ``simple_bind`` arguments: ``ctx``, input shapes
    by name, optionally ``type_dict``. All executors get the same random inputs (drawn in
    argument-name order); each is compared with the first one of the most precise output
    dtype (or with ``ground_truth``), first in inference, then outputs and gradients in
    training. The training head gradients are the first executor's outputs, cast to the least
    precise dtype among the executors.

    Parameters
    ----------
    sym : Symbol or list of Symbol
        One symbol for all entries, or one per entry (same arguments and outputs).
    ctx_list : list of dict
    scale : float
        Standard deviation of the random normal inputs (uniform ones: ``+-0.92 * scale``).
    grad_req : str, list or dict of str
    arg_params, aux_params : dict of np.ndarray, optional
        Fixed input values (aux states default to 0).
    rtol, atol : None, float, or dict of dtype -> float
        As in :func:`assert_almost_equal`: ``None`` (or a dtype missing from the dict) takes
        the larger default of the two compared dtypes. A gradient that is more precise than
        its executor's output dtype (e.g. a float32 BatchNorm gamma in a float16 net) is held
        to the tolerance of the output dtype.
    raise_on_err : bool
        False: print the mismatches and go on.
    ground_truth : dict of arrays, optional
    equal_nan, use_uniform : bool
    rand_type : np.dtype
        The dtype of the random inputs.

    Returns
    -------
    dict
        The ground truth: outputs (and gradients) by name.
    """
    assert len(ctx_list) > 1
    syms = [sym] * len(ctx_list) if isinstance(sym, Symbol) else list(sym)
    assert len(syms) == len(ctx_list)

    output_names = syms[0].list_outputs()
    arg_names = syms[0].list_arguments()
    exe_list = []
    for s, spec in zip(syms, ctx_list):
        assert s.list_arguments() == arg_names
        assert s.list_outputs() == output_names
        exe_list.append(s.simple_bind(grad_req=grad_req, **spec))

    arg_params = {} if arg_params is None else arg_params
    aux_params = {} if aux_params is None else aux_params
    # random inputs in a deterministic order, for reproducibility
    for n, arr in _sorted_items(exe_list[0].arg_dict):
        if n not in arg_params:
            if use_uniform:
                value = np.random.uniform(low=-0.92 * scale, high=0.92 * scale, size=arr.shape)
            else:
                value = np.random.normal(size=arr.shape, scale=scale)
            arg_params[n] = value.astype(rand_type)
    for n in exe_list[0].aux_dict:
        aux_params.setdefault(n, 0)
    for exe in exe_list:
        for name, arr in exe.arg_dict.items():
            arr[:] = arg_params[name]
        for name, arr in exe.aux_dict.items():
            arr[:] = aux_params[name]
        if grad_req == "add":
            for arr in exe.grad_arrays:
                if arr is not None:
                    arr[:] = 0

    dtypes = [np.dtype(exe.outputs[0].dtype) for exe in exe_list]
    # the ground truth: the first executor with the most precise output[0]
    gt_idx = int(np.argmax(dtypes))
    gt = ground_truth
    if gt is None:  # the executor's own arrays: filled by the forward/backward below
        gt = dict(exe_list[gt_idx].output_dict)
        if grad_req != "null":
            gt.update(exe_list[gt_idx].grad_dict)

    def report(msg, err):
        print(msg)
        traceback.print_exc()
        if raise_on_err:
            raise err
        print(str(err))

    for exe in exe_list:
        exe.forward(is_train=False)
    for i, exe in enumerate(exe_list):
        if i == gt_idx:
            continue
        for name, arr in zip(output_names, exe.outputs):
            try:
                assert_almost_equal(arr, gt[name], rtol=rtol, atol=atol, equal_nan=equal_nan)
            except AssertionError as e:
                report(f"Predict Err: ctx {i} vs ctx {gt_idx} at {name}", e)

    if grad_req == "null":
        return gt
    for exe in exe_list:
        exe.forward(is_train=True)
    # head gradients: the first executor's outputs in the least precise dtype of each output
    least_precise = [out.dtype for out in exe_list[0].outputs]
    for exe in exe_list:
        least_precise = [_smaller_dtype(out.dtype, dt)
                         for out, dt in zip(exe.outputs, least_precise)]
    # cast on the host: a device may lack the dtype (PoCL has no float16)
    golden = [out.asnumpy().astype(dt) for out, dt in zip(exe_list[0].outputs, least_precise)]
    for exe in exe_list:
        exe.backward([mx.nd.array(g, ctx=out.context, dtype=out.dtype)
                      for g, out in zip(golden, exe.outputs)])

    for i, exe in enumerate(exe_list):
        if i == gt_idx:
            continue
        for name, arr in zip(output_names + arg_names,
                             list(exe.outputs) + list(exe.grad_arrays)):
            gtarr = gt[name]
            if gtarr is None:
                assert arr is None
                continue
            try:
                rt, at = rtol, atol
                # a gradient more precise than its executor's output dtype (e.g. a float32
                # BatchNorm gamma of a float16 net) takes the output dtype's tolerance
                small_arr = _smaller_dtype(arr.dtype, dtypes[i])
                small_gt = _smaller_dtype(gtarr.dtype, dtypes[gt_idx])
                if np.dtype(small_arr) != np.dtype(arr.dtype) or \
                        np.dtype(small_gt) != np.dtype(gtarr.dtype):
                    rt, at = get_tols(np.empty(0, small_arr), np.empty(0, small_gt), rtol, atol)
                assert_almost_equal(arr, gtarr, rtol=rt, atol=at, equal_nan=equal_nan)
            except AssertionError as e:
                report(f"Train Err: {np.dtype(arr.dtype).name} {_ctx_of(arr)} ctx {i} vs "
                       f"{np.dtype(gtarr.dtype).name} {_ctx_of(gtarr)} ctx {gt_idx} at {name}",
                       e)
    return gt


def check_gluon_hybridize_consistency(net_builder, data_l, numpy_func=None, test_grad=True,
                                      rtol=1E-4, atol=1E-4):
    """Check that a HybridBlock gives the same outputs (and input gradients) hybridized and
    not. ``net_builder(prefix='net_')`` builds it afresh each time; all builds get the first
    one's parameter values. The network must not draw random numbers."""
    saved_out_np = saved_grad_np_l = np_params = None
    for hybridize in (False, True):
        for use_autograd in ((False, True) if test_grad else (False,)):
            net = net_builder(prefix="net_")
            net.initialize(None if np_params is None else _NumpyParamDictInit(np_params))
            if hybridize:
                net.hybridize()
            in_data_l = [ele.copy() for ele in data_l]
            if use_autograd:
                for ele in in_data_l:
                    ele.attach_grad()
                with mx.autograd.record():
                    out = net(*in_data_l)
                out.backward(out)
            else:
                out = net(*in_data_l)
            if np_params is None:
                np_params = {k: v.data().asnumpy() for k, v in net.collect_params().items()}
            if saved_out_np is None:
                saved_out_np = out.asnumpy()
            else:
                assert_almost_equal(out.asnumpy(), saved_out_np, rtol=rtol, atol=atol)
            if use_autograd:
                if saved_grad_np_l is None:
                    saved_grad_np_l = [ele.grad.asnumpy() for ele in in_data_l]
                else:
                    for data, saved in zip(in_data_l, saved_grad_np_l):
                        assert_almost_equal(data.grad.asnumpy(), saved, rtol=rtol, atol=atol)
    if numpy_func is not None:
        numpy_out = numpy_func(*[ele.asnumpy() for ele in data_l])
        assert_almost_equal(saved_out_np, numpy_out, rtol=rtol, atol=atol)


class _NumpyParamDictInit(mx.init.Initializer):
    """Every parameter from a dict of NumPy arrays by parameter name."""

    def __init__(self, np_params):
        super().__init__()
        self._np_params = np_params

    def __call__(self, desc, arr):
        arr[:] = self._np_params[str(desc)]
