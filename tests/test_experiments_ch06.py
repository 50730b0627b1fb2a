"""Chapter 6's experiments (ddlopt.experiments.ch06): the noisy quadratic, the schedules of
the figures and the digits with noisy labels."""

import math

import numpy as np
import pytest
import torch

from ddlopt import schedules
from ddlopt.experiments import ch06


def test_noisy_quadratic_settles_on_the_predicted_floor():
    lr = 0.5
    loss = ch06.noisy_quadratic(lr, steps=300, runs=4000, seed=1)
    floor = lr / (2 * (2 - lr))
    assert loss.shape == (300,)
    assert loss[0] > 10 * floor  # it starts far above (θ0 = 10)
    assert abs(loss[-100:].mean() / floor - 1) < 0.05


def test_noisy_quadratic_with_a_decaying_schedule_goes_below_the_floor():
    decay = lambda o: schedules.InverseTimeDecay(o, decay_steps=20, decay_rate=1.0)
    loss = ch06.noisy_quadratic(0.5, decay, steps=600, runs=2000)
    assert loss[-1] < 0.5 / (2 * 1.5) / 10


@pytest.mark.parametrize("kwargs", [dict(lr=0), dict(lr=0.1, steps=0), dict(lr=0.1, runs=0)])
def test_noisy_quadratic_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        ch06.noisy_quadratic(**kwargs)


@pytest.mark.parametrize("name", list(ch06.SCHEDULES))
def test_every_schedule_stays_at_or_below_its_base_rate_and_ends_lower(name):
    rates = ch06.lr_curve(ch06.SCHEDULES[name], T=100, lr=0.1)
    assert rates.shape == (100,)
    assert np.all(rates <= 0.1 + 1e-12) and np.all(rates >= 0)
    if name != "constant":
        assert rates[-1] < 0.1 / 2
    else:
        assert np.all(rates == 0.1)


def test_the_language_model_schedules_have_their_shapes():
    inverse = ch06.lr_curve(ch06.SCHEDULES["inverse sqrt"], T=100, lr=0.1)
    assert inverse[0] == pytest.approx(0.01) and inverse[9] == pytest.approx(0.1)
    assert inverse[40] == pytest.approx(0.1 * math.sqrt(10 / 40))
    wsd = ch06.lr_curve(ch06.SCHEDULES["warm-up-stable-decay"], T=100, lr=0.1)
    assert np.all(wsd[10:80] == 0.1) and wsd[90] == pytest.approx(0.05)
    restarts = ch06.lr_curve(ch06.SCHEDULES["cosine restarts"], T=99, lr=0.1)
    assert restarts[33] == restarts[66] == 0.1 and restarts[32] < 0.01


def test_warmup_cosine_is_the_same_recipe_in_torch():
    def rates(lib):
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        scheduler = ch06.warmup_cosine(optimizer, 50, lib=lib)
        out = []
        for _ in range(50):
            out.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        return out

    assert rates(schedules) == rates(torch.optim.lr_scheduler)
    with pytest.raises(ValueError, match="warm-up"):
        ch06.warmup_cosine(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1),
                           10, warmup=10)


def test_noisy_digits_replaces_only_training_labels():
    noisy, clean = ch06.noisy_digits(0.3), ch06.noisy_digits(0.0)
    assert 0.22 < np.mean(noisy.train[1] != clean.train[1]) < 0.3
    assert np.array_equal(noisy.train[0], clean.train[0])
    for a, b in ((noisy.val, clean.val), (noisy.test, clean.test)):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="noise"):
        ch06.noisy_digits(1.5)


def test_train_returns_accuracies_and_the_rates_it_trained_with():
    splits = ch06.noisy_digits(0.3)
    result = ch06.train(splits, "step", seed=0, epochs=3)
    assert 0.1 < result["test_accuracy"] <= 1 and 0.1 < result["val_accuracy"] <= 1
    assert result["history"]["lr"] == pytest.approx([0.1, 0.03, 0.009])
    assert ch06.train(splits, "step", seed=0, epochs=3)["test_accuracy"] == \
        result["test_accuracy"]  # seeded
    with pytest.raises(ValueError, match="unknown schedule"):
        ch06.train(splits, "linear", seed=0)


def test_a_diverging_run_reports_nan():
    result = ch06.train(ch06.noisy_digits(0.0), "constant", seed=0, lr=1e6, epochs=2)
    assert math.isnan(result["test_accuracy"]) and result["history"] is None
