"""``Updater``: applies an optimizer per parameter index, keeping each index's state.

KVStore and ``gluon.Trainer`` call ``updater(index, grad, weight)``. ``get_states`` /
``set_states`` serialise the states (and optionally the optimizer's settings) without pickle:
an ``.npz`` archive of the arrays plus one JSON entry describing how they nest.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from .. import ndarray as nd
from ..base import MXNetValueError
from ..ndarray import NDArray
from .optimizer import Optimizer

__all__ = ["Updater", "get_updater"]

_JSON_META = "__meta__"
#: Version 2: NAG's multi-precision state is ``(momentum, master)`` (MXNet 1.9.1's order);
#: files without a version hold ``(master, momentum)`` and are converted when loaded.
_FORMAT_VERSION = 2


def _encode(state, arrays):
    """A JSON-able description of ``state``; its NDArrays go into ``arrays``."""
    if state is None:
        return None
    if isinstance(state, NDArray):
        arrays.append(state.asnumpy())
        return {"array": len(arrays) - 1}
    if isinstance(state, (list, tuple)):
        return {"tuple" if isinstance(state, tuple) else "list": [_encode(s, arrays)
                                                                   for s in state]}
    if isinstance(state, (int, float, str, bool)):
        return {"value": state}
    raise TypeError(f"cannot serialise an optimizer state of type {type(state).__name__}")


def _decode(desc, arrays, ctx):
    if desc is None:
        return None
    if "array" in desc:
        return nd.array(arrays[f"a{desc['array']}"], ctx=ctx,
                        dtype=arrays[f"a{desc['array']}"].dtype)
    if "tuple" in desc:
        return tuple(_decode(d, arrays, ctx) for d in desc["tuple"])
    if "list" in desc:
        return [_decode(d, arrays, ctx) for d in desc["list"]]
    return desc["value"]


def _jsonable(v):
    try:
        json.dumps(v)
        return True
    except (TypeError, ValueError):
        return False


#: Optimizer attributes that hold objects rather than settings; never serialised.
_SKIP = {"param_dict", "lr_scheduler", "sym_info", "_index_update_count",
         "_all_index_update_counts"}


def _optimizer_config(opt):
    attrs = {k: v for k, v in vars(opt).items() if k not in _SKIP and _jsonable(v)
             and not isinstance(v, dict)}
    # dicts keyed by int index (lr_mult, update counts) go as lists of pairs: JSON keys are str
    pairs = {k: list(v.items()) for k, v in vars(opt).items()
             if isinstance(v, dict) and k not in _SKIP and _jsonable(list(v.items()))}
    counts = {str(dev): list(c.items()) for dev, c in opt._all_index_update_counts.items()}
    return {"name": type(opt).__name__.lower(), "attrs": attrs, "dicts": pairs,
            "counts": counts}


def _restore_optimizer(opt, config):
    klass = Optimizer.opt_registry.get(config["name"])
    if opt is None or type(opt) is not klass:
        opt = klass() if klass is not None else opt
    attrs = dict(config["attrs"])
    if attrs.get("lr", 0) is None and getattr(opt, "lr_scheduler", None) is None:
        attrs.pop("lr")  # saved with a scheduler driving the rate: keep this one's rate
    vars(opt).update(attrs)
    for k, items in config["dicts"].items():
        setattr(opt, k, {(tuple(a) if isinstance(a, list) else a): b for a, b in items})
    opt._all_index_update_counts = {int(dev): dict((i, n) for i, n in c)
                                    for dev, c in config["counts"].items()}
    opt._index_update_count = opt._all_index_update_counts.setdefault(0, {})
    return opt


class Updater:
    """Calls ``optimizer.update_multi_precision`` with per-index states created on first use.

    Parameters
    ----------
    optimizer : Optimizer
    """

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.states: dict = {}
        self.states_synced: dict = {}
        self.aggregate_updates = optimizer.aggregate_num > 0

    def __call__(self, index, grad, weight):
        """Update ``weight`` (NDArray, or lists of index/grad/weight) in place."""
        if not isinstance(index, (list, tuple)):
            index, grad, weight = [index], [grad], [weight]
        if weight:  # as MXNet: update counts (Adam's t, schedules) are kept per device
            self.optimizer._set_current_context(weight[0].context.device_id)
        states = self.states
        for i, w in zip(index, weight):
            if i not in states:
                states[i] = self.optimizer.create_state_multi_precision(i, w)
                self.states_synced[i] = True
            elif not self.states_synced[i]:
                states[i] = self.sync_state_context(states[i], w.context)
                self.states_synced[i] = True
        self.optimizer.update_many(index, weight, grad, [states[i] for i in index])

    def sync_state_context(self, state, context):
        """``state`` with every array moved to ``context``."""
        if isinstance(state, NDArray):
            return state.as_in_context(context)
        if isinstance(state, (tuple, list)):
            return type(state)(self.sync_state_context(s, context) for s in state)
        return state

    def set_states(self, states):
        """Restore states (and the optimizer, if it was dumped) from :meth:`get_states`'s
        bytes; arrays are moved to each weight's context on its next update."""
        if not states:  # nothing was saved (no update had run): start afresh
            self.states, self.states_synced = {}, {}
            return
        arrays = _read_archive(states)
        meta = json.loads(arrays.pop(_JSON_META).tobytes().decode())
        self.states = {}
        for key, desc in meta["states"]:
            key = tuple(key) if isinstance(key, list) else key
            self.states[key] = _decode(desc, arrays, None)
        self.states_synced = dict.fromkeys(self.states, False)
        if meta.get("optimizer") is not None:
            self.optimizer = _restore_optimizer(self.optimizer, meta["optimizer"])
        if meta.get("version", 1) < 2:
            from .sgd import NAG

            if isinstance(self.optimizer, NAG):  # (master, momentum) -> (momentum, master)
                for key, state in self.states.items():
                    if isinstance(state, tuple) and len(state) == 2:
                        self.states[key] = (state[1], state[0])

    def get_states(self, dump_optimizer=False):
        """The states as bytes (an ``.npz`` archive; no pickle). With ``dump_optimizer`` the
        optimizer's settings and update counts are included."""
        arrays: list = []
        entries = [[k, _encode(s, arrays)] for k, s in self.states.items()]
        meta = {"version": _FORMAT_VERSION, "states": entries,
                "optimizer": _optimizer_config(self.optimizer) if dump_optimizer else None}
        buf = io.BytesIO()
        payload = {f"a{i}": a for i, a in enumerate(arrays)}
        payload[_JSON_META] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        np.savez(buf, **payload)
        return buf.getvalue()


def _read_archive(states):
    """The arrays of a :meth:`Updater.get_states` archive, or a clear error for anything else
    (MXNet's own states are pickles, which mxplug never loads: unpickling can run code)."""
    if not bytes(states[:2]) == b"PK":
        what = ("a Python pickle (MXNet's own save_states format)" if bytes(states[:1]) == b"\x80"
                else "not an optimizer-states archive")
        raise MXNetValueError(f"the optimizer states are {what}: mxplug reads the .npz states its "
                              f"own save_states writes and never unpickles (a pickle can run "
                              f"code)")
    try:
        with np.load(io.BytesIO(states), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise MXNetValueError(f"the optimizer states are truncated or corrupted ({e})") from None
    if _JSON_META not in arrays:
        raise MXNetValueError(f"the optimizer states archive has no {_JSON_META!r} entry: not "
                              f"written by mxplug's save_states")
    return arrays


def get_updater(optimizer):
    """An :class:`Updater` for ``optimizer`` (``updater(index, grad, weight)``)."""
    return Updater(optimizer)
