"""ddlopt.experiments.ch01: chapter 1's linear fits through a loss, the outlier sweep, label
smoothing on the digits and the class-weight studies."""

import math

import numpy as np
import pytest

from ddlopt import losses
from ddlopt.experiments import ch01


def test_with_intercept_appends_a_column_of_ones():
    assert ch01.with_intercept([1.0, 2.0]).tolist() == [[1.0, 1.0], [2.0, 1.0]]
    X = ch01.with_intercept(np.zeros((3, 2)))
    assert X.shape == (3, 3) and np.all(X[:, -1] == 1)


def test_fit_linear_with_mse_reaches_least_squares():
    rng = np.random.default_rng(0)
    X = ch01.with_intercept(rng.normal(size=(50, 2)))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=50)
    theta = ch01.fit_linear("mse", X, y, lr=0.5, steps=2000)
    exact, *_ = np.linalg.lstsq(X, y, rcond=None)
    np.testing.assert_allclose(theta, exact, rtol=1e-8)


def test_fit_linear_with_mae_on_a_constant_finds_the_median():
    y = np.array([0.0, 1.0, 2.0, 3.0, 100.0])
    theta = ch01.fit_linear("mae", np.ones((5, 1)), y, lr=1.0, steps=3000, decay=True)
    assert abs(theta[0] - 2.0) < 0.05          # the median, not the mean 21.2


def test_fit_linear_calls_back_and_passes_sample_weights():
    seen = []
    X, y = np.ones((4, 1)), np.array([0.0, 0.0, 0.0, 1.0])
    theta = ch01.fit_linear("mse", X, y, lr=0.25, steps=500,
                            sample_weight=np.array([1.0, 1.0, 1.0, 3.0]),
                            callback=lambda t, th: seen.append(t))
    assert seen == list(range(1, 501))
    assert theta[0] == pytest.approx(0.5)      # the weighted mean 3 / 6


@pytest.mark.parametrize("X, y, kwargs, message", [
    (np.ones(4), np.ones(4), {}, "X must have shape"),
    (np.ones((4, 1)), np.ones(3), {}, "X must have shape"),
    (np.ones((4, 1)), np.ones(4), {"steps": 0}, "steps must be a positive int"),
    (np.ones((4, 1)), np.ones(4), {"lr": -1.0}, "lr positive"),
])
def test_fit_linear_rejects_bad_input(X, y, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ch01.fit_linear("mse", X, y, **kwargs)


def test_outlier_data_moves_a_tenth_of_the_targets():
    X, clean, theta = ch01.outlier_data(seed=3, size=0)
    _, moved, _ = ch01.outlier_data(seed=3, size=20)
    assert X.shape == (100, 2) and theta.tolist() == [0.5, 1.0]
    assert np.sum(clean - moved == 20) == 10 and np.sum(clean == moved) == 90
    assert ch01.line_error(X, theta, theta) == 0.0


def test_outlier_sweep_pulls_mse_and_not_mae():
    named = {"MSE": losses.get("mse"), "MAE": losses.get("mae")}
    errors = ch01.outlier_sweep(named, [0, 20], seeds=[0, 1])
    assert errors["MSE"].shape == (2, 2)
    assert np.all(errors["MSE"][:, 1] > 1.5) and np.all(errors["MAE"][:, 1] < 0.5)
    assert np.all(errors["MSE"][:, 0] < 0.5)   # no outliers: close to the true line


def test_logit_gap_is_the_true_logit_minus_the_mean_of_the_others():
    logits = np.array([[3.0, 1.0, 2.0], [0.0, 0.0, 6.0]])
    assert ch01.logit_gap(logits, [0, 2]).tolist() == [1.5, 6.0]


def test_smoothing_bounds_the_gap_and_the_run_is_deterministic():
    plain = ch01.smoothing_run(0, 0.0, steps=200, every=100)
    smooth = ch01.smoothing_run(0, 0.1, steps=200, every=100)
    assert plain["steps"].tolist() == [100, 200]
    assert smooth["gap"][-1] < math.log(91) * 1.2 < plain["gap"][-1]
    assert smooth["confidence"] < plain["confidence"]
    assert min(plain["accuracy"], smooth["accuracy"]) > 0.9
    again = ch01.smoothing_run(0, 0.1, steps=200, every=100)
    assert again["nll"] == smooth["nll"] and np.array_equal(again["gap"], smooth["gap"])


def test_balanced_weights_give_every_class_the_same_total():
    labels = np.array([0] * 6 + [1] * 3 + [2])
    omega = ch01.balanced_weights(labels, 3)
    np.testing.assert_allclose(omega * np.bincount(labels), len(labels) / 3)
    with pytest.raises(ValueError, match="every class needs an example"):
        ch01.balanced_weights(np.array([0, 0, 2]), 3)


def test_rare_digit_weights_raise_recall_and_lower_precision():
    run = ch01.rare_digit_run(0, steps=200)
    assert set(run) == {"unweighted", "class weights", "moved threshold"}
    for way in run.values():
        assert set(way) == {"recall", "precision", "balanced accuracy"}
    assert run["class weights"]["recall"] > run["unweighted"]["recall"]
    assert run["class weights"]["precision"] < run["unweighted"]["precision"]


def test_prior_shift_moves_the_intercept_by_the_log_weight_ratio():
    run = ch01.prior_shift(0, n=4000)
    moved = run["weighted"] - run["plain"]
    assert abs(moved[2] - run["shift"]) < 0.3 and run["shift"] > 1.5
    assert np.all(np.abs(moved[:2]) < 0.2 * np.abs(run["plain"][:2]))
