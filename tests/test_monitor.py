"""mx.mon.Monitor on bound executors and on Module (MXNet 1.x's monitor.py)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import mxplug as mx
from mxplug.base import MXNetError

X = np.array([[1.0, -2.0, 0.5], [-1.5, 3.0, 2.0]], np.float32)
W = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, -1.0]], np.float32)
B = np.array([0.25, -4.0], np.float32)


def _rms(a):
    """MXNet's default statistic, computed in NumPy: norm(a) / sqrt(a.size)."""
    a = np.asarray(a, np.float64)
    return float(np.sqrt((a ** 2).sum()) / np.sqrt(a.size))


def _bound():
    net = mx.sym.relu(mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=2, name="fc"),
                      name="act")
    exe = net.simple_bind(mx.cpu(), data=X.shape)
    for name, value in (("data", X), ("fc_weight", W), ("fc_bias", B)):
        exe.arg_dict[name][:] = value
    fc = X @ W.T + B
    expected = {"data": X, "fc_weight": W, "fc_bias": B, "fc_output": fc,
                "act_output": np.maximum(fc, 0)}
    return exe, expected


def test_default_stats_every_interval_batches():
    exe, expected = _bound()
    mon = mx.mon.Monitor(2)
    mon.install(exe)
    rows_per_step = []
    for _ in range(3):
        mon.tic()
        exe.forward(is_train=False)
        rows_per_step.append(mon.toc())
    assert rows_per_step[1] == []  # step 2 is not monitored with interval 2
    for step, rows in ((1, rows_per_step[0]), (3, rows_per_step[2])):
        assert {name for _, name, _ in rows} == set(expected)
        for got_step, name, text in rows:
            assert got_step == step and text.endswith("\t")
            assert float(text) == pytest.approx(_rms(expected[name]), rel=1e-5)
    # relu changes the statistic: the output is really the node's own value
    assert _rms(expected["act_output"]) != pytest.approx(_rms(expected["fc_output"]))


def test_pattern_sort_and_custom_stat():
    exe, expected = _bound()
    mon = mx.mon.Monitor(1, stat_func=lambda x: [x.max(), x.min()], pattern="fc_.*", sort=True)
    mon.install(exe)
    mon.tic()
    exe.forward()
    rows = mon.toc()
    assert [name for _, name, _ in rows] == ["fc_bias", "fc_output", "fc_weight"]
    for _, name, text in rows:
        high, low = (float(v) for v in text.split("\t")[:2])
        assert (high, low) == pytest.approx((expected[name].max(), expected[name].min()))


def test_monitor_all_reports_node_inputs():
    exe, expected = _bound()
    mon = mx.mon.Monitor(1, pattern=".*_data$", monitor_all=True)
    mon.install(exe)
    mon.tic()
    exe.forward()
    stats = {name: float(text) for _, name, text in mon.toc()}
    assert stats["fc_data"] == pytest.approx(_rms(X), rel=1e-5)
    assert "act_data" not in stats  # relu declares no input names: MXNet 1.9.1 says act_input0
    mon = mx.mon.Monitor(1, pattern="act_input0", monitor_all=True)
    mon.install(exe)
    mon.tic()
    exe.forward()
    (_, name, text), = mon.toc()
    assert float(text) == pytest.approx(_rms(expected["fc_output"]), rel=1e-5)


def test_toc_print_logs_mxnet_format(caplog):
    exe, expected = _bound()
    mon = mx.mon.Monitor(1, pattern="act_output")
    mon.install(exe)
    mon.tic()
    exe.forward()
    with caplog.at_level(logging.INFO):
        mon.toc_print()
    message = caplog.records[-1].getMessage()
    assert message.startswith(f"Batch:       1 {'act_output':30s} ")  # MXNet's layout
    assert float(message.split()[-1]) == pytest.approx(_rms(expected["act_output"]), rel=1e-5)


