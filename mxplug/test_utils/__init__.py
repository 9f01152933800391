"""MXNet 1.x's ``mx.test_utils``: the helpers MXNet's own unit tests are written with.

Same names, signatures, defaults and semantics as MXNet 1.9's ``python/mxnet/test_utils.py``
(``from mxplug.test_utils import *`` gives what ``from mxnet.test_utils import *`` gives,
``np`` and ``mx`` included), built on mxplug's public API (``mx.nd``, ``Symbol.bind`` /
``simple_bind``, ``Executor``), so every helper runs on every backend.

Where mxplug differs from MXNet, and why:

- Sparse storage (``csr``, ``row_sparse``) does not exist here: ``rand_ndarray`` with such an
  ``stype``, ``rand_sparse_ndarray`` and ``create_sparse_array`` raise
  :class:`~mxplug.base.MXNetNotImplementedError` naming the stype.
- Nothing is downloaded (the machines running these tests are offline). ``download`` returns
  the file when it is already where MXNet would have written it, and otherwise raises
  :class:`OfflineDataError` naming the URL and the path to put the file at; ``get_mnist``,
  ``get_cifar10``, ... then read the files as MXNet does.
- ``assert_almost_equal`` compares on the host (MXNet compares two NDArrays of the same context
  with ``nd.contrib.allclose``: the same formula). It prints MXNet's report and raises MXNet's
  message, but sets NumPy's print options only while building the message (MXNet leaves
  ``threshold=4`` set for the rest of the process).
- ``check_symbolic_forward`` and ``simple_forward`` bind with ``grad_req='null'``: MXNet binds
  without gradient arrays, which there means no gradient; mxplug's ``bind`` would allocate them.
- ``set_default_context`` replaces the innermost default of the current thread (MXNet sets its
  thread-local default, which a surrounding ``with ctx:`` restores on exit: the same effect).
- ``list_gpus()`` counts CUDA GPUs (``mx.num_gpus()``); ``check_consistency`` works across any
  contexts, e.g. ``[{'ctx': mx.cpu(0), ...}, {'ctx': mx.opencl(0), ...}]``.
- ``is_op_runnable()`` is always True and ``has_tvm_ops()`` False: there are no TVM kernels.
"""

from __future__ import annotations

# MXNet's ``from mxnet.test_utils import *`` also hands these modules to test files
import bz2  # noqa: F401
import gzip  # noqa: F401
import json  # noqa: F401
import numbers  # noqa: F401
import os  # noqa: F401
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
from ..symbol import Symbol  # noqa: F401
from ._compare import (  # noqa: F401
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
    assign_each,
    assign_each2,
    create_2d_tensor,
    create_sparse_array,
    create_sparse_array_zd,
    create_vector,
    default_context,
    default_dtype,
    get_atol,
    get_etol,
    get_rtol,
    get_tolerance,
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
    get_im2rec_path,
    get_mnist,
    get_mnist_iterator,
    get_mnist_pkl,
    get_mnist_ubyte,
    get_zip_data,
    has_tvm_ops,
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
    check_consistency,
    check_gluon_hybridize_consistency,
    check_numeric_gradient,
    check_speed,
    check_symbolic_backward,
    check_symbolic_forward,
    numeric_grad,
    simple_forward,
)
