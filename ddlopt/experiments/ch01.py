"""Chapter 1's experiments: linear models fitted through a ddlopt loss, and what the choice
of loss does to the fit.

A linear model predicts ``X @ theta``; by the chain rule the gradient of the loss with
respect to ``theta`` is ``X.T @ loss.gradient(y, X @ theta)``, so :func:`fit_linear` fits
any of ``ddlopt.losses`` by gradient descent (the subject of chapter 2)::

    theta = fit_linear(losses.get("huber"), with_intercept(x), y, lr=1.0, steps=1000)

The studies, each a function of the seed so that ``ddlopt.study.over_seeds`` can repeat it:

- :func:`outlier_data` and :func:`outlier_sweep`: a line with a share of its targets
  corrupted by a given amount, fitted with MSE, MAE and Huber;
- :func:`smoothing_run`: softmax regression on the digits with and without label
  smoothing;
- :func:`rare_digit_run`: one digit against the rest (about 10 % positives), without and
  with balanced class weights, and with the decision threshold moved instead;
- :func:`prior_shift`: two Gaussian classes, where the effect of class weights on the
  logit can be derived exactly.
"""

import math

import numpy as np

from .. import data, losses
from ..study import _one_blas_thread

__all__ = ["with_intercept", "fit_linear", "outlier_data", "line_error", "outlier_sweep",
           "smoothing_run", "logit_gap", "balanced_weights", "rare_digit_run",
           "prior_shift"]


def with_intercept(X):
    """``X`` (shape (n,) or (n, d)) with a last column of ones: the intercept's input."""
    X = np.asarray(X, dtype=np.float64)
    X = X[:, None] if X.ndim == 1 else X
    return np.column_stack([X, np.ones(len(X))])


def fit_linear(loss, X, y, *, lr=1.0, steps=1000, decay=False,
               sample_weight=None, callback=None):
    """Minimize ``loss(y, X @ theta)`` by full-batch gradient descent from ``theta = 0``.

    ``theta`` has shape ``(X.shape[1],) + y.shape[1:]`` (one column per output: a logit per
    class for one-hot ``y``). The step at step ``t`` is ``lr``, or ``lr / sqrt(t)`` with
    ``decay=True`` (MAE's gradient keeps its size at the minimum, so a constant step
    would circle it). ``sample_weight`` goes to the loss; ``callback(t, theta)`` is called
    after every step. Returns ``theta``.
    """
    loss = losses.get(loss)
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"X must have shape (n, d) and y n rows; "
                         f"got {X.shape}, {y.shape}")
    if not (isinstance(steps, int) and steps > 0) or not lr > 0:
        raise ValueError(f"steps must be a positive int and lr positive; got "
                         f"{steps}, {lr}")
    theta = np.zeros((X.shape[1],) + y.shape[1:])
    with _one_blas_thread():   # small matrices: one BLAS thread is faster
        for t in range(1, steps + 1):
            d_pred = loss.gradient(y, X @ theta, sample_weight=sample_weight)
            theta -= (lr / math.sqrt(t) if decay else lr) * (X.T @ d_pred)
            if callback is not None:
                callback(t, theta)
    return theta


# ----------------------------------------------------------------------------------------
# Outliers: MSE is pulled, MAE and Huber are not
# ----------------------------------------------------------------------------------------
def outlier_data(seed, size, n=100, fraction=0.1, slope=0.5, intercept=1.0, noise=1.0):
    """A line ``y = intercept + slope x + noise * N(0, 1)`` with ``x ~ N(0, 1)``, and a
    random ``fraction`` of the targets moved down by ``size``. Returns ``(X, y, theta)``:
    ``X`` with the intercept column, the corrupted targets, the true ``(slope,
    intercept)``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = intercept + slope * x + noise * rng.normal(size=n)
    y[rng.choice(n, round(fraction * n), replace=False)] -= size
    return with_intercept(x), y, np.array([slope, intercept])


def line_error(X, theta, true_theta):
    """How far the fitted line is from the true one: the root mean square of their
    difference over the inputs."""
    return float(np.sqrt(np.mean((X @ (theta - true_theta)) ** 2)))


def outlier_sweep(named_losses, sizes, seeds, steps=1000, lr=1.0, **data_options):
    """The line error of each loss (``{name: loss}``) for each outlier size and seed:
    ``{name: array of shape (len(seeds), len(sizes))}``, every fit by gradient descent
    with the step ``lr / sqrt(t)``."""
    errors = {name: np.zeros((len(seeds), len(sizes))) for name in named_losses}
    for i, seed in enumerate(seeds):
        for j, size in enumerate(sizes):
            X, y, true_theta = outlier_data(seed, size, **data_options)
            for name, loss in named_losses.items():
                theta = fit_linear(loss, X, y, lr=lr, steps=steps, decay=True)
                errors[name][i, j] = line_error(X, theta, true_theta)
    return errors


# ----------------------------------------------------------------------------------------
# Label smoothing on the digits
# ----------------------------------------------------------------------------------------
def logit_gap(logits, labels):
    """Per example: the true class's logit minus the mean of the other logits."""
    logits = np.asarray(logits, dtype=np.float64)
    true = logits[np.arange(len(labels)), labels]
    others = (logits.sum(axis=1) - true) / (logits.shape[1] - 1)
    return true - others