# fit() after init_params warns that it keeps the parameters: expected here
@pytest.mark.filterwarnings("ignore:Parameters already initialized")
def test_module_install_monitor_and_fit(caplog):
    net = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=2, name="fc")
    net = mx.sym.LinearRegressionOutput(net, name="out")
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    train = mx.io.NDArrayIter(x, np.zeros((8, 2), np.float32), batch_size=4,
                              label_name="out_label")
    mod = mx.mod.Module(net, label_names=("out_label",), context=mx.cpu())
    mod.bind(train.provide_data, train.provide_label)
    mod.init_params(mx.init.Uniform(0.5))
    mon = mx.mon.Monitor(1, pattern="fc_weight")
    mod.install_monitor(mon)
    mon.tic()
    mod.forward(next(train), is_train=False)
    (_, name, text), = mon.toc()
    weight = mod.get_params()[0]["fc_weight"].asnumpy()
    assert name == "fc_weight" and float(text) == pytest.approx(_rms(weight), rel=1e-5)

    train.reset()
    fit_mon = mx.mon.Monitor(1, pattern="fc_output")
    with caplog.at_level(logging.INFO):
        mod.fit(train, num_epoch=1, monitor=fit_mon, optimizer_params={"learning_rate": 0.1})
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Batch:")]
    assert [line.split()[1:3] for line in logged] == [["1", "fc_output"], ["2", "fc_output"]]


def test_bad_arguments_are_errors():
    with pytest.raises(MXNetError, match="interval must be a positive int"):
        mx.mon.Monitor(0)
    with pytest.raises(MXNetError, match=r"pattern '\(' is not a regular expression"):
        mx.mon.Monitor(1, pattern="(")
    with pytest.raises(MXNetError, match="expected an Executor"):
        mx.mon.Monitor(1).install(object())
    exe, _ = _bound()
    mon = mx.mon.Monitor(1, stat_func=lambda x: 3.0, pattern="data")
    mon.install(exe)
    mon.tic()
    exe.forward()
    with pytest.raises(MXNetError, match="for 'data' it returned float"):
        mon.toc()


# -- what MXNet 1.9.1 reports (its own test_module.py::test_monitor net, run on MXNet 1.9.1) ------
def _mean_abs(x):
    return mx.nd.sum(mx.nd.abs(x)) / x.size


def _sigmoid_module(mon):
    """MXNet's test_monitor network, parameters and batch, with ``mon`` installed."""
    x = mx.sym.Variable("data")
    x = mx.sym.FullyConnected(name="fc_0", data=x, num_hidden=2)
    x = mx.sym.Activation(name="act_0", data=x, act_type="sigmoid")
    x = mx.sym.FullyConnected(name="fc_1", data=x, num_hidden=2)
    x = mx.sym.Activation(name="act_1", data=x, act_type="sigmoid")
    x = mx.sym.LinearRegressionOutput(data=x, name="softmax", grad_scale=2)
    train = mx.io.NDArrayIter(mx.nd.array([[0.05, 0.10]]), mx.nd.array([[0.01, 0.99]]),
                              batch_size=1)
    mod = mx.mod.Module(x, context=[mx.cpu()])
    mod.bind(train.provide_data, label_shapes=train.provide_label, for_training=True)
    mod.install_monitor(mon)
    mod.init_params(arg_params={
        "fc_0_weight": mx.nd.array([[0.15, 0.20], [0.25, 0.30]]),
        "fc_0_bias": mx.nd.array([0.35, 0.35]),
        "fc_1_weight": mx.nd.array([[0.40, 0.45], [0.50, 0.55]]),
        "fc_1_bias": mx.nd.array([0.60, 0.60])})
    return mod, next(iter(train))


# mon.toc() of MXNet 1.9.1 for that batch (sort=True, stat mean(|x|)); None: MXNet reports
# memory it never wrote there (the gradients of data and label, which nobody asked for)
SIGMOID_TOC = [
    ("act_0_backward_output", 0.009362806), ("act_0_output", 0.59507716),
    ("act_1_backward_output", 0.088298395), ("act_1_output", 0.7621468), ("data", 0.075),
    ("fc_0_backward_output0", None), ("fc_0_backward_output1", 0.00070221035),
    ("fc_0_backward_output2", 0.009362806), ("fc_0_bias", 0.35), ("fc_0_output", 0.385),
    ("fc_0_weight", 0.22500001), ("fc_1_backward_output0", 0.038860314),
    ("fc_1_backward_output1", 0.05254436), ("fc_1_backward_output2", 0.088298395),
    ("fc_1_bias", 0.6), ("fc_1_output", 1.1654137), ("fc_1_weight", 0.475),
    ("softmax_backward_output0", 0.4792183), ("softmax_backward_output1", None),
    ("softmax_label", 0.5), ("softmax_output", 0.7621468)]


