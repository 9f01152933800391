"""Backend discovery through the ``mxplug.backends`` entry-point group, lazily and fault-tolerantly.

A plugin that fails to import, or whose device is absent, is recorded with the reason and never
breaks ``import mxplug``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .. import context as _context
from ..base import MXNetError, MXNetValueError

__all__ = [
    "entry_points",
    "load",
    "backend_for",
    "list_backends",
    "BackendInfo",
    "check_device_type",
    "num_devices",
    "register",
]

GROUP = "mxplug.backends"
#: Used when mxplug runs from a source tree that was never pip-installed (no entry points).
_BUILTIN = {"numpy": "mxplug.backends.numpy:NumpyBackend",
            "opencl": "mxplug.backends.opencl:OpenCLBackend",
            "cupy": "mxplug.backends.cupy:CupyBackend",
            "array_api_strict": "mxplug.backends.array_api:StrictBackend"}
#: A target ``array-api:<module>`` is that Array API namespace as a backend, with no code:
#: ``MXPLUG_PLUGINS="mydev=array-api:array_api_compat.torch"`` serves ``mx.Context("mydev", 0)``.
ARRAY_API_PREFIX = "array-api:"
#: Device types whose plugins ship with mxplug, known without importing anything.
BUILTIN_DEVICE_TYPES = {"cpu": "numpy", "gpu": "cupy", "opencl": "opencl"}

_eps: dict | None = None
_loaded: dict = {}  # name -> backend instance, or str reason it could not be loaded


def entry_points() -> dict:
    """``{name: "module:Class"}`` of every registered backend."""
    global _eps
    if _eps is None:
        from importlib.metadata import entry_points as _ep

        found = {ep.name: ep.value for ep in _ep(group=GROUP)}
        _eps = {**_BUILTIN, **found, **_from_env()}
    return _eps


def _from_env() -> dict:
    """``MXPLUG_PLUGINS="name=module:Class,..."``: plugins to load without installing them
    (a plugin under development, or a checkout that was never pip-installed)."""
    spec = os.environ.get("MXPLUG_PLUGINS", "")
    pairs = [item.split("=", 1) for item in spec.split(",") if "=" in item]
    return {name.strip(): target.strip() for name, target in pairs}


def load(name: str):
    """The backend instance for ``name``, or a string saying why it is not loadable."""
    if name in _loaded:
        return _loaded[name]
    target = entry_points().get(name)
    if target is None:
        _loaded[name] = f"no backend named {name!r} is installed"
        return _loaded[name]
    try:
        import importlib

        if target.startswith(ARRAY_API_PREFIX):
            from .array_api import ArrayAPIBackend

            be = ArrayAPIBackend(target[len(ARRAY_API_PREFIX):], name=name, device_type=name)
        else:
            mod, _, cls = target.partition(":")
            be = getattr(importlib.import_module(mod), cls)()
    except Exception as e:  # a broken plugin must not break mxplug
        be = f"failed to load {target}: {type(e).__name__}: {e}"
    _loaded[name] = be
    return be


def register(backend) -> None:
    """Add a backend instance at run time (replacing one of the same name): its device type
    becomes a context type at once. See :func:`mxplug.backends.array_api.make_backend`."""
    entry_points()[backend.name] = f"<registered at run time: {type(backend).__name__}>"
    _loaded[backend.name] = backend


def _all_loaded():
    return [(n, load(n)) for n in entry_points()]


def _reason(be) -> str | None:
    if isinstance(be, str):
        return be
    try:
        return be.available()
    except Exception as e:
        return f"available() raised {type(e).__name__}: {e}"


def known_device_types() -> dict:
    """``{device_type: [backend names]}`` over built-ins and every loadable plugin."""
    types: dict = {t: [] for t in BUILTIN_DEVICE_TYPES}
    for name, be in _all_loaded():
        if not isinstance(be, str):
            types.setdefault(be.device_type, []).append(name)
    return types


def check_device_type(device_type: str) -> None:
    if device_type in BUILTIN_DEVICE_TYPES or device_type == "cpu_pinned":
        return
    types = known_device_types()
    if device_type not in types:
        raise MXNetValueError(
            f"unknown device type {device_type!r}; known device types: "
            f"{', '.join(sorted(types))} (a plugin adds new ones)"
        )


def _candidates(device_type: str):
    env = os.environ.get(f"MXPLUG_BACKEND_{device_type.upper()}")
    if env:
        return [env]
    names = [
        n for n, be in _all_loaded() if not isinstance(be, str) and be.device_type == device_type
    ]
    builtin = BUILTIN_DEVICE_TYPES.get(device_type)
    if builtin and builtin not in names:
        names.append(builtin)
    return names


def backend_for(ctx):
    """The available backend serving ``ctx``, or an error that says why there is none."""
    reasons = []
    for name in _candidates(ctx.device_type):
        be = load(name)
        why = _reason(be)
        if why is None and be.device_type != ctx.device_type:
            why = f"serves device type {be.device_type!r}, not {ctx.device_type!r}"
        if why is None:
            n = be.num_devices()
            if n is not None and ctx.device_id >= n:
                raise MXNetValueError(
                    f"{ctx}: no such device; backend {name!r} has {n} "
                    f"{ctx.device_type} device(s) (ids 0..{n - 1})"
                )
            return be
        reasons.append(f"{name}: {why}")
    detail = "; ".join(reasons) or "no installed backend serves it"
    raise MXNetError(f"context {ctx} is unavailable ({detail}); see `mxplug info`")


def num_devices(device_type: str) -> int:
    for name in _candidates(device_type):
        be = load(name)
        if _reason(be) is None:
            return be.num_devices() or 0
    return 0


@dataclass
class BackendInfo:
    """One row of ``mxplug info``."""

    name: str
    device_type: str
    reason: str | None
    version: str = ""
    devices: list = field(default_factory=list)

    @property
    def available(self) -> bool:
        return self.reason is None

    def line(self) -> str:
        head = (
            f"{self.name} available"
            if self.available
            else f"{self.name} unavailable: {self.reason}"
        )
        extra = [f"device_type={self.device_type}"]
        if self.version:
            extra.append(self.version)
        extra += [f"[{d}]" for d in self.devices]
        return f"{head}  ({', '.join(extra)})"


def list_backends() -> list[BackendInfo]:
    """Every backend found, available or not, plus built-in device types nobody serves."""
    rows, served = [], set()
    for name, be in _all_loaded():
        why = _reason(be)
        if isinstance(be, str):
            rows.append(BackendInfo(name, "?", why))
            continue
        served.add(be.device_type)
        info = {}
        if why is None:
            try:
                info = be.describe()
            except Exception as e:
                why = f"describe() raised {type(e).__name__}: {e}"
        rows.append(
            BackendInfo(
                name, be.device_type, why, info.get("version", ""), list(info.get("devices", []))
            )
        )
    for dtype, name in BUILTIN_DEVICE_TYPES.items():
        if dtype not in served and name not in entry_points():
            rows.append(
                BackendInfo(
                    name,
                    dtype,
                    f"no plugin for device type {dtype!r} is installed in this version of mxplug",
                )
            )
    return rows


_context._hooks.check_device_type = staticmethod(check_device_type)
_context._hooks.backend_for = staticmethod(backend_for)
_context._hooks.num_devices = staticmethod(num_devices)
