"""ddlopt.init and ddlopt.torch.init against torch.nn.init: fans, scales, distributions, errors;
Dense's init argument."""

import math

import numpy as np
import pytest
import torch

import ddlopt
from ddlopt import init
from ddlopt.nn import Dense
from ddlopt.torch import init as tinit

# dense (out, in); 1-D, 2-D and 3-D convolutions (out, in, *kernel); one transposed-conv weight
SHAPES = [(7, 3), (300, 200), (16, 3, 5), (32, 16, 3, 3), (8, 4, 3, 3, 2), (5, 10, 2, 2)]
N = 400_000  # entries for the statistical checks: the sample variance's relative standard
# error is sqrt(2/N) = 0.22 % for a normal and sqrt(0.8/N) = 0.14 % for a uniform, so the
# 2 % tolerance sits at 9 or more standard errors: a true mismatch of 2 % cannot hide.
BIG = (2000, 200)

GAINS = {"linear": 1, "conv1d": 1, "conv2d": 1, "conv3d": 1, "sigmoid": 1, "tanh": 5 / 3,
         "relu": math.sqrt(2), "selu": 0.75, "conv_transpose2d": 1}


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_equal_torch(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init.calculate_fan_in_and_fan_out(shape) == expected
    assert tinit.calculate_fan_in_and_fan_out(torch.empty(shape)) == expected


@pytest.mark.parametrize("name", list(GAINS) + ["leaky_relu"])
def test_gain_equals_torch(name):
    assert init.calculate_gain(name) == torch.nn.init.calculate_gain(name)
    if name == "leaky_relu":
        for slope in (0, 0.2, 1):
            assert init.calculate_gain(name, slope) == torch.nn.init.calculate_gain(name, slope)


# (function, kwargs, expected variance from the fans, uniform bound or None)
def _cases(fan_in, fan_out):
    return [
        (init.xavier_uniform, {}, 2 / (fan_in + fan_out), math.sqrt(6 / (fan_in + fan_out))),
        (init.xavier_uniform, {"gain": 5 / 3}, (5 / 3) ** 2 * 2 / (fan_in + fan_out),
         5 / 3 * math.sqrt(6 / (fan_in + fan_out))),
        (init.xavier_normal, {}, 2 / (fan_in + fan_out), None),
        (init.kaiming_uniform, {"nonlinearity": "relu"}, 2 / fan_in, math.sqrt(6 / fan_in)),
        (init.kaiming_uniform, {"a": math.sqrt(5)}, 1 / (3 * fan_in), math.sqrt(1 / fan_in)),
        (init.kaiming_normal, {"nonlinearity": "relu"}, 2 / fan_in, None),
        (init.kaiming_normal, {"mode": "fan_out", "nonlinearity": "relu"}, 2 / fan_out, None),
        (init.lecun_normal, {}, 1 / fan_in, None),
    ]


@pytest.mark.parametrize("shape", [BIG, (100, 50, 3, 3)])
def test_sample_variance_within_2_percent_and_bounds(shape):
    fan_in, fan_out = init.calculate_fan_in_and_fan_out(shape)
    for fn, kwargs, variance, bound in _cases(fan_in, fan_out):
        w = fn(shape, rng=np.random.default_rng(1), **kwargs)
        assert w.shape == shape
        assert abs(w.var() / variance - 1) < 0.02, (fn.__name__, kwargs)
        assert abs(w.mean()) < 5 * math.sqrt(variance / w.size)
        if bound is not None:
            assert np.all(np.abs(w) <= bound) and np.abs(w).max() > 0.999 * bound


def test_normal_initializers_are_gaussian_not_uniform():
    # the fourth moment tells them apart: E[w^4] / Var^2 is 3 for a normal and 1.8 for a uniform
    w = init.xavier_normal(BIG, rng=np.random.default_rng(2))
    assert abs(np.mean(w**4) / w.var() ** 2 - 3) < 0.1
    w = init.xavier_uniform(BIG, rng=np.random.default_rng(2))
    assert abs(np.mean(w**4) / w.var() ** 2 - 1.8) < 0.1


@pytest.mark.parametrize("shape", [(50, 20), (20, 50), (6, 4, 3, 3)])
def test_orthogonal(shape):
    w = init.orthogonal(shape, gain=2.0, rng=np.random.default_rng(0))
    flat = w.reshape(shape[0], -1)
    small = min(flat.shape)
    gram = flat @ flat.T if flat.shape[0] == small else flat.T @ flat
    np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(flat, compute_uv=False), 2.0, rtol=1e-12)


