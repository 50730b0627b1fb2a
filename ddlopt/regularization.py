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
"""

import numbers

import numpy as np

__all__ = ["Regularizer", "L1", "L2", "L1L2", "get"]


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
