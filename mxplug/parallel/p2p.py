"""Differentiable point-to-point transfers: :func:`send` and :func:`recv` recorded by autograd.

Model parallelism cuts one computation across ranks, so the gradient must cross back: under
``autograd.record()`` the receiver's backward sends the gradient of what it received to the
sender, and the sender's backward receives it as the gradient of what it sent (ChainerMN's
``send``/``recv`` with a delegate variable).

- ``send(x, dest)`` returns a *token*, a recorded ``(1,)`` zero array: the sender's handle on
  the graph that continues on ``dest``. Put it among the heads of the sender's backward
  (``autograd.backward([loss, token])``, or ``token.backward()`` on a rank with no loss of its
  own).
- ``recv(source)`` returns the array, recorded when the sender's array needs a gradient.

A small header (shape, dtype, whether a gradient will flow) travels before each array, so the
receiver needs no shape and both sides agree on whether a gradient comes back: the receiver
records the transfer exactly when the sender does, and no rank waits for a gradient that
nobody sends.

Tags: mxplug reserves wire tags ``TAG_BASE + 2 * tag`` (arrays) and ``+ 1`` (their gradients),
so these transfers never match :meth:`Communicator.send`/``recv`` messages; ``tag`` must be in
``[0, MAX_TAG]``. A rank may send to itself (a world of one): the array then goes through an
in-process mailbox, not MPI, and cannot deadlock.
"""

from __future__ import annotations

from collections import defaultdict, deque

import numpy as np

from .. import autograd
from .. import ndarray as nd
from ..autograd import Entry
from ..base import MXNetError, MXNetTypeError, MXNetValueError

__all__ = ["send", "recv", "TAG_BASE", "MAX_TAG"]

TAG_BASE = 1 << 14          # above the small tags of user code on the same communicator
MAX_TAG = (32767 - TAG_BASE) // 2 - 1   # MPI guarantees tags up to 32767 only
MAX_NDIM = 32
_DTYPES = ("float32", "float64", "float16", "uint8", "int8", "int16", "uint16", "int32",
           "int64", "bool")
_HEADER = 3 + MAX_NDIM      # [needs_grad, dtype code, ndim, dims...]

# (id(communicator), source, destination, wire tag) -> arrays sent by a rank to itself
_mailbox: dict = defaultdict(deque)


def _world(comm):
    if comm is None:
        from . import init

        return init()
    return comm


def _wire_tag(tag, backward):
    if not (isinstance(tag, (int, np.integer)) and 0 <= tag <= MAX_TAG):
        raise MXNetValueError(f"send/recv: Expect: tag in [0, {MAX_TAG}] / Actual: {tag!r}")
    return TAG_BASE + 2 * int(tag) + int(backward)


def _header(x, needs_grad):
    name = np.dtype(x.dtype).name
    if name not in _DTYPES:
        raise MXNetTypeError(f"send: Expect: dtype in {_DTYPES} / Actual: {name}")
    if x.ndim > MAX_NDIM:
        raise MXNetValueError(f"send: Expect: at most {MAX_NDIM} dimensions / Actual: {x.ndim}")
    h = np.zeros(_HEADER, np.int64)
    h[:3] = (int(needs_grad), _DTYPES.index(name), x.ndim)
    h[3:3 + x.ndim] = x.shape
    return h


def _post(comm, array, dest, wire):
    """Hand ``array`` to ``dest`` (MPI, or the mailbox when ``dest`` is this rank)."""
    if dest == comm.rank:
        _mailbox[(id(comm), comm.rank, dest, wire)].append(array)
    else:
        comm.send(array, dest, wire)


def _take(comm, source, wire, shape, dtype, ctx):
    """The next array from ``source`` on ``wire`` (MPI, or the mailbox)."""
    if source == comm.rank:
        box = _mailbox[(id(comm), source, comm.rank, wire)]
        if not box:
            raise MXNetError(f"recv: this rank (rank {comm.rank}) receives from itself on tag "
                             f"{(wire - TAG_BASE) // 2} but sent nothing there first")
        return box.popleft()
    return comm.recv(source=source, tag=wire, shape=shape, dtype=dtype, ctx=ctx)


def _recording_needs_grad(x) -> bool:
    return autograd.is_recording() and autograd._needs_grad(x)


