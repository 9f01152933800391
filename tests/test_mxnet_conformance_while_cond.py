"""Conformance with MXNet 1.9's test_contrib_control_flow.py: while_loop, cond and a
control-flow RNN.

Translations of MXNet 1.9's unit tests: see ``mxnet_conformance_helpers.py``."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import mxplug as mx
from mxplug.test_utils import (
    assert_almost_equal,
    default_context,
)

from .mxnet_conformance_helpers import as_list, seed_as_mxnet  # noqa: F401

# =================================================================================================
# test_contrib_control_flow.py
# =================================================================================================



class _WhileBlock(mx.gluon.HybridBlock):
    def __init__(self, cond, func, max_iterations):
        super().__init__()
        self.cond, self.func, self.max_iterations = cond, func, max_iterations

    def hybrid_forward(self, F, *loop_vars):
        return F.contrib.while_loop(cond=self.cond, func=self.func, loop_vars=loop_vars,
                                    max_iterations=self.max_iterations)


def _int64(v):
    return mx.nd.array([v], dtype="int64")


@pytest.mark.parametrize("hybridize", [False, True])
def test_while_loop_simple_forward(hybridize):
    """test_contrib_control_flow.py: test_while_loop_simple_forward.

    Hybridized, a loop is unrolled ``max_iterations`` times (docs/contrib.md), so the cases whose
    loop stops early (1.3, 2.1, 2.3) run with a ``max_iterations`` just above their length
    there; 1.2 and 2.2 keep MXNet's 1000 steps."""
    def run(cond, func, max_iterations, *values, short=None):
        model = _WhileBlock(cond, func, short if hybridize and short else max_iterations)
        if hybridize:
            model.hybridize()
        return model(*[_int64(v) for v in values])

    # Case 1.1: result should be sum([1, 2, 3 ... 100])
    _, result = run(lambda i, s: i <= 5, lambda i, s: (None, (i + 1, s + i)), 10, 1, 0)
    assert result[0].asscalar() == 6
    assert result[1].asscalar() == 15
    # Case 1.2: result should be sum([1, 2, 3 ... 1000])
    _, result = run(lambda i, s, true: true, lambda i, s, true: (None, (i + 1, s + i, true)),
                    1000, 1, 0, 1)
    assert result[0].asscalar() == 1001
    assert result[1].asscalar() == 500500
    assert result[2].asscalar() == 1
    # Case 1.3: result should be sum([])
    _, result = run(lambda i, s, false: false, lambda i, s, false: (None, (i + 1, s + i, false)),
                    1000, 1, 0, 0, short=3)
    assert result[0].asscalar() == 1
    assert result[1].asscalar() == 0
    assert result[2].asscalar() == 0
    # Case 2.1: result should be sum([1, 2, 3 ... 100])
    outputs, (result_i, result_s) = run(lambda i, s: i <= 100, lambda i, s: (i, (i + 1, s + i)),
                                        1000, 1, 0, short=103)
    assert all(outputs.asnumpy()[:100] == np.arange(1, 101).reshape(100, 1))
    assert result_i.asscalar() == 101
    assert result_s.asscalar() == 5050
    # Case 2.2: result should be sum([1, 2, 3 ... 1000])
    outputs, (result_i, result_s, _) = run(lambda i, s, true: true,
                                           lambda i, s, true: (i, (i + 1, s + i, true)),
                                           1000, 1, 0, 1)
    assert all(outputs.asnumpy() == np.arange(1, 1001).reshape(1000, 1))
    assert result_i.asscalar() == 1001
    assert result_s.asscalar() == 500500
    # Case 2.3: a corner case, in which loop body is never executed
    _, (result_i, result_s, _) = run(lambda i, s, false: false,
                                     lambda i, s, false: (i, (i + 1, s + i, false)),
                                     1000, 1, 0, 0, short=3)
    assert result_i.asscalar() == 1
    assert result_s.asscalar() == 0


