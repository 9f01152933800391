"""The small MLP, its data and its NumPy reference that the Module tests share."""

from __future__ import annotations

import numpy as np

import mxplug as mx

N_IN, N_HID, N_OUT = 6, 8, 3


def _mlp():
    data = mx.sym.Variable("data")
    fc1 = mx.sym.FullyConnected(data, num_hidden=N_HID, name="fc1")
    act = mx.sym.Activation(fc1, act_type="relu", name="relu1")
    fc2 = mx.sym.FullyConnected(act, num_hidden=N_OUT, name="fc2")
    return mx.sym.SoftmaxOutput(fc2, name="softmax")


def _dataset(n=120, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.randn(n, N_IN).astype(np.float32)
    w = rng.randn(N_IN, N_OUT)
    return x, (x @ w).argmax(1).astype(np.float32)


def _params(seed=1):
    rng = np.random.RandomState(seed)
    return {"fc1_weight": rng.randn(N_HID, N_IN) * 0.5, "fc1_bias": rng.randn(N_HID) * 0.1,
            "fc2_weight": rng.randn(N_OUT, N_HID) * 0.5, "fc2_bias": rng.randn(N_OUT) * 0.1}


def _nd_params(p, ctx=None):
    return {k: mx.nd.array(v, ctx=ctx) for k, v in p.items()}


def _np_forward(p, x):
    h = np.maximum(x @ p["fc1_weight"].T + p["fc1_bias"], 0)
    z = h @ p["fc2_weight"].T + p["fc2_bias"]
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _np_grads(p, x, y):
    """Gradients of sum(cross-entropy) (SoftmaxOutput's: softmax - onehot, not normalized)."""
    a = x @ p["fc1_weight"].T + p["fc1_bias"]
    h = np.maximum(a, 0)
    dz = _np_forward(p, x) - np.eye(N_OUT)[y.astype(int)]
    dh = (dz @ p["fc2_weight"]) * (a > 0)
    return {"fc2_weight": dz.T @ h, "fc2_bias": dz.sum(0), "fc1_weight": dh.T @ x,
            "fc1_bias": dh.sum(0), "data": dh @ p["fc1_weight"]}


def _bound(batch=10, ctx=None, **bind_kw):
    mod = mx.mod.Module(_mlp(), context=ctx or mx.cpu())
    mod.bind(data_shapes=[("data", (batch, N_IN))], label_shapes=[("softmax_label", (batch,))],
             **bind_kw)
    mod.init_params(arg_params=_nd_params(_params()))
    return mod


def _batch(x, y):
    return mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])
