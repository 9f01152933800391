"""``mx.image`` (also ``mx.img``): MXNet 1.x's image functions, augmenters and iterators.

Read and decode images (``imread``, ``imdecode``), resize and crop them (``imresize``,
``resize_short``, ``fixed_crop``, ``center_crop``, ``random_crop``, ``random_size_crop``),
normalise and pad them (``color_normalize``, ``copyMakeBorder``), augment them (``Augmenter``
and its subclasses, ``CreateAugmenter``) and iterate over batches (``ImageIter``;
``ImageRecordIter`` is MXNet's ``mx.io.ImageRecordIter``), also for object detection
(``DetAugmenter`` and its subclasses, ``CreateDetAugmenter``, ``ImageDetIter``; the module is
``mx.image.detection``, alias ``mx.image.det``).

Images are ``(H, W, C)`` uint8 NDArrays in RGB order. Decoding uses Pillow: ``pip install
"mxplug[image]"``; resizing is OpenCV's (as MXNet's), in NumPy and the ``image.resize`` op.
"""

from . import detection
from . import detection as det
from .augmenters import (
    Augmenter,
    BrightnessJitterAug,
    CastAug,
    CenterCropAug,
    ColorJitterAug,
    ColorNormalizeAug,
    ContrastJitterAug,
    CreateAugmenter,
    ForceResizeAug,
    HorizontalFlipAug,
    HueJitterAug,
    LightingAug,
    RandomCropAug,
    RandomGrayAug,
    RandomOrderAug,
    RandomSizedCropAug,
    ResizeAug,
    SaturationJitterAug,
    SequentialAug,
)
from .detection import (
    CreateDetAugmenter,
    CreateMultiRandCropAugmenter,
    DetAugmenter,
    DetBorrowAug,
    DetHorizontalFlipAug,
    DetRandomCropAug,
    DetRandomPadAug,
    DetRandomSelectAug,
    ImageDetIter,
)
from .image import (
    ImageError,
    center_crop,
    color_normalize,
    copyMakeBorder,
    fixed_crop,
    imdecode,
    imread,
    imresize,
    imrotate,
    random_crop,
    random_rotate,
    random_size_crop,
    resize_short,
    scale_down,
)
from .iterator import ImageIter
from .record_iter import ImageRecordIter

__all__ = ["Augmenter", "BrightnessJitterAug", "CastAug", "CenterCropAug", "ColorJitterAug",
           "ColorNormalizeAug", "ContrastJitterAug", "CreateAugmenter", "CreateDetAugmenter",
           "CreateMultiRandCropAugmenter", "DetAugmenter", "DetBorrowAug", "DetHorizontalFlipAug",
           "DetRandomCropAug", "DetRandomPadAug", "DetRandomSelectAug", "ForceResizeAug",
           "HorizontalFlipAug", "HueJitterAug", "ImageDetIter", "ImageError", "ImageIter",
           "ImageRecordIter", "LightingAug", "RandomCropAug", "RandomGrayAug", "RandomOrderAug",
           "RandomSizedCropAug", "ResizeAug", "SaturationJitterAug", "SequentialAug",
           "center_crop", "color_normalize", "copyMakeBorder", "det", "detection", "fixed_crop",
           "imdecode", "imread", "imresize", "imrotate", "random_crop", "random_rotate",
           "random_size_crop", "resize_short", "scale_down"]
