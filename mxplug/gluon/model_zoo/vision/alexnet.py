"""AlexNet (MXNet 1.x ``gluon.model_zoo.vision.alexnet``)."""

from __future__ import annotations

from ... import nn
from ...block import HybridBlock
from ..model_store import load_pretrained

__all__ = ["AlexNet", "alexnet"]


class AlexNet(HybridBlock):
    """AlexNet (Krizhevsky et al. 2012, "One weird trick", arXiv:1404.5997): five convolutions
    with three max-pools, then two Dense(4096, relu) + Dropout(0.5) in ``features``; ``output``
    is the classifier. Inputs of 224x224.

    Parameters
    ----------
    classes : int, default 1000
        Number of output classes.
    """

    def __init__(self, classes=1000, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            with self.features.name_scope():
                for channels, kernel, strides, padding, pool in (
                        (64, 11, 4, 2, True), (192, 5, 1, 2, True), (384, 3, 1, 1, False),
                        (256, 3, 1, 1, False), (256, 3, 1, 1, True)):
                    self.features.add(nn.Conv2D(channels, kernel_size=kernel, strides=strides,
                                                padding=padding, activation="relu"))
                    if pool:
                        self.features.add(nn.MaxPool2D(pool_size=3, strides=2))
                self.features.add(nn.Flatten())
                for _ in range(2):
                    self.features.add(nn.Dense(4096, activation="relu"))
                    self.features.add(nn.Dropout(0.5))
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def alexnet(pretrained=False, ctx=None, root=None, **kwargs):
    """AlexNet (arXiv:1404.5997).

    Parameters
    ----------
    pretrained : bool or str, default False
        True loads ``<root>/alexnet.params``; a string is the parameter file's path.
    ctx : Context, optional
        Where to load the pretrained weights.
    root : str, default ``$MXNET_HOME/models``
        The folder of the parameter files.
    **kwargs
        Passed to :class:`AlexNet` (``classes``, ``prefix``).
    """
    return load_pretrained(AlexNet(**kwargs), "alexnet", pretrained, ctx, root)
