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
