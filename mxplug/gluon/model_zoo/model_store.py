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

from ...base import MXNetError, MXNetTypeError

__all__ = ["get_model_file", "purge", "default_root", "load_pretrained",
           "PretrainedFileNotFoundError"]


class PretrainedFileNotFoundError(MXNetError, FileNotFoundError):
    """No local parameter file for a ``pretrained=True`` model (mxplug downloads nothing)."""


def default_root() -> str:
    """``$MXNET_HOME/models``, or ``~/.mxnet/models`` (MXNet's default ``root``)."""
    home = os.environ.get("MXNET_HOME", os.path.join("~", ".mxnet"))
    return os.path.join(os.path.expanduser(home), "models")


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
    raise PretrainedFileNotFoundError(
        f"Pretrained weights for model {name!r} not found: mxplug does not download model "
        f"files. Put the parameter file at {plain!r} (a file written by "
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
