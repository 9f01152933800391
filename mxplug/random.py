"""Counter-based random numbers: Philox-4x32-10 (Salmon et al. 2011, Random123).

One generator, written once over an array-API namespace ``xp``, so the NumPy backend, CuPy and
the OpenCL/CUDA kernels (which copy the conversions below) produce bit-identical streams.

State
-----
A 64-bit seed and a per-process 64-bit *call counter*. :func:`next_state` returns
``(key, counter)`` and advances the counter by one; every random op call draws its numbers from
the Philox blocks with counter words

    x0 = block index within the call (low 32 bits), x1 = block index high 32 bits (0 except
    for rejection-sampling rounds, see below), x2 = call counter low 32 bits,
    x3 = call counter high 32 bits

and key words ``k0 = key & 0xFFFFFFFF``, ``k1 = key >> 32``. So a call's numbers do not depend
on the sizes of earlier calls. The key is the seed mixed with a *stream id* (:func:`set_stream`;
0 by default, where key == seed): the parallel layer sets it to the MPI rank so ranks draw
independent streams from one seed.

Word stream
-----------
A call's 32-bit words are the blocks' outputs in order: word ``4 * b + j`` is output ``j`` of
block ``b``. Conversions (``u32`` = one word, ``>>`` logical shift):

- uniform [0, 1), float32 (and the integer/bool-valued ops): ``(u32 >> 8) * 2**-24`` (element i
  uses word i);
- uniform [0, 1), float16: ``(u32 >> 21) * 2**-11`` (so rounding can never give 1.0);
- uniform [0, 1), float64: ``((u32a >> 5) * 2**26 + (u32b >> 6)) * 2**-53`` with
  ``u32a, u32b`` = words ``2i, 2i+1``;
- uniform (0, 1]: the same integer plus one, times the same power of two;
- normal (Box-Muller): uniforms ``u1, u2`` in (0, 1] number ``2k, 2k+1`` give elements
  ``2k = r cos(2 pi u2)`` and ``2k+1 = r sin(2 pi u2)``, ``r = sqrt(-2 log u1)``;
- exponential: ``-log(u) / lam`` with u in (0, 1];
- randint(low, high): ``low + u32 % (high - low)`` for ranges ``<= 2**32``;
- bernoulli(p): ``u < p`` with u in [0, 1);
- shuffle: the permutation is the stable argsort of the 64-bit keys ``(u32a << 32) | u32b``.
- gamma (Marsaglia-Tsang) and poisson (inversion for lam < 10, Hoermann's PTRS above) reject
  and retry: round ``t`` for element ``i`` uses block ``x0 = i, x1 = t``, whose four words are
  24-bit (0, 1] uniforms; rejected elements draw again in the next round.

Continuous values are computed in float64 and rounded to the output dtype once, so uniform and
integer outputs match bit for bit across backends; transcendental ones (normal, exponential,
gamma) match to within the backend's ``log``/``cos`` accuracy.
"""
from __future__ import annotations

import os
import threading

from .base import MXNetTypeError, MXNetValueError

__all__ = ["seed", "next_state", "get_state", "set_state", "set_stream", "philox4x32",
           "words", "MASK32", "MASK64"]

MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF
_M0, _M1 = 0xD2511F53, 0xCD9E8D57          # Philox multipliers
_W0, _W1 = 0x9E3779B9, 0xBB67AE85          # Weyl key bumps
_STREAM_MIX = 0x9E3779B97F4A7C15           # golden-ratio spread of stream ids over the key space



def _launcher_rank() -> int:
    """This process's MPI rank as the process manager announced it (0 outside MPI).

    Read from the environment (MPICH/Hydra ``PMI_RANK``, Open MPI, PMIx) rather than from mpi4py,
    which would initialise MPI on import: so ``seed(s)`` already gives each rank its own stream
    before (and without) :mod:`mxplug.parallel`, which confirms the stream when it starts.
    """
    for var in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"):
        value = os.environ.get(var, "")
        if value.isdigit():
            return int(value)
    return 0


