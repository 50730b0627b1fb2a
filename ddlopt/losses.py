r"""Loss functions, each with its gradient with respect to the prediction.

A loss object ``L`` gives two things::

    L(y_true, y_pred)           # the mean loss, a Python float
    L.gradient(y_true, y_pred)  # d(mean loss) / d(y_pred), an array shaped like y_pred

Names and semantics follow Keras (``get("binary_crossentropy", from_logits=True)``);
probability inputs are clipped to ``[EPSILON, 1 - EPSILON]`` as Keras clips them. Values
agree with ``torch.nn.functional`` and gradients with torch autograd (the tests prove it in
float64). Everything is computed in float64.

Two options of Keras's loss objects are here too. ``label_smoothing=alpha`` (the cross-
entropies) trains on ``y (1 - alpha) + alpha / K`` instead of the targets ``y``, with ``K``
the number of classes (2 for the binary loss), as Keras and torch's ``label_smoothing`` do.
``L(y_true, y_pred, sample_weight=w)`` weights each sample's loss and divides by the number
of samples, as Keras does (``fit(class_weight=...)`` passes ``w_i = class_weight[y_i]``);
torch's ``CrossEntropyLoss(weight=...)`` divides by the sum of the weights instead.

=================================  ==================  ======================================
class                              Keras name          PyTorch
=================================  ==================  ======================================
MeanSquaredError                   mean_squared_error  ``nn.MSELoss`` / ``F.mse_loss``
MeanAbsoluteError                  mean_absolute_error ``nn.L1Loss`` / ``F.l1_loss``
Huber                              huber               ``nn.HuberLoss`` / ``F.huber_loss``
BinaryCrossentropy                 binary_crossentropy ``nn.BCELoss``; ``nn.BCEWithLogitsLoss``
CategoricalCrossentropy            categorical_...     ``nn.CrossEntropyLoss`` (prob. targets)
SparseCategoricalCrossentropy      sparse_categ...     ``nn.NLLLoss``; ``nn.CrossEntropyLoss``
=================================  ==================  ======================================
"""

import inspect

import numpy as np

from ._registry import lookup

__all__ = [
    "EPSILON", "Loss", "MeanSquaredError", "MeanAbsoluteError", "Huber",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "get", "sigmoid", "softmax", "log_softmax", "mean_squared_error", "mse",
    "mean_absolute_error", "mae", "huber", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy",
]

EPSILON = 1e-7  # Keras's backend.epsilon(): how far probabilities are kept from 0 and 1


# ----------------------------------------------------------------------------------------
# Numerically stable building blocks
# ----------------------------------------------------------------------------------------
def sigmoid(x):
    """1 / (1 + exp(-x)), without overflow for large |x|."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log_softmax(x, axis=-1):
    """log(softmax(x)) by the log-sum-exp trick: subtract the maximum before exponentiating."""
    x = np.asarray(x, dtype=np.float64)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)), stable for logits of any size."""
    return np.exp(log_softmax(x, axis=axis))


# ----------------------------------------------------------------------------------------
# Input checks: a wrong input is an error that says what is allowed, never a silent NaN
# ----------------------------------------------------------------------------------------
def _as_array(x, name):
    try:
        a = np.asarray(x)
    except Exception as e:  # ragged lists and the like
        raise TypeError(f"{name} must be an array of numbers; converting it failed: {e}") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be an array of numbers, got dtype {a.dtype}")
    if a.size == 0:
        raise ValueError(f"{name} is empty; a loss needs at least one value")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        what = "NaN" if np.isnan(a).any() else "inf"
        raise ValueError(f"{name} contains {what}; only finite numbers are allowed")
    return a


def _same_shape(y_true, y_pred):
    if y_true.shape != y_pred.shape:
        hint = ""
        if y_true.size == y_pred.size:
            hint = f" (reshape one of them, e.g. y_true.reshape({y_pred.shape}))"
        raise ValueError(
            f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; "
            f"they must be equal{hint}"
        )


def _in_unit_interval(a, name, what, hint=""):
    if a.min() < 0.0 or a.max() > 1.0:
        bad = a.min() if a.min() < 0.0 else a.max()
        raise ValueError(f"{name} must hold {what} in [0, 1], found {bad:g}{hint}")


