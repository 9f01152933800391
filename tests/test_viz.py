"""``mx.viz``: print_summary's layer table and plot_network's Graphviz digraph (MXNet 1.x)."""

from __future__ import annotations

import os
import sys

import pytest

import mxplug as mx
from mxplug import viz

DATA = os.path.join(os.path.dirname(__file__), "data", "mxnet-1.9.1")


def _net():
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, name="conv1", num_filter=32, kernel=(3, 3), stride=(2, 2))
    bn = mx.sym.BatchNorm(conv, name="bn1")
    act = mx.sym.Activation(bn, name="relu1", act_type="relu")
    mp = mx.sym.Pooling(act, name="mp1", kernel=(2, 2), stride=(2, 2), pool_type="max")
    fc1 = mx.sym.FullyConnected(mp, name="fc1", num_hidden=10)
    return mx.sym.FullyConnected(fc1, name="fc2", num_hidden=10)


def _incomplete():
    """``other``'s width cannot be inferred: only the Dense layer's output shape can."""
    return _net() + mx.sym.FullyConnected(mx.sym.var("other"), name="fo", num_hidden=10)


def _rows(text):
    return [line.rstrip() for line in text.splitlines()
            if line.strip() and set(line.strip()) - {"_", "="}]


def test_viz_namespace():
    assert mx.viz is viz
    assert callable(viz.plot_network) and callable(viz.print_summary)


def test_print_summary_with_shapes(capsys):
    viz.print_summary(_net(), shape={"data": (1, 3, 28, 28)})
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert all(len(line) == 120 for line in lines if set(line) <= {"_", "="})
    assert lines[0] == "_" * 120 and lines[2] == "=" * 120
    header = lines[1]
    # MXNet's columns at .44, .64, .74 of the line.
    assert header.index("Output Shape") == 52 and header.index("Param #") == 76
    assert header.index("Previous Layer") == 88
    rows = [r.split() for r in _rows(text)[1:-1]]
    assert rows == [
        ["data(null)", "3x28x28", "0"],
        ["conv1(Convolution)", "32x13x13", "896", "data"],          # 32*3*3*3 + 32
        ["bn1(BatchNorm)", "32x13x13", "64", "conv1"],              # gamma + beta
        ["relu1(Activation)", "32x13x13", "0", "bn1"],
        ["mp1(Pooling)", "32x6x6", "0", "relu1"],
        ["fc1(FullyConnected)", "10", "11530", "mp1"],              # 32*6*6*10 + 10
        ["fc2(FullyConnected)", "10", "110", "fc1"],
    ]
    assert "Total params: 12600" in text
    assert lines[-1] == "_" * 120 and lines[-3] == "=" * 120


def test_print_summary_several_previous_layers_and_widths(capsys):
    a, b = mx.sym.var("a"), mx.sym.var("b")
    fa = mx.sym.FullyConnected(a, num_hidden=4, name="fa")
    fb = mx.sym.FullyConnected(b, num_hidden=4, name="fb", no_bias=True)
    out = mx.sym.elemwise_add(fa, fb, name="sum")
    viz.print_summary(out, shape={"a": (2, 3), "b": (2, 5)}, line_length=80,
                      positions=[30, 45, 55, 80])
    text = capsys.readouterr().out
    assert all(len(line) <= 80 for line in text.splitlines())
    rows = [r.split() for r in _rows(text)[1:-1]]
    i = next(i for i, r in enumerate(rows) if r[0].startswith("sum("))
    assert rows[i][1:] == ["4", "0", "fa"] and rows[i + 1] == ["fb"]  # one row per input
    assert ["fb(FullyConnected)", "4", "20"] in rows   # no bias; MXNet lists only the first
    assert not any(r[0] == "b(null)" for r in rows)   # variable (node 0) as a layer
    assert "Total params: 36" in text                                    # 4*3+4 + 5*4


def test_print_summary_without_shapes_and_errors(capsys):
    viz.print_summary(_net())
    text = capsys.readouterr().out
    assert "fc2(FullyConnected)" in text and "Total params:" in text
    with pytest.raises(ValueError, match="incomplete"), pytest.warns(UserWarning):
        viz.print_summary(_incomplete(), shape={"data": (1, 3, 28, 28)})
    with pytest.raises(TypeError):
        viz.print_summary("not a symbol")


def test_print_summary_of_mxnet_export(capsys):
    sym = mx.sym.load(os.path.join(DATA, "cnn-symbol.json"))
    viz.print_summary(sym, shape={"data": (8, 1, 12, 12)})
    text = capsys.readouterr().out
    # conv0 6*1*9+6=60, bn 12, conv1 8*6*9+8=440, dense 10*8+10=90
    assert "Total params: 602" in text
    assert "cnn_dense0_fwd(FullyConnected)" in text


def test_plot_network_needs_graphviz(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    with pytest.raises(ImportError, match="pip install graphviz"):
        viz.plot_network(_net())


def test_plot_network_digraph():
    graphviz = pytest.importorskip("graphviz")
    dot = viz.plot_network(_net(), title="net", save_format="png")
    assert isinstance(dot, graphviz.Digraph)
    assert dot.name == "net" and dot.format == "png"
    src = dot.source
    assert r'"Convolution\n3x3/2x2, 32"' in src
    assert r'"FullyConnected\n10"' in src
    assert r'"Activation\nrelu"' in src
    assert r'"Pooling\nmax, 2x2/2x2"' in src
    assert "conv1 -> data" in src and "fc2 -> fc1" in src
    assert "_weight" not in src and "_bias" not in src and "bn1_gamma" not in src
    assert "label=" in src and "3x28x28" not in src  # no shapes asked for


def test_plot_network_shapes_types_and_attrs():
    pytest.importorskip("graphviz")
    dot = viz.plot_network(_net(), shape={"data": (1, 3, 28, 28)}, dtype={"data": "float32"},
                           node_attrs={"shape": "oval", "fixedsize": "false"})
    src = dot.source
    assert 'conv1 -> data [label="3x28x28(float32)"' in src
    assert 'fc1 -> mp1 [label="32x6x6(float32)"' in src
    assert "fixedsize=false" in src and "fixedsize=true" not in src
    with pytest.raises(ValueError, match="incomplete"), pytest.warns(UserWarning):
        viz.plot_network(_incomplete(), shape={"data": (1, 3, 28, 28)})
    with pytest.raises(TypeError):
        viz.plot_network(42)


def test_plot_network_hide_weights_false():
    pytest.importorskip("graphviz")
    src = viz.plot_network(_net(), hide_weights=False).source
    assert "conv1 -> conv1_weight" in src and "bn1 -> bn1_moving_var" in src
    assert "\tconv1_weight [" not in src  # drawn as Graphviz's plain node, as MXNet does


def test_plot_network_warns_on_repeated_names():
    pytest.importorskip("graphviz")
    a1, a2 = mx.sym.var("a"), mx.sym.var("a")
    with pytest.warns(RuntimeWarning, match="Repeated names: a"):
        viz.plot_network(a1 + a2)
