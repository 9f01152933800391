"""Local model store: where ``pretrained=True`` looks for parameter files.

MXNet 1.x downloads ``<name>-<sha1 prefix>.params`` from its S3 bucket into ``root``. mxplug has
no download: the file must already be there (put there by hand, or saved by
:meth:`~mxplug.gluon.Block.save_parameters`), under ``<root>/<name>.params`` or MXNet's cached
name ``<root>/<name>-<8 hex digits>.params``.
"""

from __future__ import annotations

import glob
import os
import re

from ...base import MXNetError, MXNetTypeError, MXNetValueError, data_dir

__all__ = ["get_model_file", "purge", "default_root", "load_pretrained", "short_hash",
           "PretrainedFileNotFoundError"]


class PretrainedFileNotFoundError(MXNetError, FileNotFoundError):
    """No local parameter file for a ``pretrained=True`` model (mxplug downloads nothing)."""


#: SHA-1 of the parameter files MXNet 1.9.1 publishes for its model zoo (data; the first 8
#: hex digits are in their file names, <name>-<8 digits>.params).
_MODEL_SHA1 = {
    "alexnet": "44335d1f0046b328243b32a26a4fbd62d9057b45",
    "densenet121": "f27dbf2dbd5ce9a80b102d89c7483342cd33cb31",
    "densenet161": "b6c8a95717e3e761bd88d145f4d0a214aaa515dc",
    "densenet169": "2603f878403c6aa5a71a124c4a3307143d6820e9",
    "densenet201": "1cdbc116bc3a1b65832b18cf53e1cb8e7da017eb",
    "inceptionv3": "ed47ec45a937b656fcc94dabde85495bbef5ba1f",
    "mobilenet0.25": "9f83e440996887baf91a6aff1cccc1c903a64274",
    "mobilenet0.5": "8e9d539cc66aa5efa71c4b6af983b936ab8701c3",
    "mobilenet0.75": "529b2c7f4934e6cb851155b22c96c9ab0a7c4dc2",
    "mobilenet1.0": "6b8c5106c730e8750bcd82ceb75220a3351157cd",
    "mobilenetv2_0.25": "ae8f9392789b04822cbb1d98c27283fc5f8aa0a7",
    "mobilenetv2_0.5": "aabd26cd335379fcb72ae6c8fac45a70eab11785",
    "mobilenetv2_0.75": "e2be7b72a79fe4a750d1dd415afedf01c3ea818d",
    "mobilenetv2_1.0": "36da4ff1867abccd32b29592d79fc753bca5a215",
    "resnet101_v1": "d988c13d6159779e907140a638c56f229634cb02",
    "resnet101_v2": "18e93e4f48947e002547f50eabbcc9c83e516aa6",
    "resnet152_v1": "671c637a14387ab9e2654eafd0d493d86b1c8579",
    "resnet152_v2": "f2695542de38cf7e71ed58f02893d82bb409415e",
    "resnet18_v1": "a0666292f0a30ff61f857b0b66efc0228eb6a54b",
    "resnet18_v2": "a81db45fd7b7a2d12ab97cd88ef0a5ac48b8f657",
    "resnet34_v1": "48216ba99a8b1005d75c0f3a0c422301a0473233",
    "resnet34_v2": "9d6b80bbc35169de6b6edecffdd6047c56fdd322",
    "resnet50_v1": "0aee57f96768c0a2d5b23a6ec91eb08dfb0a45ce",
    "resnet50_v2": "ecdde35339c1aadbec4f547857078e734a76fb49",
    "squeezenet1.0": "264ba4970a0cc87a4f15c96e25246a1307caf523",
    "squeezenet1.1": "33ba0f93753c83d86e1eb397f38a667eaf2e9376",
    "vgg11": "dd221b160977f36a53f464cb54648d227c707a05",
    "vgg11_bn": "ee79a8098a91fbe05b7a973fed2017a6117723a8",
    "vgg13": "6bc5de58a05a5e2e7f493e2d75a580d83efde38c",
    "vgg13_bn": "7d97a06c3c7a1aecc88b6e7385c2b373a249e95e",
    "vgg16": "e660d4569ccb679ec68f1fd3cce07a387252a90a",
    "vgg16_bn": "7f01cf050d357127a73826045c245041b0df7363",
    "vgg19": "ad2f660d101905472b83590b59708b71ea22b2e5",
    "vgg19_bn": "f360b758e856f1074a85abd5fd873ed1d98297c3",
}


