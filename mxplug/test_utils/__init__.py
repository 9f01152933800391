"""MXNet 1.x's ``mx.test_utils``: the helpers MXNet's own unit tests are written with.

Same names, signatures, defaults and semantics as MXNet 1.9.1's ``python/mxnet/test_utils.py``
(``from mxplug.test_utils import *`` gives what ``from mxnet.test_utils import *`` gives,
``np``, ``mx``, ``ss`` and the standard modules included), built on mxplug's public API
(``mx.nd``, ``Symbol.bind`` / ``simple_bind``, ``Executor``), so every helper runs on every
backend.

Tolerances are MXNet 1.9's, by dtype: ``rtol=None`` / ``atol=None`` (or a dict dtype -> float
without the dtype) take :func:`default_rtols` / :func:`default_atols` of each compared array's
dtype, the larger of the two (:func:`get_tols`): float16 1e-2 / 1e-1, float32 1e-4 / 1e-3,
float64 1e-5 / 1e-20, bool and integers 0. So ``assert_almost_equal``,
``check_symbolic_forward`` / ``check_symbolic_backward``, ``check_numeric_gradient`` (whose
default step is :func:`default_numeric_eps` of the output dtype) and ``check_consistency``
(``rtol`` / ``atol`` replace earlier 1.x's ``tol`` and its per-context ``atol`` /
``atol_mult`` entries) judge float32 data at 1e-4 / 1e-3. ``almost_equal``, ``get_rtol()``
and ``get_atol()`` keep float64's 1e-5 / 1e-20, as in MXNet.

Where mxplug differs from MXNet, and why:

- ``effective_dtype`` is the data's own dtype. MXNet returns float16 for float32 data on an
  Ampere-or-newer GPU with TF32 enabled (its float32 GEMMs and convolutions round inputs to
  TF32 there); mxplug computes float32 as float32 on every backend.
- Tolerance lookups are a little more forgiving where MXNet fails or misreads: data without a
  ``dtype`` (lists, Python numbers) takes ``np.asarray``'s (MXNet: AttributeError), integer
  dtypes missing from MXNet's tables (int16, uint16) take 0 (MXNet: KeyError), and a tolerance
  dict may be keyed by ``np.float32`` as well as ``np.dtype(np.float32)`` (MXNet silently
  ignores the former and uses the default).
- Sparse storage (``csr``, ``row_sparse``) does not exist here: ``rand_ndarray`` with such an
  ``stype``, ``rand_sparse_ndarray`` and ``create_sparse_array`` raise
  :class:`~mxplug.base.MXNetNotImplementedError` naming the stype. ``shuffle_csr_column_indices``
  works on any CSR matrix with ``indptr`` / ``indices`` arrays (e.g. SciPy's).
- NumPy semantics (``mx.np``, ``mx.sym.np``) do not exist here: ``use_np`` (mxplug's
  ``mx.util.use_np``) makes the decorated function raise
  :class:`~mxplug.util.NumpySemanticsError` when called, and ``np_symbol`` is a class no
  symbol belongs to (making one raises that error). ``check_gluon_hybridize_consistency``,
  which MXNet 1.9 runs under ``@use_np`` on ``mx.np`` arrays, takes ``mx.nd`` arrays and runs
  in legacy mode.
- Nothing is downloaded (the machines running these tests are offline). ``download`` returns
  the file when it is already where MXNet would have written it, and otherwise raises
  :class:`OfflineDataError` naming the URL and the path to put the file at; ``get_mnist``,
  ``get_cifar10``, ... then read the files as MXNet does.
- ``ss`` (``scipy.stats``, None without SciPy) and ``requests`` (when installed) load on first
  use rather than with this module (``scipy.stats`` alone takes about a second to import);
  a star import loads them, as MXNet's does.
- ``assert_almost_equal`` compares on the host (MXNet compares two NDArrays of the same context
  and dtype with ``nd.contrib.allclose``: the same formula). It prints MXNet's report and
  raises MXNet's message, but sets NumPy's print options only while building the message
  (MXNet leaves ``threshold=4`` set for the rest of the process).
- ``assert_exception`` raises an AssertionError naming the function when it raises nothing
  (MXNet's ``assert False`` inside its own ``try`` lets ``assert_exception(f,
  AssertionError)`` pass whatever ``f`` does).
- ``check_symbolic_forward`` and ``simple_forward`` bind with ``grad_req='null'``: MXNet binds
  without gradient arrays, which there means no gradient; mxplug's ``bind`` would allocate them.
  ``check_numeric_gradient`` takes finite differences for the ``grad_nodes`` only (MXNet also
  perturbs the other arguments and discards the result).
- ``set_default_context`` replaces the innermost default of the current thread (MXNet sets its
  thread-local default, which a surrounding ``with ctx:`` restores on exit: the same effect).
- ``list_gpus()`` counts CUDA GPUs (``mx.num_gpus()``); ``check_consistency`` works across any
  contexts, e.g. ``[{'ctx': mx.cpu(0), ...}, {'ctx': mx.opencl(0), ...}]``, casting the
  training head gradients on the host (a device may lack float16).
- ``is_op_runnable()`` is always True and ``has_tvm_ops()`` False: there are no TVM kernels.
- Also here, beyond MXNet 1.9.1: earlier 1.x's ``find_max_violation`` (1.9.1's
  ``_find_max_violation`` with ``get_rtol`` / ``get_atol`` defaults), ``reldiff``,
  ``almost_equal_ignore_nan``, ``set_env_var`` and ``EnvManager``; MXNet 2.0's
  ``compare_optimizer_noise_seeded``; ``create_2d_tensor``'s ``ctx``; ``OfflineDataError``.
  Earlier 1.x's ``get_tolerance(rtol, ctx)`` gave way to 1.9.1's ``get_tolerance(dat, tol,
  default_tol)`` (the same name).
"""
from __future__ import annotations

