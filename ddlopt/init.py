r"""Weight initializers: torch.nn.init's, in NumPy.

Every function takes a ``shape`` and returns a new array of that shape. **The shape is in
PyTorch's layout**: ``(out_features, in_features)`` for a dense weight and
``(out_channels, in_channels, *kernel_size)`` for a convolution, so the fans are computed
exactly as :func:`torch.nn.init._calculate_fan_in_and_fan_out` computes them
(:func:`calculate_fan_in_and_fan_out`).

``ddlopt.nn.Dense`` stores its weight the other way round, ``W`` of shape
``(in_features, out_features)`` (so that the layer reads ``x @ W``, as Keras's kernel does).
To keep the fans from being swapped it never lets them be inferred from that shape: it
passes them by name, ``fans=(in_features, out_features)`` (see :data:`DENSE`). For i.i.d.
draws the layout changes nothing but the order in which the numbers fill the array.

The variance arguments (derived in chapter 7) give, for a layer with ``fan_in`` inputs and
``fan_out`` outputs and a nonlinearity of gain :math:`g` (:func:`calculate_gain`):

.. math::

    \text{Glorot (Xavier)}:\ \operatorname{Var}[w] = g^2\,\frac{2}{n_\text{in} + n_\text{out}},
    \qquad
    \text{He (Kaiming)}:\ \operatorname{Var}[w] = \frac{g^2}{n_\text{mode}},
    \qquad
    \text{LeCun}:\ \operatorname{Var}[w] = \frac{1}{n_\text{in}},

and a uniform distribution :math:`U(-b, b)` has variance :math:`b^2/3`, so its bound is
:math:`b = \sqrt{3\operatorname{Var}[w]}`.

References: Glorot & Bengio (2010), *Understanding the difficulty of training deep
feedforward neural networks*; He, Zhang, Ren & Sun (2015), *Delving deep into rectifiers*;
LeCun, Bottou, Orr & Müller (1998), *Efficient BackProp*; Saxe, McClelland & Ganguli (2014),
*Exact solutions to the nonlinear dynamics of learning in deep linear neural networks*.
"""

import math
import numbers

import numpy as np

from . import _random

__all__ = ["calculate_gain", "calculate_fan_in_and_fan_out", "xavier_uniform", "xavier_normal",
           "kaiming_uniform", "kaiming_normal", "lecun_normal", "orthogonal", "zeros",
           "constant", "xavier_uniform_bound", "xavier_normal_std", "kaiming_std", "DENSE", "get"]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")
NONLINEARITIES = _LINEAR + ("tanh", "relu", "leaky_relu", "selu")


# ----------------------------------------------------------------------------------------
# Gains and fans
# ----------------------------------------------------------------------------------------
def calculate_gain(nonlinearity, param=None):
    r"""The factor :math:`g` by which a nonlinearity's initializer scales the standard deviation.

    ================= ==========================================
    nonlinearity      gain
    ================= ==========================================
    linear, conv*,    :math:`1`
    sigmoid
    tanh              :math:`5/3`
    relu              :math:`\sqrt 2` (He et al. 2015: ReLU zeroes half the variance)
    leaky_relu        :math:`\sqrt{2/(1 + a^2)}`, ``param`` the negative slope :math:`a`
                      (default 0.01)
    selu              :math:`3/4`
    ================= ==========================================

    The same table and numbers as ``torch.nn.init.calculate_gain``.
    """
    if nonlinearity in _LINEAR:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope (param) must be a number, got {param!r}")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}; known: {', '.join(NONLINEARITIES)}")