def test_orthogonal_is_haar_distributed():
    # the sign correction makes the entries of a uniformly random orthogonal n x n matrix
    # have mean 0 and variance 1/n; without it diag(Q) would be biased
    rng = np.random.default_rng(3)
    diag = np.array([np.diag(init.orthogonal((4, 4), rng=rng)) for _ in range(4000)])
    assert abs(diag.mean()) < 5 * math.sqrt(0.25 / diag.size)


def test_zeros_and_constant():
    assert np.array_equal(init.zeros((3, 4)), np.zeros((3, 4)))
    assert np.array_equal(init.constant((2, 5), 0.5), np.full((2, 5), 0.5))


BAD = [
    (lambda: init.calculate_gain("swish"), "unknown nonlinearity 'swish'"),
    (lambda: init.calculate_gain("leaky_relu", "a"), "negative_slope"),
    (lambda: init.calculate_fan_in_and_fan_out((5,)), "at least 2 dimensions"),
    (lambda: init.xavier_uniform((5,)), "at least 2 dimensions"),
    (lambda: init.xavier_normal(()), "at least 2 dimensions"),
    (lambda: init.kaiming_uniform((7,)), "at least 2 dimensions"),
    (lambda: init.kaiming_normal((3, 4), mode="fan_avg"), "unknown mode 'fan_avg'"),
    (lambda: init.kaiming_uniform((3, 4), nonlinearity="gelu"), "unknown nonlinearity 'gelu'"),
    (lambda: init.lecun_normal((3,)), "at least 2 dimensions"),
    (lambda: init.orthogonal((3,)), "at least 2 dimensions"),
    (lambda: init.xavier_uniform((3, 4), gain=-1.0), "gain must be a non-negative number"),
    (lambda: init.xavier_normal((3, 4), gain=float("nan")), "gain must be a non-negative"),
    (lambda: init.orthogonal((3, 4), gain=-2), "gain must be a non-negative number"),
    (lambda: init.xavier_uniform((3, -4)), "shape must be a tuple of non-negative integers"),
    (lambda: init.xavier_uniform("ab"), "shape must be a tuple of non-negative integers"),
    (lambda: init.xavier_uniform((3, 4), fans=(0, 4)), "fan_in=0"),
    (lambda: init.constant((3, 4), "x"), "value must be a number"),
    (lambda: tinit.xavier_uniform(torch.empty(5)), "at least 2 dimensions"),
    (lambda: tinit.kaiming_normal(torch.empty(3, 4), mode="avg"), "unknown mode"),
    (lambda: tinit.orthogonal(torch.empty(5)), "at least 2 dimensions"),
    (lambda: tinit.xavier_normal(torch.empty(3, 4), gain=-1), "gain must be a non-negative"),
    (lambda: Dense(3, 4, init="he_truncated"), "unknown init 'he_truncated'"),
    (lambda: Dense(3, 4, init=lambda i, o, rng: np.zeros((o, i))),
     r"init must return an array of shape \(3, 4\)"),
]


@pytest.mark.parametrize("make, message", BAD)
def test_bad_arguments_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_dense_init_not_a_name_or_callable():
    with pytest.raises(TypeError, match="init must be a name"):
        Dense(3, 4, init=3)


# ---- the torch twins ---------------------------------------------------------------------
TWINS = [
    ("xavier_uniform", {"gain": 1.5}),
    ("xavier_normal", {"gain": 0.5}),
    ("kaiming_uniform", {}),
    ("kaiming_uniform", {"a": 0.1, "mode": "fan_out", "nonlinearity": "leaky_relu"}),
    ("kaiming_normal", {"nonlinearity": "relu"}),
    ("kaiming_normal", {"mode": "fan_out", "nonlinearity": "tanh"}),
    ("orthogonal", {"gain": 2.0}),
]