def _verify_while_loop(cond, func, loop_var_shapes, free_var_shapes, is_train, max_iterations,
                       is_for, n_steps):
    """test_contrib_control_flow.py's _verify_while_loop: imperative against symbolic."""
    def uniform(shape):
        return mx.nd.random.uniform(-1.0, 1.0, shape=shape)

    args = {f"FreeVar{i}": uniform(s) for i, s in enumerate(free_var_shapes)}
    args.update({f"LoopVar{i}": uniform(s) for i, s in enumerate(loop_var_shapes)})
    if is_for:
        assert loop_var_shapes[0] == (1,)
        args["LoopVar0"] = mx.nd.array([0])
    start = int(is_for)
    free_names = [f"FreeVar{i}" for i in range(len(free_var_shapes))]
    loop_names = [f"LoopVar{i}" for i in range(len(loop_var_shapes))]
    grad_names = free_names + loop_names[start:]

    # imperative
    free_vars = [args[n].copy() for n in free_names]
    loop_vars = [args[n].copy() for n in loop_names]
    if is_train:
        for var in free_vars + loop_vars[start:]:
            var.attach_grad()
    with mx.autograd.record(train_mode=is_train):
        outputs, final_loop_vars = mx.nd.contrib.while_loop(
            cond=lambda *v: cond(v, free_vars), func=lambda *v: func(v, free_vars),
            loop_vars=loop_vars, max_iterations=max_iterations)
        outputs = [x[:n_steps] for x in as_list(outputs)]
        final_loop_vars = as_list(final_loop_vars)
        out_grads = [uniform(x.shape) for x in outputs + final_loop_vars]
        imp_outs = [x * 2 for x in outputs] + [x * 3 for x in final_loop_vars]
        imp_grads = []
        if is_train:
            cat_out = mx.nd.concat(*[x.reshape(-1) for x in imp_outs], dim=0)
            cat_out.backward(out_grad=mx.nd.concat(*[x.reshape(-1) for x in out_grads], dim=0))
            imp_grads = [v.grad for v in free_vars + loop_vars[start:]]

    # symbolic
    free_syms = [mx.sym.var(n) for n in free_names]
    loop_syms = [mx.sym.var(n) for n in loop_names]
    outputs, final_loop_syms = mx.sym.contrib.while_loop(
        cond=lambda *v: cond(v, free_syms), func=lambda *v: func(v, free_syms),
        loop_vars=loop_syms, max_iterations=max_iterations)
    outputs = [] if n_steps == 0 else \
        [x.slice_axis(axis=0, begin=0, end=n_steps) for x in as_list(outputs)]
    result = mx.sym.Group([x * 2 for x in outputs] + [x * 3 for x in as_list(final_loop_syms)])
    args_grad = {n: mx.nd.zeros_like(args[n]) for n in grad_names} if is_train else None
    executor = result.bind(ctx=default_context(),
                           args={n: args[n].copy() for n in result.list_inputs()},
                           args_grad=args_grad)
    sym_outs = executor.forward(is_train=is_train)
    sym_grads = []
    if is_train:
        executor.backward(out_grads=out_grads)
        sym_grads = [executor.grad_dict.get(n, None) for n in grad_names]
    for imp, sym in zip(imp_outs, sym_outs):
        assert_almost_equal(imp.asnumpy(), sym.asnumpy(), rtol=1e-3, atol=1e-3)
    for imp, sym in zip(imp_grads, sym_grads):
        if imp is not None and sym is not None:
            assert_almost_equal(imp.asnumpy(), sym.asnumpy(), rtol=1e-3, atol=1e-3)


def _for_cond(length):
    return lambda loop_vars, _: loop_vars[0] < length


