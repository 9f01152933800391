"""Parallelization and file utilities of Gluon (MXNet 1.x ``gluon.utils``)."""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
import warnings
import weakref

import numpy as np

from .. import ndarray
from ..base import MXNetError, MXNetValueError
from ..ndarray import NDArray

__all__ = ["split_data", "split_and_load", "clip_global_norm", "check_sha1", "download",
           "replace_file", "shape_is_known", "HookHandle"]


def split_data(data, num_slice, batch_axis=0, even_split=True):
    """Splits an NDArray into `num_slice` slices along `batch_axis`.

    Usually used for data parallelism where each slices is sent to one device (i.e. GPU).

    Parameters
    ----------
    data : NDArray
        A batch of data.
    num_slice : int
        Number of desired slices.
    batch_axis : int, default 0
        The axis along which to slice.
    even_split : bool, default True
        Whether to force all slices to have the same number of elements. If `True`, an error
        will be raised when `num_slice` does not evenly divide `data.shape[batch_axis]`.

    Returns
    -------
    list of NDArray
        Return value is a list even if `num_slice` is 1. With uneven splits the first
        ``size % num_slice`` slices hold one more element.
    """
    size = data.shape[batch_axis]
    if even_split and size % num_slice != 0:
        raise MXNetValueError(
            f"data with shape {data.shape} cannot be evenly split into {num_slice} slices along "
            f"axis {batch_axis}. Use a batch size that's multiple of {num_slice} or set "
            f"even_split=False to allow uneven partitioning of data.")
    n_each, extras = divmod(size, num_slice)
    sizes = [0] + extras * [n_each + 1] + (num_slice - extras) * [n_each]
    points = np.cumsum(sizes).tolist()
    if batch_axis == 0:
        return [data[points[i]:points[i + 1]] for i in range(num_slice)]
    return [ndarray.slice_axis(data, axis=batch_axis, begin=points[i], end=points[i + 1])
            for i in range(num_slice)]


def split_and_load(data, ctx_list, batch_axis=0, even_split=True):
    """Splits an NDArray into `len(ctx_list)` slices along `batch_axis` and loads each slice to
    one context in `ctx_list`.

    Parameters
    ----------
    data : NDArray or numpy.ndarray
        A batch of data.
    ctx_list : list of Context
        A list of Contexts.
    batch_axis : int, default 0
        The axis along which to slice.
    even_split : bool, default True
        Whether to force all slices to have the same number of elements.

    Returns
    -------
    list of NDArray
        Each corresponds to a context in `ctx_list`.
    """
    if not isinstance(data, NDArray):
        data = ndarray.array(data, ctx=ctx_list[0])
    if len(ctx_list) == 1:
        return [data.as_in_context(ctx_list[0])]
    slices = split_data(data, len(ctx_list), batch_axis, even_split)
    return [s.as_in_context(ctx) for s, ctx in zip(slices, ctx_list)]


def clip_global_norm(arrays, max_norm, check_isfinite=True):
    """Rescales NDArrays so that the sum of their 2-norm is smaller than `max_norm`.

    The arrays are scaled in place by ``min(1, max_norm / (total_norm + 1e-8))``.

    Parameters
    ----------
    arrays : list of NDArray
        The arrays (usually gradients) to rescale.
    max_norm : float
        The maximum global 2-norm.
    check_isfinite : bool, default True
        If True, check that the total_norm is finite (not nan or inf). This requires a
        blocking .asscalar() call.

    Returns
    -------
    NDArray or float
        Total norm. Return type is NDArray of shape (1,) if check_isfinite is False.
        Otherwise a float is returned.
    """
    if len(arrays) == 0:
        raise MXNetValueError("clip_global_norm: Expect: at least one array / Actual: none")
    ctx = arrays[0].context

    def _sq_norm(a):
        x = a.reshape((-1,))
        x = x.astype("float32") if x.dtype == np.float16 else x  # fp16 sums overflow
        return ndarray.dot(x, x).reshape((1,)).as_in_context(ctx)

    total = ndarray.sqrt(ndarray.add_n(*[_sq_norm(a) for a in arrays]))
    if check_isfinite and not np.isfinite(total.asscalar()):
        warnings.warn(UserWarning("nan or inf is detected. Clipping results will be undefined."),
                      stacklevel=2)
    scale = max_norm / (total + 1e-8)
    scale = ndarray.min(ndarray.concat(scale, ndarray.ones((1,), ctx=ctx), dim=0))
    for a in arrays:
        a *= scale.as_in_context(a.context).astype(a.dtype, copy=False)
    if check_isfinite:
        return total.asscalar()
    return total


