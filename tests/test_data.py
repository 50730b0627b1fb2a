"""ddlopt.data: bundled data sets, splits, standardization, batches, synthetic sets."""

import numpy as np
import pytest

from ddlopt import data


@pytest.mark.parametrize("name, shape, classes", [
    ("digits", (1797, 64), 10), ("breast_cancer", (569, 30), 2), ("diabetes", (442, 10), None),
    ("iris", (150, 4), 3), ("wine", (178, 13), 3)])
def test_load(name, shape, classes):
    X, y = data.load(name)
    assert X.shape == shape and X.dtype == np.float64 and len(y) == shape[0]
    if classes:
        assert y.dtype == np.int64 and set(np.unique(y)) == set(range(classes))
    else:
        assert y.dtype == np.float64


def test_split_is_seeded_stratified_and_disjoint():
    X, y = data.load("digits")
    X = np.column_stack([X, np.arange(len(X))])  # a row id, to check disjointness
    (a, ya), (b, yb), (c, yc) = data.split(X, y, val_size=0.2, test_size=0.1, seed=1)
    assert len(a) + len(b) + len(c) == len(X) and abs(len(c) - 180) <= 1
    ids = [set(part[:, -1]) for part in (a, b, c)]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    for part in (ya, yb, yc):  # every class keeps its share
        assert np.allclose(np.bincount(part) / len(part), np.bincount(y) / len(y), atol=0.02)
    (a2, _), (b2, _), (c2, _) = data.split(X, y, val_size=0.2, test_size=0.1, seed=1)
    assert np.array_equal(a, a2) and np.array_equal(b, b2) and np.array_equal(c, c2)


def test_standardize_uses_the_training_split_only():
    train, val = np.array([[1.0, 5.0], [3.0, 5.0]]), np.array([[5.0, 6.0]])
    scaled_train, scaled_val = data.standardize(train, val)
    assert np.allclose(scaled_train, [[-1.0, 0.0], [1.0, 0.0]])
    assert np.allclose(scaled_val, [[3.0, 1.0]])  # constant feature: centred, not divided by 0


def test_batches_cover_the_data_once():
    X, y = np.arange(10.0).reshape(10, 1), np.arange(10)
    seen = [yb for _, yb in data.batches(X, y, batch_size=4, rng=0)]
    assert [len(b) for b in seen] == [4, 4, 2]
    assert sorted(np.concatenate(seen)) == list(range(10))
    assert [list(b) for _, b in data.batches(X, y, 4, shuffle=False)][0] == [0, 1, 2, 3]


def test_synthetic_sets():
    X, y, (w, b) = data.linear_regression(n=500, n_features=2, noise=0.1, rng=0)
    coef, *_ = np.linalg.lstsq(np.column_stack([X, np.ones(500)]), y, rcond=None)
    assert np.allclose(coef, [*w, b], atol=0.05)
    X, y = data.two_moons(100, rng=0)
    assert X.shape == (100, 2) and set(y) == {0, 1}
    X, y = data.spirals(300, classes=3, rng=0)
    assert X.shape == (300, 2) and np.bincount(y).tolist() == [100, 100, 100]