def smoothing_run(seed, alpha, steps=1000, lr=1.0, every=50):
    """Softmax regression (a linear model for the ten logits) on the digits, split by
    ``seed`` (``data.splits``: 60 % training, 20 % validation, 20 % test), trained by
    gradient descent on cross-entropy with label smoothing ``alpha``.

    Returns ``{"steps", "gap"}`` (the mean training logit gap, :func:`logit_gap`, every
    ``every`` steps) and the test results ``accuracy``, ``confidence`` (the mean largest
    probability) and ``nll`` (the cross-entropy without smoothing).
    """
    (X_train, y_train), _, (X_test, y_test) = data.splits("digits", seed=seed)
    X_train, X_test = with_intercept(X_train), with_intercept(X_test)
    loss = losses.get("categorical_crossentropy", from_logits=True, label_smoothing=alpha)
    recorded, gaps = [], []

    def record(t, theta):
        if t % every == 0:
            recorded.append(t)
            gaps.append(float(np.mean(logit_gap(X_train @ theta, y_train))))

    theta = fit_linear(loss, X_train, np.eye(10)[y_train], lr=lr, steps=steps,
                       callback=record)
    logits = X_test @ theta
    probabilities = losses.softmax(logits)
    nll = losses.get("sparse_categorical_crossentropy", from_logits=True)(y_test, logits)
    return {"steps": np.array(recorded), "gap": np.array(gaps),
            "accuracy": float(np.mean(probabilities.argmax(axis=1) == y_test)),
            "confidence": float(np.mean(probabilities.max(axis=1))), "nll": nll}


# ----------------------------------------------------------------------------------------
# Class weights
# ----------------------------------------------------------------------------------------
def balanced_weights(labels, n_classes):
    """``n / (K n_k)`` for each class k: every class carries the same total weight n / K
    (scikit-learn's ``class_weight="balanced"``)."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)
    if np.any(counts == 0):
        raise ValueError(f"every class needs an example; counts {counts.tolist()}")
    return len(labels) / (n_classes * counts)


def _scores(predicted, y):
    """Recall and precision of the positive class, and the balanced accuracy."""
    recall = float(np.mean(predicted[y == 1]))
    precision = float(np.mean(y[predicted])) if predicted.any() else 0.0
    specificity = float(np.mean(~predicted[y == 0]))
    return {"recall": recall, "precision": precision,
            "balanced accuracy": (recall + specificity) / 2}


def rare_digit_run(seed, digit=8, steps=500, lr=1.0):
    """Logistic regression for "is it ``digit``?" on the digits (about 10 % positives),
    split by ``seed`` as in :func:`smoothing_run`, three ways: unweighted with the
    threshold 0.5, with balanced class weights, and unweighted with the threshold moved to
    where the weights would put it (the logit ``-log(w_1 / w_0)``).

    Returns ``{way: {"recall", "precision", "balanced accuracy"}}`` on the test part.
    """
    (X_train, y_train), _, (X_test, y_test) = data.splits("digits", seed=seed)
    X_train, X_test = with_intercept(X_train), with_intercept(X_test)
    y_train, y_test = (y_train == digit).astype(float), (y_test == digit).astype(float)
    w0, w1 = balanced_weights(y_train.astype(int), 2)
    loss = losses.get("binary_crossentropy", from_logits=True)
    plain = fit_linear(loss, X_train, y_train, lr=lr, steps=steps)
    weighted = fit_linear(loss, X_train, y_train, lr=lr, steps=steps,
                          sample_weight=np.where(y_train == 1, w1, w0))
    return {"unweighted": _scores(X_test @ plain > 0, y_test),
            "class weights": _scores(X_test @ weighted > 0, y_test),
            "moved threshold": _scores(X_test @ plain > -math.log(w1 / w0), y_test)}


def prior_shift(seed, n=5000, positives=0.1, distance=2.0, steps=2000, lr=2.0):
    """Two Gaussian classes in the plane (identity covariance, means ``distance`` apart),
    ``positives`` of them class 1, where the true log-odds are linear in x, so logistic
    regression is the right model. Fitted without and with balanced class weights.

    Returns ``{"plain", "weighted"}`` (each ``(w_1, w_2, intercept)``) and ``"shift"``,
    ``log(w_1 / w_0)``: the derivation predicts ``weighted = plain + (0, 0, shift)``.
    """
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < positives).astype(float)
    x = rng.normal(size=(n, 2)) + np.outer(y, [distance / math.sqrt(2)] * 2)
    X = with_intercept(x)
    w0, w1 = balanced_weights(y.astype(int), 2)
    loss = losses.get("binary_crossentropy", from_logits=True)
    plain = fit_linear(loss, X, y, lr=lr, steps=steps)
    weighted = fit_linear(loss, X, y, lr=lr, steps=steps,
                          sample_weight=np.where(y == 1, w1, w0))
    return {"plain": plain, "weighted": weighted, "shift": math.log(w1 / w0)}