def send(x, dest: int, tag: int = 0, comm=None):
    """Send ``x`` to rank ``dest``; under ``autograd.record()`` the gradient comes back.

    Parameters
    ----------
    x : NDArray
        What to send. Returns when ``x`` may be reused (for large arrays: once ``dest`` has
        started receiving), like ``MPI_Send``: two ranks that send to each other must order
        their calls (for example even ranks send first, odd ranks receive first).
    dest : int
        The receiving rank (may be this rank).
    tag : int, default 0
        Tells apart transfers between the same two ranks; the receiver passes the same tag.
    comm : Communicator, optional
        Default: the world (:func:`mxplug.parallel.init`).

    Returns
    -------
    NDArray
        A ``(1,)`` zero *token*. When recording and ``x`` needs a gradient it is recorded: its
        backward receives the gradient of ``x`` from ``dest`` (which sends it in its own
        backward through the matching :func:`recv`). Include it in this rank's backward heads.

    Examples
    --------
    >>> with autograd.record():                 # rank 0
    ...     token = p2p.send(net0(x), dest=1)
    >>> token.backward()                        # x's and net0's gradients arrive from rank 1
    """
    comm = _world(comm)
    if not isinstance(x, nd.NDArray):
        raise MXNetTypeError(f"send: Expect: an NDArray / Actual: {type(x).__name__}")
    comm._check_rank(dest, "dest")
    wire = _wire_tag(tag, backward=False)
    needs_grad = _recording_needs_grad(x)
    if dest == comm.rank:
        with autograd.pause():
            _post(comm, (needs_grad, x.copy()), dest, wire)
    else:
        comm.wait(comm.mpi_comm.Isend(_header(x, needs_grad), dest, wire))
        comm.send(x, dest, wire)
    with autograd.pause():
        token = nd.zeros((1,), ctx=x.context, dtype=x.dtype)
    if needs_grad:
        ctx, shape, dtype = x.context, x.shape, x.dtype

        def vjp(g, out, _x):
            """The gradient of ``x``: what ``dest``'s backward sends back."""
            return (_take(comm, dest, wire + 1, shape, dtype, ctx),)

        token._ag = (Entry("parallel.send", vjp, {}, (x,), (token,)), 0)
    return token


def recv(source: int, tag: int = 0, comm=None, ctx=None):
    """Receive the array that rank ``source`` sends with :func:`send` (same ``tag``).

    Parameters
    ----------
    source : int
        The sending rank (may be this rank, after its own ``send``).
    tag : int, default 0
        The tag the sender used.
    comm : Communicator, optional
        Default: the world.
    ctx : Context, optional
        Where to put the array (default: the current context).

    Returns
    -------
    NDArray
        The array, with the sender's shape and dtype. When the sender recorded its ``send``
        (it was recording and its array needs a gradient), the array is recorded too: this
        rank's backward sends the gradient that reaches it back to ``source``. Then this rank
        must be recording, and its backward must reach the array (use it in the loss), or the
        sender would wait forever for its gradient.
    """
    comm = _world(comm)
    comm._check_rank(source, "source")
    wire = _wire_tag(tag, backward=False)
    if source == comm.rank:
        needs_grad, out = _take(comm, source, wire, None, None, None)
        if ctx is not None and out.context != ctx:
            out = out.as_in_context(ctx)
    else:
        h = np.empty(_HEADER, np.int64)
        comm.wait(comm.mpi_comm.Irecv(h, source, wire))
        needs_grad, dtype, ndim = bool(h[0]), _DTYPES[int(h[1])], int(h[2])
        shape = tuple(int(d) for d in h[3:3 + ndim])
        out = comm.recv(source=source, tag=wire, shape=shape, dtype=dtype, ctx=ctx)
    if needs_grad:
        if not autograd.is_recording():
            raise MXNetError(f"recv: rank {source} sent an array that needs a gradient "
                             f"(it recorded its send), but this rank (rank {comm.rank}) is not "
                             f"recording, so it would never send the gradient back; call recv "
                             f"inside autograd.record(), or send outside it")

        def vjp(g, _out):
            """Send the gradient of the received array back to ``source``."""
            _post(comm, g, source, wire + 1)
            return ()

        out._ag = (Entry("parallel.recv", vjp, {}, (), (out,)), 0)
    return out
