"""VGG 11/13/16/19, with or without BatchNorm (MXNet 1.x ``gluon.model_zoo.vision.vgg``)."""

from __future__ import annotations

from ....init import Xavier
from ... import nn
from ...block import HybridBlock
from ..model_store import load_pretrained, model_constructor

__all__ = ["VGG", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn",
           "vgg19_bn", "get_vgg"]


class VGG(HybridBlock):
    """VGG (Simonyan and Zisserman 2014, arXiv:1409.1556).

    ``features`` holds the convolution stages (3x3 convs, each followed by BN when
    ``batch_norm``, and ReLU; a 2x2 max-pool ends each stage) and the two Dense(4096, relu) +
    Dropout(0.5) layers; ``output`` is the classifier. Any input of at least 32x32 works (the
    Dense layers infer their input size), ImageNet models expect 224x224.

    Parameters
    ----------
    layers : list of int
        Number of convolutions in each stage.
    filters : list of int
        Channels of each stage (same length as ``layers``).
    classes : int, default 1000
        Number of output classes.
    batch_norm : bool, default False
        Add a BatchNorm after every convolution.
    """

    def __init__(self, layers, filters, classes=1000, batch_norm=False, **kwargs):
        super().__init__(**kwargs)
        assert len(layers) == len(filters), \
            f"layers and filters must have the same length, got {len(layers)} and {len(filters)}"
        with self.name_scope():
            self.features = self._make_features(layers, filters, batch_norm)
            for _ in range(2):
                self.features.add(nn.Dense(4096, activation="relu", weight_initializer="normal",
                                           bias_initializer="zeros"))
                self.features.add(nn.Dropout(rate=0.5))
            self.output = nn.Dense(classes, weight_initializer="normal", bias_initializer="zeros")

    def _make_features(self, layers, filters, batch_norm):
        featurizer = nn.HybridSequential(prefix="")
        for num, channels in zip(layers, filters):
            for _ in range(num):
                featurizer.add(nn.Conv2D(channels, kernel_size=3, padding=1,
                                         weight_initializer=Xavier(rnd_type="gaussian",
                                                                   factor_type="out",
                                                                   magnitude=2),
                                         bias_initializer="zeros"))
                if batch_norm:
                    featurizer.add(nn.BatchNorm())
                featurizer.add(nn.Activation("relu"))
            featurizer.add(nn.MaxPool2D(strides=2))
        return featurizer

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


#: num_layers -> (convolutions per stage, channels per stage)
vgg_spec = {11: ([1, 1, 2, 2, 2], [64, 128, 256, 512, 512]),
            13: ([2, 2, 2, 2, 2], [64, 128, 256, 512, 512]),
            16: ([2, 2, 3, 3, 3], [64, 128, 256, 512, 512]),
            19: ([2, 2, 4, 4, 4], [64, 128, 256, 512, 512])}


def get_vgg(num_layers, pretrained=False, ctx=None, root=None, **kwargs):
    """VGG by depth (arXiv:1409.1556).

    Parameters
    ----------
    num_layers : int
        11, 13, 16 or 19.
    pretrained : bool or str, default False
        True loads ``<root>/vgg<num_layers>[_bn].params``; a string is the parameter file's path.
    ctx : Context, optional
        Where to load the pretrained weights.
    root : str, default ``$MXNET_HOME/models``
        The folder of the parameter files.
    **kwargs
        Passed to :class:`VGG` (``classes``, ``batch_norm``, ``prefix``).
    """
    assert num_layers in vgg_spec, \
        f"Invalid number of layers: {num_layers}. Options are {sorted(vgg_spec)}"
    layers, filters = vgg_spec[num_layers]
    net = VGG(layers, filters, **kwargs)
    name = f"vgg{num_layers}{'_bn' if kwargs.get('batch_norm') else ''}"
    return load_pretrained(net, name, pretrained, ctx, root)


def _constructor(num_layers, batch_norm):
    return model_constructor(
        f"vgg{num_layers}{'_bn' if batch_norm else ''}", get_vgg, num_layers,
        title=(f"VGG-{num_layers}{' with batch normalization' if batch_norm else ''}\n"
               f"    (arXiv:1409.1556)."),
        **({"batch_norm": True} if batch_norm else {}))


vgg11 = _constructor(11, False)
vgg13 = _constructor(13, False)
vgg16 = _constructor(16, False)
vgg19 = _constructor(19, False)
vgg11_bn = _constructor(11, True)
vgg13_bn = _constructor(13, True)
vgg16_bn = _constructor(16, True)
vgg19_bn = _constructor(19, True)
