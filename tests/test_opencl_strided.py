"""OpenCL elementwise kernels over broadcast, strided and flipped layouts, against NumPy.

The host collapses a launch's shape (``kernels.elementwise.collapse_dims``) and picks an entry
point by the collapsed rank: ``_c`` (contiguous), ``_s1``..``_s3`` (a grid, no division) or the
``_s`` fallback. Each case below names the entry point it is meant to reach, and the test checks
that it does, so a change to the planning cannot quietly stop covering a kernel.
"""

from __future__ import annotations

import numpy as np
import pytest

from mxplug.backends.kernels.elementwise import collapse_dims
from mxplug.backends.opencl import launch

from .opencl_helpers import backend as _be
from .opencl_helpers import dev, namespace, needs_opencl

pytestmark = needs_opencl


@pytest.fixture(scope="module")
def xp():
    return namespace()


rng = np.random.default_rng(11)


def planned(xp, out, *arrays):
    """The entry point suffix a launch writing ``out`` from ``arrays`` takes."""
    if out.is_contiguous and all(a.is_contiguous and a.shape == out.shape for a in arrays):
        return "_c"
    return launch._plan(out.rt, out, list(arrays))[0]


def _view(xp, base, key=None, perm=None):
    """``base[key]`` then transposed by ``perm``, on the device and on the host."""
    d, h = dev(xp, base), base
    if key is not None:
        d, h = xp.getitem(d, key), h[key]
    if perm is not None:
        d, h = xp.permute_dims(d, perm), np.transpose(h, perm)
    return d, h


