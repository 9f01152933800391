"""Conformance with MXNet 1.9's test_contrib_control_flow.py: foreach, and the Gluon blocks
built on foreach, while_loop and cond (cut subgraphs, names, output formats).

Translations of MXNet 1.9's unit tests: see ``mxnet_conformance_helpers.py``."""

from __future__ import annotations

import itertools

import pytest

import mxplug as mx
from mxplug.base import MXNetError
from mxplug.test_utils import (
    assert_almost_equal,
    default_context,
)

from .mxnet_conformance_helpers import as_list, seed_as_mxnet  # noqa: F401


def _verify_foreach(step, in_syms, state_syms, free_syms, in_arrs, init_states, frees, out_grads,
                    is_train=True, free_vars_func=None, num_iters=1):
    """test_contrib_control_flow.py: test_foreach's verify_foreach.

    mxplug unrolls a symbolic foreach, so the iterated variables need a known length: they are
    declared again with their arrays' shapes (docs/contrib.md); MXNet infers it at bind time."""
    in_syms = [mx.sym.var(s.name, shape=a.shape) for s, a in zip(as_list(in_syms),
                                                                  as_list(in_arrs))]
    in_syms = in_syms if isinstance(in_arrs, list) else in_syms[0]
    res, states = mx.sym.contrib.foreach(lambda i, s: step(i, s, free_syms), in_syms, state_syms)
    out = [x * 2 for x in as_list(res)]
    out.extend(states)
    out = mx.sym.Group(out)
    js_1 = out.tojson()
    out = mx.sym.load_json(js_1)
    js_2 = out.tojson()
    assert js_1 == js_2
    arg_dict, arg_grad_dict = {}, {}
    for i, arr in enumerate(as_list(in_arrs) + init_states + frees):
        arg_dict[f"v{i}"] = arr
        arg_grad_dict[f"v{i}"] = mx.nd.empty(arr.shape)
    if is_train:
        e = out.bind(ctx=default_context(), args=arg_dict, args_grad=arg_grad_dict)
    else:
        e = out.bind(ctx=default_context(), args=arg_dict)
    # the inputs to forward and backward are the same, so they should always give the same
    for _ in range(num_iters):
        e.forward(is_train=is_train)
        if is_train:
            e.backward(out_grads[0][:] + out_grads[1])

    # imperative foreach and its gradients
    for arr in as_list(in_arrs) + init_states + frees:
        arr.attach_grad()
    with mx.autograd.record():
        frees_imp = frees if free_vars_func is None else free_vars_func(frees)
        res, states = mx.nd.contrib.foreach(lambda i, s: step(i, s, frees_imp), in_arrs,
                                            init_states)
        res2 = [x * 2 for x in as_list(res)]
        outs = res2[:]
        if isinstance(states, list):
            outs.extend(states)
            res2.extend([mx.nd.expand_dims(s, 0) for s in states])
        else:
            outs.append(states)
            res2.append(mx.nd.expand_dims(states, 0))
        if is_train:
            res = mx.nd.concat(*res2, dim=0)
    if is_train:
        tmp_grads = out_grads[0][:] + [mx.nd.expand_dims(g, 0) for g in out_grads[1]]
        res.backward(mx.nd.concat(*tmp_grads, dim=0))
    for i, o in enumerate(outs):
        assert e.outputs[i].shape == o.shape
        assert_almost_equal(e.outputs[i].asnumpy(), o.asnumpy(), rtol=1e-3, atol=1e-3)
    if is_train:
        # MXNet compares with e.grad_arrays[i]: its _foreach node lists data, states and free
        # variables in that order. The unrolled graph lists its arguments in the order of first
        # use (docs/contrib.md), so the gradients are compared by name.
        all_ins = as_list(in_arrs) + init_states + frees
        for i, arr in enumerate(all_ins):
            if f"v{i}" in e.grad_dict:
                assert_almost_equal(arr.grad.asnumpy(), e.grad_dict[f"v{i}"].asnumpy(),
                                    rtol=1e-3, atol=1e-3)


def _uniform(*shape):
    return mx.nd.random.uniform(shape=shape)


def _grads(*shapes):
    return [mx.nd.random.uniform(-10, 10, s) for s in shapes]


