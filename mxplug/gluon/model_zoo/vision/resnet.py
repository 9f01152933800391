"""ResNet V1 and V2 (MXNet 1.x ``gluon.model_zoo.vision.resnet``).

The blocks, parameter names and the ``features``/``output`` split follow MXNet 1.x exactly, so
parameter files saved by MXNet's model zoo map one to one. ``thumbnail=True`` swaps the ImageNet
stem (7x7/2 conv, BN, ReLU, 3x3/2 max-pool) for one 3x3/1 conv: the CIFAR-10 stem (32x32 inputs).
"""

from __future__ import annotations

from ... import nn
from ...block import HybridBlock
from ..model_store import load_pretrained, model_constructor

__all__ = ["ResNetV1", "ResNetV2", "BasicBlockV1", "BasicBlockV2", "BottleneckV1",
           "BottleneckV2", "resnet18_v1", "resnet34_v1", "resnet50_v1", "resnet101_v1",
           "resnet152_v1", "resnet18_v2", "resnet34_v2", "resnet50_v2", "resnet101_v2",
           "resnet152_v2", "get_resnet"]

_BLOCK_DOC = """
    Parameters
    ----------
    channels : int
        Number of output channels.
    stride : int
        Stride of the block (2 halves the spatial size).
    downsample : bool, default False
        Project the shortcut with a strided 1x1 convolution (needed when the stride or the
        channel count changes).
    in_channels : int, default 0
        Number of input channels; 0 infers it from the first input.
    """


def _conv3x3(channels, stride, in_channels):
    return nn.Conv2D(channels, kernel_size=3, strides=stride, padding=1, use_bias=False,
                     in_channels=in_channels)


def _projection(channels, stride, in_channels, with_bn):
    """The 1x1 strided shortcut convolution (followed by BN in V1)."""
    conv = nn.Conv2D(channels, kernel_size=1, strides=stride, use_bias=False,
                     in_channels=in_channels)
    if not with_bn:
        return conv
    proj = nn.HybridSequential(prefix="")
    proj.add(conv)
    proj.add(nn.BatchNorm())
    return proj


class _ResidualBlock(HybridBlock):
    """What the four blocks share: the constructor's arguments, and the shortcut projection
    created after the block's own layers (``_build``), so that parameter names follow MXNet's
    creation order. ``_BN_SHORTCUT``: the projection has a BatchNorm (V1)."""

    _BN_SHORTCUT = True

    def __init__(self, channels, stride, downsample=False, in_channels=0, **kwargs):
        super().__init__(**kwargs)
        self._build(channels, stride, in_channels)
        self.downsample = (_projection(channels, stride, in_channels, self._BN_SHORTCUT)
                           if downsample else None)

    def _build(self, channels, stride, in_channels):
        raise NotImplementedError


class BasicBlockV1(_ResidualBlock):
    __doc__ = ("Basic residual block V1 (He et al. 2015, arXiv:1512.03385), used by "
               "ResNet-18/34 V1: conv3x3-BN-ReLU-conv3x3-BN, add the shortcut, ReLU.\n"
               + _BLOCK_DOC)

    def _build(self, channels, stride, in_channels):
        self.body = nn.HybridSequential(prefix="")
        self.body.add(_conv3x3(channels, stride, in_channels))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(_conv3x3(channels, 1, channels))
        self.body.add(nn.BatchNorm())

    def hybrid_forward(self, F, x):
        residual = self.downsample(x) if self.downsample else x
        return F.Activation(residual + self.body(x), act_type="relu")


