"""Backend plugins: the protocol, discovery, and the built-ins.

``mx.backends.list()`` returns one :class:`~mxplug.backends.registry.BackendInfo` per backend;
``mx.backends.get(name)`` the plugin instance; ``mx.backends.coverage()`` how each runs each op.
"""

from . import registry
from .protocol import Backend, BackendBase
from .registry import BackendInfo

__all__ = ["Backend", "BackendBase", "BackendInfo", "list", "get", "coverage", "registry"]


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


def coverage(backend_name: str | None = None) -> dict:
    """How each backend runs each op: ``{op name: {backend name: status}}``.

    ``status`` is one of native | generic | composite | host-fallback | missing (see
    :meth:`mxplug.ops.registry.Op.coverage`). Ops are listed once (aliases left out), sorted by
    name; backends are every available one, or only ``backend_name`` (an error if it is
    unavailable).
    """
    from ..ops import REGISTRY

    if backend_name is None:
        names = [b.name for b in list() if b.available]
    else:
        names = [backend_name]
    loaded = {n: get(n) for n in names}
    ops = sorted({op.name: op for op in REGISTRY.values()}.values(), key=lambda o: o.name)
    return {op.name: {n: op.coverage(be) for n, be in loaded.items()} for op in ops}
