"""ddlopt.experiments.ch07: the statistics of deep stacks at their initial weights, the
variance map that predicts them, residual streams, and the training runs of chapter 7."""

import math

import numpy as np
import pytest
import torch

from ddlopt import init
from ddlopt.experiments import ch07
from ddlopt.nn import Activation, BatchNorm, Dense, LayerNorm


def test_small_random_and_glorot_gain_draw_what_they_say():
    rng = np.random.default_rng(0)
    W = ch07.small_random(0.01)(400, 300, rng)
    assert W.shape == (400, 300) and abs(W.std() / 0.01 - 1) < 0.01
    W = ch07.glorot_gain(5 / 3)(400, 300, rng)
    assert abs(W.var() / ((5 / 3) ** 2 * 2 / 700) - 1) < 0.02
    with pytest.raises(ValueError, match="std must be a positive number"):
        ch07.small_random(0)


def test_hidden_layers_place_the_norm_between_product_and_activation():
    rng = np.random.default_rng(0)
    plain, = ch07.hidden_layers(4, 3, "relu", "he_normal", rng)
    assert isinstance(plain, Dense) and plain.activation == "relu"
    dense, norm, act = ch07.hidden_layers(4, 3, "tanh", "he_normal", rng, norm="layernorm")
    assert dense.activation == "linear" and isinstance(norm, LayerNorm)
    assert isinstance(act, Activation) and act.activation == "tanh"
    assert isinstance(ch07.hidden_layers(4, 3, "relu", "he_normal", rng, "batchnorm")[1],
                      BatchNorm)
    with pytest.raises(ValueError, match="unknown norm 'groupnorm'"):
        ch07.hidden_layers(4, 3, "relu", "he_normal", rng, norm="groupnorm")


def torch_statistics(activation, start, depth, width, batch, seed):
    """The same network and the same draws, through autograd: the std of each layer's
    output and of dL/d(output), and of dL/dW."""
    stats = ch07.layer_statistics(activation, start, depth=depth, width=width, batch=batch,
                                  seed=seed)
    rng = np.random.default_rng(seed)
    weights = [torch.tensor(init.get(start)(width, width, rng), requires_grad=True)
               for _ in range(depth)]
    x = torch.tensor(rng.normal(size=(batch, width)))
    phi = {"tanh": torch.tanh, "relu": torch.relu}[activation]
    outputs = []
    for W in weights:
        x = phi(x @ W)
        x.retain_grad()
        outputs.append(x)
    x.backward(torch.tensor(rng.normal(size=(batch, width))))
    return stats, outputs, weights


@pytest.mark.parametrize("activation, start", [("tanh", "glorot_normal"), ("relu", "he_normal")])
def test_layer_statistics_match_autograd(activation, start):
    stats, outputs, weights = torch_statistics(activation, start, depth=6, width=16, batch=32,
                                               seed=3)
    assert np.allclose(stats["act_std"], [o.detach().std(unbiased=False).item() for o in outputs],
                       rtol=1e-12)
    assert np.allclose(stats["grad_std"], [o.grad.std(unbiased=False).item() for o in outputs],
                       rtol=1e-10)
    assert np.allclose(stats["w_grad_std"], [W.grad.std(unbiased=False).item() for W in weights],
                       rtol=1e-10)
    assert np.allclose(stats["w_var"], [W.detach().var(unbiased=False).item() for W in weights],
                       rtol=1e-12)


def test_layer_statistics_with_a_norm_are_blind_to_the_weights_scale():
    """Scale invariance: the outputs and dL/dx are the same for any start, dL/dW scales as
    one over the weights' scale (eq. scale-invariance of the chapter)."""
    small = ch07.layer_statistics("relu", ch07.small_random(0.1), depth=4, width=32,
                                  batch=64, seed=1, norm="batchnorm")
    large = ch07.layer_statistics("relu", ch07.small_random(1.0), depth=4, width=32,
                                  batch=64, seed=1, norm="batchnorm")
    assert np.allclose(small["act_std"], large["act_std"], rtol=1e-4)
    assert np.allclose(small["grad_std"], large["grad_std"], rtol=1e-4)
    assert np.allclose(small["w_grad_std"], 10 * large["w_grad_std"], rtol=1e-3)


def test_phi_prime_sq_is_the_mean_squared_derivative():
    stats = ch07.layer_statistics("relu", "he_normal", depth=3, width=64, batch=128, seed=0)
    assert np.all(np.abs(stats["phi_prime_sq"] - 0.5) < 0.1)   # half the units are active
    stats = ch07.layer_statistics("linear", "he_normal", depth=3, width=8, batch=16, seed=0)
    assert np.array_equal(stats["phi_prime_sq"], np.ones(3))


