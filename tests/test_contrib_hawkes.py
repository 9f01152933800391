"""MXNet 1.x's ``contrib.hawkesll`` (``mxplug/ops/contrib_hawkes.py``): MXNet 1.9.1's log
likelihoods, memories and gradients (``tests/data/mxnet-1.9.1/hawkes.npz``, made by
``make_hawkes.py`` there) on every backend, hand-worked cases, gradients against finite
differences, the ragged layout, the errors, and the Symbol and Gluon front ends. The generic
suites check the op samples against ``tests/references/contrib_hawkes.py``."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd, gluon

_FIXTURE = os.path.join(os.path.dirname(__file__), "data", "mxnet-1.9.1", "hawkes.npz")
_NAMES = ("lda", "alpha", "beta", "state", "lags", "marks", "valid_length", "max_time")


def _fixture_cases():
    z = np.load(_FIXTURE)
    k = 0
    while f"{k}/head" in z:
        case = {key.split("/")[1]: z[key] for key in z.files if key.startswith(f"{k}/")}
        yield pytest.param(case, id=f"{k}-{case['in0'].dtype}-{case['in0'].shape}")
        k += 1


def _nd(arrays, ctx):
    return [mx.nd.array(a, ctx=ctx, dtype=a.dtype) for a in arrays]


@pytest.mark.parametrize("case", list(_fixture_cases()))
def test_mxnet_1_9_1_outputs_and_gradients(ctx, case):
    inputs = _nd([case[f"in{i}"] for i in range(8)], ctx)
    for a in inputs[:3]:
        a.attach_grad()
    with autograd.record():
        loglike, out_state = mx.nd.contrib.hawkesll(*inputs)
    loglike.backward(mx.nd.array(case["head"], ctx=ctx, dtype=case["head"].dtype))
    # float64: MXNet's kernel rounds exp and log to float32 (expf, logf); mxplug does not
    tol = dict(rtol=1e-5, atol=2e-6)
    for got, want in ((loglike, case["out0"]), (out_state, case["out1"])):
        assert got.context == ctx and got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got.asnumpy(), want, **tol)
    for i in range(3):
        assert inputs[i].grad.dtype == case[f"grad{i}"].dtype
        np.testing.assert_allclose(inputs[i].grad.asnumpy(), case[f"grad{i}"], **tol,
                                   err_msg=f"gradient of {_NAMES[i]}")


def test_the_fixture_covers_ragged_rows_states_and_dtypes():
    cases = [p.values[0] for p in _fixture_cases()]
    assert len(cases) >= 6
    assert {c["in0"].dtype.name for c in cases} == {"float32", "float64"}
    assert any(c["in0"].shape[1] == 1 for c in cases) and any(c["in0"].shape[1] >= 3
                                                                for c in cases)
    assert any(np.any(c["in6"] % 1) for c in cases)  # fractional valid lengths
    assert any(np.any(c["in6"] < c["in4"].shape[1]) for c in cases)
    assert any(np.all(c["in3"] == 0) for c in cases) and any(np.any(c["in3"] > 0) for c in cases)


def _single_mark(ctx, dtype="float64", state=0.0):
    """One mark, points at t = 1 and 3 (a third one past valid_length), observed on (0, 5]."""
    return _nd([np.array([[1.5]], dtype), np.array([0.4], dtype), np.array([2.0], dtype),
                np.array([[state]], dtype), np.array([[1.0, 2.0, 9.0]], dtype),
                np.zeros((1, 3), np.int32), np.array([2.0], dtype), np.array([5.0], dtype)], ctx)


@pytest.mark.parametrize("state", [0.0, 0.7])
def test_a_hand_worked_likelihood(ctx, state):
    mu, a, b, s0 = 1.5, 0.4, 2.0, state
    lam1 = mu + a * b * s0 * math.exp(-b * 1)
    lam2 = mu + a * b * (s0 * math.exp(-b * 3) + math.exp(-b * 2))
    compensator = mu * 5 + a * (s0 * (1 - math.exp(-b * 5)) + (1 - math.exp(-b * 4))
                                + (1 - math.exp(-b * 2)))
    memory = s0 * math.exp(-b * 5) + math.exp(-b * 4) + math.exp(-b * 2)
    loglike, out_state = mx.nd.contrib.hawkesll(*_single_mark(ctx, state=state))
    np.testing.assert_allclose(loglike.asnumpy(), [math.log(lam1) + math.log(lam2)
                                                   - compensator], rtol=1e-12)
    np.testing.assert_allclose(out_state.asnumpy(), [[memory]], rtol=1e-12)


def test_marks_are_independent_processes(ctx):
    """Two marks in one row: the sum of the two one-mark likelihoods (each with its own
    parameters, over the same period)."""
    rng = np.random.default_rng(5)
    lags = rng.uniform(0.1, 1.0, (1, 8))
    marks = np.array([[0, 1, 1, 0, 1, 0, 0, 1]], np.int32)
    lda, alpha, beta = rng.uniform(0.5, 2, (1, 2)), np.array([0.3, 0.6]), np.array([1.0, 2.5])
    state, vl, mt = rng.uniform(0, 1, (1, 2)), np.array([8.0]), np.array([lags.sum() + 1])
    both, both_state = mx.nd.contrib.hawkesll(*_nd([lda, alpha, beta, state, lags, marks, vl,
                                                    mt], ctx))
    times = np.cumsum(lags[0])
    total = 0.0
    for k in range(2):
        mine = times[marks[0] == k]
        own_lags = np.diff(np.concatenate([[0.0], mine]))[None]
        ll, st = mx.nd.contrib.hawkesll(*_nd([lda[:, k:k + 1], alpha[k:k + 1], beta[k:k + 1],
                                              state[:, k:k + 1], own_lags,
                                              np.zeros(own_lags.shape, np.int32),
                                              np.array([float(len(mine))]), mt], ctx))
        total += float(ll.asnumpy()[0])
        np.testing.assert_allclose(both_state.asnumpy()[:, k], st.asnumpy()[:, 0], rtol=1e-12)
    np.testing.assert_allclose(both.asnumpy(), [total], rtol=1e-12)


def _random_case(rng, n=3, t=7, k=3, dtype="float64"):
    lags = rng.uniform(0.05, 1.5, (n, t))
    vl = rng.integers(0, t + 1, n).astype(float)
    vl[0] = t
    last = np.array([lags[i, :int(vl[i])].sum() for i in range(n)])
    ins = [rng.uniform(0.3, 2, (n, k)), rng.uniform(0.1, 0.9, k), rng.uniform(0.3, 3, k),
           rng.uniform(0, 1.5, (n, k)), lags, rng.integers(0, k, (n, t)).astype(np.int32), vl,
           last + rng.uniform(0.1, 3, n)]
    return [x.astype(dtype) if x.dtype.kind == "f" else x for x in ins]


def test_ragged_padding_and_batching_do_not_matter(ctx):
    rng = np.random.default_rng(11)
    ins = _random_case(rng)
    ins[6][:] = [7, 4, 2]
    ll, st = (o.asnumpy() for o in mx.nd.contrib.hawkesll(*_nd(ins, ctx)))
    padded = [x.copy() for x in ins]
    padded[4][1, 4:] = 100.0  # past valid_length: other lags and marks change nothing
    padded[5][2, 2:] = (padded[5][2, 2:] + 1) % 3
    ll2, st2 = (o.asnumpy() for o in mx.nd.contrib.hawkesll(*_nd(padded, ctx)))
    np.testing.assert_array_equal(ll, ll2)
    np.testing.assert_array_equal(st, st2)
    for i in range(3):  # each row alone gives its row of the batch
        row = [x[i:i + 1] if x.ndim == 2 or name in ("valid_length", "max_time") else x
               for x, name in zip(ins, _NAMES)]
        r_ll, r_st = (o.asnumpy() for o in mx.nd.contrib.hawkesll(*_nd(row, ctx)))
        np.testing.assert_allclose(r_ll, ll[i:i + 1], rtol=1e-13)
        np.testing.assert_allclose(r_st, st[i:i + 1], rtol=1e-13)
    # fractional lengths count the point they reach into, as MXNet's j < valid_length
    frac = [x.copy() for x in ins]
    frac[6][:] = [6.5, 3.5, 1.5]
    np.testing.assert_array_equal(mx.nd.contrib.hawkesll(*_nd(frac, ctx))[0].asnumpy(), ll)


def _loss(ins, w_ll, w_state):
    with mx.cpu():
        ll, st = mx.nd.contrib.hawkesll(*_nd(ins, mx.cpu()))
    return float(np.sum(ll.asnumpy() * w_ll) + np.sum(st.asnumpy() * w_state))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradients_match_finite_differences(ctx, seed):
    rng = np.random.default_rng(seed)
    ins = _random_case(rng, n=2 + seed, t=4 + 2 * seed, k=1 + seed)
    w_ll = rng.uniform(-1, 1, ins[0].shape[0])
    w_state = rng.uniform(-1, 1, ins[0].shape) * (seed != 0)  # seed 0: loglike alone
    args = _nd(ins, ctx)
    for a in args[:4]:
        a.attach_grad()
    with autograd.record():
        ll, st = mx.nd.contrib.hawkesll(*args)
    autograd.backward([ll, st], [mx.nd.array(w_ll, ctx=ctx), mx.nd.array(w_state, ctx=ctx)])
    eps = 1e-6
    for i in range(3):
        numeric = np.zeros(ins[i].shape)
        for idx in np.ndindex(*ins[i].shape):
            up, down = [x.copy() for x in ins], [x.copy() for x in ins]
            up[i][idx] += eps
            down[i][idx] -= eps
            numeric[idx] = (_loss(up, w_ll, w_state) - _loss(down, w_ll, w_state)) / (2 * eps)
        assert np.any(numeric != 0)
        np.testing.assert_allclose(args[i].grad.asnumpy(), numeric, rtol=1e-6, atol=1e-7,
                                   err_msg=f"gradient of {_NAMES[i]}")
    # as in MXNet, the starting state gets no gradient (zeros where one is attached)
    np.testing.assert_array_equal(args[3].grad.asnumpy(), np.zeros(ins[3].shape))


def test_out_state_gradient_reaches_beta_only(ctx):
    ins = _random_case(np.random.default_rng(3))
    args = _nd(ins, ctx)
    for a in args[:3]:
        a.attach_grad()
    with autograd.record():
        _, st = mx.nd.contrib.hawkesll(*args)
    st.backward()
    assert not np.any(args[0].grad.asnumpy()) and not np.any(args[1].grad.asnumpy())
    # d/dbeta of sum(out_state): the memory's decays, from the output itself
    beta = ins[2][0]
    eps = 1e-6
    up, down = [x.copy() for x in ins], [x.copy() for x in ins]
    up[2][0], down[2][0] = beta + eps, beta - eps
    zeros = np.zeros(ins[0].shape)
    numeric = (_loss(up, 0.0, zeros + 1) - _loss(down, 0.0, zeros + 1)) / (2 * eps)
    assert numeric < 0
    np.testing.assert_allclose(args[2].grad.asnumpy()[0], numeric, rtol=1e-6)


def test_the_sufficient_statistics_get_no_gradient(ctx):
    args = _single_mark(ctx, state=0.3)
    for k in (0, 4, 6, 7):
        args[k].attach_grad()
    with autograd.record():
        ll, _ = mx.nd.contrib.hawkesll(*args)
    ll.backward()
    assert float(args[0].grad.asnumpy()[0, 0]) == pytest.approx(
        1 / (1.5 + 0.8 * 0.3 * math.exp(-2)) + 1 / (1.5 + 0.8 * (0.3 * math.exp(-6) +
                                                                math.exp(-4))) - 5, rel=1e-12)
    for k in (4, 6, 7):
        assert not np.any(args[k].grad.asnumpy())


def test_dtypes(ctx):
    ins = _random_case(np.random.default_rng(4), dtype="float32")
    ll32, st32 = mx.nd.contrib.hawkesll(*_nd(ins, ctx))
    ll64, _ = mx.nd.contrib.hawkesll(*_nd([x.astype("float64") if x.dtype.kind == "f" else x
                                           for x in ins], ctx))
    assert ll32.dtype == st32.dtype == np.float32 and ll64.dtype == np.float64
    np.testing.assert_allclose(ll32.asnumpy(), ll64.asnumpy(), rtol=2e-6)
    float_marks = [x.astype("float32") if k == 5 else x for k, x in enumerate(ins)]
    np.testing.assert_array_equal(mx.nd.contrib.hawkesll(*_nd(float_marks, ctx))[0].asnumpy(),
                                  ll32.asnumpy())
    if "float16" in ctx.backend.dtypes:
        half = [x.astype("float16") if x.dtype.kind == "f" else x for x in ins]
        ll16, st16 = mx.nd.contrib.hawkesll(*_nd(half, ctx))
        assert ll16.dtype == st16.dtype == np.float16
        np.testing.assert_allclose(ll16.asnumpy(), ll64.asnumpy(), rtol=3e-3)


def _shapes(**change):
    shapes = dict(lda=(2, 3), alpha=(3,), beta=(3,), state=(2, 3), lags=(2, 4), marks=(2, 4),
                  valid_length=(2,), max_time=(2,))
    shapes.update(change)
    return [mx.nd.zeros(shapes[n], dtype="int32" if n == "marks" else "float32")
            for n in _NAMES]


@pytest.mark.parametrize("change,match", [
    (dict(lda=(3,)), r"hawkesll: Expect: lda of shape \(N, K\) / Actual: lda.shape=\(3,\)"),
    (dict(alpha=(2,)), r"alpha of shape \(3,\) .*K=3 from lda.*alpha.shape=\(2,\)"),
    (dict(state=(2, 2)), r"state of shape \(2, 3\).*state.shape=\(2, 2\)"),
    (dict(marks=(2, 5)), r"marks of shape \(2, 4\) .*T=4 from lags.*marks.shape=\(2, 5\)"),
    (dict(max_time=(3,)), r"max_time of shape \(2,\).*max_time.shape=\(3,\)"),
    (dict(lags=(4,)), r"lags of shape \(N, T\) / Actual: lags.shape=\(4,\)"),
])
def test_shape_errors_name_the_op_and_the_shapes(change, match):
    with pytest.raises(mx.base.MXNetError, match=match):
        mx.nd.contrib.hawkesll(*_shapes(**change))


def test_dtype_errors():
    args = _shapes()
    wrong = list(args)
    wrong[2] = args[2].astype("float64")
    with pytest.raises(mx.base.MXNetError, match=r"beta of lda's dtype float32 / Actual: "
                                                 r"beta.dtype=float64"):
        mx.nd.contrib.hawkesll(*wrong)
    ints = [a.astype("int32") for a in args]
    with pytest.raises(mx.base.MXNetError, match=r"hawkesll: Expect: a floating-point lda"):
        mx.nd.contrib.hawkesll(*ints)


def test_symbol_infers_binds_and_differentiates_like_ndarray():
    ins = _random_case(np.random.default_rng(6), dtype="float32")
    sym = mx.sym.contrib.hawkesll(*[mx.sym.var(n) for n in _NAMES], name="hk")
    assert sym.list_arguments() == list(_NAMES)
    assert sym.list_outputs() == ["hk_output", "hk_out_state"]
    _, outs, _ = sym.infer_shape(lda=(3, 3), lags=(3, 7), alpha=(3,), beta=(3,), state=(3, 3),
                                 marks=(3, 7), valid_length=(3,), max_time=(3,))
    assert outs == [(3,), (3, 3)]
    head = np.array([0.5, -1.0, 2.0], np.float32)
    ex = sym.bind(mx.cpu(), dict(zip(_NAMES, _nd(ins, mx.cpu()))),
                  args_grad={n: mx.nd.zeros(ins[i].shape) for i, n in enumerate(_NAMES[:3])},
                  grad_req={n: "write" if n in _NAMES[:3] else "null" for n in _NAMES})
    ll, st = ex.forward(is_train=True)
    ex.backward([mx.nd.array(head), mx.nd.zeros(st.shape)])
    args = _nd(ins, mx.cpu())
    for a in args[:3]:
        a.attach_grad()
    with autograd.record():
        want_ll, want_st = mx.nd.contrib.hawkesll(*args)
    want_ll.backward(mx.nd.array(head))
    np.testing.assert_allclose(ll.asnumpy(), want_ll.asnumpy(), rtol=1e-6)
    np.testing.assert_allclose(st.asnumpy(), want_st.asnumpy(), rtol=1e-6)
    for i, n in enumerate(_NAMES[:3]):
        np.testing.assert_allclose(ex.grad_dict[n].asnumpy(), args[i].grad.asnumpy(),
                                   rtol=1e-6, atol=1e-7)


class _HawkesNet(gluon.HybridBlock):
    """Learned per-mark intensities, branching ratios and decays (positive through exp)."""

    def __init__(self, k, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.log_mu = self.params.get("log_mu", shape=(1, k), init=mx.init.Constant(0.0))
            self.log_alpha = self.params.get("log_alpha", shape=(k,),
                                             init=mx.init.Constant(-1.0))
            self.log_beta = self.params.get("log_beta", shape=(k,), init=mx.init.Constant(0.0))

    def hybrid_forward(self, F, lags, marks, valid_length, max_time, state, log_mu, log_alpha,
                       log_beta):
        mu = F.broadcast_like(F.exp(log_mu), state)
        return F.contrib.hawkesll(mu, F.exp(log_alpha), F.exp(log_beta), state, lags, marks,
                                  valid_length, max_time)


def test_a_hybridized_block_fits_like_the_eager_one():
    ins = _random_case(np.random.default_rng(8), n=4, t=9, k=2, dtype="float32")
    data = _nd([ins[4], ins[5], ins[6], ins[7], np.zeros((4, 2), np.float32)], mx.cpu())
    results = []
    for hybridize in (False, True):
        net = _HawkesNet(2)
        net.initialize()
        if hybridize:
            net.hybridize()
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.02})
        history = []
        for _ in range(5):
            with autograd.record():
                ll, _ = net(*data)
                loss = -ll.sum()
            loss.backward()
            trainer.step(1)
            history.append(float(loss.asscalar()))
        results.append(history)
    assert results[1][-1] < results[1][0]  # the likelihood grows
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5)
