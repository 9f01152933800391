"""Activation layers (MXNet 1.x ``gluon.nn.activations``)."""

from __future__ import annotations

from ... import init as _init
from ..block import HybridBlock

__all__ = ["Activation", "LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "Swish"]


class Activation(HybridBlock):
    r"""Applies an activation function to input.

    Parameters
    ----------
    activation : str
        Name of activation function to use: ``'relu'``, ``'sigmoid'``, ``'tanh'``,
        ``'softrelu'`` or ``'softsign'`` (see :func:`mx.nd.Activation`).

    Notes
    -----
    Input: a tensor of any shape. Output: a tensor of the same shape.
    """

    def __init__(self, activation, **kwargs):
        self._act_type = activation  # read by _alias() while the Block sets its prefix
        super().__init__(**kwargs)

    def _alias(self):
        return self._act_type

    def hybrid_forward(self, F, x):
        return F.Activation(x, act_type=self._act_type, name="fwd")

    def __repr__(self):
        return f"{self.__class__.__name__}({self._act_type})"


class LeakyReLU(HybridBlock):
    r"""Leaky ReLU: ``x`` for ``x >= 0``, ``alpha * x`` below.

    Parameters
    ----------
    alpha : float
        Slope coefficient for the negative half axis; must be >= 0.
    """

    def __init__(self, alpha, **kwargs):
        assert alpha >= 0, "Slope coefficient for LeakyReLU must be no less than 0."
        super().__init__(**kwargs)
        self._alpha = alpha

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type="leaky", slope=self._alpha, name="fwd")

    def __repr__(self):
        return f"{self.__class__.__name__}({self._alpha})"


class PReLU(HybridBlock):
    r"""Parametric leaky ReLU with a learned slope per channel (axis 1).

    Parameters
    ----------
    alpha_initializer : Initializer, default ``mx.init.Constant(0.25)``
        Initializer for the slopes ``alpha``.
    in_channels : int, default 1
        Number of channels (slopes); 1 shares one slope over all channels.
    """

    def __init__(self, alpha_initializer=_init.Constant(0.25), in_channels=1, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.alpha = self.params.get("alpha", shape=(in_channels,), init=alpha_initializer)

    def hybrid_forward(self, F, x, alpha):
        return F.LeakyReLU(x, gamma=alpha, act_type="prelu", name="fwd")


class ELU(HybridBlock):
    r"""Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` below.

    Parameters
    ----------
    alpha : float, default 1.0
        The scale of the negative part.
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self._alpha = alpha

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type="elu", slope=self._alpha)


class SELU(HybridBlock):
    r"""Scaled exponential linear unit (Klambauer et al., 2017)."""

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type="selu", name="fwd")


class GELU(HybridBlock):
    r"""Gaussian error linear unit, ``x * Phi(x)`` with the erf form of ``Phi``."""

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type="gelu", name="fwd")


class Swish(HybridBlock):
    r"""Swish activation: ``x * sigmoid(beta * x)`` (Ramachandran et al., 2017).

    Parameters
    ----------
    beta : float, default 1.0
        The scale inside the sigmoid.
    """

    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self._beta = beta

    def hybrid_forward(self, F, x):
        return x * F.sigmoid(self._beta * x, name="fwd")