@pytest.mark.parametrize("call, message", [
    (lambda: data.load("mnist"), "unknown data set 'mnist'; known: digits"),
    (lambda: data.split(np.zeros((4, 1)), np.zeros(3)), "X has 4 rows but y has 3"),
    (lambda: data.split(np.zeros((4, 1)), np.zeros(4), val_size=0.6, test_size=0.5), "sum below 1"),
    (lambda: list(data.batches(np.zeros((4, 1)), np.zeros(4), batch_size=0)), "batch_size must be a positive integer"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---- data.splits: train / validation / test for every data set the book uses -------------
BOOK_SETS = ["digits", "breast_cancer", "diabetes", "wine", "iris"]


LOAD = data.load


def with_row_ids(name):
    """The data set with a last column of row numbers, to tell which rows landed where."""
    X, y = LOAD(name)
    return np.column_stack([X, np.arange(len(X))]), y


@pytest.mark.parametrize("name", BOOK_SETS)
def test_splits_are_disjoint_complete_sized_and_reproducible(name, monkeypatch):
    monkeypatch.setattr(data, "load", with_row_ids)  # splits loads through data.load
    n = len(LOAD(name)[0])
    parts = data.splits(name, val_size=0.2, test_size=0.25, seed=3, standardize=False)
    ids = [set(X[:, -1]) for X, _ in parts]
    assert sum(map(len, ids)) == n == len(set.union(*ids))   # disjoint, and every row once
    assert abs(len(parts.val[0]) - 0.2 * n) <= 1 and abs(len(parts.test[0]) - 0.25 * n) <= 1
    again = data.splits(name, val_size=0.2, test_size=0.25, seed=3, standardize=False)
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(parts, again))
    other = data.splits(name, val_size=0.2, test_size=0.25, seed=4, standardize=False)
    assert not np.array_equal(parts.test[0], other.test[0])


@pytest.mark.parametrize("name", ["digits", "breast_cancer", "wine", "iris"])
def test_classification_splits_keep_every_class_share(name):
    parts = data.splits(name, seed=0)
    y = np.concatenate([y for _, y in parts])
    share = np.bincount(y) / len(y)
    for _, part in parts:  # stratified: within one sample of the exact share
        assert np.all(np.abs(np.bincount(part, minlength=len(share)) - share * len(part)) <= 1)


def test_splits_standardize_with_the_training_part_only():
    (X_train, y_train), (X_val, _), (X_test, _) = data.splits("diabetes", seed=1)
    raw = data.splits("diabetes", seed=1, standardize=False)
    assert np.allclose(X_train.mean(axis=0), 0) and np.allclose(X_train.std(axis=0), 1)
    mean, std = raw.train[0].mean(axis=0), raw.train[0].std(axis=0)
    assert np.allclose(X_test, (raw.test[0] - mean) / std)       # the training statistics
    assert not np.allclose(X_val.mean(axis=0), 0, atol=1e-3)   # not the validation part's own
    assert np.array_equal(y_train, raw.train[1]) and y_train.dtype == np.float64  # targets kept


def test_splits_without_a_test_part_is_the_two_way_split():
    parts = data.splits("digits", val_size=0.2, test_size=0, seed=0, standardize=False)
    (X_train, _), (X_val, _) = data.split(*data.load("digits"), val_size=0.2, seed=0)
    assert parts.test is None
    assert np.array_equal(parts.train[0], X_train) and np.array_equal(parts.val[0], X_val)


def test_splits_bad_input():
    with pytest.raises(ValueError, match="unknown data set 'mnist'"):
        data.splits("mnist")
    with pytest.raises(ValueError, match="sum below 1"):
        data.splits("digits", val_size=0.5, test_size=0.5)


# ---- data.shift_images: augmentation for the digits ---------------------------------------
def shifted_by_hand(image, dy, dx):
    """One image moved pixel by pixel: out[i, j] = image[i - dy, j - dx] where that is
    inside, else 0."""
    h, w = image.shape
    out = np.zeros_like(image)
    for i in range(h):
        for j in range(w):
            if 0 <= i - dy < h and 0 <= j - dx < w:
                out[i, j] = image[i - dy, j - dx]
    return out


def test_shift_images_moves_each_image_and_fills_with_zeros():
    images = np.random.default_rng(0).random((9, 8, 8)) + 1  # no zeros of their own
    dy = np.array([-1, -1, -1, 0, 0, 0, 1, 1, 1])
    dx = np.array([-1, 0, 1, -1, 0, 1, -1, 0, 1])
    out = data.shift_images(images, dy, dx)
    for k in range(9):
        assert np.array_equal(out[k], shifted_by_hand(images[k], dy[k], dx[k])), (dy[k], dx[k])
    assert np.array_equal(out[4], images[4])  # (0, 0): unchanged
    # rows of 64 pixels come back as rows; one offset for all; a larger shift; another shape
    flat = data.shift_images(images.reshape(9, 64), 1, -1)
    assert flat.shape == (9, 64)
    assert np.array_equal(flat.reshape(9, 8, 8)[2], shifted_by_hand(images[2], 1, -1))
    assert np.array_equal(data.shift_images(images, 3, 2)[0], shifted_by_hand(images[0], 3, 2))
    tall = np.arange(2 * 15, dtype=float).reshape(2, 15) + 1
    assert np.array_equal(data.shift_images(tall, 0, 2, shape=(5, 3))[1].reshape(5, 3),
                          shifted_by_hand(tall[1].reshape(5, 3), 0, 2))


def test_shifting_back_is_the_transpose():
    # <S x, g> = <x, S^T g> with S^T the opposite shift: what a layer's backward needs
    rng = np.random.default_rng(1)
    x, g = rng.normal(size=(30, 64)), rng.normal(size=(30, 64))
    dy, dx = rng.integers(-2, 3, 30), rng.integers(-2, 3, 30)
    forward = np.sum(data.shift_images(x, dy, dx) * g)
    assert forward == pytest.approx(np.sum(x * data.shift_images(g, -dy, -dx)), rel=1e-13)


@pytest.mark.parametrize("call, error, message", [
    (lambda: data.shift_images(np.zeros((2, 63)), 1, 0), ValueError, r"shape \(n, 64\)"),
    (lambda: data.shift_images(np.zeros((2, 64)), 8, 0), ValueError, "dy must be smaller"),
    (lambda: data.shift_images(np.zeros((2, 64)), 0, -8), ValueError, "dx must be smaller"),
    (lambda: data.shift_images(np.zeros((2, 64)), 0.5, 0), ValueError, "dy must be an integer"),
    (lambda: data.shift_images(np.zeros((2, 64)), [1, 0, 1], 0), ValueError,
     "dy must be an integer or 2 integers"),
    (lambda: data.shift_images(np.zeros((2, 64)), 0, 0, shape=(8,)), ValueError,
     r"shape must be \(height, width\)"),
    (lambda: data.shift_images(np.array([["a"] * 64]), 0, 0), TypeError, "pixel values"),
])
def test_shift_images_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
