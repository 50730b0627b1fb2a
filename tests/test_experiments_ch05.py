"""ddlopt.experiments.ch05: chapter 5's recipes (warm-up, a scaled loss, the steps' sizes)."""

import math

import numpy as np
import pytest

from ddlopt import optim, schedules
from ddlopt.experiments import ch05, ch11


@pytest.mark.parametrize("name", list(ch05.METHODS))
def test_every_method_trains(name):
    lr = {"SGD": 0.3, "momentum": 0.03}.get(name, 3e-3)
    result = ch05.train(ch05.recipe(name), lr, seed=0, steps=40, every=40)
    assert result["val_loss"] < math.log(10)     # below a uniform guess after 40 steps


def test_a_recipe_is_deterministic_and_a_plain_one_is_the_optimizer_itself():
    model = ch11.mlp(0)
    optimizers, schedulers = ch05.recipe("Adam")(model, 1e-3, 10)
    assert isinstance(optimizers[0], optim.Adam) and schedulers == []
    a = ch05.train(ch05.recipe("Adam"), 3e-3, seed=1, steps=40, every=40)
    b = ch05.train(ch05.recipe("Adam"), 3e-3, seed=1, steps=40, every=40)
    assert a["val_loss"] == b["val_loss"]


def test_warmup_is_a_linear_ramp_of_the_rate():
    model = ch11.mlp(0)
    optimizers, schedulers = ch05.recipe("Adam", warmup=4)(model, 1e-2, 10)
    assert len(schedulers) == 1 and isinstance(schedulers[0], schedules.LinearLR)
    rates = []
    for _ in range(6):
        rates.append(optimizers[0].param_groups[0]["lr"])
        schedulers[0].step()
    # torch's LinearLR: from 1/4 of the rate to all of it in 4 equal steps
    assert np.allclose(rates, 1e-2 * np.array([0.25, 0.4375, 0.625, 0.8125, 1, 1]))


def test_a_scaled_loss_leaves_adam_unchanged_and_moves_sgd():
    def run(name, lr, scale):
        return ch05.train(ch05.recipe(name, grad_scale=scale), lr, seed=0, steps=30,
                          every=30)["val_loss"]

    adam_1, adam_100 = run("Adam", 3e-3, 1.0), run("Adam", 3e-3, 100.0)
    assert abs(adam_1 - adam_100) < 1e-6          # the same up to epsilon
    sgd_1, sgd_small = run("SGD", 0.3, 1.0), run("SGD", 0.3, 0.01)
    assert sgd_small > sgd_1 + 0.5                # a hundred times smaller steps crawl


def test_record_gets_the_rms_step_in_units_of_the_rate():
    sizes = []
    ch05.train(ch05.recipe("Adam", record=sizes), 1e-3, seed=0, steps=20, every=20)
    assert len(sizes) == 20
    assert 0.8 < sizes[0] <= 1.0 + 1e-9           # Adam's first step: at most η a weight
    sizes_sgd = []
    ch05.train(ch05.recipe("SGD", record=sizes_sgd), 0.1, seed=0, steps=5, every=5)
    assert len(sizes_sgd) == 5 and all(s > 0 for s in sizes_sgd)


def test_options_reach_the_optimizer_and_a_function_is_accepted():
    model = ch11.mlp(0)
    optimizers, _ = ch05.recipe("Adam", amsgrad=True)(model, 1e-3, 10)
    assert optimizers[0].param_groups[0]["amsgrad"] is True
    optimizers, _ = ch05.recipe(lambda params, lr: optim.AdamW(params, lr=lr))(model, 1e-3, 10)
    assert isinstance(optimizers[0], optim.AdamW)


@pytest.mark.parametrize("kwargs, error", [
    ({"name": "Adamax"}, ValueError), ({"name": 3}, TypeError),
    ({"name": "Adam", "warmup": -1}, ValueError), ({"name": "Adam", "warmup": 2.5}, ValueError),
    ({"name": "Adam", "grad_scale": 0}, ValueError),
    ({"name": "Adam", "record": ()}, TypeError)])
def test_bad_input_is_refused_with_a_clear_error(kwargs, error):
    with pytest.raises(error):
        ch05.recipe(**kwargs)
