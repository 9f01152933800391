"""``mx.gluon.contrib.cnn``: MXNet 1.x's deformable convolution layers, DCN v1
(:class:`DeformableConvolution`) and v2 (:class:`ModulatedDeformableConvolution`)."""

from .conv_layers import DeformableConvolution, ModulatedDeformableConvolution

__all__ = ["DeformableConvolution", "ModulatedDeformableConvolution"]
