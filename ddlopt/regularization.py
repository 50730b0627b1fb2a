r"""Weight penalties added to the loss, with Keras's names and meaning.

A penalty :math:`\Omega(W)` is added to the data loss, :math:`L = L_\text{data} + \Omega(W)`,
so its gradient is added to the weight's:

.. math::

    \text{L2}:\ \Omega = \lambda \sum_{ij} W_{ij}^2,\quad \nabla\Omega = 2\lambda W;
    \qquad
    \text{L1}:\ \Omega = \lambda \sum_{ij} |W_{ij}|,\quad \nabla\Omega = \lambda\operatorname{sign}(W).

Note the factor 2: Keras's ``L2(l2)`` is :math:`\lambda\sum W^2`, *not*
:math:`\tfrac{\lambda}{2}\sum W^2`, so under SGD it equals torch's ``weight_decay=2 * l2``
(chapter 8). At :math:`W_{ij} = 0` the L1 penalty has no gradient; like torch's autograd of
``abs`` we use the subgradient 0 there.

Use them as Keras does: ``Dense(64, 32, "relu", kernel_regularizer=L2(1e-4))``; ``fit`` then
adds the penalty to the reported loss (training and validation, as Keras does) and its
gradient to the weight's.

A *constraint* is no penalty but a projection applied after every optimizer step (Keras's
``kernel_constraint``): ``Dense(64, 32, "relu", kernel_constraint=MaxNorm(3.0))`` keeps the
norm of each unit's incoming weights at most 3 (Srivastava et al. 2014).
"""

import numbers

import numpy as np

__all__ = ["Regularizer", "L1", "L2", "L1L2", "get", "MaxNorm"]


def _coefficient(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0 \
            or not np.isfinite(value):
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    return float(value)


class Regularizer:
    """A penalty on a weight: ``penalty(W)`` (a float) and ``gradient(W)`` (an array like W)."""

    def __call__(self, W):
        return self.penalty(W)

    def penalty(self, W):
        raise NotImplementedError

    def gradient(self, W):
        raise NotImplementedError


class L1L2(Regularizer):
    r""":math:`\lambda_1\sum|W| + \lambda_2\sum W^2` (Keras's ``L1L2(l1=0.0, l2=0.0)``)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _coefficient("l1", l1), _coefficient("l2", l2)

    def penalty(self, W):
        W = np.asarray(W)
        return float(self.l1 * np.sum(np.abs(W)) + self.l2 * np.sum(W * W))

    def gradient(self, W):
        W = np.asarray(W)
        return self.l1 * np.sign(W) + 2.0 * self.l2 * W

    def __repr__(self):
        return f"{type(self).__name__}(l1={self.l1}, l2={self.l2})"


class L1(L1L2):
    r""":math:`\lambda\sum|W|`: drives small weights to exactly zero (Keras's default ``l1=0.01``)."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def __repr__(self):
        return f"L1({self.l1})"


class L2(L1L2):
    r""":math:`\lambda\sum W^2`: shrinks every weight in proportion to its size (Keras's default
    ``l2=0.01``)."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def __repr__(self):
        return f"L2({self.l2})"


_NAMES = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


def get(identifier):
    """A Regularizer from a Regularizer (as it is), a Keras name (``"l1"``, ``"l2"``,
    ``"l1_l2"``: default coefficients), or None."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str) and identifier in _NAMES:
        return _NAMES[identifier]()
    raise ValueError(f"kernel_regularizer must be a Regularizer (L1, L2, L1L2), one of "
                     f"{', '.join(_NAMES)}, or None; got {identifier!r}")


class MaxNorm:
    r"""Max-norm, a constraint (Keras's ``MaxNorm(max_value=2, axis=0)``): after each step,
    every slice of the weight along ``axis`` whose Euclidean norm exceeds ``max_value``
    :math:`c` is scaled back onto the sphere of radius :math:`c`; the others are left as
    they are,

    .. math:: w_j \leftarrow w_j \min\left(1, \frac{c}{\lVert w_j \rVert}\right),

    the projection onto :math:`\{\lVert w_j\rVert \le c\}`. For a Dense kernel of shape
    (in_features, out_features), ``axis=0`` takes the norm over the inputs: each column is
    one unit's incoming weights, as Srivastava et al. (2014) constrain them. ``MaxNorm(c)(W)``
    returns the projected array. Keras's and torch's (``torch.renorm(W, 2, 1, c)`` for
    ``axis=0``) divide by the norm plus ``1e-7``: their results differ from this exact
    projection by about ``1e-7`` relative.
    """

    def __init__(self, max_value=2.0, axis=0):
        if isinstance(max_value, bool) or not isinstance(max_value, numbers.Real) \
                or not 0 < max_value < np.inf:
            raise ValueError(f"max_value must be a positive finite number, got {max_value!r}")
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"axis must be an integer, got {axis!r}")
        self.max_value, self.axis = float(max_value), int(axis)

    def __call__(self, W):
        W = np.asarray(W, dtype=np.float64)
        if not -W.ndim <= self.axis < W.ndim:
            raise ValueError(f"axis {self.axis} is out of range for a weight of "
                             f"shape {W.shape}")
        norms = np.sqrt(np.sum(W * W, axis=self.axis, keepdims=True))
        # a slice longer than max_value is scaled onto the sphere, the others by 1
        scale = self.max_value / np.maximum(norms, 1e-300)
        return W * np.where(norms > self.max_value, scale, 1.0)

    def __repr__(self):
        return f"MaxNorm(max_value={self.max_value}, axis={self.axis})"
