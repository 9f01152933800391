"""mx.test_utils: generator checks, environment, devices, iterators, offline data sets,
optimizers and matrices."""

from __future__ import annotations

import bz2
import gzip
import os
import platform
import struct
import sys
import zipfile
from contextlib import contextmanager

import numpy as np

import mxplug as mx

from ..base import MXNetFileError, MXNetNotImplementedError
from ..util import getenv, setenv
from ._compare import _host, assert_almost_equal, compare_ndarray_tuple
from ._data import _no_sparse, default_context

# ---------------------------------------------------------------------------------------------
# Random-number generators: distribution checks (scipy is imported on first use)


def gen_buckets_probs_with_ppf(ppf, nbuckets):
    """``nbuckets`` equiprobable buckets ``(ppf(i/n), ppf((i+1)/n))`` and their
    probabilities, for :func:`chi_square_check`."""
    assert nbuckets > 0
    probs = [1.0 / nbuckets for _ in range(nbuckets)]
    buckets = [(ppf(i / float(nbuckets)), ppf((i + 1) / float(nbuckets)))
               for i in range(nbuckets)]
    return buckets, probs


def mean_check(generator, mu, sigma, nsamples=1000000):
    """Whether the mean of ``generator(nsamples)`` lies within ``mu +- 3 sigma/sqrt(n)``."""
    sample_mean = np.array(_host(generator(nsamples))).mean()
    bound = 3 * sigma / np.sqrt(nsamples)
    return bool(mu - bound < sample_mean < mu + bound)


def var_check(generator, sigma, nsamples=1000000):
    """Whether the variance of ``generator(nsamples)`` lies within
    ``sigma^2 +- 3 sqrt(2 sigma^4 / (n-1))``."""
    sample_var = np.array(_host(generator(nsamples))).var(ddof=1)
    bound = 3 * np.sqrt(2 * sigma ** 4 / (nsamples - 1))
    return bool(sigma ** 2 - bound < sample_var < sigma ** 2 + bound)


def chi_square_check(generator, buckets, probs, nsamples=1000000):
    """Chi-square test of ``generator(nsamples)`` against bucket probabilities.

    ``buckets``: ascending, disjoint ``(low, high)`` ranges for a continuous distribution, or
    the possible values of a discrete one. Returns ``(p, obs_freq, expected_freq)``."""
    try:
        import scipy.stats as ss
    except ImportError:
        raise ImportError("scipy is not available."
                          " Please check if the scipy python bindings are installed.") from None
    assert isinstance(buckets, list)
    samples = np.asarray(_host(generator(nsamples)))
    assert len(probs) == len(buckets)
    continuous = isinstance(buckets[0], (list, tuple))
    expected_freq = (nsamples * np.array(probs, dtype=np.float32)).astype(np.int32)
    if continuous:
        edges = np.zeros((len(buckets) * 2,), dtype=np.float32)  # MXNet's float32 edges
        for i, (low, high) in enumerate(buckets):
            assert low <= high
            if i < len(buckets) - 1:
                assert high <= buckets[i + 1][0]
            edges[2 * i], edges[2 * i + 1] = low, high
        # bucket i holds high[i-1] <= x < high[i] (MXNet's searchsorted(side='right') // 2);
        # counting x >= each upper edge is 10x faster than searchsorted on 1e6 samples
        at_least = [np.count_nonzero(samples >= -np.inf)]
        at_least += [np.count_nonzero(samples >= h) for h in edges[1::2]]
        obs_freq = -np.diff(np.array(at_least, dtype=np.int64))
    else:
        obs_freq = np.array([(samples == b).sum() for b in buckets], dtype=np.int64)
    # Pearson's statistic as scipy.stats.chisquare computed it when MXNet used it: scipy >= 1.9
    # rejects totals that differ, and MXNet's int-truncated expectations can fall short by a
    # few counts (samples outside every bucket must still count against the generator)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.sum((obs_freq - expected_freq) ** 2 / expected_freq.astype(np.float64))
    p = ss.chi2.sf(stat, len(buckets) - 1)
    return p, obs_freq, expected_freq


