"""LSTM language-model training speed: mxplug Gluon (eager and hybridized) vs PyTorch CPU, in
tokens/s.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /tmp/torchvenv/bin/python \\
        benchmarks/bench_rnn.py [--ctx cpu] [--steps 10] [--threads N]

The model is a word-level language model step: Embedding(10000, 256) - LSTM(256, num_layers=2)
- Dense(10000) - softmax cross-entropy over every position, sequence length 35, batch 32
(1,120 tokens a step), plain SGD (lr 0.1). A step is forward, loss, backward and the update;
each framework starts every step from zero states. The figure is the best of 3 rounds of
``--steps`` steps after 3 warm-up steps, in tokens per second, PyTorch timed in the same run.
Random token ids: the figure is throughput, not perplexity.

``--only lstm`` (or ``lm,lstm``) also times the LSTM layer alone: forward and backward of
LSTM(256, num_layers=2) on a (35, 32, 256) input, against ``torch.nn.LSTM``.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.append(os.path.dirname(_HERE))
from _common import limit_threads, machine, numpy_threads, samples_per_s, table, thread_env

import mxplug as mx
from mxplug import autograd, gluon
from mxplug.gluon import nn, rnn

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
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    if hybridize:
        net.hybridize()
        loss_fn.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": LR})
    x = mx.nd.array(tokens, ctx=ctx)
    y = mx.nd.array(labels.reshape(-1), ctx=ctx)

    def step():
        with autograd.record():
            logits = net(x).reshape((-1, VOCAB))
            loss = loss_fn(logits, y)
        loss.backward()
        trainer.step(SEQ * BATCH)
    return step


def torch_step(torch, tokens, labels):
    n = torch.nn

    class Model(n.Module):
        def __init__(self):
            super().__init__()
            self.embed = n.Embedding(VOCAB, EMBED)
            self.lstm = n.LSTM(EMBED, HIDDEN, LAYERS)
            self.decoder = n.Linear(HIDDEN, VOCAB)

        def forward(self, x):
            return self.decoder(self.lstm(self.embed(x))[0])

    model = Model()
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = n.CrossEntropyLoss()
    x = torch.from_numpy(tokens.astype(np.int64))
    y = torch.from_numpy(labels.reshape(-1).astype(np.int64))

    def step():
        opt.zero_grad()
        loss_fn(model(x).reshape(-1, VOCAB), y).backward()
        opt.step()
    return step


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


def torch_lstm_step(torch, x_np):
    model = torch.nn.LSTM(EMBED, HIDDEN, LAYERS)
    x = torch.from_numpy(x_np).requires_grad_()

    def step():
        model(x)[0].backward(torch.ones(SEQ, BATCH, HIDDEN))
    return step


def _rows(name, res, torch):
    rows = []
    for key in ("eager", "hybridized"):
        ratio = f"{res[key] / res['torch']:.2f}x" if "torch" in res else "-"
        rows.append([f"{name} mxplug {key}", f"{res[key]:,.0f}", ratio])
    if "torch" in res:
        rows.append([f"{name} torch {torch.__version__}", f"{res['torch']:,.0f}", "1.00x"])
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ctx", default="cpu", help="the mxplug context")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0,
                    help="give NumPy's BLAS and PyTorch N threads (re-executes the script with "
                         "OPENBLAS_NUM_THREADS/OMP_NUM_THREADS=N); 0 keeps the defaults")
    ap.add_argument("--only", default="lm", help="comma-separated: lm, lstm")
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args(argv)
    if args.threads:
        limit_threads(args.threads)
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            pass
    if torch is not None and args.threads:
        torch.set_num_threads(args.threads)
    ctx = mx.context.parse(args.ctx)
    rng = np.random.default_rng(0)
    which, tokens_per_step, rows = args.only.split(","), SEQ * BATCH, []
    if "lm" in which:
        tokens = rng.integers(0, VOCAB, (SEQ, BATCH))
        labels = rng.integers(0, VOCAB, (SEQ, BATCH))
        res = {}
        if torch is not None:
            res["torch"] = samples_per_s(torch_step(torch, tokens, labels), tokens_per_step,
                                         args.steps)
        for hyb in (False, True):
            res["hybridized" if hyb else "eager"] = samples_per_s(
                mx_step(tokens, labels, ctx, hyb), tokens_per_step, args.steps, mx.nd.waitall)
        rows += _rows(f"LSTM LM ({ctx})", res, torch)
    if "lstm" in which:
        x_np = rng.uniform(-1, 1, (SEQ, BATCH, EMBED)).astype(np.float32)
        res = {}
        if torch is not None:
            res["torch"] = samples_per_s(torch_lstm_step(torch, x_np), tokens_per_step,
                                         args.steps)
        for hyb in (False, True):
            res["hybridized" if hyb else "eager"] = samples_per_s(
                mx_lstm_step(x_np, ctx, hyb), tokens_per_step, args.steps, mx.nd.waitall)
        rows += _rows(f"LSTM layer ({ctx})", res, torch)
    tinfo = (f"torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch
             else "no torch")
    print(f"machine: {machine()}; numpy {np.__version__} ({numpy_threads()}); {tinfo}; "
          f"{thread_env()}")
    print(f"LSTM language model (vocab {VOCAB}, {LAYERS}x{HIDDEN}, seq {SEQ}, batch {BATCH}), "
          f"SGD; best of 3 rounds of {args.steps} steps\n")
    print(table(["model / framework", "tokens/s", "vs torch"], rows))


if __name__ == "__main__":
    main()