_LOGITS_HINT = "; pass from_logits=True if these are logits"


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _check_smoothing(value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"label_smoothing must be a number in [0, 1], got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {value}")
    return float(value)


def _sample_weight(weight, shape):
    """``weight`` as a float64 array of the samples' shape, non-negative and finite."""
    weight = _as_array(weight, "sample_weight")
    if weight.shape != shape:
        raise ValueError(f"sample_weight has shape {weight.shape} but there are {shape} "
                         f"samples; give one weight a sample, shape {shape}")
    if weight.min() < 0:
        raise ValueError(f"sample_weight must be non-negative, found {weight.min():g}")
    return weight


# ----------------------------------------------------------------------------------------
# The losses
# ----------------------------------------------------------------------------------------
class Loss:
    """Base class: checks the inputs, then calls ``_value`` and ``_gradient``.

    Subclasses see float64 arrays of equal shape and write the formula, nothing else.
    """

    name = None  # the Keras name
    torch_name = None  # the PyTorch twin, for tables

    def __init__(self):
        pass

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The mean loss, a float. ``sample_weight`` (one non-negative number a sample, or
        None): the mean of ``w_i * loss_i`` over the samples, Keras's weighted loss."""
        y_true, y_pred = self._check(y_true, y_pred)
        if sample_weight is None:
            return float(self._value(y_true, y_pred))
        weight = _sample_weight(sample_weight, self._sample_shape(y_pred))
        return float(np.mean(weight * self._sample_losses(y_true, y_pred)))

    def per_sample(self, y_true, y_pred):
        """The loss of each sample: the mean over the last axis, as Keras's loss functions
        (``losses.mean_squared_error(y_true, y_pred)`` and the rest) return it."""
        y_true, y_pred = self._check(y_true, y_pred)
        return np.mean(self._elements(y_true, y_pred), axis=-1)

    def _value(self, y, p):
        return np.mean(self._elements(y, p))

    # A sample is a row (every axis but the last); a 1-D y_pred holds one value a sample.
    def _sample_shape(self, p):
        return p.shape[:-1] if p.ndim > 1 else p.shape

    def _sample_losses(self, y, p):
        elements = self._elements(y, p)
        return np.mean(elements, axis=-1) if p.ndim > 1 else elements

    def gradient(self, y_true, y_pred, sample_weight=None):
        """d(mean loss) / d(y_pred): an array with y_pred's shape. With ``sample_weight``
        the derivative of the weighted loss: each sample's row times its weight."""
        y_true, y_pred = self._check(y_true, y_pred)
        grad = self._gradient(y_true, y_pred)
        if sample_weight is None:
            return grad
        weight = _sample_weight(sample_weight, self._sample_shape(y_pred))
        return grad * weight.reshape(weight.shape + (1,) * (grad.ndim - weight.ndim))

    def _check(self, y_true, y_pred):
        y_true, y_pred = _as_array(y_true, "y_true"), _as_array(y_pred, "y_pred")
        _same_shape(y_true, y_pred)
        return y_true, y_pred

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._config().items())
        return f"{type(self).__name__}({args})"

    def _config(self):
        return {}


class MeanSquaredError(Loss):
    r"""Mean squared error, :math:`\frac1n\sum_i (\hat y_i - y_i)^2`, over every element."""

    name, torch_name = "mean_squared_error", "nn.MSELoss"

    def _elements(self, y, p):
        return (p - y) ** 2

    def _gradient(self, y, p):
        return 2.0 * (p - y) / p.size


class MeanAbsoluteError(Loss):
    r"""Mean absolute error, :math:`\frac1n\sum_i |\hat y_i - y_i|`; its gradient at a tie is 0."""

    name, torch_name = "mean_absolute_error", "nn.L1Loss"

    def _elements(self, y, p):
        return np.abs(p - y)

    def _gradient(self, y, p):
        return np.sign(p - y) / p.size


