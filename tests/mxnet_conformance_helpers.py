"""Shared by the MXNet 1.9 conformance tests (``test_mxnet_conformance_*.py``).

Each of those tests is a translation of one MXNet 1.9 test (named in its docstring, with the file
it comes from under ``tests/python/unittest/`` of apache/mxnet v1.9.x). MXNet's assertions and
expected values are kept: they are facts about MXNet's behaviour. What changed, and why:

- MXNet seeds its tests with ``@with_seed()``; here the autouse fixture ``seed_as_mxnet`` seeds
  NumPy, ``random`` and ``mx.random``. The random draws differ from MXNet's, so the tests compare
  behaviour, not draws.
- Tests that download data (test images, MNIST, CIFAR-10, news20) run on small files written
  here with the same layout: JPEG/PNG images, idx-ubyte files, a RecordIO file.
- Comparisons with OpenCV's pixels (``cv2.imread``, ``cv2.resize``, ``cv2.copyMakeBorder``) are
  replaced by what they imply that does not depend on OpenCV: shapes, lossless PNG pixels,
  OpenCV's documented border rules (written with ``np.pad``).
- A few deliberate, documented differences of mxplug are marked where a test meets them.

Tests for ops mxplug does not provide (docs/contrib.md, "Not provided") and GPU-only tests are
not translated.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

import mxplug as mx


@pytest.fixture(autouse=True)
def seed_as_mxnet():
    """MXNet's ``@with_seed()``: every test starts from fixed seeds."""
    np.random.seed(1234)
    random.seed(1234)
    mx.random.seed(1234)


def as_list(x):
    return x if isinstance(x, list) else [x]
