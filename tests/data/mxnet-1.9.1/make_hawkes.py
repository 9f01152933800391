"""Write ``hawkes.npz``: inputs, outputs and gradients of MXNet 1.9.1's ``contrib.hawkesll``
(CPU) for seeded random cases. Run with MXNet 1.9.1:

    python tests/data/mxnet-1.9.1/make_hawkes.py   # in an environment with mxnet==1.9.1

Each case ``k`` stores ``{k}/in{i}`` (the eight inputs: lda, alpha, beta, state, lags, marks,
valid_length, max_time), ``{k}/head`` (the gradient given to ``loglike.backward``),
``{k}/out0``, ``{k}/out1`` (loglike, out_state) and ``{k}/grad{i}`` (lda's, alpha's and beta's
gradients).
"""

import os

import mxnet as mx
import numpy as np

rng = np.random.RandomState(1991)
arrays = {}
# (N, T, K, dtype, with a starting state, fractional valid lengths)
SHAPES = [(3, 6, 2, "float32", True, False), (2, 5, 1, "float32", False, False),
          (4, 8, 3, "float32", True, True), (1, 9, 4, "float32", False, False),
          (5, 3, 3, "float32", True, False), (3, 7, 2, "float64", True, True),
          (2, 6, 3, "float64", False, False)]
for c, (n, t, k, dt, with_state, fractional) in enumerate(SHAPES):
    lags = rng.uniform(0.01, 2.0, (n, t))
    lengths = rng.randint(0, t + 1, n).astype(np.float64)
    lengths[0] = t  # one full row
    if fractional:
        lengths = lengths + 0.5 * (lengths < t)  # valid_length 2.5 counts 3 points
    last = np.array([lags[i, :int(np.ceil(lengths[i]))].sum() for i in range(n)])
    inputs = [rng.uniform(0.2, 3.0, (n, k)), rng.uniform(0.05, 0.95, k),
              rng.uniform(0.2, 4.0, k), rng.uniform(0.0, 2.0, (n, k)) * with_state, lags,
              rng.randint(0, k, (n, t)).astype(np.int32), lengths,
              last + rng.uniform(0.0, 5.0, n)]
    inputs = [x.astype(dt) if x.dtype.kind == "f" else x for x in inputs]
    head = rng.uniform(-1, 1, n).astype(dt)
    nds = [mx.nd.array(x, dtype=x.dtype) for x in inputs]
    for a in nds[:3]:
        a.attach_grad()
    with mx.autograd.record():
        loglike, out_state = mx.nd.contrib.hawkesll(*nds)
    loglike.backward(mx.nd.array(head, dtype=dt))
    for i, x in enumerate(inputs):
        arrays[f"{c}/in{i}"] = x
    arrays[f"{c}/head"] = head
    arrays[f"{c}/out0"], arrays[f"{c}/out1"] = loglike.asnumpy(), out_state.asnumpy()
    for i, a in enumerate(nds[:3]):
        arrays[f"{c}/grad{i}"] = a.grad.asnumpy()

np.savez_compressed(os.path.join(os.path.dirname(os.path.abspath(__file__)), "hawkes.npz"),
                    **arrays)
