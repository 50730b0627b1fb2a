"""ddlopt.check.dropout (chapter 8): passes inverted dropout, names the usual mistakes."""

import numpy as np
import pytest

from ddlopt import check


def run(capsys, checker, *args, **kwargs):
    ok = checker(*args, **kwargs)
    return ok, " ".join(capsys.readouterr().out.split())


def good_dropout(x, p, rng):
    return x * (rng.random(x.shape) >= p) / (1 - p)


def test_right_dropout_passes(capsys):
    for p in (0.2, 0.5, 0.9):
        ok, out = run(capsys, check.dropout, good_dropout, p)
        assert ok and out.startswith("✓"), out


FIXED = np.random.default_rng(9).random((500, 500))


@pytest.mark.parametrize("student, message", [
    (lambda x, p, rng: x * (rng.random(x.shape) >= p), "the kept entries are not scaled"),
    (lambda x, p, rng: x * (rng.random(x.shape) < p) / (1 - p), "keep it with 1 - p"),
    (lambda x, p, rng: x * (rng.random(x.shape) >= p) * (1 - p), "multiplied by 1 - p"),
    (lambda x, p, rng: x * (rng.random(x.shape) >= p) / p / 3, "scaled by"),
    (lambda x, p, rng: x * (FIXED >= p) / (1 - p), "draw a new mask"),
    (lambda x, p, rng: x[:10] / (1 - p), "it returns shape"),
])
def test_each_dropout_mistake_is_named(capsys, student, message):
    ok, out = run(capsys, check.dropout, student, 0.3)
    assert not ok and message in out, out


def test_bad_arguments():
    with pytest.raises(ValueError, match="p must be strictly between 0 and 1"):
        check.dropout(good_dropout, 1.0)
    with pytest.raises(TypeError, match="student_dropout must be a function"):
        check.dropout("dropout")


# ---- check.shift_images -------------------------------------------------------------------
def good_shift(images, dy, dx):
    out = np.zeros_like(images)
    h, w = images.shape[1:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        images[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def test_right_shift_passes(capsys):
    ok, out = run(capsys, check.shift_images, good_shift)
    assert ok and out.startswith("✓"), out


def shift_in_place(images, dy, dx):
    images[...] = good_shift(images, dy, dx)
    return images


@pytest.mark.parametrize("student, message", [
    (lambda im, dy, dx: np.roll(im, (dy, dx), axis=(1, 2)), "that is np.roll"),
    (lambda im, dy, dx: good_shift(im, -dy, -dx), "moves the images the wrong way"),
    (lambda im, dy, dx: good_shift(im, dx, dy), "dy and dx are swapped"),
    (shift_in_place, "it changes the images it is given"),
    (lambda im, dy, dx: good_shift(im, dy, dx)[:, :-1], "it returns shape"),
    (lambda im, dy, dx: good_shift(im, dy, dx) + (dy == 2), "differs from the shifted"),
    (lambda im, dy, dx: 1 / 0, "it raised ZeroDivisionError"),
])
def test_each_shift_mistake_is_named(capsys, student, message):
    ok, out = run(capsys, check.shift_images, student)
    assert not ok and message in out, out


# ---- check.max_norm -----------------------------------------------------------------------
def good_max_norm(W, c):
    norms = np.linalg.norm(W, axis=0)
    return W * np.minimum(1.0, c / norms)


def test_right_max_norm_passes(capsys):
    ok, out = run(capsys, check.max_norm, good_max_norm)
    assert ok and out.startswith("✓"), out
    # torch.renorm's 1e-7 in the denominator is within the checker's tolerance
    import torch
    ok, out = run(capsys, check.max_norm,
                  lambda W, c: torch.renorm(torch.tensor(W), 2, 1, c).numpy())
    assert ok, out


@pytest.mark.parametrize("student, message", [
    (lambda W, c: good_max_norm(W.T, c).T, "it bounds the rows"),
    (lambda W, c: W * c / np.linalg.norm(W, axis=0), "the short ones up too"),
    (lambda W, c: np.clip(W, -c, c), "it clips the entries"),
    (lambda W, c: W * min(1.0, c / np.linalg.norm(W)), "scales the whole matrix"),
    (lambda W, c: good_max_norm(W, 2 * c), "differs from the projection"),
    (lambda W, c: good_max_norm(W, c)[:3], "it returns shape"),
])
def test_each_max_norm_mistake_is_named(capsys, student, message):
    ok, out = run(capsys, check.max_norm, student)
    assert not ok and message in out, out


def test_bad_arguments_of_the_new_checkers():
    with pytest.raises(TypeError, match="student_shift must be a function"):
        check.shift_images("shift")
    with pytest.raises(TypeError, match="student_max_norm must be a function"):
        check.max_norm(None)