def verify_generator(generator, buckets, probs, nsamples=1000000, nrepeat=5, success_rate=0.2,
                     alpha=0.05):
    """Run :func:`chi_square_check` ``nrepeat`` times; fail unless at least
    ``success_rate`` of the p values exceed ``alpha``. Returns the p values."""
    cs_ret_l, obs_freq_l, expected_freq_l = [], [], []
    for _ in range(nrepeat):
        cs_ret, obs_freq, expected_freq = chi_square_check(
            generator=generator, buckets=buckets, probs=probs, nsamples=nsamples)
        cs_ret_l.append(cs_ret)
        obs_freq_l.append(obs_freq)
        expected_freq_l.append(expected_freq)
    success_num = (np.array(cs_ret_l) > alpha).sum()
    if success_num < nrepeat * success_rate:
        raise AssertionError(f"Generator test fails, Chi-square p={cs_ret_l}, "
                             f"obs_freq={obs_freq_l}, expected_freq={expected_freq_l}."
                             f"\nbuckets={buckets}, probs={probs}")
    return cs_ret_l


# ---------------------------------------------------------------------------------------------
# Environment, devices, iterators


def list_gpus():
    """``range(n)`` over the n CUDA GPUs (empty without one)."""
    return range(mx.num_gpus())


def is_op_runnable():
    """Whether the current context can run every op: always (MXNet: TVM ops on old GPUs)."""
    return True


def has_tvm_ops():
    """Whether TVM-generated ops are built in: never here."""
    return False


def is_cd_run():
    """Checks if the test is running as part of a Continuous Delivery run."""
    return os.environ.get("CD_JOB", 0) == "1"


def is_aarch64_run():
    """Checks if the test is running on aarch64 instance."""
    return platform.machine() == "aarch64"


_CUDA_SUCCESS = 0


def get_cuda_compute_capability(ctx):
    """The CUDA compute capability of GPU context ``ctx`` as an int (70 for ``sm_70``), read
    from the CUDA driver (``libcuda``) as MXNet does; a ValueError for a non-GPU context."""
    if ctx.device_type != "gpu":
        raise ValueError("Expecting a gpu context to get cuda compute capability, "
                         f"while received ctx {ctx}")
    import ctypes
    for libname in ("libcuda.so", "libcuda.so.1", "libcuda.dylib", "cuda.dll"):
        try:
            cuda = ctypes.CDLL(libname)
        except OSError:
            continue
        break
    else:
        raise OSError("could not load any of: libcuda.so libcuda.so.1 libcuda.dylib cuda.dll")
    cc_major, cc_minor, device = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    error_str = ctypes.c_char_p()

    def check(ret, what):
        if ret != _CUDA_SUCCESS:
            cuda.cuGetErrorString(ret, ctypes.byref(error_str))
            raise RuntimeError(f"{what} failed with error code {ret}: "
                               f"{error_str.value.decode()}")

    check(cuda.cuInit(0), "cuInit")
    check(cuda.cuDeviceGet(ctypes.byref(device), ctx.device_id), "cuDeviceGet")
    check(cuda.cuDeviceComputeCapability(ctypes.byref(cc_major), ctypes.byref(cc_minor),
                                         device), "cuDeviceComputeCapability")
    return cc_major.value * 10 + cc_minor.value


def set_env_var(key, val, default_val=""):
    """Set an environment variable; return its previous value (``default_val`` if unset)."""
    prev_val = os.environ.get(key, default_val)
    os.environ[key] = val
    return prev_val


@contextmanager
def environment(*args):
    """Set environment variables for the body of a ``with`` statement, then restore them.

    ``environment('NAME', 'value')`` or ``environment({'NAME': 'value', ...})``; a value of
    None unsets the variable. The previous state comes back even if the body raises."""
    if len(args) == 1 and isinstance(args[0], dict):
        env_vars = args[0]
    else:
        assert len(args) == 2, "Expecting one dict arg or two args: env var name and value"
        env_vars = {args[0]: args[1]}

    def validate_backend_setting(name, value, can_use_setenv=True):
        # MXNet checks that its C runtime sees the value (Windows keeps its own copy)
        backend_value = getenv(name)
        if value == backend_value or \
                value == "" and backend_value is None and platform.system() == "Windows":
            return
        if not can_use_setenv:
            raise RuntimeError(f"Could not set env var {name}={value} within C Runtime")
        setenv(name, value)
        validate_backend_setting(name, value, can_use_setenv=False)

    def set_environ(values):
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
            validate_backend_setting(name, value)

    snapshot = {name: os.environ.get(name) for name in env_vars}
    set_environ(env_vars)
    try:
        yield
    finally:
        mx.nd.waitall()
        set_environ(snapshot)


class EnvManager:
    """Environment variable setter and unsetter via with idiom."""

    def __init__(self, key, val):
        self._key = key
        self._next_val = val
        self._prev_val = None

    def __enter__(self):
        self._prev_val = os.environ.get(self._key)
        os.environ[self._key] = self._next_val

    def __exit__(self, ptype, value, trace):
        if self._prev_val:
            os.environ[self._key] = self._prev_val
        else:
            del os.environ[self._key]


