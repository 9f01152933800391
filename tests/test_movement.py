"""Movement, joining, index and sorting ops: MXNet 1.x semantics the generic suite cannot see
(documented examples, aliases, defaults, copies instead of views) and every error path."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug.base import MXNetError, MXNetIndexError, MXNetValueError
from mxplug.ops import REGISTRY

nd = mx.nd


def A(x, dtype="float32"):
    return nd.array(np.asarray(x), dtype=dtype)


def check(out, expected, dtype=None):
    got = out.asnumpy()
    np.testing.assert_allclose(got, np.asarray(expected, dtype=got.dtype))
    assert got.shape == np.asarray(expected).shape
    if dtype is not None:
        assert got.dtype == np.dtype(dtype)


def raises(exc, *fragments):
    """pytest.raises that also checks the message names the op and the bad shapes/values."""
    class _Ctx:
        def __enter__(self):
            self.cm = pytest.raises(exc)
            self.info = self.cm.__enter__()
            return self.info

        def __exit__(self, *a):
            ok = self.cm.__exit__(*a)
            msg = str(self.info.value)
            for f in fragments:
                assert f in msg, f"{f!r} not in {msg!r}"
            return ok
    return _Ctx()


# -- aliases and methods ------------------------------------------------------------------------
@pytest.mark.parametrize("alias,name", [
    ("SwapAxis", "swapaxes"), ("reverse", "flip"), ("broadcast_axes", "broadcast_axis"),
    ("Pad", "pad"), ("Concat", "concat"), ("SliceChannel", "split"), ("crop", "slice")])
def test_aliases(alias, name):
    assert REGISTRY[alias] is REGISTRY[name]
    assert getattr(nd, alias).op is REGISTRY[name]


def test_ndarray_methods():
    x = A(np.arange(6).reshape(2, 3))
    check(x.tile(reps=(1, 2)), np.tile(np.arange(6).reshape(2, 3), (1, 2)))
    check(x.flip(axis=1), np.arange(6).reshape(2, 3)[:, ::-1])
    check(x.topk(k=1), [[2], [2]])


def test_index_outputs_are_not_differentiable():
    for name in ("argsort", "shape_array", "size_array", "one_hot"):
        assert REGISTRY[name].differentiable is False


# -- swapaxes, flip, tile, repeat ---------------------------------------------------------------
def test_swapaxes_default_is_identity_and_bad_axis():
    x = A(np.arange(24).reshape(2, 3, 4))
    check(nd.swapaxes(x), x.asnumpy())
    check(nd.SwapAxis(x, dim1=0, dim2=2), np.swapaxes(x.asnumpy(), 0, 2))
    with raises(MXNetValueError, "swapaxes", "axis=3"):
        nd.swapaxes(x, dim1=3, dim2=0)


def test_results_own_their_memory():
    x = A(np.arange(6).reshape(2, 3))
    for y in (nd.flip(x, axis=0), nd.swapaxes(x, dim1=0, dim2=1), nd.slice_axis(x, axis=1, begin=1),
              nd.split(x, num_outputs=3)[0], nd.broadcast_to(A([[1.0, 2, 3]]), shape=(2, 3))):
        y[:] = -1
    check(x, np.arange(6).reshape(2, 3))


def test_flip_axes_and_errors():
    x = np.arange(6.0).reshape(2, 3)
    check(nd.flip(A(x), axis=(0, 1)), x[::-1, ::-1])
    with raises(MXNetValueError, "flip", "axis=2"):
        nd.flip(A(x), axis=2)


def test_tile_reps_shorter_and_longer_than_ndim():
    x = np.arange(6.0).reshape(2, 3)
    assert nd.tile(A(x), reps=(2,)).shape == (2, 6)        # reps padded with leading 1s
    assert nd.tile(A(x), reps=(2, 1, 1)).shape == (2, 2, 3)  # data promoted to 3-D
    with raises(MXNetValueError, "tile", "reps"):
        nd.tile(A(x), reps=(-1, 2))


def test_repeat_flattens_when_axis_is_none():
    x = np.array([[1.0, 2], [3, 4]])
    check(nd.repeat(A(x), repeats=2), [1, 1, 2, 2, 3, 3, 4, 4])
    check(nd.repeat(A(x), repeats=2, axis=0), [[1, 2], [1, 2], [3, 4], [3, 4]])
    with raises(MXNetValueError, "repeat", "repeats=-1"):
        nd.repeat(A(x), repeats=-1)
    with raises(MXNetValueError, "repeat", "axis=2"):
        nd.repeat(A(x), repeats=2, axis=2)


# -- broadcasts ---------------------------------------------------------------------------------
def test_broadcast_to_zero_keeps_dim_and_errors():
    x = A([[1.0, 2, 3]])
    check(nd.broadcast_to(x, shape=(2, 0)), [[1, 2, 3], [1, 2, 3]])
    with raises(MXNetValueError, "broadcast_to", "(1, 3)", "(2, 4)"):
        nd.broadcast_to(x, shape=(2, 4))
    with raises(MXNetValueError, "broadcast_to", "len(shape)"):
        nd.broadcast_to(x, shape=(3,))


def test_broadcast_like_with_axes():
    x, y = A([[1.0, 2]]), nd.zeros((3, 4))
    assert nd.broadcast_like(A([[1.0], [2.0]]), nd.zeros((2, 5))).shape == (2, 5)
    check(nd.broadcast_like(x, y, lhs_axes=(0,), rhs_axes=(0,)), [[1, 2]] * 3)
    with raises(MXNetValueError, "broadcast_like", "len(lhs_axes) == len(rhs_axes)"):
        nd.broadcast_like(x, y, lhs_axes=(0,), rhs_axes=(0, 1))
    with raises(MXNetValueError, "broadcast_like", "lhs.shape[1]", "2 vs 4"):
        nd.broadcast_like(x, y, lhs_axes=(1,), rhs_axes=(1,))


def test_broadcast_axis():
    x = A(np.arange(3.0).reshape(1, 3, 1))
    out = nd.broadcast_axis(x, axis=(0, 2), size=(2, 2))
    check(out, np.broadcast_to(np.arange(3.0).reshape(1, 3, 1), (2, 3, 2)))
    with raises(MXNetValueError, "broadcast_axis", "data.shape[1] == 1"):
        nd.broadcast_axes(x, axis=1, size=4)
    with raises(MXNetValueError, "broadcast_axis", "len(axis) == len(size)"):
        nd.broadcast_axis(x, axis=(0, 2), size=(2,))


# -- pad ----------------------------------------------------------------------------------------
def test_pad_mxnet_4d_and_any_ndim():
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    out = nd.Pad(A(x), mode="constant", pad_width=(0, 0, 0, 0, 1, 1, 2, 0), constant_value=7)
    check(out, np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 0)), constant_values=7))
    check(nd.pad(A(x[0, 0]), mode="edge", pad_width=(1, 0, 0, 2)),
          np.pad(x[0, 0], ((1, 0), (0, 2)), mode="edge"))
    xi = A(x, dtype="int32")
    assert nd.pad(xi, pad_width=(1, 1) * 4).dtype == np.int32


def test_pad_errors():
    x = A(np.zeros((1, 1, 3, 4)))
    with raises(MXNetValueError, "pad", "len(pad_width) == 2 * data.ndim = 8", "(1, 1)"):
        nd.pad(x, pad_width=(1, 1))
    with raises(MXNetValueError, "pad", "reflect", "axis 2"):
        nd.pad(x, mode="reflect", pad_width=(0, 0, 0, 0, 3, 0, 0, 0))
    with raises(MXNetValueError, "pad", "mode"):
        nd.pad(x, mode="symmetric", pad_width=(0,) * 8)


# -- slices -------------------------------------------------------------------------------------
def test_slice_none_entries_negative_step_and_string_attrs():
    x = np.arange(20.0).reshape(4, 5)
    check(nd.slice(A(x), begin=(None, 1), end=(None, 4)), x[:, 1:4])
    check(nd.slice(A(x), begin=(None, None), end=(None, None), step=(-1, 2)), x[::-1, ::2])
    check(nd.slice(A(x), begin=(1,), end=(3,)), x[1:3])          # trailing axes kept whole
    check(nd.crop(A(x), begin="(None, -2)", end="(2, None)"), x[:2, -2:])   # symbol-JSON strings
    with raises(MXNetValueError, "slice", "step != 0"):
        nd.slice(A(x), begin=(0,), end=(2,), step=(0,))
    with raises(MXNetValueError, "slice", "len(begin) == len(end)"):
        nd.slice(A(x), begin=(0, 0), end=(2,))
    with raises(MXNetValueError, "slice", "data.ndim (2)"):
        nd.slice(A(x), begin=(0, 0, 0), end=(1, 1, 1))


def test_slice_axis_and_slice_like():
    x = np.arange(24.0).reshape(2, 3, 4)
    check(nd.slice_axis(A(x), axis=-1, begin=1, end=None), x[..., 1:])
    check(nd.slice_axis(A(x), axis=1, begin=-2, end=-1), x[:, -2:-1])
    with raises(MXNetValueError, "slice_axis", "axis=3"):
        nd.slice_axis(A(x), axis=3, begin=0, end=1)
    check(nd.slice_like(A(x), nd.zeros((1, 2, 3))), x[:1, :2, :3])
    check(nd.slice_like(A(x), nd.zeros((1, 9)), axes=(0,)), x[:1])
    with raises(MXNetValueError, "slice_like", "data.ndim == shape_like.ndim", "3 != 2"):
        nd.slice_like(A(x), nd.zeros((1, 2)))
    with raises(MXNetValueError, "slice_like", "shape_like.shape[1] <= data.shape[1]"):
        nd.slice_like(A(x), nd.zeros((1, 5, 1)))


# -- take, pick, one_hot ------------------------------------------------------------------------
def test_take_mxnet_examples_and_modes():
    x = np.array([[1.0, 2], [3, 4], [5, 6]])
    check(nd.take(A([4.0, 5, 6]), A([[0, 1], [1, 2]])), [[4, 5], [5, 6]])
    check(nd.take(A(x), A([[0, 1], [1, 2]])), [[[1, 2], [3, 4]], [[3, 4], [5, 6]]])
    check(nd.take(A(x), A([-1, 7, 1.7])), x[[0, 2, 1]])                 # clip (default), trunc
    check(nd.take(A(x), A([-1, 4]), mode="wrap"), x[[2, 1]])
    check(nd.take(A(x), A([1, 0]), axis=1), x[:, [1, 0]])
    check(nd.take(A(x), nd.array([2, 0], dtype="int64"), mode="raise"), x[[2, 0]])
    with raises(MXNetIndexError, "take", "mode='raise'", "index 3"):
        nd.take(A(x), A([0, 3]), mode="raise")
    with raises(MXNetIndexError, "take", "0 <= index < 3", "index -1"):  # as MXNet 1.9.1
        nd.take(A(x), nd.array([-1], dtype="int64"), mode="raise")
    with raises(MXNetValueError, "take", "axis=2"):
        nd.take(A(x), A([0]), axis=2)


def test_pick_mxnet_examples_and_errors():
    x = A([[1.0, 2], [3, 4], [5, 6]])
    check(nd.pick(x, A([0, 1]), axis=0), [1, 4])
    check(nd.pick(x, A([0, 1, 0]), axis=1), [1, 4, 5])
    check(nd.pick(x, A([[1], [0], [2]]), axis=1, keepdims=True), [[2], [3], [6]])   # 2 clipped
    check(nd.pick(x, A([[1], [0], [2]]), axis=1, keepdims=True, mode="wrap"), [[2], [3], [5]])
    check(nd.pick(x, A([1, 0, 1])), [2, 3, 6])                                    # axis=-1
    with raises(MXNetValueError, "pick", "index.shape == (3,)", "(2,)"):
        nd.pick(x, A([0, 1]), axis=1)


def test_one_hot_mxnet_examples():
    check(nd.one_hot(A([1, 0, 2, 0]), 3), [[0, 1, 0], [1, 0, 0], [0, 0, 1], [1, 0, 0]],
          dtype="float32")
    out = nd.one_hot(A([1, 0, 2, 0]), 3, on_value=8, off_value=1, dtype="int32")
    check(out, [[1, 8, 1], [8, 1, 1], [1, 1, 8], [8, 1, 1]], dtype="int32")
    check(nd.one_hot(A([[-1, 5]]), depth=2), [[[0, 0], [0, 0]]])    # out of range: all off
    with raises(MXNetValueError, "one_hot", "depth >= 1", "depth=0"):
        nd.one_hot(A([0]), depth=0)


# -- where, gather_nd, scatter_nd ---------------------------------------------------------------
def test_where_full_and_row_condition():
    x, y = A([[1.0, 2], [3, 4]]), A([[5.0, 6], [7, 8]])
    check(nd.where(A([[0, 1], [-1, 0]]), x, y), [[5, 2], [3, 8]])
    check(nd.where(A([0, 1]), x, y), [[5, 6], [3, 4]])          # 1-D condition picks rows
    with raises(MXNetValueError, "where", "x.shape == y.shape", "(2, 2) != (2, 1)"):
        nd.where(A([[1, 1], [1, 1]]), x, A([[1.0], [2]]))
    with raises(MXNetValueError, "where", "condition.shape == (3,)"):
        nd.where(A([1, 0, 1]), x, y)


def test_gather_scatter_nd_mxnet_examples():
    check(nd.gather_nd(A([[0.0, 1], [2, 3]]), A([[1, 1, 0], [0, 1, 0]])), [2, 3, 0])
    data = A([[[1.0, 2], [3, 4]], [[5, 6], [7, 8]]])
    check(nd.gather_nd(data, A([[0, 1], [1, 0]])), [[3, 4], [5, 6]])
    check(nd.gather_nd(data, A([[-1], [0], [1]])), [6])            # negative indices wrap
    check(nd.scatter_nd(A([2.0, 3, 0]), A([[1, 1, 0], [0, 1, 0]]), shape=(2, 2)), [[0, 0], [2, 3]])
    with raises(MXNetValueError, "gather_nd", "indices.shape[0] <= data.ndim (2)"):
        nd.gather_nd(A([[0.0, 1], [2, 3]]), A([[0], [0], [0]]))
    with raises(MXNetValueError, "scatter_nd", "data.shape == indices.shape[1:] + shape[2:]"):
        nd.scatter_nd(A([2.0, 3]), A([[1, 1, 0], [0, 1, 0]]), shape=(2, 2))


# -- concat, stack, split -----------------------------------------------------------------------
def test_concat_default_dim_kwargs_and_errors():
    a, b = A(np.ones((2, 3))), A(np.zeros((2, 1)))
    assert nd.concat(a, b).shape == (2, 4)                        # dim=1 by default
    assert nd.Concat(data=[a, b], num_args=2, dim=-1).shape == (2, 4)
    assert nd.concat(a, A(np.ones((2, 1)), dtype="float64")).dtype == np.float64   # promotes
    with raises(MXNetValueError, "concat", "data[1].shape == (2, 1)", "data[0].shape (2, 3)"):
        nd.concat(a, b, dim=0)


def test_stack_errors():
    a = A(np.ones((2, 3)))
    assert nd.stack(a, a, axis=2).shape == (2, 3, 2)
    with raises(MXNetValueError, "stack", "data[1].shape == (3, 2)"):
        nd.stack(a, A(np.ones((3, 2))))
    with raises(MXNetValueError, "stack", "axis=3"):
        nd.stack(a, a, axis=3)


def test_split_outputs_and_errors():
    x = A(np.arange(12.0).reshape(2, 6))
    parts = nd.split(x, num_outputs=3)
    assert isinstance(parts, list) and [p.shape for p in parts] == [(2, 2)] * 3  # as MXNet
    one = nd.SliceChannel(x, num_outputs=1)
    assert isinstance(one, mx.nd.NDArray) and one.shape == (2, 6)
    sq = nd.split(x, num_outputs=2, axis=0, squeeze_axis=True)
    check(sq[1], np.arange(6.0, 12.0))
    with raises(MXNetValueError, "split", "6 % 4 != 0"):
        nd.split(x, num_outputs=4)
    with raises(MXNetValueError, "split", "squeeze_axis", "length 3"):
        nd.split(x, num_outputs=2, squeeze_axis=True)


def test_split_v2_indices_and_sections():
    x = np.arange(14.0).reshape(2, 7)
    parts = nd.split_v2(A(x), (2, 3), axis=1)
    for p, r in zip(parts, np.split(x, [2, 3], axis=1)):
        check(p, r)
    assert [p.shape for p in nd.split_v2(A(x.T), 7)] == [(1, 2)] * 7
    with raises(MXNetValueError, "split_v2", "divisible"):
        nd.split_v2(A(x), 3, axis=1)


# -- diag, shape_array, size_array, depth/space -------------------------------------------------
def test_diag_mxnet_examples():
    x = A([[1.0, 2, 3], [4, 5, 6]])
    check(nd.diag(x), [1, 5])
    check(nd.diag(x, k=1), [2, 6])
    check(nd.diag(x, k=-1), [4])
    check(nd.diag(A([1.0, 2]), k=1), [[0, 1, 0], [0, 0, 2], [0, 0, 0]])
    with raises(MXNetValueError, "diag", "axis1 != axis2"):
        nd.diag(A(np.ones((2, 2, 2))), axis1=1, axis2=-2)


def test_shape_and_size_array_are_int64():
    x = nd.zeros((2, 3, 4))
    check(nd.shape_array(x), [2, 3, 4], dtype="int64")
    check(nd.size_array(x), [24], dtype="int64")


def test_depth_to_space_mxnet_example_and_inverse():
    x = A(np.arange(24.0).reshape(1, 4, 2, 3))
    y = nd.depth_to_space(x, 2)
    check(y, [[[[0, 6, 1, 7, 2, 8], [12, 18, 13, 19, 14, 20],
                [3, 9, 4, 10, 5, 11], [15, 21, 16, 22, 17, 23]]]])
    check(nd.space_to_depth(y, 2), x.asnumpy())
    with raises(MXNetValueError, "depth_to_space", "C = 4"):
        nd.depth_to_space(x, 3)
    with raises(MXNetValueError, "space_to_depth", "H, W = 2, 3"):
        nd.space_to_depth(x, 2)
    with raises(MXNetValueError, "space_to_depth", "4-D"):
        nd.space_to_depth(A(np.ones((2, 4))), 2)


# -- sort, argsort, topk ------------------------------------------------------------------------
def test_sort_argsort_defaults_and_axis_none():
    x = np.array([[0.3, 0.2, 0.4], [0.1, 0.3, 0.2]])
    check(nd.sort(A(x)), np.sort(x))
    check(nd.sort(A(x), axis=0, is_ascend=False), -np.sort(-x, axis=0))
    check(nd.sort(A(x), axis=None), np.sort(x.reshape(-1)))
    check(nd.argsort(A(x)), [[1, 0, 2], [0, 2, 1]], dtype="float32")
    check(nd.argsort(A(x), axis="None", dtype="int32"), np.argsort(x.reshape(-1)), dtype="int32")
    # Ties keep their input order in both directions (stable).
    check(nd.argsort(A([1.0, 2, 1, 2]), is_ascend=False), [1, 3, 0, 2])
    check(nd.argsort(nd.array([3, 1, 2], dtype="uint8"), is_ascend=False), [0, 2, 1])


def test_topk_mxnet_examples():
    x = A([[0.3, 0.2, 0.4], [0.1, 0.3, 0.2]])
    check(nd.topk(x), [[2], [1]], dtype="float32")
    check(nd.topk(x, ret_typ="value", k=2), [[0.4, 0.3], [0.3, 0.2]])
    check(nd.topk(x, axis=0, ret_typ="mask", k=1), [[1, 0, 1], [0, 1, 0]], dtype="float32")
    v, i = nd.topk(x, ret_typ="both", k=2, is_ascend=True, dtype="int64")
    check(v, [[0.2, 0.3], [0.1, 0.2]])
    check(i, [[1, 0], [0, 2]], dtype="int64")
    check(nd.topk(A([[0.3, 0.2, 0.4], [0.1, 0.35, 0.2]]), axis=None, k=2), [2, 4])
    assert nd.topk(x, k=0, ret_typ="value").shape == (2, 3)     # k < 1: everything, sorted


def test_topk_and_sort_errors():
    x = A(np.ones((2, 3)))
    with raises(MXNetValueError, "topk", "k <= data.shape[1] = 3", "k=4"):
        nd.topk(x, k=4)
    with raises(MXNetValueError, "topk", "ret_typ"):
        nd.topk(x, ret_typ="values")
    with raises(MXNetValueError, "sort", "axis=2"):
        nd.sort(x, axis=2)
    with raises(MXNetValueError, "argsort", "axis"):
        nd.argsort(x, axis=1.5)


def test_errors_are_mxnet_errors():
    assert issubclass(MXNetValueError, MXNetError)
    with pytest.raises(MXNetError):
        nd.concat(A(np.ones((2, 3))), A(np.ones((3, 3))))


# -- attributes from symbol JSON ----------------------------------------------------------------
def test_none_strings_from_symbol_json():
    x = np.arange(6.0).reshape(2, 3)
    check(nd.repeat(A(x), repeats=2, axis="None"), np.repeat(x.reshape(-1), 2))
    check(nd.repeat(A(x), repeats=2, axis="1"), np.repeat(x, 2, axis=1))
    check(nd.slice_axis(A(x), axis=1, begin=1, end="None"), x[:, 1:])
    check(nd.slice_axis(A(x), axis="1", begin="0", end="2"), x[:, :2])
    assert REGISTRY["repeat"].parse_attrs({"axis": "None"})["axis"] is None
    assert REGISTRY["slice_axis"].parse_attrs({"end": None})["end"] is None
    with raises(MXNetValueError, "slice_axis", "end"):
        nd.slice_axis(A(x), axis=1, begin=0, end="two")


# -- gradients: accumulation, the scatter fallback, second order --------------------------------
def _grad(f, x, head=None):
    x = A(x, "float64")
    x.attach_grad()
    with mx.autograd.record():
        y = f(x)
    y.backward(None if head is None else A(head, "float64"))
    return x.grad.asnumpy()


def test_repeated_indices_accumulate():
    x = np.arange(12.0).reshape(4, 3)
    g = _grad(lambda a: nd.take(a, A([0, 7, 3, 0, -2])), x)        # clip: 0 twice, 3 twice
    np.testing.assert_allclose(g, [[3, 3, 3], [0, 0, 0], [0, 0, 0], [2, 2, 2]])
    g = _grad(lambda a: nd.take(a, A([[1, 4], [-2, 1]]), axis=1, mode="wrap"), x)
    np.testing.assert_allclose(g, np.tile([[0, 4, 0]], (4, 1)))
    g = _grad(lambda a: nd.gather_nd(a, A([[1, 1, -3, 0], [2, 2, 2, 0]])), x)
    np.testing.assert_allclose(g, [[1, 0, 0], [0, 0, 3], [0, 0, 0], [0, 0, 0]])
    g = _grad(lambda a: nd.pad(a, mode="edge", pad_width=(2, 1, 0, 2)), x)
    np.testing.assert_allclose(g, [[3, 3, 9], [1, 1, 3], [1, 1, 3], [2, 2, 6]])
    g = _grad(lambda a: nd.pad(a, mode="reflect", pad_width=(2, 1, 1, 0)), x)
    np.testing.assert_allclose(g, [[1, 2, 1], [2, 4, 2], [3, 6, 3], [1, 2, 1]])


def test_scatter_add_without_add_at_matches():
    from mxplug.ops.movement_grad import scatter_add

    class NoAt:         # an array-API-like namespace without ufunc.at: the one-hot path
        def __getattr__(self, name):
            if name == "add":
                raise AttributeError(name)
            return getattr(np, name)

    rng = np.random.default_rng(0)
    idx = np.array([[0, 3, 3, 1, 0]])
    vals = rng.uniform(-1, 1, (2, 5, 3))
    want = np.zeros((2, 4, 3))
    np.add.at(want, (np.arange(2)[:, None], idx), vals)
    np.testing.assert_allclose(scatter_add(NoAt(), idx, vals, 4), want)
    np.testing.assert_allclose(scatter_add(np, idx, vals, 4), want)
    idx2 = np.array([[1, 1], [0, 2]])
    want2 = np.zeros((2, 3))
    np.add.at(want2, (np.arange(2)[:, None], idx2), vals[:, :2, 0])
    np.testing.assert_allclose(scatter_add(NoAt(), idx2, vals[:, :2, 0], 3), want2)


_HVP_CASES = {
    "take": (lambda a: nd.take(a, A([[0, 7], [3.5, 0]])), (4, 3)),
    "take_wrap": (lambda a: nd.take(a, A([1, -4, 6]), axis=1, mode="wrap"), (2, 5)),
    "pick": (lambda a: nd.pick(a, A([0, 3, 1]), axis=1), (3, 4)),
    "gather_nd": (lambda a: nd.gather_nd(a, A([[1, 1, 0], [2, 2, 0]])), (3, 4)),
    "scatter_nd": (lambda a: nd.scatter_nd(a, A([[1, 0], [2, 0]]), shape=(3, 4)), (2,)),
    "pad_edge": (lambda a: nd.pad(a, mode="edge", pad_width=(1, 2, 2, 0)), (3, 4)),
    "pad_reflect": (lambda a: nd.pad(a, mode="reflect", pad_width=(2, 1, 1, 3)), (3, 4)),
    "pad_constant": (lambda a: nd.pad(a, pad_width=(1, 0, 0, 2), constant_value=0.5), (3, 4)),
    "slice": (lambda a: nd.slice(a, begin=(None, 3), end=(None, 0), step=(2, -2)), (3, 4)),
    "slice_axis": (lambda a: nd.slice_axis(a, axis=0, begin=1, end=None), (3, 4)),
    "slice_like": (lambda a: nd.slice_like(a, nd.zeros((2, 2))), (3, 4)),
    "diag_1d": (lambda a: nd.diag(a, k=-1), (3,)),
    "diag_nd": (lambda a: nd.diag(a, k=1, axis1=1, axis2=0), (3, 4)),
    "tile": (lambda a: nd.tile(a, reps=(2, 1, 2)), (3, 4)),
    "repeat": (lambda a: nd.repeat(a, repeats=2, axis=0), (3, 4)),
    "broadcast": (lambda a: nd.broadcast_to(nd.reshape(a, shape=(3, 1, 4)), shape=(3, 2, 4)),
                  (3, 4)),
    "concat": (lambda a: nd.concat(a, a * 2, dim=0), (3, 4)),
    "stack": (lambda a: nd.stack(a, a * 2, axis=1), (3, 4)),
    "split": (lambda a: nd.split(a, num_outputs=2, axis=1)[1], (3, 4)),
    "where": (lambda a: nd.where(A([[1, 0, 1, 0]] * 3), a, a * 3), (3, 4)),
    "sort": (lambda a: nd.sort(a, axis=None, is_ascend=False), (3, 4)),
    "topk": (lambda a: nd.topk(a, axis=0, k=2, ret_typ="value"), (3, 4)),
    "topk_both": (lambda a: nd.topk(a, k=3, ret_typ="both", is_ascend=True)[0], (3, 4)),
    "d2s": (lambda a: nd.depth_to_space(nd.reshape(a, shape=(1, 4, 1, 3)), 2), (3, 4)),
}


@pytest.mark.parametrize("name", sorted(_HVP_CASES))
def test_second_order_through_movement_ops(name):
    """Hessian-vector product of sum(w * f(x)**3) against finite differences of the gradient:
    the gradient of each op's backward (its scatter) must be right too."""
    f, shape = _HVP_CASES[name]
    rng = np.random.default_rng(len(name))
    x0 = rng.permutation(np.prod(shape)).reshape(shape) / 7 - 0.5   # distinct: no sort ties
    v = rng.uniform(-1, 1, shape)
    w = None

    def loss(a):
        nonlocal w
        y = f(a)
        if w is None:
            w = A(rng.uniform(-1, 1, y.shape), "float64")
        return nd.sum(y * y * y * w)

    x = A(x0, "float64")
    x.attach_grad()
    with mx.autograd.record():
        (g,) = mx.autograd.grad([loss(x)], [x], create_graph=True)
        h = nd.sum(g * A(v, "float64"))
    h.backward()
    eps = 1e-6
    numeric = (_grad(loss, x0 + eps * v) - _grad(loss, x0 - eps * v)) / (2 * eps)
    np.testing.assert_allclose(x.grad.asnumpy(), numeric, rtol=1e-5, atol=1e-7)
