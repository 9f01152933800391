"""Gluon Parameter, Constant and ParameterDict (MXNet 1.x semantics)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mxplug as mx
from mxplug import gluon
from mxplug.gluon import Constant, DeferredInitializationError, Parameter, ParameterDict


def test_defaults_and_repr():
    p = Parameter("w", shape=3)
    assert p.name == "w" and p.shape == (3,) and p.dtype == np.float32
    assert p.grad_req == "write" and p.lr_mult == 1.0 and p.wd_mult == 1.0 and p.init is None
    assert repr(p) == "Parameter w (shape=(3,), dtype=float32)"
    p.lr_mult, p.wd_mult = 2.0, 0.0
    assert (p.lr_mult, p.wd_mult) == (2.0, 0.0)


def test_initialize_data_grad(ctx):
    p = Parameter("weight", shape=(2, 3), init=mx.init.One())
    p.initialize(ctx=ctx)
    assert p.data().context == ctx and p.data(ctx).shape == (2, 3)
    np.testing.assert_array_equal(p.data().asnumpy(), np.ones((2, 3)))
    assert p.list_ctx() == [ctx] and len(p.list_data()) == 1
    assert p.grad().shape == (2, 3) and p.list_grad()[0] is p.grad()
    with mx.autograd.record():
        y = (p.data() * 3).sum()
    y.backward()
    np.testing.assert_array_equal(p.grad().asnumpy(), np.full((2, 3), 3.0))
    p.zero_grad()
    np.testing.assert_array_equal(p.grad().asnumpy(), np.zeros((2, 3)))


def test_initializer_precedence():
    own = Parameter("a_weight", shape=(2,), init=mx.init.One())
    own.initialize(init=None, default_init=mx.init.Zero())
    np.testing.assert_array_equal(own.data().asnumpy(), [1, 1])
    other = Parameter("b_weight", shape=(2,))
    other.initialize(default_init=mx.init.Constant(5.0))
    np.testing.assert_array_equal(other.data().asnumpy(), [5, 5])
    forced = Parameter("c_weight", shape=(2,), init=mx.init.One())
    forced.initialize(init=mx.init.Zero())  # an explicit init wins over the parameter's
    np.testing.assert_array_equal(forced.data().asnumpy(), [0, 0])


def test_already_initialized_warns_and_force_reinit_replaces():
    p = Parameter("w", shape=(2,), init=mx.init.One())
    p.initialize()
    first = p.data()
    with pytest.warns(UserWarning, match="already initialized"):
        p.initialize()
    assert p.data() is first
    p.initialize(init=mx.init.Zero(), force_reinit=True)
    assert p.data() is not first
    np.testing.assert_array_equal(p.data().asnumpy(), [0, 0])


def test_errors_before_initialization():
    p = Parameter("w", shape=(2,))
    with pytest.raises(RuntimeError, match="has not been initialized"):
        p.data()
    d = Parameter("d", shape=(0, 3), allow_deferred_init=True)
    d.initialize()
    with pytest.raises(DeferredInitializationError, match="deferred"):
        d.data()
    assert d.list_ctx() == [mx.current_context()]
    bad = Parameter("bad", shape=(0, 3))
    with pytest.raises(ValueError, match="invalid shape"):
        bad.initialize()


def test_shape_merge_rules():
    p = Parameter("w", shape=(4, 0))
    p.shape = (4, 7)
    assert p.shape == (4, 7)
    with pytest.raises(AssertionError, match="incompatible"):
        p.shape = (5, 7)


def test_grad_req_settable():
    p = Parameter("w", shape=(2,), init=mx.init.One())
    p.initialize()
    p.grad_req = "null"
    with pytest.raises(RuntimeError, match="grad_req='null'"):
        p.grad()
    with mx.autograd.record():
        y = p.data() * 2
    assert y.grad is None  # nothing recorded through a frozen parameter
    p.grad_req = "add"
    assert p.grad().shape == (2,)
    for _ in range(2):
        with mx.autograd.record():
            y = (p.data() * 2).sum()
        y.backward()
    np.testing.assert_array_equal(p.grad().asnumpy(), [4, 4])
    with pytest.raises(ValueError):
        p.grad_req = "sometimes"
    frozen = Parameter("f", shape=(1,), differentiable=False)
    assert frozen.grad_req == "null"


def test_set_data_and_deferred_set_data(ctx):
    p = Parameter("w", shape=(2,), init=mx.init.Zero())
    p.initialize(ctx=ctx)
    arr = p.data()
    p.set_data(mx.nd.array([3, 4], ctx=mx.cpu()))
    assert p.data() is arr  # written in place
    np.testing.assert_array_equal(p.data().asnumpy(), [3, 4])
    d = Parameter("d", shape=(0,), allow_deferred_init=True)
    d.initialize(ctx=ctx)
    d.set_data(mx.nd.array([1, 2, 3]))
    assert d.shape == (3,)
    d._finish_deferred_init()
    np.testing.assert_array_equal(d.data().asnumpy(), [1, 2, 3])


def test_several_contexts(ctx):
    ctxs = [mx.cpu(1), ctx]
    p = Parameter("w", shape=(2, 2), init=mx.init.One())
    p.initialize(ctx=ctxs)
    assert p.list_ctx() == ctxs and len(p.list_data()) == 2
    assert p.data(ctxs[0]).context == ctxs[0] and p.data(ctx).context == ctx
    for i, c in enumerate(ctxs):
        with mx.autograd.record():
            y = (p.data(c) * (i + 1)).sum()
        y.backward()
    np.testing.assert_array_equal(p.grad(ctxs[0]).asnumpy(), np.ones((2, 2)))
    np.testing.assert_array_equal(p.grad(ctx).asnumpy(), np.full((2, 2), 2.0))
    with pytest.raises(RuntimeError, match="was not initialized on context"):
        p.data(mx.cpu(5))
    p.data(ctxs[0])[:] = 3
    p.reset_ctx(mx.cpu(0))  # the copies are averaged
    assert p.list_ctx() == [mx.cpu(0)]
    np.testing.assert_array_equal(p.data().asnumpy(), np.full((2, 2), 2.0))


def test_var_and_cast():
    p = Parameter("fc_weight", shape=(3, 4), lr_mult=2.0)
    v = p.var()
    assert v.name == "fc_weight" and p.var() is v
    assert v.attr("__shape__") == "(3, 4)" and v.attr("lr_mult") == "2.0"
    p.initialize(init=mx.init.One())
    p.cast("float64")
    assert p.dtype == np.float64 and p.data().dtype == np.float64
    assert p.grad().dtype == np.float64


def test_constant(ctx):
    c = Constant("const", [[1, 2], [3, 4]])
    assert c.grad_req == "null" and c.shape == (2, 2)
    c.initialize(ctx=ctx)
    np.testing.assert_array_equal(c.data().asnumpy(), [[1, 2], [3, 4]])
    with pytest.warns(UserWarning, match="does not support grad_req"):
        c.grad_req = "write"
    assert c.grad_req == "null"


def test_parameter_dict_get_and_checks():
    pd = ParameterDict("net_")
    w = pd.get("weight", shape=(3, 0), allow_deferred_init=True)
    assert w.name == "net_weight" and "net_weight" in pd and len(pd) == 1
    assert pd.get("weight", shape=(3, 5)) is w and w.shape == (3, 5)  # 0 dims filled in
    with pytest.raises(AssertionError, match="does not match with stored"):
        pd.get("weight", lr_mult=3.0)
    with pytest.raises(AssertionError, match="does not match"):
        pd.get("weight", shape=(4, 5))
    assert pd.get("weight", dtype="float32") is w
    shared = ParameterDict("net_", shared=pd)
    assert shared.get("weight") is w
    const = pd.get_constant("c", [1.0, 2.0])
    assert isinstance(const, Constant) and pd.get_constant("c") is const
    with pytest.raises(KeyError):
        pd.get_constant("nothing")
    other = ParameterDict("net_")
    other.get("weight")
    with pytest.raises(AssertionError, match="different Parameters with the same name"):
        pd.update(other)
    assert list(pd.select(".*weight").keys()) == ["net_weight"]
    assert "net_weight" in repr(pd)


def test_parameter_dict_initialize_setattr_zero_grad(ctx):
    pd = ParameterDict("m_")
    pd.get("weight", shape=(2,))
    pd.get("bias", shape=(2,))
    pd.initialize(mx.init.One(), ctx=ctx)
    np.testing.assert_array_equal(pd["m_weight"].data().asnumpy(), [1, 1])
    # MXNet hands the default to every parameter without its own init, biases included
    np.testing.assert_array_equal(pd["m_bias"].data().asnumpy(), [1, 1])
    assert pd.list_ctx() == [ctx]
    pd.setattr("grad_req", "null")
    assert all(p.grad_req == "null" for p in pd.values())
    pd.zero_grad()  # nothing to do, no error


def test_parameter_dict_save_load(tmp_path, ctx):
    pd = ParameterDict("net_")
    pd.get("weight", shape=(2, 3), init=mx.init.Uniform())
    pd.initialize(ctx=ctx)
    fname = str(tmp_path / "p.params")
    pd.save(fname, strip_prefix="net_")
    assert sorted(np.load(fname, allow_pickle=False).files) == ["weight"]
    other = ParameterDict("net_")
    other.get("weight", shape=(2, 3))
    other.load(fname, ctx=ctx, restore_prefix="net_")
    np.testing.assert_array_equal(other["net_weight"].data().asnumpy(),
                                  pd["net_weight"].data().asnumpy())
    with pytest.raises(ValueError, match="does not start with"):
        pd.save(fname, strip_prefix="zzz_")


def test_gluon_exports():
    assert gluon.Parameter is Parameter and gluon.ParameterDict is ParameterDict
    assert issubclass(DeferredInitializationError, mx.MXNetError)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Parameter("x", shape=(1,)).initialize(init=mx.init.Zero())
