"""The generated ``mx.nd.<op>`` front ends: signatures, argument binding, ``out=``, attribute
parsing, aliases and NDArray methods (elementwise, reduce, shape and creation ops only)."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import mxplug as mx
from mxplug.base import MXNetError, MXNetTypeError
from mxplug.ops import REGISTRY

A = np.arange(1, 13, dtype=np.float32).reshape(3, 4) / 4


def _x():
    return mx.nd.array(A)


# -- signatures and docs -----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sum", "add", "exp", "reshape", "clip", "cast",
                                  "expand_dims", "transpose", "mean", "arange"])
def test_signature_lists_inputs_then_attrs(name):
    fn = getattr(mx.nd, name)
    op = REGISTRY[name]
    params = inspect.signature(fn).parameters
    assert list(params) == [*op.inputs, *op.attrs, "out", "name"]
    for k, a in op.attrs.items():
        assert params[k].default == a.default
    assert params["out"].kind is inspect.Parameter.KEYWORD_ONLY
    assert fn.__name__ == name
    assert fn.op is op


def test_sum_signature_matches_mxnet():
    sig = inspect.signature(mx.nd.sum)
    assert list(sig.parameters)[:4] == ["data", "axis", "keepdims", "exclude"]
    assert sig.parameters["axis"].default is None
    assert sig.parameters["keepdims"].default is False
    assert list(inspect.signature(mx.nd.add).parameters)[:2] == ["lhs", "rhs"]


def test_docstring_names_inputs_and_attrs():
    doc = mx.nd.sum.__doc__
    assert "data" in doc and "axis" in doc and "keepdims" in doc and "out" in doc


# -- binding -----------------------------------------------------------------------------------
def test_positional_attributes():
    x = _x()
    np.testing.assert_allclose(mx.nd.sum(x, 1).asnumpy(), A.sum(axis=1), rtol=1e-6)
    np.testing.assert_array_equal(mx.nd.sum(x, 1).asnumpy(), mx.nd.sum(x, axis=1).asnumpy())
    r = mx.nd.sum(x, 0, True)
    assert r.shape == (1, 4)
    np.testing.assert_allclose(mx.nd.clip(x, 0.5, 2.0).asnumpy(), np.clip(A, 0.5, 2.0))
    assert mx.nd.reshape(x, (4, 3)).shape == (4, 3)


def test_keyword_inputs():
    a, b = mx.nd.array([1, 2]), mx.nd.array([10, 20])
    np.testing.assert_array_equal(mx.nd.add(lhs=a, rhs=b).asnumpy(), [11, 22])
    np.testing.assert_array_equal(mx.nd.subtract(a, rhs=b).asnumpy(), [-9, -18])
    np.testing.assert_array_equal(mx.nd.exp(data=mx.nd.zeros((2,))).asnumpy(), [1, 1])
    np.testing.assert_allclose(mx.nd.sum(data=_x(), axis=0).asnumpy(), A.sum(axis=0), rtol=1e-6)


def test_scalar_inputs_through_frontend():
    a = mx.nd.array([1, 2])
    np.testing.assert_array_equal(mx.nd.add(a, 3).asnumpy(), [4, 5])
    np.testing.assert_array_equal(mx.nd.subtract(3, a).asnumpy(), [2, 1])


def test_out_writes_into_given_array():
    x = mx.nd.array([0.0, 1.0])
    out = mx.nd.zeros((2,))
    buf = out.data
    r = mx.nd.exp(x, out=out)
    assert r is out
    assert out.data is buf
    np.testing.assert_allclose(out.asnumpy(), np.exp([0.0, 1.0]), rtol=1e-6)
    s = mx.nd.zeros((4,))
    assert mx.nd.sum(_x(), axis=0, out=s) is s
    np.testing.assert_allclose(s.asnumpy(), A.sum(axis=0), rtol=1e-6)
    a = mx.nd.array([1, 2])
    assert mx.nd.add(a, a, out=a) is a
    np.testing.assert_array_equal(a.asnumpy(), [2, 4])


@pytest.mark.parametrize("name,attrs,n_states", [
    ("sgd_update", {"lr": 0.1, "wd": 0.01}, 0),
    ("sgd_mom_update", {"lr": 0.1, "momentum": 0.9, "wd": 0.01, "clip_gradient": 0.5}, 1),
    ("adam_update", {"lr": 0.01, "wd": 0.01, "rescale_grad": 0.5}, 2)])
def test_update_ops_in_place_equal_the_pure_call(ctx, name, attrs, n_states):
    """``op(w, g, *states, out=w)`` (the optimizers' in-place out-kernels) gives the same weight
    and states as the call that returns a new weight, and writes into w's own buffer."""
    rng = np.random.default_rng(3)
    w0, g = rng.uniform(-1, 1, (5, 4)), rng.uniform(-2, 2, (5, 4))
    states0 = [rng.uniform(0.1, 0.8, (5, 4)) for _ in range(n_states)]
    op = getattr(mx.nd, name)

    def arrays():
        return [mx.nd.array(a, ctx=ctx) for a in (w0, g, *states0)]

    w, gg, *st = arrays()
    expect = op(w, gg, *st, **attrs).asnumpy()
    expect_states = [s.asnumpy() for s in st]
    w, gg, *st = arrays()
    buf = w.data
    assert op(w, gg, *st, out=w, **attrs) is w and w.data is buf
    np.testing.assert_allclose(w.asnumpy(), expect, rtol=1e-5, atol=1e-7)
    for s, e in zip(st, expect_states):
        np.testing.assert_allclose(s.asnumpy(), e, rtol=1e-5, atol=1e-7)


def test_out_kernel_dot_into_an_input():
    a = mx.nd.array(np.arange(16.0).reshape(4, 4) / 7 + 1)
    b = mx.nd.array(np.arange(16.0).reshape(4, 4)[::-1].copy())
    expect = a.asnumpy() @ b.asnumpy().T
    assert mx.nd.dot(a, b, transpose_b=True, out=a) is a
    np.testing.assert_allclose(a.asnumpy(), expect, rtol=1e-5)


def test_out_visible_through_view():
    base = mx.nd.zeros((3, 2))
    view = base[1:2]
    mx.nd.ones((1, 2), out=view)
    np.testing.assert_array_equal(base.asnumpy(), [[0, 0], [1, 1], [0, 0]])


def test_out_shape_mismatch_raises():
    with pytest.raises(MXNetError):
        mx.nd.exp(mx.nd.zeros((2, 3)), out=mx.nd.zeros((4,)))


def test_name_is_accepted_and_ignored():
    np.testing.assert_array_equal(mx.nd.exp(mx.nd.zeros((1,)), name="e").asnumpy(), [1])


def test_unknown_attribute_names_op_and_attribute():
    with pytest.raises(MXNetError) as ei:
        mx.nd.sum(_x(), axes=1)
    msg = str(ei.value)
    assert "sum" in msg and "axes" in msg
    with pytest.warns(UserWarning, match="exp: attribute 'foo' ignored"):  # as MXNet: no
        mx.nd.exp(_x(), foo=1)                                               # parameters
    # a variadic op has one (num_args): MXNet 1.9.1 refuses the rest, so khatri_rao's 2.0-only
    # row_wise cannot silently give the column-wise product
    for call in (lambda: mx.nd.add_n(_x(), _x(), foo=1),
                 lambda: mx.nd.khatri_rao(_x(), _x(), row_wise=True),
                 lambda: mx.sym.add_n(mx.sym.var("a"), foo=1)):
        with pytest.raises(MXNetError, match=r"unknown attribute .* \(attributes: num_args\)"):
            call()
    assert mx.nd.add_n(_x(), _x(), num_args=2).shape == _x().shape


def test_duplicate_argument_raises_type_error():
    x = _x()
    with pytest.raises(TypeError) as ei:
        mx.nd.sum(x, 1, axis=1)
    assert "axis" in str(ei.value)
    with pytest.raises(TypeError) as ei:
        mx.nd.add(x, lhs=x)
    assert "lhs" in str(ei.value)
    assert isinstance(ei.value, MXNetError)


def test_missing_required_input_is_named():
    with pytest.raises(TypeError) as ei:
        mx.nd.add(mx.nd.ones((1,)))
    assert isinstance(ei.value, MXNetError)
    assert "rhs" in str(ei.value)


def test_too_many_positionals():
    with pytest.raises(TypeError) as ei:
        mx.nd.exp(mx.nd.ones((1,)), 1)
    assert "exp" in str(ei.value)


# -- attribute values --------------------------------------------------------------------------
def test_string_attribute_values_as_in_symbol_json():
    x = _x()
    r = mx.nd.sum(x, axis="(0, 1)", keepdims="True")
    assert r.shape == (1, 1)
    np.testing.assert_allclose(r.asnumpy(), A.sum(keepdims=True), rtol=1e-6)
    assert mx.nd.sum(x, axis="1", keepdims="False").shape == (3,)
    assert mx.nd.reshape(x, shape="(2, 6)").shape == (2, 6)
    assert mx.nd.reshape(x, shape="(-1, 0)", reverse="True").shape == (3, 4)
    assert mx.nd.expand_dims(x, axis="0").shape == (1, 3, 4)
    assert mx.nd.zeros(shape="(2, 3)").shape == (2, 3)
    assert mx.nd.cast(x, dtype="int32").dtype is np.int32
    np.testing.assert_allclose(mx.nd.clip(x, a_min="0.5", a_max="1").asnumpy(),
                               np.clip(A, 0.5, 1.0))


def test_attribute_values_are_canonicalised():
    op = REGISTRY["sum"]
    attrs = op.parse_attrs({"axis": [0, 1], "keepdims": 1})
    assert attrs["axis"] == (0, 1) and attrs["keepdims"] is True
    assert op.parse_attrs({"axis": "(1,)"})["axis"] == (1,)
    assert op.parse_attrs({})["axis"] is None
    assert op.parse_attrs({"axis": None})["axis"] is None
    assert REGISTRY["reshape"].parse_attrs({"shape": 5})["shape"] == (5,)
    assert REGISTRY["cast"].parse_attrs({"dtype": np.float16})["dtype"] == "float16"


@pytest.mark.parametrize("op, attrs", [("sum", {"keepdims": "maybe"}), ("sum", {"axis": "x"}),
                                       ("reshape", {"shape": "(2, a)"}),
                                       ("cast", {"dtype": "complex64"}),
                                       ("expand_dims", {"axis": 1.5})])
def test_bad_attribute_values(op, attrs):
    with pytest.raises(MXNetError) as ei:
        REGISTRY[op].parse_attrs(attrs)
    assert isinstance(ei.value, ValueError)
    assert op in str(ei.value)
    assert next(iter(attrs)) in str(ei.value)


# -- aliases and namespaces --------------------------------------------------------------------
@pytest.mark.parametrize("alias, name", [("broadcast_add", "add"), ("elemwise_add", "add"),
                                         ("broadcast_mul", "multiply"),
                                         ("broadcast_sub", "subtract"), ("Reshape", "reshape"),
                                         ("sum_axis", "sum"), ("broadcast_greater", "greater")])
def test_aliases(alias, name):
    fa, fn = getattr(mx.nd, alias), getattr(mx.nd, name)
    assert fa.op is fn.op
    a, b = mx.nd.array(A), mx.nd.array(A[::-1].copy())
    if REGISTRY[name].inputs == ("lhs", "rhs"):
        np.testing.assert_array_equal(fa(a, b).asnumpy(), fn(a, b).asnumpy())
    elif name == "reshape":
        assert fa(a, shape=(4, 3)).shape == (4, 3)
    else:
        np.testing.assert_array_equal(fa(a, axis=1).asnumpy(), fn(a, axis=1).asnumpy())


def test_underscore_names_live_in_internal():
    assert hasattr(mx.nd._internal, "_plus")
    assert not hasattr(mx.nd, "_plus")
    a = mx.nd.array([1, 2])
    np.testing.assert_array_equal(mx.nd._internal._plus(a, a).asnumpy(), [2, 4])


# -- NDArray methods ---------------------------------------------------------------------------
def test_ndarray_methods():
    x = _x()
    np.testing.assert_allclose(x.sum(axis=0).asnumpy(), A.sum(axis=0), rtol=1e-6)
    np.testing.assert_allclose(x.sum(1).asnumpy(), A.sum(axis=1), rtol=1e-6)
    np.testing.assert_allclose(x.exp().asnumpy(), np.exp(A), rtol=1e-6)
    np.testing.assert_allclose(x.mean(axis=1, keepdims=True).asnumpy(),
                               A.mean(axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(x.max().asnumpy(), [A.max()])
    assert x.expand_dims(axis=1).shape == (3, 1, 4)
    assert x.transpose().shape == (4, 3)
    np.testing.assert_allclose(x.clip(0.5, 1.5).asnumpy(), np.clip(A, 0.5, 1.5))
    assert x.zeros_like().shape == (3, 4)
    assert x.sum.__name__ == "sum"


def test_full_reduction_returns_shape_1():
    x = _x()
    for r in (mx.nd.sum(x), x.sum(), mx.nd.max(x), mx.nd.mean(x), mx.nd.prod(mx.nd.ones((2, 2)))):
        assert r.shape == (1,)
    np.testing.assert_allclose(mx.nd.sum(x).asscalar(), A.sum(), rtol=1e-6)
    assert mx.nd.sum(x, keepdims=True).shape == (1, 1)


def test_reduce_exclude():
    x = mx.nd.ones((2, 3, 4))
    assert mx.nd.sum(x, axis=1, exclude=True).shape == (3,)
    np.testing.assert_array_equal(mx.nd.sum(x, axis=1, exclude=True).asnumpy(), [8, 8, 8])


def test_creation_frontends_positional():
    z = mx.nd.zeros((2, 3), mx.cpu(1), "int32")
    assert z.shape == (2, 3) and z.context == mx.cpu(1) and z.dtype is np.int32
    f = mx.nd.full((2,), 4.5)
    np.testing.assert_array_equal(f.asnumpy(), [4.5, 4.5])
    e = mx.nd.empty((3,), mx.cpu(0), "float64")
    assert e.dtype is np.float64 and e.shape == (3,)


def test_creation_ctx_from_with_block():
    with mx.cpu(3):
        assert mx.nd.ones((1,)).context == mx.cpu(3)
        assert mx.nd.arange(3).context == mx.cpu(3)


def test_getitem_frontend_exists():
    f = mx.nd.getitem
    assert f.op is REGISTRY["getitem"]
    x = _x()
    np.testing.assert_array_equal(f(x, key=(slice(0, 2),)).asnumpy(), A[0:2])


def test_parsed_attributes_memo_keeps_equal_values_of_other_types_apart():
    """1 == True and IndexArg(0) == 0 in Python; a memoised parse must still tell them apart
    (an integer index and an index-array placeholder mean different things to getitem)."""
    from mxplug.ops import REGISTRY
    from mxplug.ops.indexing import IndexArg
    op = REGISTRY["_getitem_backward"]
    plain = op.parse_attrs({"key": (0,), "shape": (4, 3)})["key"]
    placeholder = op.parse_attrs({"key": (IndexArg(0),), "shape": (4, 3)})["key"]
    assert type(plain[0]) is int and type(placeholder[0]) is IndexArg
    x = mx.nd.array(np.arange(12.0).reshape(4, 3))
    assert x[0].shape == (3,)                                    # an int index first ...
    x.attach_grad()
    with mx.autograd.record():
        y = x[mx.nd.array([0, 2, 0], dtype="int64")]             # ... then an index array
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy()[:, 0], [2, 0, 1, 0])


def test_keywords_given_to_an_op_without_parameters_are_ignored_with_a_warning():
    # MXNet ignores them (its own tests pass axis= to broadcast_maximum); ops with parameters
    # still refuse an unknown one
    with pytest.warns(UserWarning, match="maximum: attribute 'axis' ignored"):
        got = mx.nd.broadcast_maximum(mx.nd.array([0.0]), mx.nd.array([[1.0], [-1.0]]), axis=1)
    assert got.asnumpy().ravel().tolist() == [1.0, 0.0]
    with pytest.raises(MXNetError, match="sum: unknown attribute 'foo'"):
        mx.nd.sum(_x(), foo=1)


def test_arithmetic_functions_of_two_numbers_return_a_number_as_mxnet():
    assert mx.nd.power(0.5, 3) == 0.125 and isinstance(mx.nd.power(0.5, 3), float)
    assert mx.nd.maximum(2, 3) == 3 and mx.nd.minimum(2, 3) == 2
    assert mx.nd.equal(2, 2) == 1 and mx.nd.greater(1, 2) == 0 and mx.nd.modulo(7, 3) == 1
    assert mx.nd.logical_xor(1, 0) == 1
    np.testing.assert_array_equal(mx.nd.power(mx.nd.array([2.0]), 3).asnumpy(), [8.0])
    np.testing.assert_array_equal(mx.nd.subtract(1, mx.nd.array([2.0])).asnumpy(), [-1.0])


def test_zeros_and_empty_take_the_dense_stype():
    assert mx.nd.zeros((2,), stype="default").shape == (2,)
    assert mx.nd.empty((2, 1), stype=None).shape == (2, 1)
    with pytest.raises(NotImplementedError, match="stype 'row_sparse' is not available"):
        mx.nd.zeros((2,), stype="row_sparse")


def test_mxnet_internal_scalar_functions_and_input_keywords():
    x = mx.nd.array([1.0, 2.0, 7.0])
    internal = mx.nd._internal
    assert internal._greater_scalar(x, scalar=2).asnumpy().tolist() == [0, 0, 1]
    assert internal._rminus_scalar(x, scalar=10).asnumpy().tolist() == [9, 8, 3]
    assert internal._rpower_scalar(x, scalar=2.0).asnumpy().tolist() == [2, 4, 128]
    lt = mx.sym._internal._lesser_scalar(mx.sym.var("x"), scalar=2, name="lt")
    assert lt.name == "lt" and lt.eval(x=x)[0].asnumpy().tolist() == [1, 0, 0]
    assert '"_lesser_scalar"' in lt.tojson()  # the node MXNet's JSON names so
    # mx.sym's keyword names (left/right, base/exp): code written for F = mx.sym runs with mx.nd
    assert mx.nd.maximum(x, right=5).asnumpy().tolist() == [5, 5, 7]
    assert mx.sym.minimum(left=mx.sym.var("x"), right=2).eval(x=x)[0].asnumpy().tolist() \
        == [1, 2, 2]
    assert mx.nd.power(base=x, exp=2).asnumpy().tolist() == [1, 4, 49]
    with pytest.raises(MXNetTypeError, match="'left' and 'lhs'"):
        mx.nd.maximum(lhs=x, left=x)


def test_float_mod_by_zero_is_zero_as_in_mxnet():
    a = mx.nd.array([1.5, -2.0, 3.0])
    assert (a % 0).asnumpy().tolist() == [0, 0, 0]
    assert (a % mx.nd.array([0, 0, 2.0])).asnumpy().tolist() == [0, 0, 1]
    assert (5 % mx.nd.array([0.0, 2.0])).asnumpy().tolist() == [0, 1]