def test_module_forward_backward_reports_mxnet_names_and_values():
    mon = mx.mon.Monitor(1, stat_func=_mean_abs, pattern=".*", sort=True)
    mod, batch = _sigmoid_module(mon)
    mon.tic()
    mod.forward_backward(batch)
    rows = mon.toc()
    assert [name for _, name, _ in rows] == [name for name, _ in SIGMOID_TOC]
    for (step, name, text), (_, want) in zip(rows, SIGMOID_TOC):
        if want is not None:
            assert step == 1 and float(text) == pytest.approx(want, rel=1e-5), name
    # fc_0_output is FullyConnected's own value (not the sigmoid after it), and the data
    # gradient MXNet leaves unwritten is the real one here: NumPy's chain rule
    got = {name: float(text) for _, name, text in rows}
    x, lab = np.array([0.05, 0.10]), np.array([0.01, 0.99])
    w0, w1 = np.array([[0.15, 0.20], [0.25, 0.30]]), np.array([[0.40, 0.45], [0.50, 0.55]])
    a0 = 1 / (1 + np.exp(-(w0 @ x + 0.35)))
    a1 = 1 / (1 + np.exp(-(w1 @ a0 + 0.60)))
    g_z1 = (a1 - lab) * 2 / 2 * a1 * (1 - a1)  # grad_scale 2 over 2 outputs
    g_z0 = (g_z1 @ w1) * a0 * (1 - a0)
    assert got["fc_0_output"] == pytest.approx(np.abs(w0 @ x + 0.35).mean(), rel=1e-5)
    assert got["fc_0_backward_output0"] == pytest.approx(np.abs(g_z0 @ w0).mean(), rel=1e-4)
    assert got["softmax_backward_output1"] == 0.0  # the label gets no gradient


# MXNet 1.9.1's callback order for that batch with monitor_all=True, sort=False (then toc()'s
# arguments): each node's inputs (a variable also under its own name) before its outputs
SIGMOID_ALL = [
    "data", "fc_0_data", "fc_0_weight", "fc_0_weight", "fc_0_bias", "fc_0_bias", "fc_0_output",
    "act_0_input0", "act_0_output", "fc_1_data", "fc_1_weight", "fc_1_weight", "fc_1_bias",
    "fc_1_bias", "fc_1_output", "act_1_input0", "act_1_output", "softmax_data",
    "softmax_label", "softmax_label", "softmax_output", "softmax_label",
    "softmax_backward_input0", "softmax_backward_input1", "softmax_backward_output0",
    "softmax_backward_output1", "act_1_backward_input0", "act_1_backward_input1",
    "act_1_backward_input2", "act_1_backward_output", "fc_1_backward_input0",
    "fc_1_backward_input1", "fc_1_weight", "fc_1_backward_input2", "fc_1_backward_output0",
    "fc_1_backward_output1", "fc_1_backward_output2", "act_0_backward_input0",
    "act_0_backward_input1", "act_0_backward_input2", "act_0_backward_output",
    "fc_0_backward_input0", "data", "fc_0_backward_input1", "fc_0_weight",
    "fc_0_backward_input2", "fc_0_backward_output0", "fc_0_backward_output1",
    "fc_0_backward_output2", "data", "fc_0_weight", "fc_0_bias", "fc_1_weight", "fc_1_bias",
    "softmax_label"]
# ... and for forward(is_train=False) only (monitor_all=False)
SIGMOID_PREDICT = ["fc_0_output", "act_0_output", "fc_1_output", "act_1_output",
                   "softmax_output", "data", "fc_0_weight", "fc_0_bias", "fc_1_weight",
                   "fc_1_bias", "softmax_label"]


def test_monitor_all_order_and_forward_only():
    mon = mx.mon.Monitor(1, stat_func=_mean_abs, monitor_all=True)
    mod, batch = _sigmoid_module(mon)
    mon.tic()
    mod.forward_backward(batch)
    rows = mon.toc()
    assert [name for _, name, _ in rows] == SIGMOID_ALL
    got = dict((name, float(text)) for _, name, text in rows)
    assert got["act_1_backward_input2"] == pytest.approx(1.1654137, rel=1e-5)  # MXNet's value
    mon = mx.mon.Monitor(1, stat_func=_mean_abs)
    mod, batch = _sigmoid_module(mon)
    mon.tic()
    mod.forward(batch, is_train=False)
    assert [name for _, name, _ in mon.toc()] == SIGMOID_PREDICT