def test_while_loop_for_foreach():
    """test_contrib_control_flow.py: test_while_loop_for_foreach (cases 0-6).

    A representative subset of each case's step functions (MXNet runs 12-19 per case, each with
    and without training; binding each unrolled graph takes a while here), and
    ``max_iterations`` a few steps above the loop's length instead of 1000: an unrolled
    ``while_loop`` holds ``max_iterations`` copies of its step (docs/contrib.md), and the results
    do not depend on it once the loop has stopped."""
    def true_cond(loop_vars, _):
        return (loop_vars[0] < 1e35).prod()

    def false_cond(loop_vars, _):
        return (loop_vars[0] > 1e35).prod()

    # case 0: all loop steps independent, it scans the array and outputs itself
    def simple_func(loop, free):
        (i,), (scanned,) = loop, free
        return scanned.take(i).squeeze(axis=0), i + 1
    _verify_while_loop(true_cond, simple_func, [(1,)], [(1, 3)], True, 1, True, 1)

    # case 1: a cumulative sum; one output, one state
    step_funcs = [lambda a, b, s: s, lambda a, b, s: a * 2.5 * b + s * 0.3]

    def case_1_func(step_func):
        def step(loop, free):
            (s,), (a, b) = loop, free
            out = step_func(a, b, s)
            return out, out
        return step

    for is_train, step_func in itertools.product([True, False], step_funcs):
        for cond, shape, max_iterations, n_steps in [(true_cond, (1,), 5, 5),
                                                     (true_cond, (2, 3, 4), 3, 3),
                                                     (false_cond, (2, 3, 4), 20, 0)]:
            _verify_while_loop(cond, case_1_func(step_func), [shape], [shape, shape], is_train,
                               max_iterations, False, n_steps)

    # case 2: non-differentiable operators; two states i, s
    def case_2_func(step_func):
        def step(loop, free):
            (i, s), (scanned, f_1, _) = loop, free
            out = step_func(scanned.take(i).squeeze(axis=0), s, f_1)
            return out, (i + 1, out)
        return step

    for is_train in [True, False]:
        step_func = lambda in_, s, f_1: (in_ * 2) * s * f_1   # noqa: E731
        for length, rows in [(5, 100), (3, 30)]:
            _verify_while_loop(_for_cond(length), case_2_func(step_func), [(1,), (2,)],
                               [(rows, 2), (2,), (3, 4, 5, 6)], is_train, length + 2, True,
                               length)

    # cases 3-6: several outputs and states, slicing from both ends
    funcs5 = [lambda i_0, i_1, s_0, s_1, f_0: i_0 * (i_1 * 2) * s_0 * (s_1 * 2) * f_0,
              lambda i_0, i_1, s_0, s_1, f_0: i_1]

    def case_3_func(step_func, length):
        def step(loop, free):
            (i, s_0, s_1), (sc_0, sc_1, f_0, _) = loop, free
            i_0 = sc_0.take(i).squeeze(axis=0)
            i_1 = sc_1.take(length - 1 - i).squeeze(axis=0)
            out = step_func(i_0, i_1, s_0, s_1, f_0)
            return [out, out * 1.5], [i + 1, (s_0 + out) * 1.05, (s_1 - out * 0.5) * 0.95]
        return step

    def case_4_func(step_func, length, single_shape, with_outputs):
        def step(loop, free):
            (i, s_0, s_1, s_2), (sc_0, sc_1, f_0, _) = loop, free
            i_0 = sc_0.take(i).squeeze(axis=0)
            i_1 = sc_1.take(length - 1 - i).squeeze(axis=0)
            out = step_func(i_0, i_1, s_0, s_1, f_0)
            out = out * i.reshape([1] * len(single_shape)).broadcast_to(single_shape)
            out = out * i_0 * i_1
            states = [i + 1, (s_0 + out) * 1.05, (s_1 - out * 0.5) * 0.95, s_2]
            return ([out, f_0, out * 1.5] if with_outputs else []), states
        return step

    def case_6_func(step_func, length, single_shape):
        def step(loop, free):
            (i, s_0, s_1, s_2), (sc_0, sc_1, f_0, _) = loop, free
            F = mx.sym if isinstance(i, mx.sym.Symbol) else mx.nd
            i_0 = sc_0.take(i).squeeze(axis=0)
            i_1 = sc_1.take(length - 1 - i).squeeze(axis=0)
            scale = i.reshape([1] * len(single_shape)).broadcast_to(single_shape)
            out_0 = step_func(i_0, i_1, s_0, s_1, f_0) * scale
            out_1 = step_func(i_1, s_0, f_0, s_1, i_0) * scale
            return ([F.dot(out_0, s_2), f_0, F.dot(s_2, out_1) * 1.5],
                    [i + 1, (s_0 + out_1) * 1.05, (s_1 - out_0 * 0.5) * 0.95, s_2])
        return step

    unused = (3, 4, 5, 6)
    for is_train, step_func in zip([True, False], funcs5):
        _verify_while_loop(_for_cond(5), case_3_func(step_func, 5), [(1,), (2,), (2,)],
                           [(30, 2), (30, 2), (2,), unused], is_train, 7, True, 5)
        for with_outputs in (True, False):   # case 4.1 and case 5.1
            _verify_while_loop(_for_cond(4), case_4_func(step_func, 4, [5], with_outputs),
                               [(1,), (5,), (5,), (23, 6, 8)], [(30, 5), (30, 5), (5,), unused],
                               is_train, 6, True, 4)
        _verify_while_loop(_for_cond(5), case_4_func(step_func, 5, [5, 12], True),   # case 4.2
                           [(1,), (5, 12), (5, 12), (23, 6, 8)],
                           [(30, 5, 12), (30, 5, 12), (5, 12), unused], is_train, 7, True, 5)
        _verify_while_loop(_for_cond(5), case_6_func(step_func, 5, [5, 3]),
                           [(1,), (5, 3), (5, 3), (3, 5)], [(30, 5, 3), (30, 5, 3), (5, 3), unused],
                           is_train, 7, True, 5)


