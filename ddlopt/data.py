"""Data for the book: scikit-learn's bundled real data sets (no network), seeded splits,
standardization fitted on the training split only, mini-batches, and synthetic sets.

scikit-learn is imported inside the functions that use it, so ``import ddlopt`` stays light.
"""

from collections import namedtuple

import numpy as np

from ._checks import check_count

__all__ = ["load", "splits", "Splits", "split", "standardize", "batches", "shift_images",
           "linear_regression", "two_moons", "spirals", "DATASETS"]

# name -> (scikit-learn loader, task)
DATASETS = {
    "digits": ("load_digits", "10 classes: 8x8 images of handwritten digits, 1797 samples"),
    "breast_cancer": ("load_breast_cancer", "2 classes: 30 tumour measurements, 569 samples"),
    "diabetes": ("load_diabetes", "regression: disease progression from 10 measurements, 442 samples"),
    "iris": ("load_iris", "3 classes: 4 flower measurements, 150 samples"),
    "wine": ("load_wine", "3 classes: 13 chemical measurements, 178 samples"),
}


def load(name):
    """``(X, y)`` for a bundled data set: X float64 of shape (n, features); y int64 labels
    for classification, float64 targets for regression. Shipped with scikit-learn: no
    download."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    import sklearn.datasets

    X, y = getattr(sklearn.datasets, DATASETS[name][0])(return_X_y=True)
    y = y.astype(np.float64) if name == "diabetes" else y.astype(np.int64)
    return X.astype(np.float64), y


def split(X, y, val_size=0.2, test_size=0.0, seed=0, stratify=None):
    """Shuffle and split into train, validation (and test) parts, reproducibly.

    Returns ``(X_train, y_train), (X_val, y_val)``, plus ``(X_test, y_test)`` when
    ``test_size > 0``. Sizes are fractions of the whole. ``stratify`` (default: True for
    integer labels) keeps each class's share equal across the parts.
    """
    from sklearn.model_selection import train_test_split

    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}; they must match")
    if not 0 < val_size < 1 or not 0 <= test_size < 1 or val_size + test_size >= 1:
        raise ValueError(f"val_size must be in (0, 1), test_size in [0, 1) and their sum below 1; "
                         f"got val_size={val_size}, test_size={test_size}")
    if stratify is None:
        stratify = y.dtype.kind in "iub"
    held = val_size + test_size
    X_train, X_held, y_train, y_held = train_test_split(
        X, y, test_size=held, random_state=seed, stratify=y if stratify else None)
    if test_size == 0:
        return (X_train, y_train), (X_held, y_held)
    X_val, X_test, y_val, y_test = train_test_split(
        X_held, y_held, test_size=test_size / held, random_state=seed,
        stratify=y_held if stratify else None)
    return (X_train, y_train), (X_val, y_val), (X_test, y_test)


Splits = namedtuple("Splits", "train val test")
Splits.__doc__ = """A data set's three parts, each an ``(X, y)`` pair (``test`` None when
``test_size=0``): fit on ``train``, choose hyperparameters on ``val``, report on ``test``."""


def splits(name, val_size=0.2, test_size=0.2, seed=0, standardize=True):
    """A bundled data set (:data:`DATASETS`) split into training, validation and test parts:
    the book's one call for an experiment that chooses on validation data and reports on
    held-out test data.

    >>> (X_train, y_train), (X_val, y_val), (X_test, y_test) = splits("digits")  # doctest: +SKIP

    Sizes are fractions of the whole (0.6 / 0.2 / 0.2 by default; ``test_size=0`` gives no
    test part, and the split :func:`split` makes without one). The same ``seed`` gives the
    same split on every machine; classification sets are stratified (each part keeps every
    class's share). ``standardize``: scale the features with the training part's mean and
    standard deviation (:func:`standardize`); targets are never scaled. Returns
    :class:`Splits`.
    """
    X, y = load(name)
    parts = split(X, y, val_size=val_size, test_size=test_size, seed=seed)
    if standardize:
        parts = _standardized(parts)
    return Splits(*parts, None) if test_size == 0 else Splits(*parts)


def _standardized(parts):
    """``(X, y)`` parts with X standardized by the first part's statistics."""
    scaled = standardize(*(X for X, _ in parts))
    return [(X, y) for X, (_, y) in zip(scaled, parts)]


def standardize(X_train, *others):
    """Scale every feature to mean 0 and standard deviation 1 using the training split's
    statistics only (the validation and test data must not leak into training). Features
    that are constant in training are left centred, not divided by zero."""
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    scaled = [(X - mean) / std for X in (X_train, *others)]
    return scaled[0] if not others else tuple(scaled)


def batches(X, y, batch_size=32, shuffle=True, rng=None):
    """Yield ``(X_batch, y_batch)`` covering the data once (one epoch); the last batch may
    be smaller. ``rng`` (a Generator or a seed) orders the samples when ``shuffle``."""
    check_count(batch_size, "batch_size")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}; they must match")
    order = np.random.default_rng(rng).permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X), batch_size):
        index = order[start:start + batch_size]
        yield X[index], y[index]


