"""ddlopt.check.initializer (chapter 7): passes right initializers, names wrong ones."""

import math

import numpy as np
import pytest

from ddlopt import check


def run(capsys, checker, *args, **kwargs):
    ok = checker(*args, **kwargs)
    return ok, " ".join(capsys.readouterr().out.split())


def fans(shape):
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def he_normal(shape, rng):
    return rng.normal(0, math.sqrt(2 / fans(shape)[0]), shape)


def glorot_uniform(shape, rng):
    b = math.sqrt(6 / sum(fans(shape)))
    return rng.uniform(-b, b, shape)


def test_right_initializers_pass(capsys):
    ok, out = run(capsys, check.initializer, he_normal, "kaiming_normal", nonlinearity="relu")
    assert ok and out.startswith("✓")
    ok, out = run(capsys, check.initializer, glorot_uniform, "xavier_uniform")
    assert ok and out.startswith("✓")


@pytest.mark.parametrize("student, reference, kwargs, message", [
    (lambda s, rng: rng.normal(0, math.sqrt(2 / fans(s)[1]), s), "kaiming_normal",
     {"nonlinearity": "relu"}, "fan_in and fan_out are swapped"),
    (lambda s, rng: rng.normal(0, math.sqrt(2 / s[1]), s), "kaiming_normal",
     {"nonlinearity": "relu"}, "the receptive field is missing"),
    (lambda s, rng: rng.normal(0, math.sqrt(1 / fans(s)[0]), s), "kaiming_normal",
     {"nonlinearity": "relu"}, "is the gain (sqrt(2) for ReLU) missing"),
    (lambda s, rng: rng.uniform(-math.sqrt(2 / sum(fans(s))), math.sqrt(2 / sum(fans(s))), s),
     "xavier_uniform", {}, "the bound of U(-b, b) is sqrt(3) times the standard deviation"),
    (lambda s, rng: rng.normal(0, math.sqrt(6 / sum(fans(s))), s), "xavier_normal", {},
     "3 times too large"),
    (lambda s, rng: rng.normal(0, math.sqrt(2 / sum(fans(s))), s), "xavier_uniform", {},
     "not uniform"),
    (lambda s, rng: glorot_uniform(s, rng) + 0.01, "xavier_uniform", {}, "center the distribution"),
    (lambda s, rng: glorot_uniform(s, rng).T, "xavier_uniform", {}, "it returns shape"),
    (lambda s, rng: 0.1 * glorot_uniform(s, rng), "xavier_uniform", {}, "the variance is"),
    (lambda s, rng: 1 / 0, "xavier_uniform", {}, "it raised ZeroDivisionError"),
])
def test_each_initializer_mistake_is_named(capsys, student, reference, kwargs, message):
    ok, out = run(capsys, check.initializer, student, reference, **kwargs)
    assert not ok and message in out, out


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown initializer 'he'"):
        check.initializer(he_normal, "he")
    with pytest.raises(TypeError, match="student_init must be a function"):
        check.initializer(3)


# ---------------------------------------------------------------- check.batchnorm
def batchnorm(x, gamma, nu, eps=1e-5):
    mean, var = x.mean(axis=0), x.var(axis=0)
    return gamma * (x - mean) / np.sqrt(var + eps) + nu


def test_a_right_batchnorm_passes(capsys):
    ok, out = run(capsys, check.batchnorm, batchnorm)
    assert ok and out.startswith("✓ matches ddlopt.nn.BatchNorm"), out


@pytest.mark.parametrize("student, message", [
    (lambda x, g, n, eps: g * (x - x.mean(1, keepdims=True))
     / np.sqrt(x.var(1, keepdims=True) + eps) + n, "that is LayerNorm"),
    (lambda x, g, n, eps: g * (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + eps) + n,
     "the variance divides by m - 1"),
    (lambda x, g, n, eps: g * (x - x.mean(0)) / (np.sqrt(x.var(0)) + eps) + n,
     "it belongs inside the square root"),
    (lambda x, g, n, eps: g * (x - x.mean(0)) / np.sqrt(x.var(0)) + n, "eps is missing"),
    (lambda x, g, n, eps: n * (x - x.mean(0)) / np.sqrt(x.var(0) + eps) + g,
     "gamma and nu are swapped"),
    (lambda x, g, n, eps: (x - x.mean(0)) / np.sqrt(x.var(0) + eps), "are not applied"),
    (lambda x, g, n, eps: x[:3], "it returns shape (3, 5)"),
    (lambda x, g, n, eps: x, "differs from BatchNorm's by up to"),
    (lambda x, g, n, eps: np.where(np.ptp(x, axis=0) == 0, np.nan, batchnorm(x, g, n, eps)),
     "a batch with a constant feature: it returns NaN or inf"),
    (lambda x, g, n, eps: 1 / 0, "it raised ZeroDivisionError"),
])
def test_each_batchnorm_mistake_is_named(capsys, student, message):
    ok, out = run(capsys, check.batchnorm, student)
    assert not ok and message in out, out


def test_a_batchnorm_skeleton_is_not_written_yet(capsys):
    def my_batchnorm(x, gamma, nu, eps=1e-5):
        raise NotImplementedError("your code here")

    ok, out = run(capsys, check.batchnorm, my_batchnorm)
    assert not ok and out == ("✗ not written yet: fill in the body of my_batchnorm and run "
                              "this cell again")


def test_batchnorm_bad_arguments():
    with pytest.raises(TypeError, match="student_bn must be a function"):
        check.batchnorm(3)
    with pytest.raises(ValueError, match="eps must be a positive number"):
        check.batchnorm(batchnorm, eps=0)
