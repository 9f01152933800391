"""``gluon.data.vision``: image datasets and transforms."""

from . import datasets, transforms
from .datasets import CIFAR10, MNIST, Digits, FashionMNIST

__all__ = ["CIFAR10", "MNIST", "Digits", "FashionMNIST", "datasets", "transforms"]