def check_sha1(filename, sha1_hash):
    """Check whether the sha1 hash of the file content matches the expected hash.

    Parameters
    ----------
    filename : str
        Path to the file.
    sha1_hash : str
        Expected sha1 hash in hexadecimal digits.

    Returns
    -------
    bool
        Whether the file content matches the expected hash.
    """
    sha1 = hashlib.sha1()
    with open(filename, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha1.update(chunk)
    return sha1.hexdigest() == sha1_hash


def replace_file(src, dst):
    """Atomically move ``src`` over ``dst`` (the same on every platform)."""
    os.replace(src, dst)


class DownloadError(MXNetError, OSError):
    """A file could not be downloaded (e.g. no network)."""


class _RetriesError(MXNetValueError, AssertionError):
    """MXNet asserts ``retries >= 0``."""


def download(url, path=None, overwrite=False, sha1_hash=None, retries=5, verify_ssl=True):
    """Download a given URL.

    A file already at the target path (with the right sha1, when one is given) is returned
    without touching the network. Otherwise the download is tried; when it fails (e.g. no
    network) a ``DownloadError`` says where to put the file by hand.

    Parameters
    ----------
    url : str
        URL to download.
    path : str, optional
        Destination path to store downloaded file. By default stores to the current directory
        with same name as in url.
    overwrite : bool, optional
        Whether to overwrite destination file if already exists.
    sha1_hash : str, optional
        Expected sha1 hash in hexadecimal digits. Will ignore existing file when hash is
        specified but doesn't match.
    retries : integer, default 5
        The number of times to attempt the download in case of failure or non 200 return
        codes.
    verify_ssl : bool, default True
        Verify SSL certificates.

    Returns
    -------
    str
        The file path of the downloaded file.
    """
    if path is None:
        fname = url.split("/")[-1]
        if not fname:
            raise MXNetValueError(f"download: can't construct file-name from this URL: {url}")
    else:
        path = os.path.expanduser(path)
        fname = os.path.join(path, url.split("/")[-1]) if os.path.isdir(path) else path
    if int(retries) < 0:  # checked (and warned) before looking for the file, as MXNet does
        raise _RetriesError(f"download: Expect: retries >= 0 / Actual: {retries}")
    if not verify_ssl:
        warnings.warn("Unverified HTTPS request is being made (verify_ssl=False). Adding "
                      "certificate verification is strongly advised.", stacklevel=2)
    if not overwrite and os.path.exists(fname) and (not sha1_hash or check_sha1(fname, sha1_hash)):
        return fname
    dirname = os.path.dirname(os.path.abspath(fname))
    os.makedirs(dirname, exist_ok=True)
    fetch = _fetcher(verify_ssl)
    error = None
    for _ in range(int(retries) + 1):
        tmp = f"{fname}.{uuid.uuid4()}.tmp"  # each process its own: concurrent downloads
        try:
            with open(tmp, "wb") as f:
                for chunk in fetch(url):
                    f.write(chunk)
            if sha1_hash and not check_sha1(tmp, sha1_hash):
                raise DownloadError(f"download: file {fname} is downloaded but its content hash "
                                    f"does not match; the file may be corrupted or outdated")
            replace_file(tmp, fname)
            return fname
        except Exception as e:  # noqa: BLE001 - every failure is retried, then reported
            error = e
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        if isinstance(error, (DownloadError, ValueError)) or _no_name_resolution(error):
            break  # a bad file, a bad URL or no name resolution: retrying cannot help
    raise DownloadError(
        f"download: cannot download {url} ({type(error).__name__}: {error}). There may be no "
        f"network access here; fetch the file elsewhere and put it at {os.path.abspath(fname)}"
        + (f" (sha1 {sha1_hash})" if sha1_hash else "") + ".")


def _fetcher(verify_ssl):
    """``fetch(url)`` -> chunks of the body: through ``requests`` when it is installed (as MXNet
    downloads, so code that patches ``requests.get`` sees the call), else ``urllib``."""
    try:
        import requests
    except ImportError:
        requests = None
    if requests is not None:
        def fetch(url):
            r = requests.get(url, stream=True, verify=verify_ssl, timeout=30)
            if r.status_code != 200:
                raise OSError(f"Failed downloading url {url}: HTTP status {r.status_code}")
            yield from (chunk for chunk in r.iter_content(chunk_size=1 << 20) if chunk)
        return fetch

    import ssl
    import urllib.request

    context = None if verify_ssl else ssl._create_unverified_context()

    def fetch(url):
        with urllib.request.urlopen(url, timeout=30, context=context) as r:
            while chunk := r.read(1 << 20):
                yield chunk
    return fetch


def _no_name_resolution(error) -> bool:
    reason = getattr(error, "reason", None)
    if isinstance(reason, socket.gaierror):
        return True
    text = str(error)
    return "NameResolutionError" in text or "Name or service not known" in text or \
        "Temporary failure in name resolution" in text


def shape_is_known(shape):
    """Whether a shape is completely known (no unknown, i.e. 0 or -1, dimensions)."""
    if shape is None:
        return False
    if len(shape) == 0:
        return True
    return all(d is not None and d > 0 for d in shape)


def _indent(s_, num_spaces):
    """Indent every line of ``s_`` but the first by ``num_spaces`` spaces."""
    s = s_.split("\n")
    if len(s) == 1:
        return s_
    first = s.pop(0)
    return first + "\n" + "\n".join(num_spaces * " " + line for line in s)


def _brief_print_list(lst, limit=7):
    """Print at most `limit` elements of list."""
    lst = list(lst)
    if len(lst) > limit:
        return (_brief_print_list(lst[:limit // 2], limit) + ", ..., "
                + _brief_print_list(lst[-limit // 2:], limit))
    return ", ".join(f"'{str(i)}'" for i in lst)


class HookHandle:
    """A handle that can attach/detach a hook (returned by ``Block.register_*_hook``)."""

    def __init__(self):
        self._hooks_dict_ref = None
        self._id = None

    def attach(self, hooks_dict, hook):
        if self._hooks_dict_ref is not None:
            raise MXNetValueError("The same handle cannot be attached twice.")
        self._id = id(hook)
        hooks_dict[self._id] = hook
        try:
            self._hooks_dict_ref = weakref.ref(hooks_dict)  # an OrderedDict, as Block uses
        except TypeError:  # a plain dict cannot be weakly referenced
            self._hooks_dict_ref = lambda: hooks_dict

    def detach(self):
        hooks_dict = self._hooks_dict_ref() if self._hooks_dict_ref is not None else None
        if hooks_dict is not None and self._id in hooks_dict:
            del hooks_dict[self._id]

    def __getstate__(self):
        return (self._hooks_dict_ref() if self._hooks_dict_ref else None, self._id)

    def __setstate__(self, state):
        if state[0] is None:
            self._hooks_dict_ref = weakref.ref(dict())
        else:
            self._hooks_dict_ref = weakref.ref(state[0])
        self._id = state[1]

    def __enter__(self):
        return self

    def __exit__(self, ptype, value, trace):
        self.detach()