def test_foreach():
    """test_contrib_control_flow.py: test_foreach (steps 1-17)."""
    v3, v4, v5, v6, v7, v8 = [mx.sym.var(f"v{i}") for i in range(6)]

    # graph inputs in different orders, odd or even iterations, inference
    def step1(in1, states, free):
        out = in1 * 2 + states[0] + free[0]
        return out, [out]
    frees1 = [mx.nd.arange(2), mx.nd.arange(2) + 1]
    arrs = mx.nd.arange(6).reshape(shape=(3, 2))
    states = [mx.nd.arange(2)]
    out_grads = [_grads(arrs.shape), _grads(states[0].shape)]
    for is_train, num_iters in itertools.product([True, False], [1, 5]):
        _verify_foreach(step1, v3, [v4], [v5 + v6], arrs, states, frees1, out_grads, is_train,
                        lambda frees: [frees[0] + frees[1]], num_iters)
    frees = [_uniform(2)]
    for n in (2, 3):
        arrs = _uniform(n, 2)
        out_grads = [_grads(arrs.shape), _grads(states[0].shape)]
        _verify_foreach(step1, v3, [v4], [v5], arrs, states, frees, out_grads)
        _verify_foreach(step1, v3, [v4], [v5], arrs, states, frees, out_grads, False)

    # reorder the input and state in the subgraph inputs
    def step2(in1, states, free):
        out = states[0] + in1 * 2 + free[0]
        return out, [out]
    for n in (2, 3):
        arrs = _uniform(n, 2)
        out_grads = [_grads(arrs.shape), _grads(states[0].shape)]
        _verify_foreach(step2, v3, [v4], [v5], arrs, states, frees, out_grads)
        _verify_foreach(step2, v3, [v4], [v5], arrs, states, frees, out_grads, False)

    # multiple inputs and outputs, in and out of order
    def step3(in1, states, free):
        out = in1[0] + in1[1] * 2 + states[0] + states[1] * 2 + free[0]
        return [out, out], [out * 2, out * 3]

    def step4(in1, states, free):
        out = in1[1] * 2 + states[0] + free[0] + states[1] * 2 + in1[0]
        return [out, out * 2], [out * 2, out * 3]
    for step in (step3, step4):
        arrs = [_uniform(3, 2), _uniform(3, 2)]
        states = [_uniform(2), _uniform(2)]
        out_grads = [_grads(arrs[0].shape, arrs[1].shape), _grads(states[0].shape,
                                                                  states[1].shape)]
        _verify_foreach(step, [v3, v4], [v5, v6], [v7], arrs, states, frees, out_grads)
        _verify_foreach(step, [v3, v4], [v5, v6], [v7], arrs, states, frees, out_grads, False)

    # data inputs and states of different shapes, then also of different data types
    def step5(in1, states, free):
        F = mx.nd if isinstance(in1[0], mx.nd.NDArray) else mx.sym
        out1 = F.broadcast_add(states[0] + free[1], in1[1] * 2)
        out2 = F.broadcast_add(in1[0], free[0] + states[1] * 2)
        return [out1, out2 * 2], [states[0] * 2, states[1] * 3]
    frees = [_uniform(2), _uniform(2, 2)]
    arrs = [_uniform(3, 2, 2), _uniform(3, 2)]
    states = [_uniform(2, 2), _uniform(2)]
    out_grads = [_grads(arrs[0].shape, arrs[0].shape), _grads(states[0].shape, states[1].shape)]
    _verify_foreach(step5, [v3, v4], [v5, v6], [v7, v8], arrs, states, frees, out_grads, False)

    def step6(in1, states, free):
        F = mx.nd if isinstance(in1[0], mx.nd.NDArray) else mx.sym
        out1 = F.broadcast_add(states[0] + F.cast(free[1], "float32"),
                               F.cast(in1[1], "float32") * 2)
        out2 = F.broadcast_add(in1[0], free[0] + F.cast(states[1], "float32") * 2)
        return [out1, out2 * 2], [states[0] * 2, states[1] * 3]
    frees = [_uniform(2), mx.nd.cast(_uniform(2, 2), "float64")]
    arrs = [_uniform(3, 2, 2), mx.nd.cast(_uniform(3, 2), dtype="float16")]
    states = [_uniform(2, 2), mx.nd.cast(_uniform(2), dtype="int32")]
    out_grads = [_grads(arrs[0].shape, arrs[0].shape), _grads(states[0].shape, states[1].shape)]
    _verify_foreach(step6, [v3, v4], [v5, v6], [v7, v8], arrs, states, frees, out_grads, False)

    # some of the inputs are used twice
    def step7(in1, states, free):
        out1 = states[0] + in1[0] + free[1] + in1[1] * 2 + free[0]
        out2 = in1[0] + free[0] + states[1] * 2 + in1[1]
        return [out1, out2 * 2], [states[0] * 2, states[1] * 3]
    frees = [_uniform(2), _uniform(2)]
    arrs = [_uniform(3, 2), _uniform(3, 2)]
    states = [_uniform(2), _uniform(2)]
    out_grads = [_grads(arrs[0].shape, arrs[0].shape), _grads(states[0].shape, states[1].shape)]
    _verify_foreach(step7, [v3, v4], [v5, v6], [v7, v8], arrs, states, frees, out_grads, False)

    # the output is the input; not all inputs are used
    arrs = _uniform(3, 2)
    states = [mx.nd.arange(2)]
    frees = [_uniform(2)]
    out_grads = [_grads(arrs.shape), _grads(states[0].shape)]
    steps = [lambda in1, states, free: (in1, [states[0] * free[0]]),     # step8
             lambda in1, states, free: (in1 * free[0], states),          # step9
             lambda in1, states, free: (in1, states)]                    # step10
    for step in steps:
        _verify_foreach(step, v3, [v4], [v5], arrs, states, frees, out_grads)
        _verify_foreach(step, v3, [v4], [v5], arrs, states, frees, out_grads, False)
    # step11 and step12 ("the states have to be used"): MXNet tolerates an AssertionError.
    # step12 passes 2 out_grads for its 3 outputs, which mxplug's backward refuses with an
    # MXNetError naming the counts.
    try:
        _verify_foreach(lambda in1, states, free: (in1, free), v3, [v4], [v5], arrs, states,
                        frees, out_grads)
    except AssertionError:
        pass
    states = [_uniform(2), _uniform(2)]
    with pytest.raises(MXNetError, match="2 out_grads for 3 outputs"):
        _verify_foreach(lambda in1, states, free: (in1, [states[0] + 1, states[0] + 2]), v3,
                        [v4, v5], [], arrs, states, [], out_grads)

    # without free variables (step13)
    states = [_uniform(2)]
    for is_train in (True, False):
        _verify_foreach(lambda in1, states, free: (in1, states), v3, [v4], [], arrs, states, [],
                        out_grads, is_train)

    # without output data or output states (step14, step15)
    frees = [_uniform(2)]
    out_grads = [_grads(arrs.shape), []]
    for is_train in (True, False):
        _verify_foreach(lambda in1, states, free: (in1 + free[0], []), v3, [], [v4], arrs, [],
                        frees, out_grads, is_train)
    out_grads = [[], _grads(states[0].shape)]
    for is_train in (True, False):
        _verify_foreach(lambda in1, states, free: ([], [in1 * states[0] * free[0]]), v3, [v4],
                        [v5], arrs, states, frees, out_grads, is_train)

    # iterating on a 1D data array (step16, step17)
    states = [_uniform(1)]
    out_grads = [_grads((3, 1)), _grads((1,))]
    for is_train in (True, False):
        _verify_foreach(lambda in1, states, free: ([in1[0] * states[0]], [states[0] * 2]), [v3],
                        [v4], [], [mx.nd.arange(3)], states, [], out_grads, is_train)
        _verify_foreach(lambda in1, states, free: ([in1[1] * in1[0] * states[0]],
                                                   [states[0] * 2]),
                        [v3, v4], [v5], [], [_uniform(3, 1), mx.nd.arange(3)], states, [],
                        out_grads, is_train)


