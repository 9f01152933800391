"""LSTM language-model training speed: mxplug Gluon (eager and hybridized) vs PyTorch on the
same device (the CPU, or ``cuda:i`` for ``--ctx gpu:i``), in tokens/s.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /tmp/torchvenv/bin/python \\
        benchmarks/bench_rnn.py [--ctx cpu] [--steps 10] [--threads N]

The model is a word-level language model step: Embedding(10000, 256) - LSTM(256, num_layers=2)
- Dense(10000) - softmax cross-entropy over every position, sequence length 35, batch 32
(1,120 tokens a step), plain SGD (lr 0.1). A step is forward, loss, backward and the update;
each framework starts every step from zero states. The figure is the best of 3 rounds of
``--steps`` steps after 3 warm-up steps, in tokens per second, PyTorch timed in the same run.
Random token ids: the figure is throughput, not perplexity.

``--only lstm`` (or ``lm,lstm``) also times the LSTM layer alone: forward and backward of
LSTM(256, num_layers=2) on a (35, 32, 256) input, against ``torch.nn.LSTM``; on a backend with
fused LSTM step kernels (OpenCL, CUDA) once more with the generic steps, to show what the
kernels gain.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.append(os.path.dirname(_HERE))
from _common import (
    add_thread_args,
    eager_and_hybridized,
    env_line,
    gluon_step,
    ratio_rows,
    samples_per_s,
    setup_threads_and_torch,
    table,
    torch_device,
    torch_sgd_step,
    torch_sync,
)

import mxplug as mx
from mxplug import autograd, gluon
from mxplug.gluon import nn, rnn
from mxplug.ops import rnn as rnn_op

VOCAB, EMBED, HIDDEN, LAYERS = 10000, 256, 256, 2
SEQ, BATCH, LR = 35, 32, 0.1


class LanguageModel(gluon.HybridBlock):
    """Embedding - LSTM - Dense over the vocabulary, on (seq, batch) token ids."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.embed = nn.Embedding(VOCAB, EMBED)
            self.lstm = rnn.LSTM(HIDDEN, num_layers=LAYERS, input_size=EMBED)
            self.decoder = nn.Dense(VOCAB, flatten=False, in_units=HIDDEN)

    def hybrid_forward(self, F, tokens):
        return self.decoder(self.lstm(self.embed(tokens)))


def mx_step(tokens, labels, ctx, hybridize):
    net = LanguageModel()
    net.initialize(mx.init.Uniform(0.1), ctx=ctx)
    return gluon_step(net, gluon.loss.SoftmaxCrossEntropyLoss(), tokens, labels.reshape(-1), ctx,
                      hybridize, LR, out_shape=(-1, VOCAB))


def torch_step(torch, tokens, labels, device):
    n = torch.nn

    class Model(n.Module):
        def __init__(self):
            super().__init__()
            self.embed = n.Embedding(VOCAB, EMBED)
            self.lstm = n.LSTM(EMBED, HIDDEN, LAYERS)
            self.decoder = n.Linear(HIDDEN, VOCAB)

        def forward(self, x):
            return self.decoder(self.lstm(self.embed(x))[0])

    return torch_sgd_step(torch, Model(), tokens.astype(np.int64),
                          labels.reshape(-1).astype(np.int64), LR, out_shape=(-1, VOCAB),
                          device=device)


def mx_lstm_step(x_np, ctx, hybridize):
    layer = rnn.LSTM(HIDDEN, num_layers=LAYERS, input_size=EMBED)
    layer.initialize(mx.init.Uniform(0.1), ctx=ctx)
    if hybridize:
        layer.hybridize()
    x = mx.nd.array(x_np, ctx=ctx)
    x.attach_grad()

    def step():
        with autograd.record():
            y = layer(x)
        y.backward()
    return step


def torch_lstm_step(torch, x_np, device):
    model = torch.nn.LSTM(EMBED, HIDDEN, LAYERS).to(device)
    x = torch.from_numpy(x_np).to(device).requires_grad_()
    ones = torch.ones(SEQ, BATCH, HIDDEN, device=device)

    def step():
        model(x)[0].backward(ones)
    return step


def generic_cells_rate(x_np, ctx, steps):
    """Tokens/s of the eager LSTM layer with the backend's fused step kernels set aside (None
    when it has none)."""
    xp = ctx.backend.xp
    fused = rnn_op.FUSED_CELLS.pop((xp, "lstm"), None)
    if fused is None:
        return None
    try:
        return samples_per_s(mx_lstm_step(x_np, ctx, False), SEQ * BATCH, steps, mx.nd.waitall)
    finally:
        rnn_op.FUSED_CELLS[xp, "lstm"] = fused


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ctx", default="cpu", help="the mxplug context")
    ap.add_argument("--steps", type=int, default=10)
    add_thread_args(ap)
    ap.add_argument("--only", default="lm", help="comma-separated: lm, lstm")
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args(argv)
    torch = setup_threads_and_torch(args)
    ctx = mx.context.parse(args.ctx)
    device = torch_device(torch, ctx)
    sync, where = torch_sync(torch, device), f" ({ctx}; torch on {device})"
    rng = np.random.default_rng(0)
    which, tokens_per_step, rows = args.only.split(","), SEQ * BATCH, []
    if "lm" in which:
        tokens = rng.integers(0, VOCAB, (SEQ, BATCH))
        labels = rng.integers(0, VOCAB, (SEQ, BATCH))
        res = eager_and_hybridized(
            torch and (lambda: torch_step(torch, tokens, labels, device)),
            lambda hyb: mx_step(tokens, labels, ctx, hyb), tokens_per_step, args.steps, sync)
        rows += ratio_rows("LSTM LM", res, torch, where=where)
    if "lstm" in which:
        x_np = rng.uniform(-1, 1, (SEQ, BATCH, EMBED)).astype(np.float32)
        res = eager_and_hybridized(torch and (lambda: torch_lstm_step(torch, x_np, device)),
                                   lambda hyb: mx_lstm_step(x_np, ctx, hyb), tokens_per_step,
                                   args.steps, sync)
        generic = generic_cells_rate(x_np, ctx, args.steps)
        if generic is not None:
            res["eager, generic steps"] = generic
        rows += ratio_rows("LSTM layer", res, torch, keys=tuple(k for k in res if k != "torch"),
                           where=where)
    print(env_line(torch))
    print(f"LSTM language model (vocab {VOCAB}, {LAYERS}x{HIDDEN}, seq {SEQ}, batch {BATCH}), "
          f"SGD; best of 3 rounds of {args.steps} steps\n")
    print(table(["model / framework", "tokens/s", "vs torch"], rows))


if __name__ == "__main__":
    main()
