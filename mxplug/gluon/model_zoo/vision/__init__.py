"""``mx.gluon.model_zoo.vision``: predefined vision networks (MXNet 1.x).

ResNet V1/V2 (18-152), MobileNet V1/V2, VGG 11-19 (with or without BatchNorm), AlexNet,
DenseNet 121-201, SqueezeNet 1.0/1.1, Inception V3, and two small
networks of mxplug's own, MLP and LeNet (see :mod:`.simple`). Build a model with random weights
by its constructor (``vision.resnet18_v1(classes=10, thumbnail=True)``) or by name
(``vision.get_model('resnet18_v1')``). ``pretrained=True`` loads local weights from
``<root>/<name>.params``; nothing is downloaded (see :mod:`..model_store`).
"""

from __future__ import annotations

from ....base import MXNetValueError
from .alexnet import *  # noqa: F403
from .alexnet import __all__ as _alexnet_all
from .densenet import *  # noqa: F403
from .densenet import __all__ as _densenet_all
from .inception import *  # noqa: F403
from .inception import __all__ as _inception_all
from .mobilenet import *  # noqa: F403
from .mobilenet import __all__ as _mobilenet_all
from .resnet import *  # noqa: F403
from .resnet import __all__ as _resnet_all
from .simple import *  # noqa: F403
from .simple import __all__ as _simple_all
from .squeezenet import *  # noqa: F403
from .squeezenet import __all__ as _squeezenet_all
from .vgg import *  # noqa: F403
from .vgg import __all__ as _vgg_all

__all__ = ["get_model", *_resnet_all, *_mobilenet_all, *_vgg_all, *_alexnet_all, *_densenet_all,
           *_squeezenet_all, *_inception_all, *_simple_all]

_MODELS = {
    **{f"resnet{n}_v{v}": f"resnet{n}_v{v}" for v in (1, 2) for n in (18, 34, 50, 101, 152)},
    **{f"vgg{n}{bn}": f"vgg{n}{bn}" for n in (11, 13, 16, 19) for bn in ("", "_bn")},
    "mobilenet1.0": "mobilenet1_0", "mobilenet0.75": "mobilenet0_75",
    "mobilenet0.5": "mobilenet0_5", "mobilenet0.25": "mobilenet0_25",
    "mobilenetv2_1.0": "mobilenet_v2_1_0", "mobilenetv2_0.75": "mobilenet_v2_0_75",
    "mobilenetv2_0.5": "mobilenet_v2_0_5", "mobilenetv2_0.25": "mobilenet_v2_0_25",
    "alexnet": "alexnet", "inceptionv3": "inception_v3",
    **{f"densenet{n}": f"densenet{n}" for n in (121, 161, 169, 201)},
    "squeezenet1.0": "squeezenet1_0", "squeezenet1.1": "squeezenet1_1",
    "mlp": "mlp", "lenet": "lenet",
}


def get_model(name, **kwargs):
    """A predefined model by name.

    Parameters
    ----------
    name : str
        The model's name (case-insensitive), as in MXNet: ``'resnet18_v1'``, ``'vgg16_bn'``,
        ``'mobilenet1.0'``, ``'mobilenetv2_0.5'``, ``'densenet121'``, ``'squeezenet1.1'``,
        ``'alexnet'``, ``'inceptionv3'``, ... plus ``'mlp'`` and ``'lenet'``.
    pretrained : bool or str, default False
        True loads ``<root>/<name>.params``; a string is the path of the parameter file.
    classes : int
        Number of output classes.
    ctx : Context, optional
        Where to load the pretrained weights.
    root : str, default ``$MXNET_HOME/models``
        The folder of the parameter files.

    Returns
    -------
    HybridBlock
        The model.

    Raises
    ------
    MXNetValueError (a ValueError, as in MXNet)
        Unknown name; the message lists the available ones.
    """
    key = name.lower()
    if key not in _MODELS:
        raise MXNetValueError(f"Model {name} is not supported. Available options are\n\t"
                              + "\n\t".join(sorted(_MODELS)))
    return globals()[_MODELS[key]](**kwargs)