def test_foreach_nested():
    """test_contrib_control_flow.py: test_foreach_nested (the data variable declared with its
    shape: mxplug unrolls a symbolic foreach over a known length)."""
    def step_in(in1, states):
        out = in1 * 2 + states[0]
        return out, [out]

    def step_sym(in1, states):
        out1 = mx.sym.contrib.foreach(step_in, in1, states)
        out = mx.sym.broadcast_add(out1[0], states[0])
        return out, [mx.sym.squeeze(mx.sym.slice(out, begin=(0, 0), end=(1, 2)))]

    def step_nd(in1, states):
        out1 = mx.nd.contrib.foreach(step_in, in1, states)
        out = mx.nd.broadcast_add(out1[0], states[0])
        return out, [mx.nd.squeeze(mx.nd.slice(out, begin=(0, 0), end=(1, 2)))]

    data_sym, state_sym = mx.sym.var("v1", shape=(2, 2, 2)), mx.sym.var("v2")
    out, states = mx.sym.contrib.foreach(step_sym, data_sym, [state_sym])
    assert isinstance(states, list)
    assert len(states) == 1
    out = mx.sym.broadcast_add(out, states[0])
    js_1 = out.tojson()
    out = mx.sym.load_json(js_1)
    assert js_1 == out.tojson()

    data = mx.nd.arange(8).reshape((2, 2, 2))
    state = mx.nd.arange(2)
    data_grad, state_grad = mx.nd.empty(data.shape), mx.nd.empty(state.shape)
    e = out.bind(ctx=default_context(), args={"v1": data, "v2": state},
                 args_grad={"v1": data_grad, "v2": state_grad})
    e.forward(is_train=True)
    out_grads = [mx.nd.random.uniform(shape=o.shape) for o in e.outputs]
    e.backward(out_grads)

    data.attach_grad()
    state.attach_grad()
    with mx.autograd.record():
        out, states = mx.nd.contrib.foreach(step_nd, data, [state])
        assert isinstance(states, list)
        assert len(states) == 1
        res = mx.nd.broadcast_add(out, states[0])
    assert_almost_equal(res.asnumpy(), e.outputs[0].asnumpy(), rtol=1e-3, atol=1e-3)
    res.backward(out_grads[0])
    assert_almost_equal(data.grad.asnumpy(), data_grad.asnumpy(), rtol=1e-3, atol=1e-3)
    assert_almost_equal(state.grad.asnumpy(), state_grad.asnumpy(), rtol=1e-3, atol=1e-3)


