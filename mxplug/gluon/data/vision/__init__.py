"""``gluon.data.vision``: image datasets and transforms."""

from . import datasets, transforms
from .datasets import (
    CIFAR10,
    CIFAR100,
    MNIST,
    Digits,
    FashionMNIST,
    ImageFolderDataset,
    ImageListDataset,
    ImageRecordDataset,
)

__all__ = ["CIFAR10", "CIFAR100", "MNIST", "Digits", "FashionMNIST", "ImageFolderDataset",
           "ImageListDataset", "ImageRecordDataset", "datasets", "transforms"]
