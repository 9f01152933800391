"""The op registry, ``apply`` (the one dispatch point) and every op family."""
from . import attrs, infer
from .dispatch import apply, state
from .registry import REGISTRY, Op, Sample, defop, get_op

# Op families: importing a module registers its ops.
from . import creation, elemwise, indexing, linalg, movement, nn, random, reduce, shape  # noqa: E402,F401,I001

__all__ = ["REGISTRY", "Op", "Sample", "apply", "attrs", "defop", "get_op", "infer", "state"]
