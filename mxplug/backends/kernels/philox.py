"""Philox-4x32-10 random-number kernels, bit-identical to :mod:`mxplug.random`.

Every kernel runs one work item per Philox *block* ``b`` (counter words ``x0 = b, x1 = round,
x2/x3 = call counter``, key ``k0/k1``), turns its four 32-bit words into the ``E`` elements that
the reference layout assigns to that block, and stores them. ``E`` is 4 when an element takes one
word (24-bit and 11-bit uniforms, randint) and 2 when it takes two (53-bit float64 uniforms);
Box-Muller pairs fall on the same block in both cases, so no work item needs another's words.

Values are computed in ``double`` and rounded to the output type once, with floating-point
contraction off (an ``a * b + c`` fused into one FMA would round differently from NumPy), so
uniform, bernoulli and randint outputs equal the NumPy backend's bit for bit and transcendental
ones (normal, exponential) within the device's ``log``/``cos`` accuracy. A device without fp64
computes in ``float`` (then only within float rounding of the reference).
"""

from __future__ import annotations

import math

import numpy as np

from .dialect import ctype
from .elementwise import _guarded

#: Put before each fixed-count loop (the ten rounds, the E elements of a block): straight code
#: measured 1.3-2.5x faster under PoCL than the loops (uniform float32 2.4x, randint 1.5x,
#: normal float64 1.3x). Unrolled, the round function is over the inliner's threshold (a call
#: per block), so it is ``always_inline``. PoCL still does not vectorise the work-item loop
#: (its cost model declines), but no loop inside it is left to stop it from doing so.
UNROLL = "#pragma unroll\n    "

#: element modes (see :func:`_mode_body`)
MODES = ("uniform", "uniform_open", "normal", "exponential", "bernoulli", "randint", "dropout")


def bits_per_element(dtype, half=24) -> int:
    """Uniform precision of an output dtype, as ``mxplug.ops.random._bits``."""
    name = np.dtype(dtype).name
    return 53 if name == "float64" else half if name == "float16" else 24


def per_block(bits) -> int:
    """Elements one Philox block yields (E)."""
    return 2 if bits == 53 else 4


def _arith(dialect, r):
    """``MUL``/``ADD`` spelled so that the compiler cannot contract them into an FMA."""
    if dialect.name == "cuda":
        sfx = "d" if r == "double" else "f"
        return (f"#define PX_MUL(a, b) __{sfx}mul_rn((a), (b))\n"
                f"#define PX_ADD(a, b) __{sfx}add_rn((a), (b))\n")
    return ("#pragma OPENCL FP_CONTRACT OFF\n#define PX_MUL(a, b) ((a) * (b))\n"
            "#define PX_ADD(a, b) ((a) + (b))\n")


def philox_header(dialect) -> str:
    """The round function (a device function usable by any kernel of the program)."""
    fn = ("__device__ __forceinline__" if dialect.name == "cuda"
          else "inline __attribute__((always_inline))")
    return f"""
{fn} void philox4x32_10(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint* w) {{
    {UNROLL}for (int r = 0; r < 10; ++r) {{
        if (r) {{ k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }}
        const ulong p0 = (ulong)c0 * 0xD2511F53ul, p1 = (ulong)c2 * 0xCD9E8D57ul;
        c0 = (uint)(p1 >> 32) ^ c1 ^ k0;
        c1 = (uint)p1;
        c2 = (uint)(p0 >> 32) ^ c3 ^ k1;
        c3 = (uint)p0;
    }}
    w[0] = c0; w[1] = c1; w[2] = c2; w[3] = c3;
}}
"""


def _units(bits, r, open0):
    """C statements filling ``u[0..E-1]`` (type ``r``) with the block's uniforms."""
    plus = " + 1" if open0 else ""
    if bits == 53:
        return (f"    {r} u[2];\n    {UNROLL}for (int j = 0; j < 2; ++j) u[j] = "
                f"({r})((((ulong)(w[2 * j] >> 5) << 26) | (ulong)(w[2 * j + 1] >> 6)){plus})"
                f" * ({r}){2.0 ** -53!r};\n")
    return (f"    {r} u[4];\n    {UNROLL}for (int j = 0; j < 4; ++j) u[j] = "
            f"({r})((w[j] >> {32 - bits}){plus}) * ({r}){2.0 ** -bits!r};\n")


