"""Two small reference networks that MXNet's model zoo lacks: an MLP and LeNet.

They are the networks of MXNet's Gluon tutorials (MNIST-sized inputs), offered here so that
``get_model('mlp')`` / ``get_model('lenet')`` give a quick, known model:

* :class:`MLP`: ``Dense(h, relu)`` for each ``h`` in ``hidden`` (default 128, 64), then
  ``Dense(classes)``; any input, flattened by the first Dense.
* :class:`LeNet`: ``Conv2D(20, 5, relu)`` - ``MaxPool2D(2, 2)`` - ``Conv2D(50, 5, relu)`` -
  ``MaxPool2D(2, 2)`` - ``Flatten`` - ``Dense(500, relu)`` - ``Dense(classes)``; input
  ``(N, C, 28, 28)`` (any size of at least 16x16 works; the Dense infers its input size).
"""

from __future__ import annotations

from ... import nn
from ...block import HybridBlock
from ..model_store import load_pretrained

__all__ = ["MLP", "LeNet", "mlp", "lenet"]


class MLP(HybridBlock):
    """Multilayer perceptron: ``features`` (the hidden Dense layers), then ``output``.

    Parameters
    ----------
    hidden : sequence of int, default (128, 64)
        Units of each hidden layer.
    classes : int, default 10
        Number of output classes.
    activation : str, default 'relu'
        Activation of the hidden layers.
    """

    def __init__(self, hidden=(128, 64), classes=10, activation="relu", **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            for units in hidden:
                self.features.add(nn.Dense(units, activation=activation))
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


class LeNet(HybridBlock):
    """LeNet as in MXNet's Gluon tutorials: ``features`` (two conv/pool stages and the
    500-unit hidden layer), then ``output``.

    Parameters
    ----------
    classes : int, default 10
        Number of output classes.
    """

    def __init__(self, classes=10, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            self.features.add(nn.Conv2D(20, kernel_size=5, activation="relu"),
                              nn.MaxPool2D(pool_size=2, strides=2),
                              nn.Conv2D(50, kernel_size=5, activation="relu"),
                              nn.MaxPool2D(pool_size=2, strides=2),
                              nn.Flatten(),
                              nn.Dense(500, activation="relu"))
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def mlp(pretrained=False, ctx=None, root=None, **kwargs):
    """:class:`MLP`; ``pretrained`` True loads ``<root>/mlp.params``, a string is a file path.

    ``**kwargs`` go to :class:`MLP` (``hidden``, ``classes``, ``activation``, ``prefix``).
    """
    return load_pretrained(MLP(**kwargs), "mlp", pretrained, ctx, root)


def lenet(pretrained=False, ctx=None, root=None, **kwargs):
    """:class:`LeNet`; ``pretrained`` True loads ``<root>/lenet.params``, a string is a file
    path. ``**kwargs`` go to :class:`LeNet` (``classes``, ``prefix``)."""
    return load_pretrained(LeNet(**kwargs), "lenet", pretrained, ctx, root)