def test_the_variance_map_is_exact_for_linear_and_relu_layers():
    """For a linear layer and for a ReLU the map is a product: Var[z] = c^2 per layer
    (linear) or stays at c^2 (ReLU with c = sqrt(2)), and dL/dx scales alike."""
    linear = ch07.variance_map("linear", 1.5, depth=4)
    assert np.allclose(linear["z_var"], 1.5 ** (2 * np.arange(1, 5)))
    assert np.allclose(linear["grad_std"], 1.5 ** np.arange(3, -1, -1))
    relu = ch07.variance_map("relu", math.sqrt(2), depth=5)
    assert np.allclose(relu["z_var"], 2.0) and np.allclose(relu["grad_std"], 1.0)
    assert np.allclose(relu["act_std"], math.sqrt(2 * (0.5 - 1 / (2 * math.pi))))


def test_the_variance_map_predicts_wide_tanh_networks():
    mapped = ch07.variance_map("tanh", math.sqrt(2), depth=8)
    measured = ch07.layer_statistics("tanh", ch07.glorot_gain(math.sqrt(2)), depth=8,
                                     width=512, batch=512, seed=0)
    assert np.max(np.abs(measured["act_std"] / mapped["act_std"] - 1)) < 0.02
    assert np.max(np.abs(measured["grad_std"] / mapped["grad_std"] - 1)) < 0.05
    with pytest.raises(ValueError, match="unknown activation 'softmax'"):
        ch07.variance_map("softmax", 1.0, 3)


def test_the_residual_stream_grows_as_one_plus_s_squared():
    run = ch07.residual_stream(depth=20, scale=0.5, width=256, batch=256, seed=0)
    assert run["std"].shape == run["grad_std"].shape == (21,)
    growth = (run["std"][1:] / run["std"][:-1]) ** 2
    assert abs(np.mean(growth) - 1.25) < 0.03
    assert np.allclose(ch07.residual_stream(5, 0.0, width=8, batch=4)["std"][0],
                       ch07.residual_stream(5, 0.0, width=8, batch=4)["std"][-1])


def test_the_residual_gradient_matches_autograd():
    run = ch07.residual_stream(depth=3, scale=0.7, width=8, batch=5, seed=2)
    rng = np.random.default_rng(2)
    first = [init.DENSE["he_normal"](8, 8, rng) for _ in range(3)]
    second = [init.DENSE["lecun_normal"](8, 8, rng) for _ in range(3)]
    x = torch.tensor(rng.normal(size=(5, 8)), requires_grad=True)
    stream = [x]
    for W1, W2 in zip(first, second):
        h = torch.relu(stream[-1] @ torch.tensor(W1))
        stream.append(stream[-1] + 0.7 * h @ torch.tensor(W2))
        stream[-1].retain_grad()
    stream[-1].backward(torch.tensor(rng.normal(size=(5, 8))))
    assert np.allclose(run["std"], [s.detach().std(unbiased=False).item() for s in stream])
    assert math.isclose(run["grad_std"][0], x.grad.std(unbiased=False).item(), rel_tol=1e-12)


def test_train_and_tune_choose_on_validation():
    tuned = ch07.tune("relu", "he_normal", [0.01, 0.05], seeds=[0, 1], epochs=2, depth=2,
                      width=16)
    assert tuned.lrs == [0.01, 0.05] and tuned.seeds == [0, 1]
    means = {lr: tuned.val[lr].mean for lr in tuned.lrs}
    assert tuned.best_lr == min(means, key=means.get)
    run = tuned.runs[0.05][0]
    assert run["loss"].shape == (2,) and not run["diverged"]
    assert 0 <= run["test_accuracy"] <= 1 and math.isfinite(run["test_loss"])
    again = ch07.train("relu", "he_normal", 0.05, 0, epochs=2, depth=2, width=16)
    assert again["val_loss"] == run["val_loss"]          # the same seed, the same run


def test_a_diverging_run_is_reported_not_raised():
    # 1e6 is not enough: the ReLUs die and the loss stays finite; 1e30 overflows
    run = ch07.train("relu", "he_normal", 1e30, 0, epochs=2, depth=2, width=16)
    assert run["diverged"] and math.isinf(run["val_loss"]) and run["test_accuracy"] == 0.0
    with pytest.raises(ValueError, match="at least one learning rate"):
        ch07.tune("relu", "he_normal", [])