@contextmanager
def discard_stderr():
    """Discard what the body writes to stderr: file descriptor 2 (where C code writes) and
    ``sys.stderr``'s own descriptor when a harness (pytest) has pointed it elsewhere."""
    fds = {2}
    try:
        fds.add(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):  # a capture object with no descriptor
        pass
    with open(os.devnull, "w") as bit_bucket:
        sys.stderr.flush()
        saved = {fd: os.dup(fd) for fd in fds}
        try:
            for fd in fds:
                os.dup2(bit_bucket.fileno(), fd)
            yield
        finally:
            sys.stderr.flush()
            for fd, old in saved.items():
                os.dup2(old, fd)
                os.close(old)


class DummyIter(mx.io.DataIter):
    """Returns the first batch of ``real_iter`` forever (for speed tests)."""

    def __init__(self, real_iter):
        super().__init__()
        self.real_iter = real_iter
        self.provide_data = real_iter.provide_data
        self.provide_label = real_iter.provide_label
        self.batch_size = real_iter.batch_size
        self.the_batch = next(real_iter)

    def __iter__(self):
        return self

    def next(self):
        """The first data batch of the real iterator; never raises StopIteration."""
        return self.the_batch


# ---------------------------------------------------------------------------------------------
# Data sets: offline. Files already in place are used; nothing is fetched.


class OfflineDataError(MXNetFileError):
    """A download was needed: mxplug's test helpers never fetch anything."""


def download(url, fname=None, dirname=None, overwrite=False, retries=5):
    """MXNet's ``download``, offline: returns the path where MXNet would have saved ``url``
    if the file is already there (and ``overwrite`` is False); otherwise raises
    :class:`OfflineDataError` naming the URL and that path."""
    assert retries >= 0, "Number of retries should be at least 0"
    if fname is None:
        fname = url.split("/")[-1]
    if dirname is None:
        dirname = os.path.dirname(fname)
    else:
        fname = os.path.join(dirname, fname)
    if not overwrite and os.path.exists(fname):
        return fname
    raise OfflineDataError(
        f"download: mxplug does not download ({url}); fetch it yourself and put it at "
        f"{os.path.abspath(fname)!r}")


def download_model(model_name, dst_dir="./", meta_info=None):
    """MXNet's model download: only ``meta_info`` models whose files are already in
    ``dst_dir`` (``<name>-symbol.json``, ``<name>-0000.params``); ``(None, 0)`` for an
    unknown name."""
    meta_info = dict(meta_info or {})
    if model_name not in meta_info:
        return (None, 0)
    meta = dict(meta_info[model_name])
    prefix = os.path.join(dst_dir, model_name)
    download(meta["symbol"], prefix + "-symbol.json")
    download(meta["params"], prefix + "-0000.params")
    return (prefix, 0)


_MNIST_URL = "http://data.mxnet.io/data/mnist/"


def get_mnist():
    """MNIST as a dict of NumPy arrays (``train_data``, ``train_label``, ``test_data``,
    ``test_label``), read from the four ``*-ubyte.gz`` files in the current directory."""
    def read_data(label_url, image_url):
        with gzip.open(download(label_url)) as flbl:
            struct.unpack(">II", flbl.read(8))
            label = np.frombuffer(flbl.read(), dtype=np.int8)
        with gzip.open(download(image_url), "rb") as fimg:
            _, _, rows, cols = struct.unpack(">IIII", fimg.read(16))
            image = np.frombuffer(fimg.read(), dtype=np.uint8).reshape(len(label), rows, cols)
            image = image.reshape(image.shape[0], 1, 28, 28).astype(np.float32) / 255
        return label, image

    train_lbl, train_img = read_data(_MNIST_URL + "train-labels-idx1-ubyte.gz",
                                     _MNIST_URL + "train-images-idx3-ubyte.gz")
    test_lbl, test_img = read_data(_MNIST_URL + "t10k-labels-idx1-ubyte.gz",
                                   _MNIST_URL + "t10k-images-idx3-ubyte.gz")
    return {"train_data": train_img, "train_label": train_lbl,
            "test_data": test_img, "test_label": test_lbl}


def get_mnist_pkl():
    """Needs ``data/mnist.pkl.gz`` in place."""
    if not os.path.exists("data/mnist.pkl.gz"):
        download("http://deeplearning.net/data/mnist/mnist.pkl.gz", dirname="data")