def shift_images(X, dy, dx, shape=(8, 8)):
    """Images moved by ``dy`` rows (down when positive) and ``dx`` columns (right when
    positive); the pixels that come in are 0 (the digits' background), those pushed over
    the edge are lost. Data augmentation for the digits: a digit moved by a pixel is still
    the same digit.

    ``X``: images of ``shape`` (height, width), as rows of height * width pixels (n, h*w),
    as the data sets hold them, or as an (n, h, w) array; the result has X's shape.
    ``dy``, ``dx``: integers, or one integer per image (arrays of length n), each smaller
    than the image in its direction.
    """
    X = np.asarray(X)
    if X.dtype.kind not in "iuf":
        raise TypeError(f"X must hold pixel values (numbers), got dtype {X.dtype}")
    if (not isinstance(shape, tuple) or len(shape) != 2
            or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1
                   for s in shape)):
        raise ValueError(f"shape must be (height, width), two positive integers; got {shape!r}")
    height, width = shape
    if X.ndim == 2 and X.shape[1] == height * width or X.ndim == 3 and X.shape[1:] == shape:
        images = X.reshape(len(X), height, width)
    else:
        raise ValueError(f"X must have shape (n, {height * width}) or (n, {height}, {width}) for "
                         f"images of shape {shape}, got {X.shape}")
    offsets = []
    for name, d, size in (("dy", dy, height), ("dx", dx, width)):
        d = np.asarray(d)
        if d.dtype.kind not in "iu" or d.ndim > 1 or d.ndim == 1 and len(d) != len(X):
            raise ValueError(f"{name} must be an integer or {len(X)} integers (one an image), "
                             f"got {d!r}")
        if np.any(np.abs(d) >= size):
            raise ValueError(f"{name} must be smaller than the image ({size} pixels) in size, "
                             f"got {d.flat[np.argmax(np.abs(d))]}")
        offsets.append(np.broadcast_to(d, (len(X),)))
    dy, dx = offsets
    out = np.zeros_like(images)
    for oy, ox in set(zip(dy.tolist(), dx.tolist())):  # one slice assignment per offset
        chosen = (dy == oy) & (dx == ox)
        out[chosen, max(oy, 0):height + min(oy, 0), max(ox, 0):width + min(ox, 0)] = \
            images[chosen, max(-oy, 0):height + min(-oy, 0), max(-ox, 0):width + min(-ox, 0)]
    return out.reshape(X.shape)


def linear_regression(n=100, n_features=1, noise=0.5, rng=None):
    """Noisy linear data ``y = X w + b + noise``; returns ``X, y, (w, b)`` with the true
    coefficients, so a fit can be checked against them."""
    rng = np.random.default_rng(rng)
    X = rng.uniform(-3, 3, size=(n, n_features))
    w, b = rng.normal(0, 2, size=n_features), float(rng.normal())
    return X, X @ w + b + noise * rng.standard_normal(n), (w, b)


def two_moons(n=200, noise=0.1, rng=None):
    """Two interleaving half circles, labels 0 and 1 (scikit-learn's make_moons)."""
    from sklearn.datasets import make_moons

    seed = np.random.default_rng(rng).integers(2**31)
    X, y = make_moons(n_samples=n, noise=noise, random_state=int(seed))
    return X, y.astype(np.int64)


def spirals(n=300, classes=3, noise=0.2, rng=None):
    """Interleaved spiral arms, one per class (the classic CS231n toy set): not separable by
    any line, easy for a small network."""
    rng = np.random.default_rng(rng)
    per_class = n // classes
    X, y = [], []
    for k in range(classes):
        radius = np.linspace(0.0, 1.0, per_class)
        angle = np.linspace(k * 4.0, (k + 1) * 4.0, per_class) + noise * rng.standard_normal(per_class)
        X.append(np.column_stack([radius * np.sin(angle), radius * np.cos(angle)]))
        y.append(np.full(per_class, k))
    return np.concatenate(X), np.concatenate(y).astype(np.int64)