class Huber(Loss):
    r"""Huber loss: quadratic for errors up to ``delta``, linear beyond.

    :math:`\ell(r) = \tfrac12 r^2` if :math:`|r| \le \delta`, else
    :math:`\delta(|r| - \tfrac12\delta)`, with :math:`r = \hat y - y`; its gradient is
    :math:`r` clipped to :math:`[-\delta, \delta]`.
    """

    name, torch_name = "huber", "nn.HuberLoss"

    def __init__(self, delta=1.0):
        if isinstance(delta, bool) or not isinstance(delta, (int, float, np.integer, np.floating)):
            raise TypeError(f"delta must be a positive number, got {delta!r}")
        if not (np.isfinite(delta) and delta > 0):
            raise ValueError(f"delta must be a positive finite number, got {delta}")
        self.delta = float(delta)

    def _config(self):
        return {"delta": self.delta}

    def _elements(self, y, p):
        r = np.abs(p - y)
        return np.where(r <= self.delta, 0.5 * r**2, self.delta * (r - 0.5 * self.delta))

    def _gradient(self, y, p):
        return np.clip(p - y, -self.delta, self.delta) / p.size


class BinaryCrossentropy(Loss):
    r"""Binary cross-entropy, :math:`-\frac1n\sum_i [y_i\log p_i + (1-y_i)\log(1-p_i)]`.

    ``from_logits=False``: ``y_pred`` holds probabilities, clipped to
    ``[EPSILON, 1 - EPSILON]`` (Keras; torch instead clamps each log at -100). Where a
    probability was clipped the gradient is 0, the exact derivative of the clipped loss.

    ``from_logits=True``: ``y_pred`` holds logits :math:`z`, :math:`p = \sigma(z)`, computed as
    :math:`\max(z, 0) - zy + \log(1 + e^{-|z|})`, finite for any finite logit; the gradient
    is :math:`(\sigma(z) - y)/n`.

    ``y_true`` holds labels (or soft labels) in [0, 1]. ``label_smoothing=alpha`` replaces
    them by ``y (1 - alpha) + alpha / 2``, as Keras does.
    """

    name = "binary_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0):
        self.from_logits = _check_bool(from_logits, "from_logits")
        self.label_smoothing = _check_smoothing(label_smoothing)
        self.torch_name = "nn.BCEWithLogitsLoss" if self.from_logits else "nn.BCELoss"

    def _config(self):
        config = {"from_logits": self.from_logits}
        if self.label_smoothing:
            config["label_smoothing"] = self.label_smoothing
        return config

    def _check(self, y_true, y_pred):
        y_true, y_pred = super()._check(y_true, y_pred)
        _in_unit_interval(y_true, "y_true", "labels")
        if not self.from_logits:
            _in_unit_interval(y_pred, "y_pred", "probabilities", _LOGITS_HINT)
        alpha = self.label_smoothing
        return (y_true * (1.0 - alpha) + 0.5 * alpha if alpha else y_true), y_pred

    def _elements(self, y, p):
        if self.from_logits:
            z = p
            return np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))
        p = np.clip(p, EPSILON, 1.0 - EPSILON)
        return -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))

    def _gradient(self, y, p):
        if self.from_logits:
            return (sigmoid(p) - y) / p.size
        inside = (p >= EPSILON) & (p <= 1.0 - EPSILON)  # the clip passes the gradient here only
        pc = np.clip(p, EPSILON, 1.0 - EPSILON)
        return np.where(inside, (pc - y) / (pc * (1.0 - pc)), 0.0) / p.size