def _extract_zip(files, url):
    if all(os.path.exists(f) for f in files):
        return
    with zipfile.ZipFile(download(url, dirname="data")) as zf:
        zf.extractall("data")


def get_mnist_ubyte():
    """Needs ``data/{train,t10k}-{images-idx3,labels-idx1}-ubyte``, or ``data/mnist.zip``."""
    _extract_zip([f"data/{s}-ubyte" for s in ("train-images-idx3", "train-labels-idx1",
                                              "t10k-images-idx3", "t10k-labels-idx1")],
                 "http://data.mxnet.io/mxnet/data/mnist.zip")


def get_cifar10():
    """Needs ``data/cifar/{train,test}.{rec,lst}``, or ``data/cifar10.zip``."""
    _extract_zip([f"data/cifar/{s}" for s in ("train.rec", "test.rec", "train.lst", "test.lst")],
                 "http://data.mxnet.io/mxnet/data/cifar10.zip")


def get_mnist_iterator(batch_size, input_shape, num_parts=1, part_index=0):
    """MNIST train and validation ``mx.io.MNISTIter`` over the files of :func:`get_mnist_ubyte`."""
    get_mnist_ubyte()
    if not hasattr(mx.io, "MNISTIter"):
        raise MXNetNotImplementedError("get_mnist_iterator: mx.io.MNISTIter is not available")
    flat = len(input_shape) != 3
    common = dict(input_shape=input_shape, batch_size=batch_size, flat=flat,
                  num_parts=num_parts, part_index=part_index)
    train = mx.io.MNISTIter(image="data/train-images-idx3-ubyte",
                            label="data/train-labels-idx1-ubyte", shuffle=True, **common)
    val = mx.io.MNISTIter(image="data/t10k-images-idx3-ubyte",
                          label="data/t10k-labels-idx1-ubyte", **common)
    return train, val


def get_zip_data(data_dir, url, data_origin_name):
    """Extract ``data_dir/data_origin_name`` (which must be in place) into ``data_dir``."""
    data_origin_name = os.path.join(data_dir, data_origin_name)
    if not os.path.exists(data_origin_name):
        download(url, dirname=data_dir, overwrite=False)
    with zipfile.ZipFile(data_origin_name) as zf:
        zf.extractall(path=data_dir)


def get_bz2_data(data_dir, data_name, url, data_origin_name):
    """Decompress ``data_dir/data_origin_name`` (which must be in place) to
    ``data_dir/data_name``."""
    data_name = os.path.join(data_dir, data_name)
    data_origin_name = os.path.join(data_dir, data_origin_name)
    if os.path.exists(data_name):
        return
    download(url, fname=data_origin_name, overwrite=False)
    with bz2.BZ2File(data_origin_name, "rb") as bz_file, open(data_name, "wb") as fout:
        for line in bz_file:
            fout.write(line)
    os.remove(data_origin_name)


def get_im2rec_path(home_env="MXNET_HOME"):
    """MXNet's ``tools/im2rec.py``: not part of mxplug."""
    raise MXNetFileError("get_im2rec_path: mxplug ships no tools/im2rec.py; use "
                         "mx.recordio to write .rec files")


# ---------------------------------------------------------------------------------------------
# Optimizers and matrices


def _rand_pair(shape, dtype, stype):
    if stype != "default":
        _no_sparse("compare_optimizer", stype)
    w2 = mx.random.uniform(shape=shape, ctx=default_context(), dtype=dtype)
    return w2.copyto(default_context()), w2