def _arr(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


# (id, lhs (array, key, perm), rhs (array, key, perm), expected entry point)
CASES = [
    ("same-shape", (_arr(3, 4), None, None), (_arr(3, 4), None, None), "_c"),
    ("leading-1-axes", (_arr(1, 12), None, None), (_arr(12), None, None), "_c"),
    ("contiguous-slice", (_arr(10, 4), (slice(2, 7),), None), (_arr(5, 4), None, None), "_c"),
    ("1d-step", (_arr(40), (slice(None, None, 3),), None), (_arr(14), None, None), "_s1"),
    ("1d-negative", (_arr(9), (slice(None, None, -1),), None), (_arr(9), None, None), "_s1"),
    ("2d-flip-both", (_arr(5, 6), (slice(None, None, -1), slice(None, None, -1)), None),
     (_arr(5, 6), None, None), "_s1"),
    ("bcast-one-element", (_arr(7, 5), None, None), (_arr(1, 1), None, None), "_s1"),
    ("bcast-last-axis", (_arr(6, 7), None, None), (_arr(7), None, None), "_s2"),
    ("bcast-first-axis", (_arr(6, 7), None, None), (_arr(6, 1), None, None), "_s2"),
    ("bcast-both-sides", (_arr(6, 1), None, None), (_arr(1, 7), None, None), "_s2"),
    ("transposed", (_arr(9, 5), None, (1, 0)), (_arr(5, 9), None, None), "_s2"),
    ("both-transposed", (_arr(9, 5), None, (1, 0)), (_arr(9, 5), None, (1, 0)), "_s2"),
    ("2d-slice", (_arr(8, 9), (slice(1, -1), slice(2, 8)), None), (_arr(6, 6), None, None), "_s2"),
    ("2d-flip-rows", (_arr(5, 6), (slice(None, None, -1),), None), (_arr(6), None, None), "_s2"),
    ("nchw-channel", (_arr(2, 3, 4, 5), None, None), (_arr(1, 3, 1, 1), None, None), "_s3"),
    ("3d-middle-bcast", (_arr(3, 4, 5), None, None), (_arr(3, 1, 5), None, None), "_s3"),
    ("3d-perm-collapses", (_arr(3, 4, 5), None, (2, 0, 1)), (_arr(5, 3, 4), None, None), "_s2"),
    ("3d-reversed-axes", (_arr(3, 4, 5), None, (2, 1, 0)), (_arr(5, 4, 3), None, None), "_s3"),
    ("nchw-to-nhwc", (_arr(2, 3, 4, 5), None, (0, 2, 3, 1)), (_arr(2, 4, 5, 3), None, None),
     "_s3"),
    ("3d-negative-middle", (_arr(3, 4, 5), (slice(None), slice(None, None, -1)), None),
     (_arr(5), None, None), "_s3"),
    ("4d-perm", (_arr(2, 3, 4, 5), None, (3, 1, 0, 2)), (_arr(5, 3, 2, 4), None, None), "_s"),
    ("5d-perm", (_arr(2, 3, 2, 3, 4), None, (4, 2, 0, 3, 1)), (_arr(4, 2, 2, 3, 3), None, None),
     "_s"),
    ("6d-alternating-bcast", (_arr(2, 1, 3, 1, 2, 1), None, None),
     (_arr(1, 3, 1, 2, 1, 3), None, None), "_s"),
    ("4d-steps", (_arr(4, 5, 6, 7), (slice(None, None, 2), slice(None, None, -2), slice(1, None),
                                     slice(None, None, 3)), None), (_arr(3), None, None), "_s"),
    ("odd-sizes-grid-padding", (_arr(3, 257), None, None), (_arr(257), None, None), "_s2"),
    ("3d-odd-sizes", (_arr(5, 3, 33), None, None), (_arr(5, 1, 33), None, None), "_s3"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_binary_layouts_match_numpy(xp, case):
    _, lhs, rhs, entry = case
    da, ha = _view(xp, *lhs)
    db, hb = _view(xp, *rhs)
    out = xp.empty(np.broadcast_shapes(ha.shape, hb.shape), np.float32)
    assert planned(xp, out, da, db) == entry
    xp._elementwise_into(out, "sub", "{0} - {1}", [da, db])
    np.testing.assert_array_equal(xp.to_numpy(out), ha - hb)
    # the same layouts with the operands swapped, and through the public functions
    np.testing.assert_array_equal(xp.to_numpy(xp.subtract(db, da)), hb - ha)
    np.testing.assert_array_equal(xp.to_numpy(xp.multiply(da, db)), ha * hb)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_strided_output(xp, case):
    """The result written into a view (setitem, concat): the output's strides count too."""
    _, lhs, _, _ = case
    da, ha = _view(xp, *lhs)
    # a transposed, stepped window of a bigger buffer, pre-filled so stray writes show
    shape = ha.shape
    big = np.full(tuple(2 * s + 1 for s in shape[::-1]), -7.0, np.float32)
    dbig = dev(xp, big)
    key = tuple(slice(1, None, 2) for _ in shape)
    perm = tuple(range(len(shape)))[::-1]
    target = xp.permute_dims(xp.getitem(dbig, key), perm)
    xp._elementwise_into(target, "neg", "-{0}", [da])
    expect = big.copy()
    np.transpose(expect[key], perm)[...] = -ha
    np.testing.assert_array_equal(xp.to_numpy(dbig), expect)


def test_three_operands_and_a_scalar(xp):
    """where(cond, x, y) with each operand broadcast along a different axis, and a scalar."""
    cond = rng.standard_normal((4, 1, 6)) > 0
    x = _arr(1, 5, 6)
    y = _arr(4, 5, 1)
    dc, dx, dy = dev(xp, cond), dev(xp, x), dev(xp, y)
    np.testing.assert_array_equal(xp.to_numpy(xp.where(dc, dx, dy)), np.where(cond, x, y))
    out = xp.empty((4, 5, 6), np.float32)
    xp._elementwise_into(out, "fma", "{0} * {1} + {2}", [dx, 2.5, dy])
    np.testing.assert_allclose(xp.to_numpy(out), x * np.float32(2.5) + y, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dt_a,dt_b", [("int32", "float32"), ("uint8", "int64"),
                                       ("bool", "int32"), ("float64", "float32"),
                                       ("int8", "int16")])
def test_mixed_dtypes_broadcast(xp, dt_a, dt_b):
    a = rng.integers(0, 20, (3, 4, 5)).astype(dt_a)
    b = rng.integers(0, 20, (3, 1)).astype(dt_b)
    da, db = dev(xp, a), dev(xp, b)
    got = xp.add(xp.permute_dims(da, (2, 0, 1)), db)
    want = np.transpose(a, (2, 0, 1)) + b
    assert got.dtype == want.dtype
    np.testing.assert_allclose(xp.to_numpy(got), want, rtol=1e-6)


def test_comparison_on_transposed_gives_bool(xp):
    a, b = _arr(6, 5), _arr(5, 6)
    got = xp.less(xp.permute_dims(dev(xp, a), (1, 0)), dev(xp, b))
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(xp.to_numpy(got), a.T < b)


@pytest.mark.parametrize("shape_a,shape_b", [((0, 4), (4,)), ((3, 0, 2), (3, 1, 2)),
                                             ((0,), (1,)), ((2, 0), (0, 2, 1))])
def test_zero_size(xp, shape_a, shape_b):
    a, b = _arr(*shape_a), _arr(*shape_b)
    got = xp.add(dev(xp, a), dev(xp, b))
    assert got.shape == (a + b).shape
    assert xp.to_numpy(got).shape == (a + b).shape


def test_zero_d_and_one_element(xp):
    s, one, m = np.float32(3.5), _arr(1), _arr(2, 3)
    ds = dev(xp, np.array(s))
    assert ds.shape == ()
    np.testing.assert_array_equal(xp.to_numpy(xp.multiply(ds, ds)), np.float32(s * s))
    np.testing.assert_array_equal(xp.to_numpy(xp.add(ds, dev(xp, m))), s + m)
    np.testing.assert_array_equal(xp.to_numpy(xp.add(dev(xp, one), dev(xp, m))), one + m)
    # one-element operands of different ranks (nothing left after collapsing)
    for sa, sb in (((1, 1), (1,)), ((), (1, 1, 1)), ((1,), ())):
        a, b = _arr(*sa), _arr(*sb)
        got = xp.subtract(dev(xp, a), dev(xp, b))
        assert got.shape == (a - b).shape
        np.testing.assert_array_equal(xp.to_numpy(got), a - b)
    # one element picked out of a strided array, and a 1x1 result
    v = xp.getitem(xp.permute_dims(dev(xp, m), (1, 0)), (slice(2, 3), slice(1, 2)))
    np.testing.assert_array_equal(xp.to_numpy(xp.negative(v)), -m.T[2:3, 1:2])


def test_python_scalars_on_views(xp):
    a = _arr(4, 6)
    v = xp.getitem(dev(xp, a), (slice(None, None, -1), slice(None, None, 2)))
    np.testing.assert_allclose(xp.to_numpy(v * 2 + 1), a[::-1, ::2] * 2 + 1, rtol=1e-6)
    np.testing.assert_array_equal(xp.to_numpy(xp.maximum(v, 0.0)), np.maximum(a[::-1, ::2], 0))


def test_linear_index_on_strided_output(xp):
    """``i`` in an expression is the element's row-major index, whatever the layouts."""
    base = xp.zeros((5, 7), np.int64)
    view = xp.permute_dims(base, (1, 0))                   # (7, 5) with strides (1, 7)
    xp._elementwise_into(view, "iota", "({T})i", [], compute=np.int64)
    np.testing.assert_array_equal(xp.to_numpy(view), np.arange(35).reshape(7, 5))
    cube = xp.zeros((3, 4, 5), np.int64)
    xp._elementwise_into(xp.getitem(cube, (slice(None), slice(None, None, -1))), "iota",
                         "({T})i", [], compute=np.int64)
    np.testing.assert_array_equal(xp.to_numpy(cube),
                                  np.arange(60).reshape(3, 4, 5)[:, ::-1])
    big = xp.zeros((2, 3, 2, 3, 2), np.int64)
    perm = (4, 2, 0, 3, 1)
    xp._elementwise_into(xp.permute_dims(big, perm), "iota", "({T})i", [], compute=np.int64)
    want = np.zeros((2, 3, 2, 3, 2), np.int64)
    np.transpose(want, perm)[...] = np.arange(72).reshape(np.transpose(want, perm).shape)
    np.testing.assert_array_equal(xp.to_numpy(big), want)


def test_setitem_broadcast_into_strided_target(xp):
    a = np.zeros((6, 8), np.float32)
    da = dev(xp, a)
    row = _arr(4)
    xp.setitem(da, (slice(1, None, 2), slice(None, None, -2)), dev(xp, row))
    a[1::2, ::-2] = row
    np.testing.assert_array_equal(xp.to_numpy(da), a)


def test_same_layout_different_offsets_reuse_the_plan(xp):
    """Plans are cached by shapes and strides only; offsets are passed at each launch."""
    base = _arr(6, 10)
    d = dev(xp, base)
    b = _arr(10)
    db = dev(xp, b)
    for r in range(3):
        v = xp.getitem(d, (slice(r, r + 3), slice(None, None, -1)))
        np.testing.assert_array_equal(xp.to_numpy(xp.add(v, db)), base[r:r + 3, ::-1] + b)


def test_grid_sizes_cover_the_shape_in_whole_groups(xp):
    rt = _be.runtime(0)
    for dims in ([3, 257], [1000, 2], [5, 3, 33], [2, 2, 2], [7, 300, 9]):
        glob, local = launch._grid(rt, dims)
        assert np.prod(local) <= rt.local_size
        for g, l_, n in zip(glob, local, dims[::-1]):
            assert g % l_ == 0 and g >= n and g - n < l_


@pytest.mark.parametrize("shape,strides,want", [
    ((2, 3, 4), [(12, 4, 1), (0, 1, 0)], ([2, 3, 4], [[12, 4, 1], [0, 1, 0]])),
    ((2, 3, 4), [(12, 4, 1), (12, 4, 1)], ([24], [[1], [1]])),
    ((2, 3, 4), [(12, 4, 1), (0, 0, 1)], ([6, 4], [[4, 1], [0, 1]])),
    ((2, 1, 4), [(4, 4, 1), (0, 99, 1)], ([2, 4], [[4, 1], [0, 1]])),
    ((3, 4), [(-4, -1), (4, 1)], ([12], [[-1], [1]])),
    ((1, 1), [(1, 1)], ([], [[]])),
])
def test_collapse_dims(shape, strides, want):
    assert collapse_dims(shape, strides) == want


@pytest.mark.parametrize("perm", [None, (1, 0, 2)])
def test_fused_program_over_broadcast_and_transposed_inputs(xp, perm):
    """Graph fusion's kernel (``fused_kernels``) renders through the same template and plans."""
    from mxplug.backends.opencl.fused_kernels import fused_elemwise

    a, b, c = _arr(4, 3, 5), _arr(3, 1), _arr(5)
    da = dev(xp, a) if perm is None else xp.permute_dims(dev(xp, a.transpose(perm)), perm)
    program = (("multiply", (("i", 0), ("i", 1)), ()), ("add", (("t", 0), ("i", 2)), ()),
               ("relu", (("t", 1),), ()))
    got = fused_elemwise(_be, da, dev(xp, b), dev(xp, c), program=program)
    np.testing.assert_allclose(xp.to_numpy(got), np.maximum(a * b + c, 0), rtol=1e-6, atol=1e-6)


def test_public_api_broadcast_and_transpose():
    import mxplug as mx

    ctx = mx.opencl(0)
    x, s = _arr(2, 3, 4, 5), _arr(1, 3, 1, 1)
    nx, ns = mx.nd.array(x, ctx=ctx), mx.nd.array(s, ctx=ctx)
    np.testing.assert_allclose(mx.nd.broadcast_mul(nx, ns).asnumpy(), x * s, rtol=1e-6)
    np.testing.assert_allclose((mx.nd.transpose(nx, axes=(0, 2, 3, 1)) - 1).asnumpy(),
                               np.transpose(x, (0, 2, 3, 1)) - 1, rtol=1e-6)
    np.testing.assert_allclose((nx[:, 1:, ::2] + ns[:, 1:]).asnumpy(),
                               x[:, 1:, ::2] + s[:, 1:], rtol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_in_place_on_a_view(xp, case):
    """``x += y`` on a view: each element is read and written by exactly one work item (the
    grid is padded to whole work-groups; a padded item that computed a wrapped coordinate
    would add twice)."""
    _, lhs, rhs, _ = case
    da, ha = _view(xp, *lhs)
    db, hb = _view(xp, *rhs)
    if np.broadcast_shapes(ha.shape, hb.shape) != ha.shape or 0 in ha.strides:
        pytest.skip("the left operand is broadcast")
    base_h = ha.copy()
    xp._elementwise_into(da, "add", "{0} + {1}", [da, db])
    np.testing.assert_array_equal(xp.to_numpy(da), base_h + hb)
