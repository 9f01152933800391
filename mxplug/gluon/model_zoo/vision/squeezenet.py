"""SqueezeNet 1.0 and 1.1 (MXNet 1.x ``gluon.model_zoo.vision.squeezenet``)."""

from __future__ import annotations

from ... import nn
from ...block import HybridBlock
from ...contrib.nn import HybridConcurrent
from ..model_store import load_pretrained

__all__ = ["SqueezeNet", "squeezenet1_0", "squeezenet1_1", "get_squeezenet"]


def _fire_conv(channels, kernel_size, padding=0):
    out = nn.HybridSequential(prefix="")
    out.add(nn.Conv2D(channels, kernel_size, padding=padding))
    out.add(nn.Activation("relu"))
    return out


def _fire(squeeze_channels, expand1x1_channels, expand3x3_channels):
    """A fire module: a 1x1 squeeze, then 1x1 and 3x3 expands concatenated on channels."""
    out = nn.HybridSequential(prefix="")
    out.add(_fire_conv(squeeze_channels, 1))
    paths = HybridConcurrent(axis=1, prefix="")
    paths.add(_fire_conv(expand1x1_channels, 1))
    paths.add(_fire_conv(expand3x3_channels, 3, 1))
    out.add(paths)
    return out


# (stem channels, stem kernel, stages: fire settings, a max-pool between stages)
_SPEC = {
    "1.0": (96, 7, [[(16, 64, 64), (16, 64, 64), (32, 128, 128)],
                    [(32, 128, 128), (48, 192, 192), (48, 192, 192), (64, 256, 256)],
                    [(64, 256, 256)]]),
    "1.1": (64, 3, [[(16, 64, 64), (16, 64, 64)], [(32, 128, 128), (32, 128, 128)],
                    [(48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256)]]),
}


class SqueezeNet(HybridBlock):
    """SqueezeNet (Iandola et al. 2016, arXiv:1602.07360): ``features`` = stem convolution,
    fire modules between ceil-mode max-pools, Dropout(0.5); ``output`` = 1x1 convolution to
    ``classes``, ReLU, 13x13 average pool, Flatten. Inputs of 224x224.

    Parameters
    ----------
    version : str
        '1.0' or '1.1' (1.1: 2.4x less computation, same accuracy).
    classes : int, default 1000
        Number of output classes.
    """

    def __init__(self, version, classes=1000, **kwargs):
        super().__init__(**kwargs)
        assert version in _SPEC, \
            f"Unsupported SqueezeNet version {version}: 1.0 or 1.1 expected"
        stem_channels, stem_kernel, stages = _SPEC[version]
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            self.features.add(nn.Conv2D(stem_channels, kernel_size=stem_kernel, strides=2))
            self.features.add(nn.Activation("relu"))
            for stage in stages:
                self.features.add(nn.MaxPool2D(pool_size=3, strides=2, ceil_mode=True))
                for setting in stage:
                    self.features.add(_fire(*setting))
            self.features.add(nn.Dropout(0.5))
            self.output = nn.HybridSequential(prefix="")
            self.output.add(nn.Conv2D(classes, kernel_size=1))
            self.output.add(nn.Activation("relu"))
            self.output.add(nn.AvgPool2D(13))
            self.output.add(nn.Flatten())

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def get_squeezenet(version, pretrained=False, ctx=None, root=None, **kwargs):
    """SqueezeNet by version (arXiv:1602.07360).

    Parameters
    ----------
    version : str
        '1.0' or '1.1'.
    pretrained : bool or str, default False
        True loads ``<root>/squeezenet<version>.params``; a string is the parameter file's
        path.
    ctx : Context, optional
        Where to load the pretrained weights.
    root : str, default ``$MXNET_HOME/models``
        The folder of the parameter files.
    **kwargs
        Passed to :class:`SqueezeNet` (``classes``, ``prefix``).
    """
    net = SqueezeNet(version, **kwargs)
    return load_pretrained(net, f"squeezenet{version}", pretrained, ctx, root)


def squeezenet1_0(**kwargs):
    """SqueezeNet 1.0; keyword arguments as :func:`get_squeezenet`."""
    return get_squeezenet("1.0", **kwargs)


def squeezenet1_1(**kwargs):
    """SqueezeNet 1.1; keyword arguments as :func:`get_squeezenet`."""
    return get_squeezenet("1.1", **kwargs)
