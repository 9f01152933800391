"""CLArray: an n-d view of an OpenCL buffer (shape, element strides, element offset, dtype).

Views (reshape of contiguous data, transpose, basic slicing with any step, broadcasting with
stride 0) share the buffer; every kernel takes strides and offsets, so no view needs a copy to
be computed on. Operators and methods forward to the backend's array namespace (``xp``), so the
registry's generic op bodies run on it unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from ..operators import install_operators

_C_STRIDES: dict = {}


def c_strides(shape):
    """Element strides of a C-contiguous array of ``shape`` (cached: a training step asks for
    the same few shapes again and again)."""
    if type(shape) is not tuple:
        shape = tuple(shape)
    st = _C_STRIDES.get(shape)
    if st is None:
        strides, acc = [], 1
        for s in reversed(shape):
            strides.append(acc)
            acc *= s
        st = tuple(reversed(strides))
        if len(_C_STRIDES) < 4096:
            _C_STRIDES[shape] = st
    return st


_new = object.__new__


class CLArray:
    __slots__ = ("rt", "buf", "shape", "_strides", "offset", "dtype", "_contig", "__weakref__")
    __array_priority__ = 100.0

    def __init__(self, rt, buf, shape, dtype, strides=None, offset=0):
        self.rt = rt
        self.buf = buf
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self._strides = c_strides(self.shape) if strides is None else tuple(strides)
        self.offset = int(offset)
        self._contig = True if strides is None else None  # computed on first use

    # -- array protocol --------------------------------------------------------------------------
    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def strides(self):
        """NumPy-style strides in bytes."""
        return tuple(s * self.dtype.itemsize for s in self._strides)

    @property
    def is_contiguous(self):
        """C-contiguous (size-1 axes may have any stride); cached: views never change."""
        c = self._contig
        if c is None:
            c = self._contig = self.size <= 1 or all(
                st == cs for st, cs, n in zip(self._strides, c_strides(self.shape), self.shape)
                if n != 1)
        return c

    @property
    def device(self):
        return self.rt

    @property
    def T(self):
        return self.view(self.shape[::-1], self._strides[::-1])

    @property
    def mT(self):
        nd = self.ndim
        perm = tuple(range(nd - 2)) + (nd - 1, nd - 2)
        return self.view(tuple(self.shape[p] for p in perm), tuple(self._strides[p] for p in perm))

    def view(self, shape, strides, offset=None):
        # built slot by slot: views are made several times per op, and __init__'s
        # conversions cost more than the rest of a view
        v = _new(CLArray)
        v.rt, v.buf, v.dtype = self.rt, self.buf, self.dtype
        v.shape = tuple(map(int, shape))
        v._strides = tuple(strides)
        v.offset = self.offset if offset is None else int(offset)
        v._contig = None
        return v

    def __array_namespace__(self, api_version=None):
        from . import xp
        return xp

    def get(self) -> np.ndarray:
        from . import xp
        return xp.to_numpy(self)

    def __array__(self, dtype=None, copy=None):
        a = self.get()
        return a if dtype is None else a.astype(dtype)

    def __repr__(self):
        return f"CLArray({self.get()!r})"

    def __len__(self):
        return self.shape[0]

    def __bool__(self):
        if self.size != 1:
            raise ValueError("the truth value of an array with more than one element is ambiguous")
        return bool(self.get().reshape(-1)[0])

    def __float__(self):
        return float(self.get().reshape(-1)[0])

    def __int__(self):
        return int(self.get().reshape(-1)[0])

    def item(self):
        return self.get().reshape(-1)[0].item()

    def __dlpack__(self, *a, **k):
        raise TypeError("OpenCL buffers cannot be shared through DLPack; copy to cpu first")

    # -- methods NumPy-style bodies use ----------------------------------------------------------
    def astype(self, dtype, copy=True):
        from . import xp
        return xp.astype(self, dtype, copy=copy)

    def reshape(self, *shape):
        from . import xp
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return xp.reshape(self, tuple(shape))

    def copy(self):
        from . import xp
        return xp.asarray(self, copy=True)

    def __getitem__(self, key):
        from . import xp
        return xp.getitem(self, key)

    def __setitem__(self, key, value):
        from . import xp
        xp.setitem(self, key, value)


def _binary(name, reflected=False):
    def method(self, other):
        from . import xp
        f = getattr(xp, name)
        return f(other, self) if reflected else f(self, other)
    method.__name__ = name
    return method


def _unary(name):
    def method(self):
        from . import xp
        return getattr(xp, name)(self)
    return method


install_operators(CLArray, _binary, _unary)
