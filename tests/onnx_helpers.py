"""What the ONNX tests share: run an exported file in onnxruntime, check it, export a block or
a Symbol and compare with mxplug's own result. Import after ``pytest.importorskip`` of onnx and
onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort

import mxplug as mx

RTOL, ATOL = 1e-4, 1e-5


def _run(path, feeds):
    """Run the ONNX model; ``feeds``: {input name: array}, or arrays in the model's input order."""
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    if not isinstance(feeds, dict):
        feeds = dict(zip([i.name for i in sess.get_inputs()], feeds))
    return sess.run(None, feeds)


def _check_model(path):
    model = onnx.load(path)
    onnx.checker.check_model(model)
    return model


def _export_block_and_compare(net, xs, tmp_path, name="model", **kw):
    """Export ``net`` (HybridBlock) at the inputs' shapes, run it in onnxruntime, compare."""
    want = net(*[mx.nd.array(x) for x in xs])
    want = [w.asnumpy() for w in (want if isinstance(want, (list, tuple)) else [want])]
    path = mx.onnx.export_model(net, None, [x.shape for x in xs],
                                onnx_file_path=str(tmp_path / f"{name}.onnx"), **kw)
    assert path == str(tmp_path / f"{name}.onnx")
    _check_model(path)
    got = _run(path, xs)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL)
    return path


def _export_sym_and_compare(sym, inputs, params, tmp_path, name="sym", **kw):
    """Export a Symbol with ``inputs`` (name -> array) and ``params``; compare with eval."""
    values = {k: mx.nd.array(v) for k, v in {**inputs, **params}.items()}
    aux = set(sym.list_auxiliary_states())
    ex = sym.bind(mx.cpu(), {k: v for k, v in values.items() if k not in aux}, grad_req="null",
                  aux_states={k: v for k, v in values.items() if k in aux})
    want = ex.forward()
    order = [n for n in sym.list_inputs() if n in inputs]       # the graph's input order
    path = mx.onnx.export_model(sym, {k: mx.nd.array(v) for k, v in params.items()},
                                [inputs[n].shape for n in order],
                                [inputs[n].dtype for n in order],
                                str(tmp_path / f"{name}.onnx"), **kw)
    model = _check_model(path)
    assert [i.name for i in model.graph.input] == order
    got = _run(path, inputs)
    assert len(got) == len(want) == len(sym.list_outputs())
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.asnumpy(), rtol=RTOL, atol=ATOL)
    return path
