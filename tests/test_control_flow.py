"""MXNet 1.x's control flow (``F.contrib.foreach``, ``while_loop``, ``cond``): eager semantics and
return structures as MXNet's, autograd through the eager loops, and HybridBlocks that give the
same values and gradients hybridized (the loops unrolled into the graph) as eagerly, plus the
same functions on Symbols."""

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd, gluon
from mxplug.base import MXNetValueError


def _nd(x, dtype=np.float32):
    return mx.nd.array(np.asarray(x, dtype=dtype), dtype=dtype)


# -- foreach --------------------------------------------------------------------------------------
def test_foreach_matches_a_python_loop_and_mxnet_structures():
    data = np.random.default_rng(0).uniform(size=(4, 3))
    step = lambda d, states: (d + states[0], [states[0] * 2 + d])  # noqa: E731
    outs, states = mx.nd.contrib.foreach(step, _nd(data), [_nd(np.ones(3))])
    s, want = np.ones(3), []
    for row in data:
        want.append(row + s)
        s = s * 2 + row
    assert isinstance(outs, mx.nd.NDArray) and isinstance(states, list) and len(states) == 1
    np.testing.assert_allclose(outs.asnumpy(), np.stack(want), rtol=1e-6)
    np.testing.assert_allclose(states[0].asnumpy(), s, rtol=1e-6)

    # a list of data arrays gives the body a list of rows; a list of outputs stays a list
    two = lambda rows, st: ([rows[0] * rows[1], rows[0]], st + rows[1])  # noqa: E731
    outs, total = mx.nd.contrib.foreach(two, [_nd(data), _nd(data + 1)], _nd(np.zeros(3)))
    assert isinstance(outs, list) and len(outs) == 2
    np.testing.assert_allclose(outs[0].asnumpy(), data * (data + 1), rtol=1e-6)
    np.testing.assert_allclose(total.asnumpy(), (data + 1).sum(axis=0), rtol=1e-6)


def test_autograd_records_through_eager_foreach():
    x = _nd([0.5, 1.5, -1.0, 2.0])
    w = _nd([0.7])
    x.attach_grad()
    w.attach_grad()
    with autograd.record():   # h_t = tanh(w * h_{t-1} + x_t); loss = sum of the h_t
        outs, h = mx.nd.contrib.foreach(
            lambda xt, hs: (mx.nd.tanh(w * hs[0] + xt),) * 2, x, [_nd([0.1])])
        outs.sum().backward()

    def loss(xv, wv):
        h, total = 0.1, 0.0
        for xt in xv:
            h = np.tanh(wv * h + xt)
            total += h
        return total

    eps, xv, wv = 1e-4, x.asnumpy().astype(np.float64), 0.7
    gx = [(loss(xv + eps * e, wv) - loss(xv - eps * e, wv)) / (2 * eps) for e in np.eye(4)]
    gw = (loss(xv, wv + eps) - loss(xv, wv - eps)) / (2 * eps)
    np.testing.assert_allclose(x.grad.asnumpy(), gx, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(w.grad.asnumpy(), [gw], rtol=1e-3, atol=1e-4)


class _RNN(gluon.HybridBlock):
    def __init__(self):
        super().__init__()
        with self.name_scope():
            self.cell = gluon.nn.Dense(3, in_units=5, flatten=False)

    def hybrid_forward(self, F, x, h0):
        def body(xt, states):
            h = F.tanh(self.cell(F.concat(xt, states[0], dim=1)))
            return h * 2, [h]
        outs, states = F.contrib.foreach(body, x, [h0])
        return outs, states[0]


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [a for item in x for a in _flat(item)]
    return [x]


def _run(net, *inputs):
    """The outputs (flattened), and the input and parameter gradients of
    sum_k (k + 1) * sum(out_k), with recording."""
    args = [a.copy() for a in inputs]
    for a in args:
        a.attach_grad()
    with autograd.record():
        flat = _flat(net(*args))
        loss = sum(((o.astype("float32") * (k + 1)).sum() for k, o in enumerate(flat)),
                   mx.nd.zeros((1,)))
    loss.backward()
    params = [p.grad().asnumpy() for p in net.collect_params().values()]
    return [o.asnumpy() for o in flat], [a.grad.asnumpy() for a in args], params


def _assert_same(a, b):
    for x, y in zip(a, b):
        for p, q in zip(x, y):
            np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)


