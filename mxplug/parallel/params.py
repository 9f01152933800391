"""Make every rank start from rank ``root``'s parameters, including deferred-init ones."""

from __future__ import annotations

__all__ = ["sync_parameters", "param_list"]


def param_list(params) -> list:
    """Parameters from a ParameterDict, a dict or a list, in a fixed (rank-independent) order."""
    if hasattr(params, "values"):
        return list(params.values())
    return list(params)


def sync_parameters(params, comm, root: int = 0) -> None:
    """Broadcast the initialised parameters from ``root`` now, and each other one (deferred, or
    initialised later) from ``root`` at the moment it initialises.

    Every rank must call this with the same parameters in the same order; a deferred parameter
    initialises during the first forward, which every rank runs, so its broadcast lines up.
    """
    from .. import autograd

    with autograd.pause():
        for p in param_list(params):
            if getattr(p, "shard_axis", None) is not None:
                continue  # a tensor-parallel block: every rank holds its own part
            if p._data is not None:
                arrays = p.list_data()
                comm.broadcast(arrays[0], root)
                for other in arrays[1:]:
                    other[...] = arrays[0]
            _sync_on_init(p, comm, root)


def _sync_on_init(p, comm, root) -> None:
    """Wrap ``p._init_impl`` (on this instance only) so (re)initialisation broadcasts the new
    value from ``root`` before it is copied to the contexts (Horovod does the same)."""
    if getattr(p, "_sync_target", None) is not None:
        p._sync_target = (comm, root)  # already wrapped: follow the latest communicator
        return
    p._sync_target = (comm, root)
    original = p._init_impl

    def _init_impl(data, ctx_list):
        from .. import ndarray as nd

        target, at = p._sync_target
        data = nd.array(data, dtype=p.dtype) if not isinstance(data, nd.NDArray) else data.copy()
        target.broadcast(data, at)
        original(data, ctx_list)

    p._init_impl = _init_impl
