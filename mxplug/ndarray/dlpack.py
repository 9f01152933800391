"""MXNet 1.x's DLPack functions: ``mx.nd.to_dlpack_for_read`` / ``to_dlpack_for_write`` (a
``"dltensor"`` capsule sharing the array's memory, for ``torch.utils.dlpack.from_dlpack`` and
the like) and capsules accepted by ``mx.nd.from_dlpack``.

A capsule carries no ``__dlpack__`` of its own, so :class:`CapsuleProducer` presents one as a
producer; its device is read from the ``DLManagedTensor`` the capsule points to (the struct
begins with ``DLTensor {void *data; DLDevice {int32 device_type; int32 device_id}; ...}``)."""

from __future__ import annotations

import ctypes

__all__ = ["to_dlpack_for_read", "to_dlpack_for_write", "as_producer"]

_GET_POINTER = ctypes.pythonapi.PyCapsule_GetPointer
_GET_POINTER.restype = ctypes.c_void_p
_GET_POINTER.argtypes = [ctypes.py_object, ctypes.c_char_p]


class CapsuleProducer:
    """A DLPack ``"dltensor"`` capsule as a producer object (``__dlpack__`` hands it over)."""

    def __init__(self, capsule):
        self._capsule = capsule
        pointer = _GET_POINTER(capsule, b"dltensor")  # ValueError when used or not a DLPack one
        device = (ctypes.c_int32 * 2).from_address(pointer + ctypes.sizeof(ctypes.c_void_p))
        self._device = (int(device[0]), int(device[1]))

    def __dlpack__(self, *args, **kwargs):
        return self._capsule

    def __dlpack_device__(self):
        return self._device


def as_producer(obj):
    """``obj``, or a producer for it when it is a bare DLPack capsule."""
    return CapsuleProducer(obj) if type(obj).__name__ == "PyCapsule" else obj


def to_dlpack_for_read(data):
    """A DLPack capsule sharing ``data``'s memory once pending writes to it are done (MXNet's
    ``to_dlpack_for_read``); consumers must not write through it."""
    data.wait_to_read()
    return data.__dlpack__()


def to_dlpack_for_write(data):
    """A DLPack capsule sharing ``data``'s memory, for a consumer that writes into it (MXNet's
    ``to_dlpack_for_write``: every pending operation on ``data`` is done first)."""
    data.wait_to_read()
    return data.__dlpack__()