def _cnn():
    """Convolution, BatchNorm, relu, FullyConnected, SoftmaxOutput; arguments uniform(-1, 1)
    from RandomState(0) in name order, labels [0, 2], moving stats (0, 1)."""
    x = mx.sym.var("data")
    x = mx.sym.Convolution(x, kernel=(3, 3), num_filter=2, pad=(1, 1), name="conv")
    x = mx.sym.BatchNorm(x, name="bn", fix_gamma=False)
    x = mx.sym.Activation(x, act_type="relu", name="relu")
    x = mx.sym.FullyConnected(x, num_hidden=3, name="fc")
    x = mx.sym.SoftmaxOutput(x, name="softmax")
    exe = x.simple_bind(mx.cpu(), data=(2, 1, 4, 4), grad_req="write")
    rng = np.random.RandomState(0)
    for name in sorted(exe.arg_dict):
        a = exe.arg_dict[name]
        a[:] = np.array([0, 2]) if name == "softmax_label" else rng.uniform(-1, 1, a.shape)
    for name, a in exe.aux_dict.items():
        a[:] = 1.0 if "var" in name else 0.0
    return exe


# MXNet 1.9.1 on _cnn(), forward(is_train=True) + backward(): (name, sum(|value|)) per callback
CNN_REPORTS = [
    ("conv_output", 47.50175476), ("bn_output", 19.50012589), ("bn_mean", 0.47863701),
    ("bn_var", 2.31748343), ("relu_output", 18.19815445), ("fc_output", 8.94241238),
    ("softmax_output", 2.0), ("softmax_backward_output0", 3.12652016),
    ("softmax_backward_output1", 0.0), ("fc_backward_output0", 30.64960861),
    ("fc_backward_output1", 25.28525162), ("fc_backward_output2", 2.66131520),
    ("relu_backward_output", 25.64097977), ("bn_backward_output0", 3.73239303),
    ("bn_backward_output1", 6.39502239), ("bn_backward_output2", 11.49521446),
    ("conv_backward_output0", 4.17611742), ("conv_backward_output1", 1.97496629),
    ("conv_backward_output2", 0.0)]
CNN_ALL = [
    "data", "conv_data", "conv_weight", "conv_weight", "conv_bias", "conv_bias", "conv_output",
    "bn_data", "bn_gamma", "bn_gamma", "bn_beta", "bn_beta", "bn_moving_mean", "bn_moving_mean",
    "bn_moving_var", "bn_moving_var", "bn_output", "bn_mean", "bn_var", "relu_input0",
    "relu_output", "fc_data", "fc_weight", "fc_weight", "fc_bias", "fc_bias", "fc_output",
    "softmax_data", "softmax_label", "softmax_label", "softmax_output",
    "softmax_backward_input0", "softmax_label", "softmax_backward_input1",
    "softmax_backward_output0", "softmax_backward_output1", "fc_backward_input0",
    "fc_backward_input1", "fc_weight", "fc_backward_input2", "fc_backward_output0",
    "fc_backward_output1", "fc_backward_output2", "relu_backward_input0",
    "relu_backward_input1", "relu_backward_output", "bn_backward_input0", "bn_backward_input1",
    "bn_backward_input2", "bn_backward_input3", "bn_gamma", "bn_backward_input4", "bn_beta",
    "bn_backward_input5", "bn_moving_mean", "bn_backward_input6", "bn_moving_var",
    "bn_backward_input7", "bn_backward_output0", "bn_backward_output1", "bn_backward_output2",
    "conv_backward_input0", "data", "conv_backward_input1", "conv_weight",
    "conv_backward_input2", "conv_bias", "conv_backward_input3", "conv_backward_output0",
    "conv_backward_output1", "conv_backward_output2"]


@pytest.mark.parametrize("monitor_all", [False, True])
def test_executor_callback_on_conv_bn_relu_fc(monitor_all):
    exe = _cnn()
    seen = []
    exe.set_monitor_callback(lambda name, a: seen.append(
        (name, float(np.abs(a.asnumpy()).sum()))), monitor_all)
    exe.forward(is_train=True)
    exe.backward()
    if monitor_all:
        assert [name for name, _ in seen] == CNN_ALL
    wanted = {n for n, _ in CNN_REPORTS}
    got = [(n, v) for n, v in seen if n in wanted]
    assert [n for n, _ in got] == [n for n, _ in CNN_REPORTS]
    if not monitor_all:
        assert len(got) == len(seen)
    for (name, value), (_, want) in zip(got, CNN_REPORTS):
        assert value == pytest.approx(want, rel=1e-4, abs=1e-6), name


