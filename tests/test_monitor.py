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
    assert stats["act_data"] == pytest.approx(_rms(expected["fc_output"]), rel=1e-5)


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