def _shape(shape):
    """``shape`` as a tuple of non-negative ints, or a ValueError naming it."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise ValueError(f"shape must be a tuple of non-negative integers, got {shape!r}") from None
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise ValueError(f"shape must be a tuple of non-negative integers, got {shape!r}")
    return tuple(int(s) for s in shape)


def calculate_fan_in_and_fan_out(shape):
    """``(fan_in, fan_out)`` of a weight of ``shape`` in PyTorch's layout.

    ``shape`` is ``(out_features, in_features)`` for a dense layer and
    ``(out_channels, in_channels, *kernel_size)`` for a convolution; each input (output)
    feature map is seen through the receptive field, so both fans are multiplied by its size::

        fan_in = shape[1] * prod(shape[2:]),    fan_out = shape[0] * prod(shape[2:])

    exactly as ``torch.nn.init._calculate_fan_in_and_fan_out``. (A ``ConvTranspose``
    weight is stored ``(in, out, *kernel)``, so torch's fans of it are swapped, and so are
    these.)
    """
    shape = _shape(shape)
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a shape with at least 2 "
                         f"dimensions, got shape {shape}")
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _fans(shape, fans):
    """The fans passed by name, or computed from a torch-layout shape."""
    if fans is None:
        return calculate_fan_in_and_fan_out(shape)
    fan_in, fan_out = fans
    for name, value in (("fan_in", fan_in), ("fan_out", fan_out)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"fans must be two positive integers (fan_in, fan_out), got "
                             f"{name}={value!r}")
    return fan_in, fan_out


def _check_gain(gain):
    if isinstance(gain, bool) or not isinstance(gain, numbers.Real) or not gain >= 0:
        raise ValueError(f"gain must be a non-negative number, got {gain!r}")


def _fan_for_mode(fan_in, fan_out, mode):
    # a fan is 0 only for a weight with no entries: nothing is drawn (torch's kaiming_*_ returns
    # such a tensor untouched), so any scale will do; 1 keeps kaiming_std from dividing by 0
    if mode == "fan_in":
        return max(fan_in, 1)
    if mode == "fan_out":
        return max(fan_out, 1)
    raise ValueError(f"unknown mode {mode!r}; known: 'fan_in', 'fan_out'")


# ----------------------------------------------------------------------------------------
# The scale of each initializer: one formula each, shared with ddlopt.torch.init
# ----------------------------------------------------------------------------------------
def xavier_uniform_bound(fan_in, fan_out, gain=1.0):
    r""":math:`b = g\sqrt{6/(n_\text{in} + n_\text{out})}`, so that :math:`b^2/3` is Glorot's variance."""
    _check_gain(gain)
    return gain * math.sqrt(6.0 / (fan_in + fan_out))