def test_monitored_run_matches_the_plain_one():
    """Outputs, gradients and BatchNorm's moving statistics are those of an unmonitored run
    (Dropout drawing the same mask after the same seed)."""
    def run(monitored):
        exe = _cnn()
        net = exe._symbol.get_internals()["fc_output"]
        net = mx.sym.SoftmaxOutput(mx.sym.Dropout(net, p=0.4), name="softmax")
        exe = net.simple_bind(mx.cpu(), data=(2, 1, 4, 4), grad_req="write")
        src = _cnn()
        for name, a in exe.arg_dict.items():
            a[:] = src.arg_dict[name]
        for name, a in exe.aux_dict.items():
            a[:] = src.aux_dict[name]
        if monitored:
            exe.set_monitor_callback(lambda name, a: None)
        mx.random.seed(11)
        exe.forward(is_train=True)
        exe.backward()
        assert getattr(exe._run, "monitored", False) == monitored
        return ([o.asnumpy() for o in exe.outputs],
                {k: g.asnumpy() for k, g in exe.grad_dict.items()},
                {k: a.asnumpy() for k, a in exe.aux_dict.items()})
    plain, monitored = run(False), run(True)
    for a, b in zip(plain[0], monitored[0]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for part in (1, 2):
        for k in plain[part]:
            np.testing.assert_allclose(plain[part][k], monitored[part][k], rtol=1e-4,
                                       atol=1e-6, err_msg=k)


def test_fanout_sum_grad_and_head_gradient_names():
    """A value read three times is summed by MXNet's ``sum_grad`` node; an output gradient
    read by a backward node comes through ``_head_grad_0_id``; ``a + b`` of one shape makes no
    backward node; fused and expanded nodes are reported one by one (MXNet 1.9.1's names)."""
    with mx.name.NameManager():  # auto names (_plus0) as in a fresh process
        x = mx.sym.var("x")
        a = mx.sym.FullyConnected(x, num_hidden=3, name="fc")
        b = mx.sym.Activation(a, act_type="relu", name="r") + \
            mx.sym.Activation(a, act_type="tanh", name="t")
        d = mx.sym.sum(b * 2.0 + a, name="s")
    exe = d.simple_bind(mx.cpu(), x=(2, 4), grad_req="write")
    rng = np.random.RandomState(0)
    for name in sorted(exe.arg_dict):
        exe.arg_dict[name][:] = rng.uniform(-1, 1, exe.arg_dict[name].shape)
    seen = []
    exe.set_monitor_callback(lambda name, v: seen.append(
        (name, float(np.abs(v.asnumpy()).sum()))))
    exe.forward(is_train=True)
    exe.backward(mx.nd.ones((1,)))
    want = [("fc_output", 4.21733), ("r_output", 3.28038), ("t_output", 3.01395),
            ("_plus0_output", 6.29433), ("_mulscalar0_output", 12.58866),
            ("_plus1_output", 16.80599), ("s_output", 11.99681),
            ("_head_grad_0_id_output", 1.0), ("s_backward_output", 6.0),
            ("_mulscalar0_backward_output", 12.0), ("t_backward_output", 7.79662),
            ("r_backward_output", 10.0), ("sum_grad_output", 23.79662),
            ("fc_backward_output0", 24.95754), ("fc_backward_output1", 25.37354),
            ("fc_backward_output2", 23.79662)]  # MXNet 1.9.1, sum(|value|)
    assert [n for n, _ in seen] == [n for n, _ in want]
    for (name, value), (_, expected) in zip(seen, want):
        assert value == pytest.approx(expected, rel=1e-4), name


def test_inactive_monitor_takes_the_fast_path_and_removal():
    exe = _cnn()
    mon = mx.mon.Monitor(2)
    mon.install(exe)
    mon.tic()  # step 0: collected
    exe.forward(is_train=True)
    assert getattr(exe._run, "monitored", False)
    exe.backward()
    assert any(name == "conv_backward_output1" for _, name, _ in mon.toc())
    mon.tic()  # step 1: not collected, so the executor runs its compiled program
    exe.forward(is_train=True)
    assert not getattr(exe._run, "monitored", False)
    exe.backward()
    assert mon.toc() == []
    grads = exe.grad_dict["conv_weight"].asnumpy().copy()
    exe.set_monitor_callback(lambda name, a: None)
    exe.forward(is_train=True)
    exe.set_monitor_callback(None)  # removed between forward and backward: still differentiates
    exe.backward()
    np.testing.assert_allclose(exe.grad_dict["conv_weight"].asnumpy(), grads, rtol=1e-5)