def test_while_loop_nested():
    """test_contrib_control_flow.py: test_while_loop_nested."""
    def uniform(shape):
        return mx.nd.random.uniform(-1.0, 1.0, shape=shape)

    def inner_cond(i, j, x_sum, sc):
        return j < 2

    def inner_body(i, j, x_sum, sc):
        x_ij = sc.take(j).squeeze(axis=0)
        return (x_ij, x_ij), (i, j + 1, x_sum, sc)

    def outer_cond(i, j, x_sum, sc):
        return i < 2

    def outer_body(i, j, x_sum, sc):
        F = mx.sym if isinstance(i, mx.sym.Symbol) else mx.nd
        (x_ij, x_ji), (i_p, j_p, x_sum_p, sc_p) = F.contrib.while_loop(
            cond=inner_cond, func=inner_body, loop_vars=(i, j, x_sum, sc), max_iterations=2)
        return (x_ij, x_ji), (i_p + 1, j_p - 2, x_sum_p, sc_p)

    def make_loop(i, j, x_sum, sc):
        F = mx.sym if isinstance(i, mx.sym.Symbol) else mx.nd
        (x_ij, x_ji), (new_i, new_j, x_sum_p, sc_p) = F.contrib.while_loop(
            cond=outer_cond, func=outer_body, loop_vars=(i, j, x_sum, sc), max_iterations=2)
        return new_i, new_j, x_sum_p, sc_p, x_ij, x_ji

    args = {"i": mx.nd.array([0]), "j": mx.nd.array([0]), "x_sum": uniform([5, 3]),
            "sc": uniform([10, 10, 5, 3])}
    args_grad = {"x_sum": uniform([5, 3]), "sc": uniform([10, 10, 5, 3])}
    out_grad = [uniform([1]), uniform([1]), uniform([5, 3]), uniform([10, 10, 5, 3]),
                uniform([2, 2, 10, 5, 3]), uniform([2, 2, 10, 5, 3])]

    def imperative(is_train):
        i, j, x_sum, sc = [args[x].copy() for x in ["i", "j", "x_sum", "sc"]]
        if is_train:
            x_sum.attach_grad()
            sc.attach_grad()
        with mx.autograd.record(train_mode=is_train):
            results = make_loop(i, j, x_sum, sc)
            cat_res = mx.nd.concat(*[x.reshape(-1) for x in results], dim=0)
        if not is_train:
            return [x.asnumpy() for x in results], []
        cat_grad = mx.nd.concat(*[x.reshape(-1) for x in out_grad], dim=0)
        assert cat_grad.shape == cat_res.shape
        cat_res.backward(out_grad=cat_grad)
        return [x.asnumpy() for x in results], [x_sum.grad.asnumpy(), sc.grad.asnumpy()]

    def symbolic(is_train):
        syms = [mx.sym.var(n) for n in ["i", "j", "x_sum", "sc"]]
        executor = mx.sym.Group(make_loop(*syms)).bind(
            ctx=default_context(), args={k: v.copy() for k, v in args.items()},
            args_grad={k: v.copy() for k, v in args_grad.items()})
        results = executor.forward(is_train=is_train)
        if not is_train:
            return [x.asnumpy() for x in results], []
        executor.backward(out_grads=out_grad)
        return [x.asnumpy() for x in results], \
            [executor.grad_dict["x_sum"].asnumpy(), executor.grad_dict["sc"].asnumpy()]

    for is_train in [True, False]:
        imp_out, imp_grad = imperative(is_train)
        sym_out, sym_grad = symbolic(is_train)
        assert len(imp_out) == len(sym_out)
        assert len(imp_grad) == len(sym_grad)
        for x, y in zip(imp_out + imp_grad, sym_out + sym_grad):
            assert_almost_equal(x, y, rtol=1e-3, atol=1e-3)


