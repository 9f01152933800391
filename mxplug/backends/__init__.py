"""Backend plugins: the protocol, discovery, and the built-ins.

``mx.backends.list()`` returns one :class:`~mxplug.backends.registry.BackendInfo` per backend;
``mx.backends.get(name)`` the plugin instance.
"""

from . import registry
from .protocol import Backend, BackendBase
from .registry import BackendInfo

__all__ = ["Backend", "BackendBase", "BackendInfo", "list", "get", "registry"]


def list():  # noqa: A001 - MXNet-style name
    """Every backend found, with availability, reason, version and devices."""
    return registry.list_backends()


def get(name: str):
    """The loaded backend plugin ``name`` (raises if it is missing or unavailable)."""
    from ..base import MXNetError

    be = registry.load(name)
    why = registry._reason(be)
    if why is not None:
        raise MXNetError(f"backend {name!r} is unavailable: {why}")
    return be
