"""``x[key]`` as an op: basic indexing (ints, slices, None, Ellipsis) and advanced indexing (integer
arrays, boolean masks). Index arrays travel as op inputs, so tracing and autograd see them; the
key's static part is the ``key`` attribute, where :class:`IndexArg` marks each array position."""

from __future__ import annotations

import numpy as np

from ..base import MXNetIndexError
from . import infer as I
from .attrs import IndexArg, IndexKey, Shape
from .call import F
from .registry import Sample, defop


def _rebuild(key, arrays):
    return tuple(arrays[k] if isinstance(k, IndexArg) else k for k in key)


def is_view_key(key) -> bool:
    """MXNet returns views only for an int or a step-1 slice on the first axis."""
    if len(key) != 1:
        return False
    k = key[0]
    return (isinstance(k, int) and not isinstance(k, (bool, IndexArg))) or (
        isinstance(k, slice) and k.step in (None, 1)
    )


def _getitem_infer(x, *idx, key=()):
    dummy = np.empty(x.shape, dtype=np.bool_)
    # float index arrays are MXNet's default; the body truncates them to integers
    arrays = [np.zeros(i.shape, dtype=np.int64 if np.dtype(i.dtype).kind == "f" else i.dtype)
              for i in idx]
    if any(a.dtype == np.bool_ for a in arrays):
        raise I.MXNetValueError(
            "getitem: a boolean mask gives a data-dependent shape, which "
            "static shape inference cannot know"
        )
    try:
        shape = dummy[_rebuild(key, arrays)].shape
    except IndexError as e:
        raise MXNetIndexError(f"getitem: {e} (data shape {x.shape}, key {key})") from None
    return I.Spec(shape or (1,), x.dtype)


getitem = defop(
    "getitem",
    ("data", "indices"),
    {"key": IndexKey(())},
    infer=_getitem_infer,
    variadic=True,
    doc="``data[key]``; a scalar result has shape (1,) as in MXNet 1.x.",
)


@getitem.impl
def _(xp, x, *idx, key=()):
    idx = [
        i.astype(np.int64) if i.dtype.kind == "f" else i for i in idx
    ]  # MXNet indices are floats
    r = x[_rebuild(key, idx)]
    if r.ndim == 0:
        return xp.reshape(r, (1,))
    if not idx and not is_view_key(key):
        r = xp.asarray(r, copy=True)  # MXNet copies all but first-axis basic slices
    return r


getitem.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (4, 5)), key=(slice(1, 3),)),
    lambda rng: Sample(rng.uniform(-1, 1, (4, 5)), key=(2,)),
    lambda rng: Sample(rng.uniform(-1, 1, (4, 5)), key=(slice(None), slice(0, 5, 2))),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 4)), key=(Ellipsis, None, 1)),
    lambda rng: Sample(rng.uniform(-1, 1, (4, 5)), np.array([3, 0, 0]), key=(IndexArg(0),)),
    lambda rng: Sample(
        rng.uniform(-1, 1, (4, 5)),
        np.array([0, 2]),
        np.array([1, 4]),
        key=(IndexArg(0), IndexArg(1)),
    ),
)


def normalize_key(key, is_array, to_raw=lambda a: a):
    """Split a user key into (static key with IndexArg markers, list of index arrays).

    ``is_array(k)`` says whether ``k`` is an array to pass as an input; Python lists and NumPy
    arrays become arrays through ``to_raw``."""
    if not isinstance(key, tuple):
        key = (key,)
    static, arrays = [], []
    for k in key:
        if is_array(k):
            static.append(IndexArg(len(arrays)))
            arrays.append(k)
        elif isinstance(k, (list, np.ndarray)):
            static.append(IndexArg(len(arrays)))
            arrays.append(to_raw(np.asarray(k)))
        elif k is None or k is Ellipsis or isinstance(k, slice):
            static.append(k)
        elif isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            static.append(int(k))
        else:
            raise MXNetIndexError(
                f"getitem: unsupported index {k!r} of type {type(k).__name__} "
                f"(use ints, slices, None, ..., integer arrays or boolean masks)"
            )
    return tuple(static), arrays


# -- gradient: scatter-add back into the indexed array's shape ----------------------------------
getitem_grad = defop(
    "_getitem_backward",
    ("grad", "indices"),
    {"shape": Shape(()), "key": IndexKey(())},
    infer=lambda g, *idx, shape=(), key=(): I.Spec(tuple(shape), g.dtype),
    variadic=True,
    doc="The gradient of ``getitem``: ``grad`` added at ``key`` into zeros of ``shape``.",
)


@getitem_grad.impl
def _(xp, g, *idx, shape=(), key=()):
    idx = [i.astype(np.int64) if i.dtype.kind == "f" else i for i in idx]
    full = _rebuild(key, idx)
    out = xp.zeros(tuple(shape), dtype=g.dtype, device=g.device)
    target = out[full]
    g = xp.reshape(g, target.shape)  # undo the (1,) that stands in for a 0-d result
    if idx:
        xp.add.at(out, full, g)  # repeated indices accumulate
    else:
        out[full] = g
    return out


getitem_grad.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (2, 5)), shape=(4, 5), key=(slice(1, 3),)),
    lambda rng: Sample(rng.uniform(-1, 1, (3, 5)), np.array([3, 0, 0]), shape=(4, 5),
                       key=(IndexArg(0),)),
)
getitem_grad.vjp(lambda g, out, grad, *idx, shape=(), key=(): (
    F.reshape(F.getitem(g, *idx, key=key), shape=grad.shape),) + (None,) * len(idx))
getitem.vjp(lambda g, out, x, *idx, key=(): (
    F._getitem_backward(g, *idx, shape=x.shape, key=key),) + (None,) * len(idx))
