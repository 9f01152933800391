"""``gluon.data``: datasets, samplers and the DataLoader (MXNet 1.x)."""

from . import vision
from .dataloader import DataLoader, DataLoaderTimeoutError, DataLoaderWorkerError
from .dataset import ArrayDataset, Dataset, RecordFileDataset, SimpleDataset
from .sampler import (
    BatchSampler,
    FilterSampler,
    IntervalSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
)

__all__ = ["ArrayDataset", "BatchSampler", "DataLoader", "DataLoaderTimeoutError",
           "DataLoaderWorkerError", "Dataset", "FilterSampler", "IntervalSampler",
           "RandomSampler", "RecordFileDataset", "Sampler", "SequentialSampler",
           "SimpleDataset", "vision"]