def xavier_normal_std(fan_in, fan_out, gain=1.0):
    r""":math:`\sigma = g\sqrt{2/(n_\text{in} + n_\text{out})}` (Glorot & Bengio 2010, eq. 12's variance)."""
    _check_gain(gain)
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def kaiming_std(fan_in, fan_out, a=0, mode="fan_in",
                nonlinearity="leaky_relu"):
    r""":math:`\sigma = g/\sqrt{n_\text{mode}}` with :math:`g` = ``calculate_gain(nonlinearity, a)``
    (He et al. 2015, eq. 10 for ``fan_in``, eq. 14 for ``fan_out``)."""
    fan = _fan_for_mode(fan_in, fan_out, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


# ----------------------------------------------------------------------------------------
# The initializers
# ----------------------------------------------------------------------------------------
def xavier_uniform(shape, gain=1.0, *, fans=None, rng=None):
    r"""Glorot uniform: :math:`w \sim U(-b, b)`, :math:`b = g\sqrt{6/(n_\text{in} + n_\text{out})}`.

    Keeps the variance of activations (forward) and of gradients (backward) roughly constant
    across layers, the compromise :math:`\operatorname{Var}[w] = 2/(n_\text{in} + n_\text{out})`
    between the two (Glorot & Bengio 2010). ``shape`` is in PyTorch's layout, or pass
    ``fans=(fan_in, fan_out)``; ``rng`` defaults to ddlopt's generator.
    """
    fan_in, fan_out = _fans(shape, fans)
    bound = xavier_uniform_bound(fan_in, fan_out, gain)
    return _random.generator(rng).uniform(-bound, bound, _shape(shape))


def xavier_normal(shape, gain=1.0, *, fans=None, rng=None):
    r"""Glorot normal: :math:`w \sim N(0, \sigma^2)`, :math:`\sigma = g\sqrt{2/(n_\text{in} + n_\text{out})}`."""
    fan_in, fan_out = _fans(shape, fans)
    return _random.generator(rng).normal(0.0, xavier_normal_std(fan_in, fan_out, gain), _shape(shape))


def kaiming_uniform(shape, a=0, mode="fan_in", nonlinearity="leaky_relu", *, fans=None, rng=None):
    r"""He uniform: :math:`w \sim U(-b, b)`, :math:`b = g\sqrt{3/n_\text{mode}}`.

    With ``mode="fan_in"`` the variance of the activations is preserved in the forward pass,
    with ``"fan_out"`` that of the gradients in the backward pass (He et al. 2015). ``a`` is
    the negative slope of a leaky ReLU (0: a ReLU, gain :math:`\sqrt 2`). The defaults are
    torch's.
    """
    fan_in, fan_out = _fans(shape, fans)
    bound = math.sqrt(3.0) * kaiming_std(fan_in, fan_out, a, mode, nonlinearity)
    return _random.generator(rng).uniform(-bound, bound, _shape(shape))


def kaiming_normal(shape, a=0, mode="fan_in", nonlinearity="leaky_relu", *,
                   fans=None, rng=None):
    r"""He normal: :math:`w \sim N(0, \sigma^2)`, :math:`\sigma = g/\sqrt{n_\text{mode}}`."""
    fan_in, fan_out = _fans(shape, fans)
    std = kaiming_std(fan_in, fan_out, a, mode, nonlinearity)
    return _random.generator(rng).normal(0.0, std, _shape(shape))


def lecun_normal(shape, *, fans=None, rng=None):
    r"""LeCun normal: :math:`w \sim N(0, 1/n_\text{in})` (LeCun et al. 1998), He's fan-in rule
    with gain 1, i.e. ``kaiming_normal(shape, nonlinearity="linear")``. (Keras's
    ``lecun_normal`` truncates at two standard deviations; this one does not.)"""
    return kaiming_normal(shape, mode="fan_in", nonlinearity="linear", fans=fans, rng=rng)


def orthogonal(shape, gain=1.0, *, rng=None):
    r"""A (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2014), as torch's ``orthogonal_``.

    The shape is flattened to ``(shape[0], prod(shape[1:]))``; a Gaussian matrix of that
    shape (transposed if it is wide) is factored :math:`A = QR`, and the signs of
    :math:`\operatorname{diag} R` are moved into :math:`Q` so that :math:`Q` is uniformly
    (Haar) distributed. The rows (if fewer) or the columns are orthonormal: every singular
    value is ``gain``, so a deep linear network neither shrinks nor grows any direction.
    """
    _check_gain(gain)
    shape = _shape(shape)
    if len(shape) < 2:
        raise ValueError(f"orthogonal needs a shape with at least 2 dimensions, got shape {shape}")
    rows = shape[0]
    cols = math.prod(shape[1:])
    flat = _random.generator(rng).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return gain * q.reshape(shape)


def zeros(shape):
    """All zeros. For a weight, a mistake (chapter 7: every unit of a layer stays the same)."""
    return np.zeros(_shape(shape))


def constant(shape, value):
    """Every entry ``value``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"value must be a number, got {value!r}")
    return np.full(_shape(shape), float(value))


# ----------------------------------------------------------------------------------------
# Dense's initializers, by Keras's (and torch's) names
# ----------------------------------------------------------------------------------------
def _dense(initializer, **kwargs):
    """A kernel initializer for Dense: ``(in_features, out_features, rng) -> W`` of shape
    (in_features, out_features), the fans passed by name (never inferred from that shape)."""
    def kernel(in_features, out_features, rng=None):
        return initializer((in_features, out_features), fans=(in_features, out_features),
                           rng=rng, **kwargs)
    return kernel


# Dense's ``init`` names. Keras's names and torch's mean the same here: he_* and kaiming_*
# use the ReLU gain sqrt(2) and fan-in; "he" is he_normal. Unlike Keras's, the normal ones
# are not truncated (torch's are not either).
DENSE = {
    "glorot_uniform": _dense(xavier_uniform),
    "glorot_normal": _dense(xavier_normal),
    "he_uniform": _dense(kaiming_uniform, nonlinearity="relu"),
    "he_normal": _dense(kaiming_normal, nonlinearity="relu"),
    "lecun_normal": _dense(lecun_normal),
    "orthogonal": lambda in_features, out_features, rng=None: orthogonal(
        (in_features, out_features), rng=rng),
    "zeros": lambda in_features, out_features, rng=None: zeros((in_features, out_features)),
}
DENSE.update({"xavier_uniform": DENSE["glorot_uniform"], "xavier_normal": DENSE["glorot_normal"],
              "kaiming_uniform": DENSE["he_uniform"], "kaiming_normal": DENSE["he_normal"],
              "he": DENSE["he_normal"], "glorot": DENSE["glorot_uniform"],
              "xavier": DENSE["glorot_uniform"]})


def get(init):
    """Dense's kernel initializer: a name from :data:`DENSE`, or a callable
    ``init(in_features, out_features, rng) -> array of shape (in_features, out_features)``."""
    if callable(init):
        return init
    if not isinstance(init, str):
        raise TypeError(f"init must be a name (str) or a callable, got {init!r}")
    if init not in DENSE:
        raise ValueError(f"unknown init {init!r}; known: {', '.join(DENSE)}")
    return DENSE[init]
