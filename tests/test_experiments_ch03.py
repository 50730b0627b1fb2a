"""ddlopt.experiments.ch03: chapter 3's digits runs and noisy-quadratic curves, and the
committed full study (benchmarks/momentum_digits.py) against a fresh run of one entry."""

import math

import numpy as np
import pytest

import ddlopt
from ddlopt import surfaces
from ddlopt.experiments import ch03
from ddlopt.optim import SGD


def test_train_digits_is_deterministic_and_reports_val_and_test():
    first = ch03.train_digits(0.03, momentum=0.9, seed=1, epochs=2)
    assert set(first) == {"val_loss", "test_loss", "test_accuracy", "diverged"}
    assert first == ch03.train_digits(0.03, momentum=0.9, seed=1, epochs=2)
    assert first["diverged"] == 0.0 and 0 < first["val_loss"] < ch03.DIVERGED_ABOVE
    assert 0.5 < first["test_accuracy"] <= 1
    other_seed = ch03.train_digits(0.03, momentum=0.9, seed=2, epochs=2)
    assert other_seed["val_loss"] != first["val_loss"]


def test_a_diverged_run_is_nan_and_counted():
    result = ch03.train_digits(30.0, seed=0, epochs=2)
    assert result["diverged"] == 1.0
    assert all(math.isnan(result[k]) for k in ("val_loss", "test_loss", "test_accuracy"))


@pytest.mark.parametrize("lr", [0, -0.1, "0.1", True])
def test_train_digits_rejects_a_bad_learning_rate(lr):
    with pytest.raises(ValueError, match="lr must be a positive number"):
        ch03.train_digits(lr)


def test_the_split_is_60_20_20_and_fixed():
    parts = ch03.digits_parts()
    sizes = [len(parts[k][0]) for k in ("train", "val", "test")]
    assert sizes == [1078, 359, 360]
    assert ch03.digits_parts() is parts


def test_noisy_quadratic_without_noise_is_the_plain_run():
    curve = ch03.noisy_quadratic_losses(10, 0.0, 30, seed=0, runs=4, lr=0.05, momentum=0.9)
    surface = surfaces.Quadratic(10)
    theta = ddlopt.Parameter(surface.start)
    optimizer = SGD([theta], lr=0.05, momentum=0.9)
    expected = [surface(theta.data)]
    for _ in range(30):
        optimizer.zero_grad()
        theta.grad = surface.gradient(theta.data)
        optimizer.step()
        expected.append(surface(theta.data))
    assert curve.shape == (31,)
    np.testing.assert_allclose(curve, expected, rtol=1e-14)


def test_noisy_quadratic_runs_are_independent_and_seeded():
    a = ch03.noisy_quadratic_losses(10, 1.0, 50, seed=3, runs=8, lr=0.02)
    assert np.array_equal(a, ch03.noisy_quadratic_losses(10, 1.0, 50, seed=3, runs=8, lr=0.02))
    assert not np.array_equal(a, ch03.noisy_quadratic_losses(10, 1.0, 50, seed=4, runs=8,
                                                             lr=0.02))


def test_the_committed_full_study_is_what_the_benchmark_computes():
    from benchmarks import momentum_digits as bench

    full = ch03.full_results()
    assert len(full["runs"]) == len(bench.METHODS) * len(full["effective_lrs"]) * len(full["seeds"])
    assert full["effective_lrs"] == bench.EFFECTIVE_LRS and full["momentum"] == bench.MOMENTUM
    stored = next(r for r in full["runs"] if r["method"] == "Nesterov"
                  and r["effective_lr"] == 0.1 and r["seed"] == 1)
    fresh = bench.run(("Nesterov", 0.1, 1, full["epochs"]))
    for key in ("val_loss", "test_loss", "test_accuracy"):
        assert math.isclose(fresh[key], stored[key], rel_tol=1e-9), key
    assert fresh["lr"] == pytest.approx(0.01) and fresh["diverged"] == stored["diverged"] == 0


def test_a_diverging_run_stops_early_with_the_same_verdict(monkeypatch):
    """SGD at 3 on the digits blows up in the first epoch: the run ends there, diverged."""
    epochs_run = []
    fit = ch03.Sequential.fit

    def counting_fit(self, *args, **kwargs):
        history = fit(self, *args, **kwargs)
        epochs_run.append(len(history.history["val_loss"]))
        return history

    monkeypatch.setattr(ch03.Sequential, "fit", counting_fit)
    assert ch03.train_digits(3.0, seed=0)["diverged"] == 1.0
    assert ch03.train_digits(0.1, seed=0, epochs=3)["diverged"] == 0.0
    assert epochs_run == [1, 3]