def test_foreach_hybridized_equals_eager_with_gradients():
    rng = np.random.default_rng(1)
    x, h0 = _nd(rng.uniform(-1, 1, (6, 2, 2))), _nd(rng.uniform(-1, 1, (2, 3)))
    net = _RNN()
    net.initialize(mx.init.Uniform(0.5))
    eager = _run(net, x, h0)
    net.hybridize()
    hybrid = _run(net, x, h0)
    _assert_same(eager, hybrid)
    assert eager[0][0].shape == (6, 2, 3) and np.abs(eager[2][0]).max() > 0


# -- while_loop -----------------------------------------------------------------------------------
class _While(gluon.HybridBlock):
    def __init__(self, cond, func, max_iterations):
        super().__init__()
        self.cond, self.func, self.max_iterations = cond, func, max_iterations

    def hybrid_forward(self, F, *loop_vars):
        return F.contrib.while_loop(self.cond, self.func, list(loop_vars),
                                    max_iterations=self.max_iterations)


def test_while_loop_documented_example_eager_and_hybridized():
    cond = lambda i, s: i <= 5  # noqa: E731
    func = lambda i, s: ([i + s], [i + 1, s + i])  # noqa: E731
    i, s = mx.nd.array([0], dtype="int64"), mx.nd.array([1], dtype="int64")
    outputs, states = mx.nd.contrib.while_loop(cond, func, (i, s), max_iterations=10)
    assert isinstance(outputs, list) and len(outputs) == 1 and outputs[0].shape == (10, 1)
    np.testing.assert_array_equal(outputs[0].asnumpy()[:6, 0], [1, 2, 4, 7, 11, 16])
    np.testing.assert_array_equal(outputs[0].asnumpy()[6:], 0)   # padding (zeros here)
    assert [int(v.asscalar()) for v in states] == [6, 16]
    for hybrid in (False, True):
        net = _While(cond, func, 10)
        if hybrid:
            net.hybridize()
        outs, last = net(i, s)
        np.testing.assert_array_equal(outs[0].asnumpy(), outputs[0].asnumpy())
        assert [int(v.asscalar()) for v in last] == [6, 16]


def test_while_loop_stops_at_max_iterations_and_keeps_a_single_var_single():
    outs, x = mx.nd.contrib.while_loop(lambda x: x < 100, lambda x: (x, x * 2), _nd([1.0]),
                                       max_iterations=3)
    assert isinstance(x, mx.nd.NDArray) and float(x.asscalar()) == 8.0
    np.testing.assert_array_equal(outs.asnumpy()[:, 0], [1, 2, 4])
    # no step: MXNet's NDArray version gives no outputs
    outs, x = mx.nd.contrib.while_loop(lambda x: x > 5, lambda x: (x, x + 1), _nd([1.0]),
                                       max_iterations=3)
    assert outs == [] and float(x.asscalar()) == 1.0


def test_while_loop_hybridized_gradients_equal_eager():
    # s <- s * x + i while i < n: a polynomial in x whose length depends on n's value
    cond = lambda i, s, x, n: i < n  # noqa: E731
    func = lambda i, s, x, n: (s * 2, [i + 1, s * x + i, x, n])  # noqa: E731
    args = (_nd([0.0]), _nd([1.0]), _nd([1.3]), _nd([4.0]))
    eager_net = _While(cond, func, 6)
    eager = _run(eager_net, *args)
    hybrid_net = _While(cond, func, 6)
    hybrid_net.hybridize()
    hybrid = _run(hybrid_net, *args)
    _assert_same(eager, hybrid)

    def loss(x):   # _run's loss: the step outputs (weight 1), then i, s, x, n (weights 2..5)
        i, s, total = 0, 1.0, 0.0
        while i < 4:
            total += 2 * s
            s, i = s * x + i, i + 1
        return total + 2 * i + 3 * s + 4 * x + 5 * 4.0

    s = 1.0
    for i in range(4):
        s = s * 1.3 + i
    assert eager[0][2][0] == pytest.approx(s, rel=1e-5)                  # the final s
    np.testing.assert_allclose(eager[0][0][:, 0], [2, 2 * 1.3, 2 * (1.3 ** 2 + 1),
                                                   2 * ((1.3 ** 2 + 1) * 1.3 + 2), 0, 0],
                               rtol=1e-5)
    grad_x = (loss(1.3 + 1e-4) - loss(1.3 - 1e-4)) / 2e-4
    assert eager[1][2][0] == pytest.approx(grad_x, rel=1e-3)