def _verify_cond(cond_func, then_func, else_func, input_var_shapes, free_var_shapes, is_train):
    """test_contrib_control_flow.py's _verify_cond: imperative against symbolic."""
    def uniform(shape):
        return mx.nd.random.uniform(-1.0, 1.0, shape=shape)

    input_syms = [mx.sym.var(f"InputVar{i}") for i in range(len(input_var_shapes))]
    free_syms = [mx.sym.var(f"FreeVar{i}") for i in range(len(free_var_shapes))]
    input_vars = [uniform(x) for x in input_var_shapes]
    free_vars = [uniform(x) for x in free_var_shapes]
    args = {f"InputVar{i}": x for i, x in enumerate(input_vars)}
    args.update({f"FreeVar{i}": x for i, x in enumerate(free_vars)})

    # imperative
    frees, inputs = [x.copy() for x in free_vars], [x.copy() for x in input_vars]
    out_grads, imp_grads = [], []
    if is_train:
        for var in frees + inputs:
            var.attach_grad()
    with mx.autograd.record(train_mode=is_train):
        outputs = mx.nd.contrib.cond(pred=cond_func(inputs, frees),
                                     then_func=lambda: then_func(inputs, frees),
                                     else_func=lambda: else_func(inputs, frees))
        imp_outs = [x * 2 for x in as_list(outputs)]
        if is_train:
            out_grads = [uniform(x.shape) for x in imp_outs]
            cat_out = mx.nd.concat(*[x.reshape(-1) for x in imp_outs], dim=0)
            cat_out.backward(out_grad=mx.nd.concat(*[x.reshape(-1) for x in out_grads], dim=0))
            imp_grads = [x.grad for x in frees + inputs]

    # symbolic
    outputs_sym = mx.sym.contrib.cond(pred=cond_func(input_syms, free_syms),
                                      then_func=lambda: then_func(input_syms, free_syms),
                                      else_func=lambda: else_func(input_syms, free_syms))
    outputs_sym = mx.sym.Group([x * 2 for x in as_list(outputs_sym)])
    grad_names = [f"FreeVar{i}" for i in range(len(free_var_shapes))] + \
        [f"InputVar{i}" for i in range(len(input_var_shapes))]
    args_grad = {n: mx.nd.zeros(args[n].shape) for n in grad_names} if is_train else None
    executor = outputs_sym.bind(ctx=default_context(),
                                args={n: args[n].copy() for n in outputs_sym.list_inputs()},
                                args_grad=args_grad)
    sym_outs = executor.forward(is_train=is_train)
    sym_grads = []
    if is_train:
        executor.backward(out_grads=out_grads)
        sym_grads = [executor.grad_dict.get(n, None) for n in grad_names]
    for imp, sym in zip(imp_outs, sym_outs):
        assert_almost_equal(imp.asnumpy(), sym.asnumpy(), rtol=1e-3, atol=1e-3)
    for imp, sym in zip(imp_grads, sym_grads):
        if imp is not None and sym is not None:
            assert_almost_equal(imp.asnumpy(), sym.asnumpy(), rtol=1e-3, atol=1e-3)