_lock = threading.Lock()
_seed = 0            # MXNet seeds deterministically at start-up too
_stream = _launcher_rank()  # rank r of an MPI job draws stream r (0 in a single process)
_counter = 0


def philox4x32(xp, x0, x1, x2, x3, k0, k1, rounds=10):
    """Philox-4x32-``rounds`` of counter words ``x0..x3`` (uint64 arrays holding 32-bit values)
    under key words ``k0, k1`` (Python ints); returns the four output words (uint64 arrays)."""
    for r in range(rounds):
        if r:
            k0, k1 = (k0 + _W0) & MASK32, (k1 + _W1) & MASK32
        p0, p1 = x0 * _M0, x2 * _M1        # 32x32 -> 64-bit products: mulhi = >> 32, mullo = & mask
        x0, x1, x2, x3 = ((p1 >> 32) ^ x1 ^ k0, p1 & MASK32, (p0 >> 32) ^ x3 ^ k1, p0 & MASK32)
    return x0, x1, x2, x3


def words(xp, key, counter, n, block0=0, x1=0, device=None):
    """The first ``n`` 32-bit words (a uint64 array) of call ``counter`` under ``key``, starting
    at block ``block0``; ``x1`` selects a rejection round. ``device``: where to make them (an
    op with an input array passes its device; None is the namespace's default)."""
    nblocks = (int(n) + 3) // 4
    x0 = xp.arange(block0, block0 + nblocks, dtype=xp.uint64, device=device)
    full = lambda v: xp.full(x0.shape, v, dtype=xp.uint64, device=device)  # noqa: E731
    key, counter = int(key) & MASK64, int(counter) & MASK64
    out = philox4x32(xp, x0, full(x1 & MASK32), full(counter & MASK32), full(counter >> 32),
                     key & MASK32, key >> 32)
    return xp.reshape(xp.stack(out, axis=1), (-1,))[:n]


def _key():
    return (_seed ^ (_stream * _STREAM_MIX)) & MASK64


def seed(seed_state, ctx="all"):
    """Seed the generator: set the key from the 64-bit ``seed_state`` and reset the call counter.

    Parameters
    ----------
    seed_state : int
        Any integer; it is taken modulo 2**64.
    ctx : Context or "all", default "all"
        Accepted for MXNet compatibility. There is one counter-based stream shared by every
        device (the same seed gives the same numbers on every backend), so seeding one context
        seeds them all.

    Notes
    -----
    Under MPI each rank draws its own stream of the seed (stream id = rank, see
    :func:`set_stream`): the same ``seed(s)`` on every rank gives different dropout masks and
    shuffles per rank, and the same ones again on the next run.
    """
    global _seed, _counter
    if isinstance(seed_state, bool) or not hasattr(seed_state, "__index__"):
        raise MXNetTypeError(f"seed: Expect: an integer seed_state / Actual: {seed_state!r}")
    if not (ctx == "all" or hasattr(ctx, "device_type")):
        raise MXNetValueError(f"seed: Expect: ctx='all' or a Context / Actual: {ctx!r}")
    with _lock:
        _seed, _counter = int(seed_state) & MASK64, 0


def set_stream(stream: int) -> None:
    """Select an independent stream (e.g. the MPI rank) for the current seed; resets the counter."""
    global _stream, _counter
    with _lock:
        _stream, _counter = int(stream), 0


def next_state():
    """``(key, counter)`` for one random op call; advances the call counter."""
    global _counter
    with _lock:
        c = _counter
        _counter = (c + 1) & MASK64
        return _key(), c


def get_state():
    """``(seed, stream, counter)``: everything needed to replay the following calls."""
    return _seed, _stream, _counter


def set_state(state) -> None:
    """Restore a :func:`get_state` tuple."""
    global _seed, _stream, _counter
    s, st, c = state
    with _lock:
        _seed, _stream, _counter = int(s) & MASK64, int(st), int(c) & MASK64