def _eager_and_hybridized(block_type, *inputs, rtol=1e-3, atol=1e-3, **kwargs):
    """Run a fresh block eagerly and a fresh one hybridized, both under autograd too, and
    compare their results (the shape of MXNet's test_cut_subgraph_* and test_uniq_name)."""
    results = []
    for hybridize in (False, True):
        layer = block_type(**kwargs)
        layer.initialize(ctx=default_context())
        if hybridize:
            layer.hybridize()
        layer(*inputs)
        with mx.autograd.record():
            results.append(layer(*inputs))
    assert_almost_equal(results[0].asnumpy(), results[1].asnumpy(), rtol=rtol, atol=atol)


class _CutForeach(mx.gluon.HybridBlock):
    def hybrid_forward(self, F, inputs, states):
        def step1(data, states):
            return data + 1, states
        out1, states1 = F.contrib.foreach(step1, inputs, states)
        out2, states2 = F.contrib.foreach(step1, out1, states)

        def step2(data, states):
            return data + states[0], states1
        out, states = F.contrib.foreach(step2, out2, states)
        return out


def test_cut_subgraph_foreach():
    """test_contrib_control_flow.py: test_cut_subgraph_foreach."""
    data = mx.nd.normal(loc=0, scale=1, shape=(5, 10))
    states = mx.nd.normal(loc=0, scale=1, shape=(10))
    _eager_and_hybridized(_CutForeach, data, [states])


class _ForeachLayer1(mx.gluon.HybridBlock):
    def hybrid_forward(self, F, inputs, states):
        def step1(data, states):
            return data + 1, states
        out1, states1 = F.contrib.foreach(step1, inputs, states)
        # the input variables have the same symbol name
        out, states = F.contrib.foreach(step1, out1, states1)
        return out


class _ForeachLayer2(mx.gluon.HybridBlock):
    def hybrid_forward(self, F, inputs, states):
        def step1(data, states):
            return data + 1, states
        out1, states1 = F.contrib.foreach(step1, inputs, states)

        def step2(data, states):
            return data, [states[0] + states1[0] + F.squeeze(out1.slice_axis(axis=0, begin=0,
                                                                               end=1))]
        # the free variables have the same symbol names as the input variables
        out, states = F.contrib.foreach(step2, out1, states1)
        return out