class CategoricalCrossentropy(Loss):
    r"""Categorical cross-entropy over the last axis, :math:`-\frac1n\sum_i\sum_k y_{ik}\log p_{ik}`.

    ``y_true`` holds one-hot (or soft) targets in [0, 1], shaped like ``y_pred``; the mean
    is over samples (every axis but the last).

    ``from_logits=True``: ``y_pred`` holds logits, :math:`\log p` is a stable log-softmax,
    and the gradient is :math:`(\mathrm{softmax}(z)\sum_k y_k - y)/n`, i.e. :math:`(p - y)/n`
    for one-hot targets.

    ``from_logits=False``: ``y_pred`` holds probabilities, clipped to ``[EPSILON, 1 - EPSILON]``
    as Keras clips them; the gradient is :math:`-y/(np)` where a probability was not
    clipped and 0 where it was. Each row must sum to 1 (within ``1e-4``): Keras silently
    divides a row by its sum, but a row that does not sum to 1 is almost always a
    forgotten softmax, so here it is an error.

    ``label_smoothing=alpha`` trains on ``y (1 - alpha) + alpha / K`` for ``K`` classes,
    as Keras and torch's ``CrossEntropyLoss(label_smoothing=alpha)`` do.
    """

    name = "categorical_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0):
        self.from_logits = _check_bool(from_logits, "from_logits")
        self.label_smoothing = _check_smoothing(label_smoothing)
        self.torch_name = "nn.CrossEntropyLoss"

    def _config(self):
        config = {"from_logits": self.from_logits}
        if self.label_smoothing:
            config["label_smoothing"] = self.label_smoothing
        return config

    def _smoothed(self, y):
        alpha = self.label_smoothing
        return y * (1.0 - alpha) + alpha / y.shape[-1] if alpha else y

    def _sample_shape(self, p):
        return p.shape[:-1]

    def _sample_losses(self, y, p):
        return -np.sum(y * self._log_probabilities(p), axis=-1)

    def _check(self, y_true, y_pred):
        y_true, y_pred = super()._check(y_true, y_pred)
        _in_unit_interval(y_true, "y_true", "one-hot or soft targets")
        self._check_pred(y_pred)
        return self._smoothed(y_true), y_pred

    def _check_pred(self, y_pred):
        if self.from_logits:
            return
        _in_unit_interval(y_pred, "y_pred", "probabilities", _LOGITS_HINT)
        row_sums = y_pred.sum(axis=-1)
        if np.any(np.abs(row_sums - 1.0) > 1e-4):
            bad = row_sums.flat[np.argmax(np.abs(row_sums - 1.0))]
            raise ValueError(f"each row of y_pred must hold probabilities that sum to 1, found a row "
                             f"summing to {bad:g}; apply a softmax, or pass from_logits=True")

    def _log_probabilities(self, p):
        return log_softmax(p) if self.from_logits else np.log(np.clip(p, EPSILON, 1.0 - EPSILON))

    def _value(self, y, p):
        return -np.sum(y * self._log_probabilities(p)) / (p.size // p.shape[-1])

    def per_sample(self, y_true, y_pred):
        """The loss of each sample (the sum over the classes), as Keras's
        ``categorical_crossentropy`` function returns it."""
        return self._sample_losses(*self._check(y_true, y_pred))

    def _gradient(self, y, p):
        n = p.size // p.shape[-1]  # the number of samples: every axis but the classes
        if self.from_logits:
            return (softmax(p) * y.sum(axis=-1, keepdims=True) - y) / n
        inside = (p >= EPSILON) & (p <= 1.0 - EPSILON)  # the clip passes the gradient here only
        return np.where(inside, -y / np.clip(p, EPSILON, 1.0), 0.0) / n


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    r"""Categorical cross-entropy with integer class labels instead of one-hot targets.

    ``y_true`` holds labels in ``0 .. C-1`` shaped like ``y_pred`` without its last axis
    (or with a last axis of 1, as Keras allows); ``y_pred`` holds probabilities or logits
    over the ``C`` classes. The result equals :class:`CategoricalCrossentropy` on
    ``one_hot(y_true)``, which is how it is computed. ``label_smoothing`` is torch's
    (``CrossEntropyLoss`` takes it with class indices; Keras's sparse loss has none).
    """

    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0):
        super().__init__(from_logits, label_smoothing)
        self.torch_name = "nn.CrossEntropyLoss" if self.from_logits else "nn.NLLLoss"

    def _check(self, y_true, y_pred):
        labels, y_pred = _as_array(y_true, "y_true"), _as_array(y_pred, "y_pred")
        if y_pred.ndim == 0:
            raise ValueError("y_pred must have a last axis of classes; got a scalar")
        if labels.shape == y_pred.shape[:-1] + (1,) and y_pred.ndim > 1:
            labels = labels[..., 0]
        if labels.shape != y_pred.shape[:-1]:
            raise ValueError(
                f"y_true has shape {labels.shape} but y_pred has shape {y_pred.shape}; "
                f"y_true must hold one class label per row of y_pred, shape {y_pred.shape[:-1]}"
            )
        n_classes = y_pred.shape[-1]
        if np.any(labels != np.round(labels)) or labels.min() < 0 or labels.max() >= n_classes:
            bad = labels[(labels != np.round(labels)) | (labels < 0) | (labels >= n_classes)].flat[0]
            raise ValueError(
                f"y_true must hold integer class labels in 0..{n_classes - 1}, found {bad:g}"
            )
        self._check_pred(y_pred)
        one_hot = np.eye(n_classes)[labels.astype(np.int64)]
        return self._smoothed(one_hot), y_pred


