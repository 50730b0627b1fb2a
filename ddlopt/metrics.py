"""Keras's metric functions: ``from ddlopt import metrics`` reads as ``from keras import
metrics``.

Each takes ``(y_true, y_pred)`` and returns an array of values (per output for the binary
accuracy, per sample for the categorical ones and the errors), as Keras 3's functions do;
``compile`` and ``fit`` average them and record the mean in the History under the
function's name::

    model.compile(optimizer="rmsprop", loss="binary_crossentropy",
                  metrics=[metrics.binary_accuracy])
    model.fit(X, y).history["binary_accuracy"]

``y_pred`` holds what the model outputs: probabilities for a sigmoid or softmax output. (A
model compiled with a ``from_logits=True`` loss outputs logits; ``fit`` and ``evaluate``
then turn them into probabilities before a metric sees them, where Keras would compare the
logits with 0.5.)
"""

import numpy as np

from .losses import _as_array, mae, mean_absolute_error, mean_squared_error, mse

__all__ = ["binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "accuracy", "mean_squared_error", "mse", "mean_absolute_error", "mae", "get"]


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where ``y_pred > threshold`` matches the label, else 0.0, for every output
    (Keras 3's ``metrics.binary_accuracy``; Keras 2 averaged over the last axis)."""
    y_true, y_pred = _as_array(y_true, "y_true"), _as_array(y_pred, "y_pred")
    _same_size(y_true, y_pred)
    predicted = (y_pred > threshold).astype(np.float64)
    return (predicted == y_true.reshape(y_pred.shape)).astype(np.float64)


def categorical_accuracy(y_true, y_pred):
    """1.0 where the largest probability is on the one-hot target's class, else 0.0, per
    sample (Keras's ``metrics.categorical_accuracy``)."""
    y_true, y_pred = _as_array(y_true, "y_true"), _as_array(y_pred, "y_pred")
    _same_size(y_true, y_pred)
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the largest probability is on the labelled class, else 0.0, per sample;
    ``y_true`` holds class labels, shaped ``(n,)`` or ``(n, 1)`` (Keras's
    ``metrics.sparse_categorical_accuracy``)."""
    y_true, y_pred = _as_array(y_true, "y_true"), _as_array(y_pred, "y_pred")
    labels = y_true.reshape(-1) if y_true.size == len(y_pred) else None
    if labels is None or y_pred.ndim != 2:
        raise ValueError(f"y_true must hold one class label per row of y_pred; got shapes "
                         f"{y_true.shape} and {y_pred.shape}")
    return (np.argmax(y_pred, axis=-1) == labels).astype(np.float64)


def accuracy(y_true, y_pred):
    """1.0 where the prediction equals the target exactly, else 0.0, for every output
    (Keras's ``metrics.accuracy``). The *name* ``"accuracy"`` in ``compile`` means more: the
    binary, categorical or sparse accuracy that fits the loss."""
    y_true, y_pred = _as_array(y_true, "y_true"), _as_array(y_pred, "y_pred")
    _same_size(y_true, y_pred)
    return (y_pred == y_true.reshape(y_pred.shape)).astype(np.float64)


def _same_size(y_true, y_pred):
    if y_true.size != y_pred.size:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has shape "
                         f"{y_pred.shape}; they must hold as many values")


_REGISTRY = {f.__name__: f for f in [
    binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, accuracy,
    mean_squared_error, mean_absolute_error]}
_REGISTRY.update(mse=mse, mae=mae)


def get(identifier):
    """The metric function for a Keras name (``"binary_accuracy"``, ``"mse"``, ...); a
    function ``(y_true, y_pred) -> array of values`` is returned as it is. The names
    ``"accuracy"`` and ``"acc"`` are resolved by ``compile``, which knows the loss."""
    if callable(identifier):   # any (y_true, y_pred) -> values, as in Keras
        return identifier
    if not isinstance(identifier, str):
        raise TypeError(f"a metric must be a name (str) or a ddlopt.metrics function, got "
                        f"{identifier!r}")
    if identifier not in _REGISTRY:
        raise ValueError(f"unknown metric {identifier!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[identifier]