def _mode_body(mode, bits, r):
    """(scalar parameters, C body setting ``v[j]``) of one element mode."""
    e = per_block(bits)
    loop = f"    {UNROLL}for (int j = 0; j < {e}; ++j) "
    if mode in ("uniform", "uniform_open"):   # low + span * u
        return ([f"const {r} a", f"const {r} b"],
                _units(bits, r, mode == "uniform_open")
                + loop + "v[j] = PX_ADD(a, PX_MUL(b, u[j]));\n")
    if mode == "normal":                      # loc + scale * Box-Muller(u1, u2) per pair
        tau = repr(2.0 * math.pi)
        return ([f"const {r} a", f"const {r} b"], _units(bits, r, True) + f"""\
    {UNROLL}for (int k = 0; k < {e // 2}; ++k) {{
        const {r} rad = sqrt(({r})-2.0 * log(u[2 * k])), t = PX_MUL(({r}){tau}, u[2 * k + 1]);
        v[2 * k] = PX_ADD(a, PX_MUL(b, PX_MUL(rad, cos(t))));
        v[2 * k + 1] = PX_ADD(a, PX_MUL(b, PX_MUL(rad, sin(t))));
    }}
""")
    if mode == "exponential":                 # -log(u) / lam, u in (0, 1]
        return [f"const {r} a"], _units(bits, r, True) + loop + "v[j] = -log(u[j]) / a;\n"
    if mode in ("bernoulli", "dropout"):      # u < prob, u in [0, 1)
        return [f"const {r} a"], _units(bits, r, False) + loop + "v[j] = u[j] < a;\n"
    if mode == "randint":                     # low + w % range, range <= 2**32
        return (["const ulong a", "const long b"],
                f"    {UNROLL}for (int j = 0; j < 4; ++j) v[j] = (long)((ulong)w[j] % a) + b;\n")
    raise ValueError(f"unknown Philox mode {mode!r}")


def _store(dialect, out_dtype, r, idx, val):
    if np.dtype(out_dtype) == np.float16:   # half is a storage-only type without cl_khr_fp16
        if dialect.name == "cuda":
            return f"out[{idx}] = __{'double' if r == 'double' else 'float'}2half_rn({val});"
        return f"vstore_half({val}, {idx}, out);"  # default rounding: to nearest even
    return f"out[{idx}] = ({ctype(out_dtype)})({val});"


def philox_kernel(name, mode, bits, out_dtype, dialect, fp64=True, in_dtype=None) -> str:
    """Source of kernel ``name`` (without the program header, see :func:`philox_program`).

    Arguments: ``(long n, T* out, long out_off, uint k0, uint k1, uint c2, uint c3, uint x1,
    <mode scalars>)``; ``dropout`` also takes ``(const X* in0, long off0, X scale)`` after
    ``out_off`` and writes ``x * (keep ? scale : 0)`` with ``keep = u < a``.
    """
    d = dialect
    r = "long" if mode == "randint" else ("double" if fp64 else "float")
    e = per_block(bits)
    scalars, body = _mode_body(mode, bits, r)
    vt = "long" if mode == "randint" else r
    params = ["const long n", f"{d.global_ptr} {ctype(out_dtype)}* out", "const long out_off"]
    if mode == "dropout":
        xt = ctype(in_dtype)
        params += [f"{d.global_ptr} const {xt}* in0", "const long off0", f"const {xt} scale"]
        val = f"in0[off0 + i] * (v[j] != 0 ? scale : ({xt})0)"
    else:
        val = "v[j]"
    params += ["const uint k0", "const uint k1", "const uint c2", "const uint c3", "const uint x1"]
    params += scalars

    def stores(edge):
        """The block's stores; at the ``edge`` it may hold fewer than E elements."""
        stop = "\n            if (i >= n) break;" if edge else ""
        return f"""        #pragma unroll
        for (int j = 0; j < {e}; ++j) {{
            const long i = blk * {e} + j;{stop}
            {_store(d, out_dtype, r, "out_off + i", val)}
        }}"""

    # Every item draws (those past the end of the last group for nothing) and only the stores
    # are guarded: whole groups hold only full blocks (n / E of them) and store unconditionally
    # (``_guarded``); the last group's items test their block, which may be a partial one.
    # Under PoCL that made dropout and bernoulli ~13% faster, the others as fast, but normal
    # 4-7% slower, so normal keeps its items past the end returning at once.
    if mode == "normal":
        head, tail = f"    if (blk * {e} >= n) return;\n", stores(True)
    else:
        head = ""
        tail = _guarded(d, stores(False), [(0, "blk", f"n / {e}")],
                        (f"blk * {e} < n", stores(True)))
    return f"""
{d.kernel} {name}({", ".join(params)}) {{
    const long blk = {d.global_id};
{head}    uint w[4];
    philox4x32_10((uint)blk, x1, c2, c3, k0, k1, w);
    {vt} v[{e}];
{body}{tail}
}}
"""


def philox_program(kernels, dialect, fp64=True) -> str:
    """One program: the contraction guard, the round function and ``kernels`` (sources)."""
    return _arith(dialect, "double" if fp64 else "float") + philox_header(dialect) + "".join(
        kernels)


def key_words(key, counter):
    """``(k0, k1, c2, c3)`` as the uint32 kernel arguments for one call."""
    key, counter = int(key) & 0xFFFFFFFFFFFFFFFF, int(counter) & 0xFFFFFFFFFFFFFFFF
    return (np.uint32(key & 0xFFFFFFFF), np.uint32(key >> 32), np.uint32(counter & 0xFFFFFFFF),
            np.uint32(counter >> 32))
