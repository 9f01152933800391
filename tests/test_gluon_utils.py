"""gluon.utils: split_data, split_and_load, clip_global_norm, download, check_sha1."""

from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import mxplug as mx
from mxplug.gluon import utils


def test_split_data_even_and_uneven(ctx):
    x = np.arange(24, dtype=np.float32).reshape(6, 4)
    parts = utils.split_data(mx.nd.array(x), 3)
    assert [p.shape for p in parts] == [(2, 4)] * 3 and parts[0].context == ctx
    np.testing.assert_array_equal(np.concatenate([p.asnumpy() for p in parts]), x)
    with pytest.raises(ValueError, match="cannot be evenly split into 4 slices"):
        utils.split_data(mx.nd.array(x), 4)
    uneven = utils.split_data(mx.nd.array(x), 4, even_split=False)
    assert [p.shape[0] for p in uneven] == [2, 2, 1, 1]
    cols = utils.split_data(mx.nd.array(x), 3, batch_axis=1, even_split=False)
    assert [p.shape for p in cols] == [(6, 2), (6, 1), (6, 1)]
    np.testing.assert_array_equal(np.concatenate([p.asnumpy() for p in cols], axis=1), x)
    assert len(utils.split_data(mx.nd.array(x), 1)) == 1


def test_split_and_load_contexts(ctx):
    x = np.arange(8, dtype=np.float32).reshape(4, 2)
    ctxs = [mx.cpu(0), ctx]
    parts = utils.split_and_load(x, ctxs)
    assert [p.context for p in parts] == ctxs
    np.testing.assert_array_equal(parts[1].asnumpy(), x[2:])
    (one,) = utils.split_and_load(mx.nd.array(x, ctx=mx.cpu()), [ctx])
    assert one.context == ctx and one.shape == (4, 2)


def test_clip_global_norm(ctx):
    rs = np.random.RandomState(0)
    a, b = rs.randn(3, 4).astype(np.float32), rs.randn(5).astype(np.float32)
    norm = np.sqrt((a ** 2).sum() + (b ** 2).sum())
    arrays = [mx.nd.array(a), mx.nd.array(b)]
    got = utils.clip_global_norm(arrays, 1.0)
    assert isinstance(got, (float, np.floating)) and got == pytest.approx(norm, rel=1e-5)
    scale = 1.0 / (norm + 1e-8)
    np.testing.assert_allclose(arrays[0].asnumpy(), a * scale, rtol=1e-5)
    np.testing.assert_allclose(arrays[1].asnumpy(), b * scale, rtol=1e-5)
    # below the limit: untouched; check_isfinite=False returns an NDArray
    arrays = [mx.nd.array(a)]
    total = utils.clip_global_norm(arrays, 1e6, check_isfinite=False)
    assert isinstance(total, mx.nd.NDArray) and total.shape == (1,)
    np.testing.assert_allclose(arrays[0].asnumpy(), a, rtol=1e-6)
    with pytest.warns(UserWarning, match="nan or inf"), np.errstate(invalid="ignore"):
        utils.clip_global_norm([mx.nd.array([np.inf, 1.0])], 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        utils.clip_global_norm([mx.nd.array([1.0])], 1.0)


def test_check_sha1_and_download_offline(tmp_path):
    f = tmp_path / "data.bin"
    f.write_bytes(b"hello mxplug")
    digest = hashlib.sha1(b"hello mxplug").hexdigest()
    assert utils.check_sha1(str(f), digest)
    assert not utils.check_sha1(str(f), "0" * 40)
    # an existing file with the right hash is returned without any network access
    assert utils.download("http://example.invalid/data.bin", path=str(tmp_path),
                          sha1_hash=digest) == str(f)
    assert utils.download("http://example.invalid/x", path=str(f)) == str(f)
    with pytest.raises(OSError) as info:
        utils.download("http://example.invalid/missing.bin", path=str(tmp_path), retries=0)
    msg = str(info.value)
    assert "cannot download http://example.invalid/missing.bin" in msg
    assert str(tmp_path / "missing.bin") in msg and isinstance(info.value, mx.MXNetError)
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(ValueError, match="file-name"):
        utils.download("http://example.invalid/dir/")
    # as MXNet: the arguments are checked, and verify_ssl=False warned about, even when the
    # file is there already
    with pytest.warns(UserWarning, match="Unverified HTTPS request"):
        assert utils.download("http://example.invalid/x", path=str(f), verify_ssl=False)
    with pytest.raises(ValueError, match="retries >= 0"):
        utils.download("http://example.invalid/x", path=str(f), retries=-1)


def test_hook_handle():
    hooks = OrderedDict()
    h = utils.HookHandle()
    h.attach(hooks, print)
    assert list(hooks.values()) == [print]
    with pytest.raises(ValueError):
        h.attach(hooks, print)
    with h:
        pass
    assert hooks == {}
    plain = {}
    utils.HookHandle().attach(plain, print)
    assert len(plain) == 1
    assert utils.shape_is_known((2, 3)) and not utils.shape_is_known((0, 3))
