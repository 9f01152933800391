"""mx.runtime (Features), mx.util and mx.engine (MXNet 1.x helpers)."""

from __future__ import annotations

import importlib.util
import platform
import threading

import numpy as np
import pytest

import mxplug as mx
from mxplug.base import MXNetError

MXNET_FIRST = ["CUDA", "CUDNN", "NCCL", "CUDA_RTC", "TENSORRT", "CPU_SSE"]


# -- runtime --------------------------------------------------------------------------------------
def test_features_is_a_singleton_mapping_in_mxnet_order():
    features = mx.runtime.Features()
    assert mx.runtime.Features() is features
    names = list(features)
    assert names[:6] == MXNET_FIRST and {"OPENCL", "MPI", "BLAS_OPEN", "OPENMP"} <= set(names)
    assert [f.name for f in mx.runtime.feature_list()] == names
    for name, feature in features.items():
        assert feature.name == name and isinstance(feature.enabled, bool)
        assert repr(feature) == ("✔ " if feature.enabled else "✖ ") + name
    assert repr(features).startswith("[")


def test_features_match_what_is_installed():
    features = mx.runtime.Features()
    assert features.is_enabled("CUDA") == (mx.num_gpus() > 0)
    opencl = [b for b in mx.backends.list() if b.name == "opencl"]
    assert features.is_enabled("OPENCL") == bool(opencl and opencl[0].available)
    has_mpi = importlib.util.find_spec("mpi4py") is not None
    assert features.is_enabled("MPI") == features.is_enabled("DIST_KVSTORE") == has_mpi
    assert features.is_enabled("OPENCV") == (importlib.util.find_spec("cv2") is not None)
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"].lower()
    assert features.is_enabled("BLAS_OPEN") == ("openblas" in blas)
    assert features.is_enabled("PROFILER") and not features.is_enabled("TENSORRT")


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="SSE2 is part of every x86-64 CPU; other machines lack it")
def test_x86_64_has_sse2():
    assert mx.runtime.Features().is_enabled("cpu_sse2")  # names in any case


def test_unknown_feature_is_an_error_listing_known_ones():
    with pytest.raises(RuntimeError, match=r"Feature 'WARP_DRIVE' is unknown, known features "
                                           r"are: \['CUDA', 'CUDNN'") as info:
        mx.runtime.Features().is_enabled("warp_drive")
    assert isinstance(info.value, MXNetError)


# -- util -----------------------------------------------------------------------------------------
def test_numpy_semantics_switches_are_also_top_level_names_as_in_mxnet():
    for name in ("is_np_array", "is_np_shape", "np_array", "np_shape", "set_np_shape", "use_np",
                 "use_np_array", "use_np_shape"):
        assert getattr(mx, name) is getattr(mx.util, name)
    assert mx.is_np_shape() is False
    assert mx.rnd is mx.random


def test_numpy_semantics_are_off_and_cannot_be_turned_on():
    util = mx.util
    assert util.is_np_shape() is False and util.is_np_array() is False
    assert util.is_np_default_dtype() is False
    assert util.set_np_shape(False) is False
    with util.np_shape(False), util.np_array(False):
        assert mx.nd.ones(()).shape == (1,)  # legacy semantics throughout
    util.reset_np()
    with pytest.raises(NotImplementedError, match=r"set_np_shape\(True\): mxplug implements "
                                                  r"MXNet's legacy NDArray semantics"):
        util.set_np_shape(True)
    with pytest.raises(util.NumpySemanticsError, match=r"np_shape\(active=True\)"):
        with util.np_shape():
            pass
    with pytest.raises(util.NumpySemanticsError):
        util.set_np()

    @util.use_np_shape
    def scalar_one():
        return mx.nd.ones(())

    assert scalar_one.__name__ == "scalar_one"  # decorating works; calling refuses
    with pytest.raises(util.NumpySemanticsError):
        scalar_one()
    with pytest.raises(MXNetError, match="can only decorate"):
        util.use_np_array(3)


def test_makedirs_gpu_queries_and_env(tmp_path, monkeypatch):
    target = tmp_path / "a" / "b"
    mx.util.makedirs(str(target))
    mx.util.makedirs(str(target))  # exists already: fine
    assert target.is_dir()
    assert mx.util.get_gpu_count() == mx.num_gpus()
    if mx.num_gpus() == 0:
        with pytest.raises(MXNetError, match=r"gpu\(0\) is unavailable"):
            mx.util.get_gpu_memory(0)
    else:
        free, total = mx.util.get_gpu_memory(0)
        assert 0 < free <= total
    monkeypatch.delenv("MXPLUG_TEST_UTIL_ENV", raising=False)
    assert mx.util.getenv("MXPLUG_TEST_UTIL_ENV") is None
    mx.util.setenv("MXPLUG_TEST_UTIL_ENV", 7)
    assert mx.util.getenv("MXPLUG_TEST_UTIL_ENV") == "7"
    mx.util.setenv("MXPLUG_TEST_UTIL_ENV", None)
    assert mx.util.getenv("MXPLUG_TEST_UTIL_ENV") is None


# -- engine ---------------------------------------------------------------------------------------
def test_bulk_size_is_kept_per_thread_and_restored():
    engine = mx.engine
    assert engine.set_bulk_size(0) == 0
    assert engine.set_bulk_size(16) == 0
    with engine.bulk(4) as scope:
        assert scope is not None and engine.set_bulk_size(4) == 4
        with engine.bulk(2):
            assert engine.set_bulk_size(2) == 2
        assert engine.set_bulk_size(4) == 4
        seen = []
        worker = threading.Thread(target=lambda: seen.append(engine.set_bulk_size(1)))
        worker.start()
        worker.join(10)
        assert seen == [0]  # another thread has its own size
        x = mx.nd.zeros((1,))
        for _ in range(100):
            x += 1
        assert x.asscalar() == 100  # ops still run eagerly inside a bulk
    assert engine.set_bulk_size(0) == 16
    for bad in (-1, 1.5, True):
        with pytest.raises(MXNetError, match="size must be a non-negative int"):
            engine.bulk(bad)