def test_while_loop_without_a_step_differs_only_in_the_outputs_when_unrolled():
    # MXNet's NDArray version returns no outputs; the unrolled one (as MXNet's symbolic one)
    # has max_iterations rows, all padding
    net = _While(lambda x: x > 5, lambda x: ([x * 3], [x + 1]), 3)
    eager_outs, eager_x = net(_nd([1.0]))
    net.hybridize()
    outs, x = net(_nd([1.0]))
    assert eager_outs == [] and float(eager_x[0].asscalar()) == 1.0
    np.testing.assert_array_equal(outs[0].asnumpy(), np.zeros((3, 1)))
    assert float(x[0].asscalar()) == 1.0


def test_while_loop_errors():
    with pytest.raises(MXNetValueError, match="max_iterations should be specified"):
        mx.nd.contrib.while_loop(lambda x: x < 1, lambda x: (x, x), _nd([0.0]))
    with pytest.raises(MXNetValueError, match="loop variables"):
        mx.nd.contrib.while_loop(lambda x: x < 1, lambda x: (x, [x, x]), _nd([0.0]),
                                 max_iterations=2)


# -- cond -----------------------------------------------------------------------------------------
class _Cond(gluon.HybridBlock):
    def hybrid_forward(self, F, a, b):
        return F.contrib.cond(a * b < 5, lambda: (a + 5) * (b + 5), lambda: (a - 5) * (b - 5))


@pytest.mark.parametrize("a,want", [(1.0, 42.0), (3.0, 6.0)])
def test_cond_eager_and_hybridized(a, want):
    b = _nd([2.0])
    out = mx.nd.contrib.cond(_nd([a]) * b < 5, lambda: (_nd([a]) + 5) * (b + 5),
                             lambda: (_nd([a]) - 5) * (b - 5))
    assert float(out.asscalar()) == want
    results = []
    for hybrid in (False, True):
        net = _Cond()
        if hybrid:
            net.hybridize()
        results.append(_run(net, _nd([a]), b))
    assert results[0][0][0][0] == want
    _assert_same(*results)
    # the gradient is the taken branch's: d/da of (a + 5)(b + 5) is b + 5 = 7
    assert results[1][1][0][0] == pytest.approx(7.0 if a == 1.0 else -3.0)


def test_cond_branches_must_agree_when_unrolled():
    class Bad(gluon.HybridBlock):
        def hybrid_forward(self, F, a):
            return F.contrib.cond(a > 0, lambda: [a, a], lambda: [a])

    net = Bad()
    net.hybridize()
    with pytest.raises(MXNetValueError, match="same number"):
        net(_nd([1.0]))


# -- Symbols --------------------------------------------------------------------------------------
def test_symbolic_control_flow_evaluates_like_eager():
    data = np.random.default_rng(2).uniform(size=(3, 2)).astype(np.float32)
    step = lambda d, st: (d * st[0], [st[0] + d])  # noqa: E731
    x, s0 = mx.sym.var("x", shape=(3, 2)), mx.sym.var("s0", shape=(2,))
    outs, states = mx.sym.contrib.foreach(step, x, [s0])
    got = mx.sym.Group([outs, states[0]]).eval(x=_nd(data), s0=_nd([1.0, 2.0]))
    want_outs, want_states = mx.nd.contrib.foreach(step, _nd(data), [_nd([1.0, 2.0])])
    np.testing.assert_allclose(got[0].asnumpy(), want_outs.asnumpy(), rtol=1e-6)
    np.testing.assert_allclose(got[1].asnumpy(), want_states[0].asnumpy(), rtol=1e-6)

    i, s = mx.sym.var("i", shape=(1,)), mx.sym.var("s", shape=(1,))
    o, (fi, fs) = mx.sym.contrib.while_loop(lambda i, s: i <= 5,
                                            lambda i, s: ([i + s], [i + 1, s + i]), [i, s],
                                            max_iterations=8)
    vals = mx.sym.Group([o[0], fi, fs]).eval(i=_nd([0.0]), s=_nd([1.0]))
    np.testing.assert_array_equal(vals[0].asnumpy()[:, 0], [1, 2, 4, 7, 11, 16, 0, 0])
    assert [float(v.asscalar()) for v in vals[1:]] == [6.0, 16.0]

    a, b = mx.sym.var("a"), mx.sym.var("b")
    c = mx.sym.contrib.cond(a * b < 5, lambda: (a + 5) * (b + 5), lambda: (a - 5) * (b - 5))
    assert float(c.eval(a=_nd([1.0]), b=_nd([2.0]))[0].asscalar()) == 42.0