class _WhileLayer1(mx.gluon.HybridBlock):
    def hybrid_forward(self, F, inputs, states):
        def cond(state1, state2):
            s = F.squeeze(state1.slice_axis(axis=0, begin=0, end=1))
            return s == s

        def step(state1, state2):
            return state1 + 1, [state1, state2]
        states = [states[0], states[0] + 1]
        out1, states1 = F.contrib.while_loop(cond, step, states, max_iterations=5)
        out, states = F.contrib.while_loop(cond, step, states1, max_iterations=5)
        return out


class _WhileLayer2(mx.gluon.HybridBlock):
    def hybrid_forward(self, F, inputs, states):
        def cond(state1, state2):
            s = F.squeeze(state1.slice_axis(axis=0, begin=0, end=1))
            return s == s

        def step1(state1, state2):
            return state1 + 1, [state1, state2]
        states = [states[0], states[0] + 1]
        out1, states1 = F.contrib.while_loop(cond, step1, states, max_iterations=5)

        def step2(state1, state2):
            return state1 + 1, [state1 + states1[0], state2 + states1[1]]
        out, states = F.contrib.while_loop(cond, step2, states1, max_iterations=5)
        return out


@pytest.mark.parametrize("layer", [_ForeachLayer1, _ForeachLayer2, _WhileLayer1, _WhileLayer2])
def test_uniq_name(layer):
    """test_contrib_control_flow.py: test_uniq_name."""
    data = mx.nd.normal(loc=0, scale=1, shape=(2, 5))
    states = mx.nd.normal(loc=0, scale=1, shape=(5))
    _eager_and_hybridized(layer, data, [states], rtol=0.001, atol=0.0001)


class _CutWhile(mx.gluon.HybridBlock):
    def hybrid_forward(self, F, data):
        out1, data1 = F.contrib.while_loop(cond=lambda i: i <= 5, func=lambda i: (None, (i + 1,)),
                                           loop_vars=(data,), max_iterations=10)
        out2, data2 = F.contrib.while_loop(cond=lambda i: data1[0],
                                           func=lambda i: (None, (i + 1,)),
                                           loop_vars=data1[0], max_iterations=10)
        return data2[0]


class _CutCond(mx.gluon.HybridBlock):
    def hybrid_forward(self, F, data):
        data1 = F.contrib.cond(data > 0.5, then_func=lambda: data * 2,
                               else_func=lambda: data * 3)
        return F.contrib.cond(data1 > 0.5, then_func=lambda: data1 * 2,
                              else_func=lambda: data1 * 3)


@pytest.mark.parametrize("layer", [_CutWhile, _CutCond])
def test_cut_subgraph_while_loop_and_cond(layer):
    """test_contrib_control_flow.py: test_cut_subgraph_while_loop, test_cut_subgraph_cond."""
    _eager_and_hybridized(layer, mx.nd.normal(loc=0, scale=1, shape=(1,)))


def _compare_structures(out1, out2, state1=None, state2=None):
    for a, b in zip(as_list(out1), as_list(out2)):
        assert_almost_equal(a.asnumpy(), b.asnumpy(), rtol=0.001, atol=0.0001)
    for a, b in zip(as_list([] if state1 is None else state1),
                    as_list([] if state2 is None else state2)):
        if isinstance(a, list):
            a, b = a[0], b[0]
        assert_almost_equal(a.asnumpy(), b.asnumpy(), rtol=0.001, atol=0.0001)


def _two_layers(block_type, *args):
    layer1, layer2 = block_type(*args), block_type(*args)
    layer1.initialize(ctx=default_context())
    layer2.initialize(ctx=default_context())
    layer2.hybridize()
    return layer1, layer2


class _ForeachFormat(mx.gluon.HybridBlock):
    def __init__(self, step):
        super().__init__()
        self.step = step

    def hybrid_forward(self, F, ins, states):
        return F.contrib.foreach(self.step, ins, states)