# MXNet's ``from mxnet.test_utils import *`` also hands these modules to test files
import bz2  # noqa: F401
import errno  # noqa: F401
import gzip  # noqa: F401
import json  # noqa: F401
import logging  # noqa: F401
import numbers  # noqa: F401
import os  # noqa: F401
import platform  # noqa: F401
import struct  # noqa: F401
import sys  # noqa: F401
import time  # noqa: F401
import traceback  # noqa: F401
import zipfile  # noqa: F401
from collections import OrderedDict  # noqa: F401
from contextlib import contextmanager  # noqa: F401

import numpy as np  # noqa: F401
import numpy.random as rnd  # noqa: F401
import numpy.testing as npt  # noqa: F401

import mxplug as mx  # noqa: F401

from ..base import MXNetError, MXNetFileError, MXNetNotImplementedError  # noqa: F401
from ..context import Context, current_context  # noqa: F401
from ..ndarray import array  # noqa: F401
from ..runtime import Features  # noqa: F401
from ..symbol import Symbol  # noqa: F401
from ..util import getenv, setenv, use_np  # noqa: F401
from ._compare import (  # noqa: F401
    _find_max_violation,
    almost_equal,
    almost_equal_ignore_nan,
    assert_allclose,
    assert_almost_equal,
    assert_almost_equal_ignore_nan,
    assert_almost_equal_with_err,
    assert_exception,
    checkShapes,
    collapse_sum_like,
    compare_ndarray_tuple,
    find_max_violation,
    locationError,
    reldiff,
    retry,
    same,
    same_array,
    same_symbol_structure,
)
from ._data import (  # noqa: F401
    _sorted_dict,
    _sorted_items,
    assign_each,
    assign_each2,
    create_2d_tensor,
    create_sparse_array,
    create_sparse_array_zd,
    create_vector,
    default_atols,
    default_context,
    default_dtype,
    default_numeric_eps,
    default_rtols,
    effective_dtype,
    get_atol,
    get_etol,
    get_identity_mat,
    get_identity_mat_batch,
    get_rtol,
    get_tolerance,
    get_tols,
    np_reduce,
    rand_coord_2d,
    rand_ndarray,
    rand_shape_2d,
    rand_shape_3d,
    rand_shape_nd,
    rand_sparse_ndarray,
    random_arrays,
    random_sample,
    random_uniform_arrays,
    set_default_context,
    shuffle_csr_column_indices,
)
from ._misc import (  # noqa: F401
    DummyIter,
    EnvManager,
    OfflineDataError,
    chi_square_check,
    compare_optimizer,
    compare_optimizer_noise_seeded,
    discard_stderr,
    download,
    download_model,
    environment,
    gen_buckets_probs_with_ppf,
    get_bz2_data,
    get_cifar10,
    get_cuda_compute_capability,
    get_im2rec_path,
    get_mnist,
    get_mnist_iterator,
    get_mnist_pkl,
    get_mnist_ubyte,
    get_zip_data,
    has_tvm_ops,
    is_aarch64_run,
    is_cd_run,
    is_op_runnable,
    list_gpus,
    mean_check,
    new_matrix_with_real_eigvals_2d,
    new_matrix_with_real_eigvals_nd,
    new_orthonormal_matrix_2d,
    new_sym_matrix_with_real_eigvals_2d,
    new_sym_matrix_with_real_eigvals_nd,
    set_env_var,
    var_check,
    verify_generator,
)
from ._symbolic import (  # noqa: F401
    _parse_aux_states,
    _parse_location,
    check_consistency,
    check_gluon_hybridize_consistency,
    check_numeric_gradient,
    check_speed,
    check_symbolic_backward,
    check_symbolic_forward,
    np_symbol,
    numeric_grad,
    simple_forward,
)

# MXNet imports these at module load; here they load on first use (scipy.stats takes ~1 s)
_LAZY_MODULES = {"ss": "scipy.stats", "requests": "requests"}


def __getattr__(name):
    if name in _LAZY_MODULES:
        import importlib
        try:
            module = importlib.import_module(_LAZY_MODULES[name])
        except ImportError:
            if name != "ss":  # MXNet: ``ss = None`` without SciPy, no ``requests`` without it
                raise AttributeError(f"module {__name__!r} has no attribute {name!r} "
                                     f"({_LAZY_MODULES[name]} is not installed)") from None
            module = None
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _star_names():
    import importlib.util
    names = {n for n in globals() if not n.startswith("_") and n != "annotations"}
    names.add("ss")
    if importlib.util.find_spec("requests") is not None:
        names.add("requests")
    return sorted(names)


# what ``import *`` hands out: MXNet's public names (and the lazily loaded modules)
__all__ = _star_names()