def test_cond():
    """test_contrib_control_flow.py: test_cond.

    Every condition with every body as then_func and a rotating else_func: 45 of MXNet's 405
    (condition, then, else) combinations (each binds a graph, which takes a while here)."""
    cond_funcs = [
        lambda a, b, c, d, e, f: (a * b).sum() < 0.5,
        lambda a, b, c, d, e, f: (a + b + c).sum() < 0.5,
        lambda a, b, c, d, e, f: (d + e).sum() < 0.5,
        lambda a, b, c, d, e, f: (d + e * a).sum() < 0.5,
        lambda a, b, c, d, e, f: (d + e * a + b * c).sum() < 0.5,
    ]
    body_funcs = [
        lambda a, b, c, d, e, f: a * b,
        lambda a, b, c, d, e, f: a * b * c,
        lambda a, b, c, d, e, f: d * e,
        lambda a, b, c, d, e, f: d * e * a,
        lambda a, b, c, d, e, f: d * e * a * b * c,
        lambda a, b, c, d, e, f: b * c,
        lambda a, b, c, d, e, f: a * c,
        lambda a, b, c, d, e, f: (a + b) * c,
        lambda a, b, c, d, e, f: c * (b - a),
    ]
    shapes = [(2, 3), (2, 3), (2, 3)]
    for (k, cond_func), j in itertools.product(enumerate(cond_funcs), range(9)):
        then_func, else_func = body_funcs[j], body_funcs[(j + k + 1) % 9]
        for is_train, is_inverse in itertools.product([True, False], [False, True]):
            def cond(x, y, cond_func=cond_func, is_inverse=is_inverse):
                p = cond_func(x[0], x[1], x[2], y[0], y[1], y[2])
                if not is_inverse:
                    return p
                return mx.sym.logical_not(p) if isinstance(p, mx.sym.Symbol) else \
                    mx.nd.logical_not(p)
            _verify_cond(cond,
                         lambda x, y, f=then_func: f(x[0], x[1], x[2], y[0], y[1], y[2]),
                         lambda x, y, f=else_func: f(x[0], x[1], x[2], y[0], y[1], y[2]),
                         shapes, shapes, is_train)


class _RNNLayer(mx.gluon.HybridBlock):
    def __init__(self, cell_type, hidden_size):
        super().__init__()
        self.cell = cell_type(hidden_size, prefix="rnn_")   # MXNet 1.x: fixed param names

    def hybrid_forward(self, F, inputs, states):
        out, states = F.contrib.foreach(self.cell, inputs, states)
        return out


@pytest.mark.parametrize("cell_type,num_states", [("RNNCell", 1), ("LSTMCell", 2),
                                                  ("GRUCell", 1)])
def test_contrib_rnn(cell_type, num_states):
    """test_contrib_control_flow.py: test_contrib_rnn (check_contrib_rnn)."""
    cell_type = getattr(mx.gluon.rnn, cell_type)
    batch_size, hidden_size = 10, 100
    rnn_data = mx.nd.normal(loc=0, scale=1, shape=(5, batch_size, 50))
    states = [mx.nd.normal(loc=0, scale=1, shape=(batch_size, hidden_size))
              for _ in range(num_states)]
    layer = _RNNLayer(cell_type, hidden_size)
    layer.initialize(ctx=default_context())
    res1 = layer(rnn_data, states)
    params1 = layer.collect_params()
    orig_params1 = {k: v.data().copy() for k, v in params1.items()}
    trainer = mx.gluon.Trainer(params1, "sgd", {"learning_rate": 0.03})
    with mx.autograd.record():
        res1 = layer(rnn_data, states)
    res1.backward()
    trainer.step(batch_size)

    configs = [{}, {"inline_limit": 0}, {"static_alloc": True},
               {"static_alloc": True, "static_shape": True}]
    for config in configs:
        layer = _RNNLayer(cell_type, hidden_size)
        layer.initialize(ctx=default_context())
        layer.hybridize(**config)
        layer(rnn_data, states)
        params2 = layer.collect_params()
        for key, val in orig_params1.items():
            params2[key].set_data(val.copy())
        trainer = mx.gluon.Trainer(params2, "sgd", {"learning_rate": 0.03})
        with mx.autograd.record():
            res2 = layer(rnn_data, states)
        assert_almost_equal(res1.asnumpy(), res2.asnumpy(), rtol=1e-3, atol=1e-3)
        res2.backward()
        trainer.step(batch_size)
        for key, val in params1.items():
            assert_almost_equal(val.data().asnumpy(), params2[key].data().asnumpy(),
                                rtol=1e-3, atol=1e-3)