@pytest.mark.parametrize("shape", [(40, 30), (30, 40), (16, 3, 5), (8, 4, 3, 3), (4, 2, 3, 3, 2)])
@pytest.mark.parametrize("name, kwargs", TWINS)
def test_torch_twin_draws_what_torch_nn_init_draws(name, kwargs, shape):
    """Same generator, same numbers (up to the last bits of the scale): the same
    distribution, bounds and variance."""
    ours = getattr(tinit, name)(torch.empty(shape, dtype=torch.float64), **kwargs,
                                generator=torch.Generator().manual_seed(7))
    theirs = getattr(torch.nn.init, name + "_")(torch.empty(shape, dtype=torch.float64), **kwargs,
                                                 generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(ours, theirs, rtol=1e-14, atol=0)


@pytest.mark.parametrize("name, kwargs", TWINS[:-1])
def test_torch_twin_variance_and_bounds_match_the_numpy_formula(name, kwargs):
    t = getattr(tinit, name)(torch.empty(BIG, dtype=torch.float64), **kwargs,
                             generator=torch.Generator().manual_seed(0))
    w = getattr(init, name)(BIG, **kwargs, rng=np.random.default_rng(0))
    assert abs(t.var().item() / w.var() - 1) < 0.03  # two samples, each within ~0.3 %
    if "uniform" in name:  # the same bound: both maxima within 0.1 % below it
        assert abs(t.abs().max().item() / np.abs(w).max() - 1) < 1e-3


def test_torch_lecun_zeros_constant():
    g = torch.Generator().manual_seed(1)
    ours = tinit.lecun_normal(torch.empty(BIG, dtype=torch.float64), generator=g)
    assert abs(ours.var().item() * BIG[1] - 1) < 0.02
    t = torch.empty(3, 4)
    assert torch.equal(tinit.zeros(t), torch.zeros(3, 4)) and tinit.zeros(t) is t
    assert torch.equal(tinit.constant(t, 0.25), torch.full((3, 4), 0.25))


def test_torch_twins_work_in_place_without_grad():
    layer = torch.nn.Linear(5, 3)
    before = layer.weight
    tinit.kaiming_uniform(layer.weight, nonlinearity="relu")
    assert layer.weight is before and layer.weight.requires_grad
    assert layer.weight.abs().max().item() <= math.sqrt(6 / 5)


# ---- Dense ------------------------------------------------------------------------------
def test_dense_default_is_the_glorot_uniform_it_always_drew():
    """Chapters 1-5's committed outputs depend on these exact numbers."""
    for n_in, n_out in [(64, 32), (3, 7), (1, 1)]:
        limit = np.sqrt(6.0 / (n_in + n_out))
        expected = np.random.default_rng(5).uniform(-limit, limit, (n_in, n_out))
        assert np.array_equal(Dense(n_in, n_out, rng=np.random.default_rng(5)).W.data, expected)
        assert np.array_equal(Dense(n_in, n_out, rng=np.random.default_rng(5),
                                    init="glorot_uniform").W.data, expected)


def test_dense_fans_are_not_swapped():
    """W is (in, out) but its fans are torch's Linear(in, out).weight's: the He variance is
    2 / in_features, not 2 / out_features."""
    n_in, n_out = 1000, 50
    for name in ("he_normal", "he_uniform"):
        W = Dense(n_in, n_out, init=name, rng=np.random.default_rng(0)).W.data
        assert W.shape == (n_in, n_out)
        assert abs(W.var() * n_in / 2 - 1) < 0.02
    W = Dense(n_in, n_out, init="lecun_normal", rng=np.random.default_rng(0)).W.data
    assert abs(W.var() * n_in - 1) < 0.02
    W = Dense(n_in, n_out, init="glorot_normal", rng=np.random.default_rng(0)).W.data
    assert abs(W.var() * (n_in + n_out) / 2 - 1) < 0.02
    W = Dense(n_in, n_out, init="orthogonal", rng=np.random.default_rng(0)).W.data
    np.testing.assert_allclose(W.T @ W, np.eye(n_out), atol=1e-12)
    assert np.array_equal(Dense(n_in, n_out, init="zeros").W.data, np.zeros((n_in, n_out)))


def test_dense_he_is_he_normal_and_callables_work():
    a = Dense(20, 10, init="he", rng=np.random.default_rng(3)).W.data
    b = Dense(20, 10, init="he_normal", rng=np.random.default_rng(3)).W.data
    assert np.array_equal(a, b)
    W = Dense(4, 2, init=lambda n_in, n_out, rng: np.full((n_in, n_out), 0.5)).W.data
    assert np.array_equal(W, np.full((4, 2), 0.5))


def test_dense_default_rng_is_ddlopts():
    ddlopt.set_seed(4)
    a = Dense(6, 5, init="he_uniform").W.data
    ddlopt.set_seed(4)
    assert np.array_equal(a, Dense(6, 5, init="he_uniform").W.data)


@pytest.mark.parametrize("name", ["kaiming_uniform", "kaiming_normal", "lecun_normal"])
@pytest.mark.parametrize("shape", [(5, 0), (0, 3), (4, 0, 3)])
def test_kaiming_on_a_weight_with_no_entries_is_a_no_op_as_in_torch(name, shape):
    """torch.nn.init.kaiming_*_ returns a zero-element tensor untouched; a zero fan must not
    raise ZeroDivisionError here either."""
    assert getattr(init, name)(shape, rng=np.random.default_rng(0)).shape == shape
    t = torch.empty(shape)
    assert getattr(tinit, name)(t) is t and t.shape == shape
    with pytest.warns(UserWarning, match="zero-element"):
        torch.nn.init.kaiming_normal_(torch.empty(shape))  # the behaviour we match