def test_output_format_foreach():
    """test_contrib_control_flow.py: test_output_format_foreach."""
    def step1(data, state):
        return data, state

    def step2(data, state):
        return [data], state

    def step3(data, state):
        if isinstance(state, list):
            return [], [state[0] + data]
        return [], state + data

    def step4(data, state):
        if isinstance(state, list):
            return [data, state[0]], state
        return [data, state], state

    data = mx.nd.normal(loc=0, scale=1, shape=(10, 2))
    state = mx.nd.normal(loc=0, scale=1, shape=(2))
    for step in [step1, step2, step3, step4]:
        for init in ([state], state, [state, [state + 1]]):
            if step is step3 and len(as_list(init)) == 2:
                continue
            layer1, layer2 = _two_layers(_ForeachFormat, step)
            out1, state1 = layer1(data, init)
            out2, state2 = layer2(data, init)
            step_out, step_state = step(data, init)
            assert type(out1) is type(step_out)
            assert type(out2) is type(step_out)
            assert type(state1) is type(step_state)
            assert type(state2) is type(step_state)
            _compare_structures(out1, out2, state1, state2)


class _WhileFormat(mx.gluon.HybridBlock):
    def __init__(self, step, use_list, nested_list=False):
        super().__init__()
        self.step, self.use_list, self.nested_list = step, use_list, nested_list

    def hybrid_forward(self, F, states):
        def cond(state1):
            scalar = state1.slice_axis(axis=0, begin=0, end=1)
            return scalar == scalar
        cond_func = cond
        if self.use_list:
            states = [states]
        elif self.nested_list:
            def cond2(state1, state2):
                scalar = state1.slice_axis(axis=0, begin=0, end=1)
                return scalar == scalar
            cond_func = cond2
            states = [states, [states + 1]]
        return F.contrib.while_loop(cond_func, self.step, states, max_iterations=5)


def test_output_format_while():
    """test_contrib_control_flow.py: test_output_format_while."""
    def step1(state):
        return state, state

    def step2(state):
        return (state, state) if isinstance(state, list) else ([state], state)

    def step3(state):
        return [], state

    def step4(state, state2):
        states = as_list(state)
        states.append(state2)
        return state, states

    def step5(state, state2):
        states = as_list(state)
        states.append(state2)
        return (state, states) if isinstance(state, list) else ([state], states)

    def step6(state, state2):
        states = as_list(state)
        states.append(state2)
        return [], states

    state = mx.nd.normal(loc=0, scale=1, shape=(2))
    for step, args in itertools.chain(itertools.product([step1, step2, step3],
                                                        [(False,), (True,)]),
                                      itertools.product([step4, step5, step6], [(False, True)])):
        layer1, layer2 = _two_layers(_WhileFormat, step, *args)
        out1, state1 = layer1(state)
        out2, state2 = layer2(state)
        assert type(out1) is type(out2)
        assert type(state1) is type(state2)
        for a, b in zip(as_list(out1), as_list(out2)):
            assert_almost_equal(a.asnumpy(), b.asnumpy(), rtol=0.001, atol=0.0001)
        for a, b in zip(as_list(state1), as_list(state2)):
            if not isinstance(a, list):
                assert_almost_equal(a.asnumpy(), b.asnumpy(), rtol=0.001, atol=0.0001)


class _CondFormat(mx.gluon.HybridBlock):
    def __init__(self, func):
        super().__init__()
        self.func = func

    def hybrid_forward(self, F, data):
        return F.contrib.cond(data.slice_axis(axis=0, begin=0, end=1),
                              lambda: self.func(data), lambda: self.func(data))


def test_output_format_cond():
    """test_contrib_control_flow.py: test_output_format_cond."""
    data = mx.nd.normal(loc=0, scale=1, shape=(2))
    for func in [lambda data: data, lambda data: [data], lambda data: [data, data]]:
        layer1, layer2 = _two_layers(_CondFormat, func)
        out1, out2 = layer1(data), layer2(data)
        func_out = func(data)
        assert type(out1) is type(func_out)
        assert type(out2) is type(func_out)
        _compare_structures(out1, out2)


def test_foreach_with_unkown_dim():
    """test_contrib_control_flow.py: test_foreach_with_unkown_dim.

    MXNet accepts 0 as an unknown length of axis 0 and infers (0, 3, 32, 32). mxplug unrolls a
    symbolic foreach, which needs the length (docs/contrib.md): it says so."""
    step = lambda data, states: (data + states[0], [states[0] * 2])   # noqa: E731
    data = mx.sym.var("data", shape=(0, 3, 32, 32))
    with pytest.raises(MXNetError, match="length of axis 0"):
        mx.sym.contrib.foreach(step, data, [mx.sym.var("state")])