def compare_optimizer(opt1, opt2, shape, dtype, w_stype="default", g_stype="default",
                      rtol=1e-4, atol=1e-5, compare_states=True, ntensors=1):
    """Compare two optimizers on the same random weights and gradients.

    ``shape`` a tuple: one ``update_multi_precision(0, ...)`` of each; their states (at
    creation and after the update) and weights are compared. ``shape`` a list: ``opt1``
    updates the first ``ntensors`` tensors one at a time, ``opt2`` all of them in one
    aggregated (multi-tensor) update."""
    if not isinstance(shape, list):
        assert ntensors == 1
        w1, w2 = _rand_pair(shape, dtype, w_stype)
        g1, g2 = _rand_pair(shape, dtype, g_stype)
        state1 = opt1.create_state_multi_precision(0, w1)
        state2 = opt2.create_state_multi_precision(0, w2)
        if compare_states:
            compare_ndarray_tuple(state1, state2)
        opt1.update_multi_precision(0, w1, g1, state1)
        opt2.update_multi_precision(0, w2, g2, state2)
        if compare_states:
            compare_ndarray_tuple(state1, state2, rtol=rtol, atol=atol)
        assert_almost_equal(w1, w2, rtol=rtol, atol=atol)
        return
    # multi-tensor: opt1 the single-tensor reference, opt2 the aggregated update
    w1 = tuple(mx.random.uniform(shape=s, ctx=default_context(), dtype=dtype) for s in shape)
    g1 = tuple(mx.random.uniform(shape=s, ctx=default_context(), dtype=dtype) for s in shape)
    w2 = tuple(w.copy() for w in w1)
    g2 = tuple(g.copy() for g in g1)
    state2 = [opt2.create_state_multi_precision(0, w2[i]) for i in range(ntensors)]
    opt2.update_multi_precision(list(range(ntensors)), w2, g2, state2)
    for i in range(ntensors):
        state1 = opt1.create_state_multi_precision(i, w1[i])
        opt1.update_multi_precision(i, w1[i], g1[i], state1)
        if compare_states:
            compare_ndarray_tuple(state1, state2[i], rtol, atol)
        compare_ndarray_tuple(w1[i], w2[i], rtol, atol)


def compare_optimizer_noise_seeded(opt1, opt2, shapes, dtype, noise_seed, w_stype="default",
                                   g_stype="default", rtol=1e-4, atol=1e-5,
                                   compare_states=True):
    """MXNet 2.0's helper (not in 1.9): one aggregated ``update_multi_precision`` of each
    optimizer over tensors of ``shapes``, reseeding ``mx.random`` with ``noise_seed`` before
    each update (SGLD draws noise); states and weights compared."""
    w1_list, w2_list, g1_list, g2_list, s1_list, s2_list = [], [], [], [], [], []
    for i, shape in enumerate(shapes):
        w1, w2 = _rand_pair(shape, dtype, w_stype)
        g1, g2 = _rand_pair(shape, dtype, g_stype)
        s1 = opt1.create_state_multi_precision(i, w1)
        s2 = opt2.create_state_multi_precision(i, w2)
        if compare_states:
            compare_ndarray_tuple(s1, s2)
        w1_list.append(w1)
        w2_list.append(w2)
        g1_list.append(g1)
        g2_list.append(g2)
        s1_list.append(s1)
        s2_list.append(s2)
    indices = list(range(len(shapes)))
    for opt, w, g, s in ((opt1, w1_list, g1_list, s1_list), (opt2, w2_list, g2_list, s2_list)):
        if noise_seed is not None:
            mx.random.seed(noise_seed)
        opt.update_multi_precision(indices, w, g, s)
    if compare_states:
        compare_ndarray_tuple(tuple(s1_list), tuple(s2_list), rtol=rtol, atol=atol)
    compare_ndarray_tuple(tuple(w1_list), tuple(w2_list), rtol=rtol, atol=atol)


def new_matrix_with_real_eigvals_2d(n):
    """Generate a well-conditioned matrix with small real eigenvalues."""
    eye = np.eye(n)
    while True:
        d = np.diag(np.random.uniform(-1.0, 1.0, n))
        v = np.random.uniform(-1., 1., n).reshape(n, 1)
        v = v / np.linalg.norm(v, axis=-2, keepdims=True)
        q = np.matmul(eye - 2 * np.matmul(v, v.T), d)
        if np.linalg.cond(q, 2) < 3:
            break
    d = np.diag(np.random.uniform(-10.0, 10.0, n))
    return np.matmul(np.matmul(np.linalg.inv(q), d), q)


def new_matrix_with_real_eigvals_nd(shape):
    """Generate well-conditioned matrices with small real eigenvalues."""
    n = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return np.array([new_matrix_with_real_eigvals_2d(shape[-1]) for _ in range(n)]).reshape(shape)


def new_orthonormal_matrix_2d(n):
    """Generate an orthonormal matrix."""
    x = np.random.randn(n, n)
    return np.linalg.qr(np.matmul(x.T, x))[0]


def new_sym_matrix_with_real_eigvals_2d(n):
    """Generate a symmetric matrix with real eigenvalues."""
    q = new_orthonormal_matrix_2d(n)
    d = np.diag(np.random.uniform(-10.0, 10.0, n))
    return np.matmul(np.matmul(q.T, d), q)


def new_sym_matrix_with_real_eigvals_nd(shape):
    """Generate symmetric matrices with real eigenvalues."""
    n = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return np.array([new_sym_matrix_with_real_eigvals_2d(shape[-1])
                     for _ in range(n)]).reshape(shape)
