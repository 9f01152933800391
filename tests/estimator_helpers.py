"""What the Estimator tests share: a linear-regression dataset, a seeded Dense layer, an
Estimator over it with a plain SGD Trainer."""

from __future__ import annotations

import numpy as np

import mxplug as mx
from mxplug import gluon
from mxplug.gluon.contrib.estimator import Estimator


def _loader(x, y, batch_size):
    return gluon.data.DataLoader(gluon.data.ArrayDataset(x, y), batch_size=batch_size)


def _linear_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    w = np.array([[1.5], [-2.0], [0.5]], np.float32)
    y = (x @ w + 0.3).astype(np.float32)
    return x, y


def _dense(seed=0, units=1, in_units=3):
    net = gluon.nn.Dense(units, in_units=in_units)
    net.initialize(mx.init.Normal(0.1))
    rng = np.random.default_rng(seed)
    net.weight.set_data(mx.nd.array(rng.normal(0, 0.1, (units, in_units)).astype(np.float32)))
    net.bias.set_data(mx.nd.zeros((units,)))
    return net


def _estimator(net, loss=None, lr=0.1, momentum=0.0, **kw):
    trainer = gluon.Trainer(net.collect_params(), "sgd",
                            {"learning_rate": lr, "momentum": momentum})
    est = Estimator(net, loss or gluon.loss.L2Loss(), trainer=trainer, **kw)
    est.logger.handlers.clear()  # keep the test output quiet; tests add their own handler
    return est