def test_symbolic_foreach_needs_a_known_length_and_grows_with_it():
    step = lambda d, st: (d + st, st + d)  # noqa: E731
    with pytest.raises(MXNetValueError, match="foreach: the length of axis 0 .* shape"):
        mx.sym.contrib.foreach(step, mx.sym.var("x"), mx.sym.var("s"))

    def size(length):
        outs, _ = mx.sym.contrib.foreach(step, mx.sym.var("x", shape=(length, 2)),
                                         mx.sym.var("s", shape=(2,)))
        return len(outs.get_internals().list_outputs())

    assert size(8) > size(2) + 10     # one copy of the body per step


def test_unrolled_foreach_survives_json_and_export(tmp_path):
    """The rows of an unrolled foreach are sliced with ops whose attributes go into the JSON,
    so a loaded symbol and an exported hybridized block compute what the original did."""
    step = lambda d, st: (d * 2 + st[0], [st[0] + d])  # noqa: E731
    data, s = _nd(np.arange(6).reshape(3, 2)), _nd([1.0, 2.0])
    outs, states = mx.sym.contrib.foreach(step, mx.sym.var("x", shape=(3, 2)), [mx.sym.var("s")])
    graph = mx.sym.Group([outs, states[0]])
    for want, got in zip(graph.eval(x=data, s=s), mx.sym.load_json(graph.tojson()).eval(x=data,
                                                                                      s=s)):
        np.testing.assert_array_equal(got.asnumpy(), want.asnumpy())

    class Scan(gluon.HybridBlock):
        def hybrid_forward(self, F, x, s):
            out, st = F.contrib.foreach(step, x, [s])
            return out, st[0]

    net = Scan()
    net.hybridize()
    want = net(data, s)
    net.export(str(tmp_path / "scan"))
    loaded = gluon.SymbolBlock.imports(str(tmp_path / "scan-symbol.json"), ["data0", "data1"],
                                       str(tmp_path / "scan-0000.params"))
    for w, g in zip(want, loaded(data, s)):
        np.testing.assert_array_equal(g.asnumpy(), w.asnumpy())


def test_unrolled_while_loop_keeps_nested_loop_vars():
    """MXNet's loop_vars may nest lists; the unrolled loop selects each array and keeps the
    structure, as the eager loop does."""
    class Loop(gluon.HybridBlock):
        def hybrid_forward(self, F, x):
            return F.contrib.while_loop(lambda a, b: (a < 4).prod(),
                                        lambda a, b: (a, [a + 1, [b[0] * 2]]), [x, [x + 1]],
                                        max_iterations=6)

    eager, hybrid = Loop(), Loop()
    hybrid.hybridize()
    x = _nd([1.0, 2.0])
    (out_e, (a_e, (b_e,))), (out_h, (a_h, (b_h,))) = eager(x), hybrid(x)
    np.testing.assert_array_equal(a_h.asnumpy(), [3.0, 4.0])        # two steps
    np.testing.assert_array_equal(b_h.asnumpy(), [8.0, 12.0])
    for e, h in ((out_e, out_h), (a_e, a_h), (b_e, b_h)):
        np.testing.assert_array_equal(h.asnumpy(), e.asnumpy())