# ----------------------------------------------------------------------------------------
# Keras's loss functions: one value per sample, and a name compile understands
# ----------------------------------------------------------------------------------------
def mean_squared_error(y_true, y_pred):
    """Keras's ``losses.mean_squared_error``: the mean over the last axis, one value per
    sample. ``compile(loss=losses.mean_squared_error)`` trains with :class:`MeanSquaredError`."""
    return MeanSquaredError().per_sample(y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    """Keras's ``losses.mean_absolute_error``, per sample (see :class:`MeanAbsoluteError`)."""
    return MeanAbsoluteError().per_sample(y_true, y_pred)


def huber(y_true, y_pred, delta=1.0):
    """Keras's ``losses.huber``, per sample (see :class:`Huber`)."""
    return Huber(delta).per_sample(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """Keras's ``losses.binary_crossentropy``: the mean over the last axis, per sample, of
    the cross-entropy (probabilities clipped as Keras clips them; see
    :class:`BinaryCrossentropy`)."""
    return BinaryCrossentropy(from_logits, label_smoothing).per_sample(y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """Keras's ``losses.categorical_crossentropy``, per sample (see
    :class:`CategoricalCrossentropy`)."""
    return CategoricalCrossentropy(from_logits, label_smoothing).per_sample(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Keras's ``losses.sparse_categorical_crossentropy``, per sample (see
    :class:`SparseCategoricalCrossentropy`)."""
    return SparseCategoricalCrossentropy(from_logits).per_sample(y_true, y_pred)


mse, mae = mean_squared_error, mean_absolute_error   # Keras's short names, the same functions

# the function -> the Loss that compile trains with (value and gradient)
_FUNCTIONS = {mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
              huber: Huber, binary_crossentropy: BinaryCrossentropy,
              categorical_crossentropy: CategoricalCrossentropy,
              sparse_categorical_crossentropy: SparseCategoricalCrossentropy}


# ----------------------------------------------------------------------------------------
# Keras names
# ----------------------------------------------------------------------------------------
_REGISTRY = {
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "huber": Huber,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}
_REGISTRY.update({cls.__name__: cls for cls in set(_REGISTRY.values())})


def get(identifier, **kwargs):
    """The loss for a Keras name (``"mse"``, ``"binary_crossentropy"``, ...), class name or
    function (``losses.binary_crossentropy``, as Keras's ``compile`` takes it).

    Keyword arguments go to the loss (``from_logits=True``, ``delta=2.0``). A ``Loss``
    object is returned as it is.

    >>> get("sparse_categorical_crossentropy", from_logits=True)
    SparseCategoricalCrossentropy(from_logits=True)
    """
    if callable(identifier) and not isinstance(identifier, (Loss, type)):
        if identifier not in _FUNCTIONS:
            raise TypeError(f"loss {identifier!r} is a function ddlopt cannot differentiate: "
                            f"give a name, a ddlopt.losses function such as "
                            f"losses.binary_crossentropy, or a Loss object")
        cls = _FUNCTIONS[identifier]
    else:
        found = lookup(identifier, kwargs, Loss, "loss", _REGISTRY)
        if isinstance(found, Loss):
            return found
        cls = found
    allowed = list(inspect.signature(cls.__init__).parameters)[1:]
    unexpected = sorted(set(kwargs) - set(allowed))
    if unexpected:
        raise TypeError(f"{identifier!r} takes {allowed or 'no arguments'}, got {unexpected}")
    return cls(**kwargs)