def short_hash(name) -> str:
    """The 8 hex digits in the file name of MXNet's published weights for model ``name``."""
    if name not in _MODEL_SHA1:
        raise MXNetValueError(f"Pretrained model for {name} is not available.")
    return _MODEL_SHA1[name][:8]


def default_root() -> str:
    """``$MXNET_HOME/models``, or ``~/.mxnet/models`` (MXNet's default ``root``)."""
    return os.path.join(data_dir(), "models")


_HASHED = re.compile(r"-[0-9a-f]{8}\.params$")


def get_model_file(name, root=None) -> str:
    """Path of the local parameter file of model ``name`` under ``root``.

    Parameters
    ----------
    name : str
        The model's name, as ``get_model`` spells it (``'resnet18_v1'``).
    root : str, default ``$MXNET_HOME/models``
        The folder that holds the files.

    Returns
    -------
    str
        ``<root>/<name>.params`` if it exists, else the one ``<root>/<name>-<hash>.params``.

    Raises
    ------
    PretrainedFileNotFoundError
        Neither file exists: the message says where to put one.
    """
    root = os.path.expanduser(root if root is not None else default_root())
    plain = os.path.join(root, f"{name}.params")
    if os.path.isfile(plain):
        return plain
    hashed = sorted(p for p in glob.glob(os.path.join(glob.escape(root), f"{name}-*.params"))
                    if _HASHED.search(os.path.basename(p)))
    if hashed:
        return hashed[-1]
    published = "" if name in _MODEL_SHA1 else " (MXNet publishes no weights for it)"
    raise PretrainedFileNotFoundError(
        f"Pretrained weights for model {name!r}{published} not found: mxplug does not "
        f"download model files. Put the parameter file at {plain!r} (a file written by "
        f"net.save_parameters(), or MXNet's '{name}-<hash>.params' in that folder), pass "
        f"root='<folder>' to look elsewhere, or pass pretrained='<path/to/file.params>'.")


def purge(root=None) -> None:
    """Delete every ``*.params`` file in ``root`` (MXNet's ``model_store.purge``)."""
    root = os.path.expanduser(root if root is not None else default_root())
    for path in glob.glob(os.path.join(glob.escape(root), "*.params")):
        os.remove(path)


def load_pretrained(net, name, pretrained, ctx=None, root=None):
    """Load ``net``'s weights when ``pretrained`` asks for it; return ``net``.

    ``pretrained`` is False (nothing to do), True (look ``name`` up in ``root`` through
    :func:`get_model_file`) or a path to the parameter file (an mxplug extension).
    """
    if pretrained is False or pretrained is None:
        return net
    if pretrained is True:
        path = get_model_file(name, root)
    elif isinstance(pretrained, (str, os.PathLike)):
        path = os.path.expanduser(os.fspath(pretrained))
        if not os.path.isfile(path):
            raise PretrainedFileNotFoundError(
                f"Pretrained weights for model {name!r}: no file at {path!r} (pretrained= "
                f"takes True or the path of an existing .params file).")
    else:
        raise MXNetTypeError(f"pretrained must be a bool or a file path, got "
                        f"{type(pretrained).__name__}")
    net.load_parameters(path, ctx=ctx)
    return net


def model_constructor(name, getter, *args, title, pretrained_doc=None, extra_doc="", **fixed):
    """A named model constructor (``resnet18_v1``, ``vgg16_bn``, ...): ``name(**kwargs)`` returns
    ``getter(*args, **kwargs)``, with the keyword arguments ``fixed`` overriding the caller's.

    Its docstring is ``title``, then the ``pretrained``, ``ctx``, ``root`` and ``classes``
    parameters (``pretrained_doc`` describes ``pretrained``; by default ``<root>/<name>.params``),
    then ``extra_doc`` (more parameter entries, each line indented and ending in a newline).
    """
    def make(**kwargs):
        return getter(*args, **{**kwargs, **fixed})
    make.__name__ = make.__qualname__ = name
    make.__module__ = getter.__module__
    if pretrained_doc is None:
        pretrained_doc = (f"True loads ``<root>/{name}.params``; a string is the parameter "
                          f"file's path.")
    make.__doc__ = f"""{title}

    Parameters
    ----------
    pretrained : bool or str, default False
        {pretrained_doc}
    ctx : Context, optional
        Where to load the pretrained weights.
    root : str, default ``$MXNET_HOME/models``
        The folder of the parameter files.
    classes : int, default 1000
        Number of output classes.
{extra_doc}    """
    return make