class BottleneckV1(_ResidualBlock):
    __doc__ = ("Bottleneck residual block V1 (He et al. 2015), used by ResNet-50/101/152 V1: "
               "conv1x1 (strided)-BN-ReLU-conv3x3-BN-ReLU-conv1x1-BN, add the shortcut, ReLU. "
               "As in MXNet, the two 1x1 convolutions of the body have a bias.\n" + _BLOCK_DOC)

    def _build(self, channels, stride, in_channels):
        self.body = nn.HybridSequential(prefix="")
        self.body.add(nn.Conv2D(channels // 4, kernel_size=1, strides=stride))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(_conv3x3(channels // 4, 1, channels // 4))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(nn.Conv2D(channels, kernel_size=1, strides=1))
        self.body.add(nn.BatchNorm())

    def hybrid_forward(self, F, x):
        residual = self.downsample(x) if self.downsample else x
        return F.Activation(self.body(x) + residual, act_type="relu")


class _PreActBlock(_ResidualBlock):
    """What the V2 blocks share: BN-ReLU before each convolution (``bn1``/``conv1``, then the
    pairs of ``_later()``), the shortcut taken from the pre-activated input, no BN in it."""

    _BN_SHORTCUT = False

    def _later(self):
        """The (BatchNorm, convolution) pairs after ``bn1``/``conv1``."""
        raise NotImplementedError

    def hybrid_forward(self, F, x):
        residual = x
        x = F.Activation(self.bn1(x), act_type="relu")
        if self.downsample:  # V2 projects the pre-activated input
            residual = self.downsample(x)
        x = self.conv1(x)
        for bn, conv in self._later():
            x = conv(F.Activation(bn(x), act_type="relu"))
        return x + residual


class BasicBlockV2(_PreActBlock):
    __doc__ = ("Basic residual block V2, pre-activation (He et al. 2016, arXiv:1603.05027), "
               "used by ResNet-18/34 V2: BN-ReLU-conv3x3-BN-ReLU-conv3x3 plus the shortcut.\n"
               + _BLOCK_DOC)

    def _build(self, channels, stride, in_channels):
        self.bn1 = nn.BatchNorm()
        self.conv1 = _conv3x3(channels, stride, in_channels)
        self.bn2 = nn.BatchNorm()
        self.conv2 = _conv3x3(channels, 1, channels)

    def _later(self):
        return ((self.bn2, self.conv2),)


class BottleneckV2(_PreActBlock):
    __doc__ = ("Bottleneck residual block V2, pre-activation (He et al. 2016), used by "
               "ResNet-50/101/152 V2: BN-ReLU-conv1x1-BN-ReLU-conv3x3 (strided)-BN-ReLU-conv1x1 "
               "plus the shortcut.\n" + _BLOCK_DOC)

    def _build(self, channels, stride, in_channels):
        self.bn1 = nn.BatchNorm()
        self.conv1 = nn.Conv2D(channels // 4, kernel_size=1, strides=1, use_bias=False)
        self.bn2 = nn.BatchNorm()
        self.conv2 = _conv3x3(channels // 4, stride, channels // 4)
        self.bn3 = nn.BatchNorm()
        self.conv3 = nn.Conv2D(channels, kernel_size=1, strides=1, use_bias=False)

    def _later(self):
        return ((self.bn2, self.conv2), (self.bn3, self.conv3))


_NET_DOC = """
    Parameters
    ----------
    block : type
        The residual block class: {blocks}.
    layers : list of int
        Number of blocks in each stage.
    channels : list of int
        Channels of the stem, then of each stage (one longer than ``layers``).
    classes : int, default 1000
        Number of output classes.
    thumbnail : bool, default False
        Use the CIFAR stem (one 3x3 stride-1 convolution) instead of the ImageNet stem.
    """


class _ResNet(HybridBlock):
    """What V1 and V2 share: the checks, the stem, the stages, the ``output`` Dense, and
    ``features`` followed by ``output``; ``_add_features`` fills ``features`` in between."""

    def __init__(self, block, layers, channels, classes=1000, thumbnail=False, **kwargs):
        super().__init__(**kwargs)
        assert len(layers) == len(channels) - 1, \
            f"channels must be one longer than layers, got {len(channels)} and {len(layers)}"
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            self._add_features(block, layers, channels, thumbnail)
            self.output = nn.Dense(classes, in_units=channels[-1])

    def _add_features(self, block, layers, channels, thumbnail):
        raise NotImplementedError

    def _make_layer(self, block, layers, channels, stride, stage_index, in_channels=0):
        layer = nn.HybridSequential(prefix=f"stage{stage_index}_")
        with layer.name_scope():
            layer.add(block(channels, stride, channels != in_channels, in_channels=in_channels,
                            prefix=""))
            for _ in range(layers - 1):
                layer.add(block(channels, 1, False, in_channels=channels, prefix=""))
        return layer

    def _add_stem(self, channels, thumbnail):
        if thumbnail:
            self.features.add(_conv3x3(channels, 1, 0))
        else:
            self.features.add(nn.Conv2D(channels, 7, 2, 3, use_bias=False))
            self.features.add(nn.BatchNorm())
            self.features.add(nn.Activation("relu"))
            self.features.add(nn.MaxPool2D(3, 2, 1))

    def _add_stages(self, block, layers, channels):
        """Stage ``i + 1`` (stride 1 for the first, 2 after): ``channels[i]`` in,
        ``channels[i + 1]`` out."""
        for i, num_layer in enumerate(layers):
            self.features.add(self._make_layer(block, num_layer, channels[i + 1],
                                               1 if i == 0 else 2, i + 1,
                                               in_channels=channels[i]))

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


class ResNetV1(_ResNet):
    __doc__ = ("ResNet V1 (He et al. 2015, arXiv:1512.03385).\n"
               + _NET_DOC.format(blocks="BasicBlockV1 or BottleneckV1"))

    def _add_features(self, block, layers, channels, thumbnail):
        self._add_stem(channels[0], thumbnail)
        self._add_stages(block, layers, channels)
        self.features.add(nn.GlobalAvgPool2D())


class ResNetV2(_ResNet):
    __doc__ = ("ResNet V2, pre-activation (He et al. 2016, arXiv:1603.05027). The input first "
               "goes through a BatchNorm without scale and shift (a learned data "
               "normalization).\n" + _NET_DOC.format(blocks="BasicBlockV2 or BottleneckV2"))

    def _add_features(self, block, layers, channels, thumbnail):
        self.features.add(nn.BatchNorm(scale=False, center=False))
        self._add_stem(channels[0], thumbnail)
        self._add_stages(block, layers, channels)
        self.features.add(nn.BatchNorm())
        self.features.add(nn.Activation("relu"))
        self.features.add(nn.GlobalAvgPool2D())
        self.features.add(nn.Flatten())


#: num_layers -> (block kind, blocks per stage, channels of the stem and of each stage)
resnet_spec = {18: ("basic_block", [2, 2, 2, 2], [64, 64, 128, 256, 512]),
               34: ("basic_block", [3, 4, 6, 3], [64, 64, 128, 256, 512]),
               50: ("bottle_neck", [3, 4, 6, 3], [64, 256, 512, 1024, 2048]),
               101: ("bottle_neck", [3, 4, 23, 3], [64, 256, 512, 1024, 2048]),
               152: ("bottle_neck", [3, 8, 36, 3], [64, 256, 512, 1024, 2048])}
resnet_net_versions = [ResNetV1, ResNetV2]
resnet_block_versions = [{"basic_block": BasicBlockV1, "bottle_neck": BottleneckV1},
                         {"basic_block": BasicBlockV2, "bottle_neck": BottleneckV2}]


def get_resnet(version, num_layers, pretrained=False, ctx=None, root=None, **kwargs):
    """ResNet V1 (arXiv:1512.03385) or V2 (arXiv:1603.05027) by version and depth.

    Parameters
    ----------
    version : int
        1 or 2.
    num_layers : int
        18, 34, 50, 101 or 152.
    pretrained : bool or str, default False
        Load weights: True looks for ``<root>/resnet<num_layers>_v<version>.params``; a string
        is the path of the parameter file. Nothing is downloaded.
    ctx : Context, optional
        Where to load the pretrained weights (default: the current context).
    root : str, default ``$MXNET_HOME/models``
        The folder of the parameter files.
    **kwargs
        Passed to :class:`ResNetV1`/:class:`ResNetV2` (``classes``, ``thumbnail``, ``prefix``).

    Returns
    -------
    HybridBlock
    """
    assert num_layers in resnet_spec, \
        f"Invalid number of layers: {num_layers}. Options are {sorted(resnet_spec)}"
    assert version in (1, 2), f"Invalid resnet version: {version}. Options are 1 and 2."
    block_type, layers, channels = resnet_spec[num_layers]
    net = resnet_net_versions[version - 1](resnet_block_versions[version - 1][block_type],
                                           layers, channels, **kwargs)
    return load_pretrained(net, f"resnet{num_layers}_v{version}", pretrained, ctx, root)


def _constructor(version, num_layers):
    paper = "arXiv:1512.03385" if version == 1 else "arXiv:1603.05027"
    return model_constructor(
        f"resnet{num_layers}_v{version}", get_resnet, version, num_layers,
        title=f"ResNet-{num_layers} V{version} ({paper}).",
        extra_doc="    thumbnail : bool, default False\n"
                  "        The CIFAR stem (3x3/1 conv) instead of the ImageNet stem.\n")


resnet18_v1 = _constructor(1, 18)
resnet34_v1 = _constructor(1, 34)
resnet50_v1 = _constructor(1, 50)
resnet101_v1 = _constructor(1, 101)
resnet152_v1 = _constructor(1, 152)
resnet18_v2 = _constructor(2, 18)
resnet34_v2 = _constructor(2, 34)
resnet50_v2 = _constructor(2, 50)
resnet101_v2 = _constructor(2, 101)
resnet152_v2 = _constructor(2, 152)
