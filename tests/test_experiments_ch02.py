"""ddlopt.experiments.ch02: chapter 2's quadratics (plain and preconditioned), the saddle,
the sharpness by power iteration, SGD on least squares, timing and the batch-size grid."""

import math

import numpy as np
import pytest

from ddlopt.experiments import ch02


# ---- quadratics ---------------------------------------------------------------------------
def test_steps_to_tolerance_follows_the_rate():
    # at the best rate the factor is rho = (k - 1)/(k + 1) in every direction
    for kappa in (3, 10, 100):
        rho = (kappa - 1) / (kappa + 1)
        predicted = math.ceil(np.log(1e-9) / (2 * np.log(rho)))
        H = np.diag([1.0, kappa])
        assert ch02.steps_to_tolerance(H, 2 / (kappa + 1), start=(1, 0)) == predicted
    assert ch02.steps_to_tolerance(np.eye(2), 1.0) == 1
    assert ch02.steps_to_tolerance(np.diag([1.0, 10.0]), 1e-6, limit=10) is None


def test_a_preconditioner_equal_to_the_hessian_is_newton():
    H = np.array([[3.0, 1.0], [1.0, 2.0]])
    assert ch02.steps_to_tolerance(H, 1.0, preconditioner=H) == 1
    path = ch02.preconditioned_descent(H, [1.0, -2.0], 1.0, 3, preconditioner=H)
    assert path.shape == (4, 2) and np.allclose(path[1:], 0)
    plain = ch02.preconditioned_descent(H, [1.0, -2.0], 0.1, 1)
    assert np.allclose(plain[1], [1.0, -2.0] - 0.1 * H @ [1.0, -2.0])


def test_quadratic_helpers_reject_bad_input():
    with pytest.raises(ValueError, match="hessian must be a square matrix"):
        ch02.steps_to_tolerance(np.ones(3), 0.1)
    with pytest.raises(ValueError, match="delta must be in"):
        ch02.steps_to_tolerance(np.eye(2), 0.1, delta=2)
    with pytest.raises(ValueError, match="start has shape"):
        ch02.preconditioned_descent(np.eye(2), [1.0, 2.0, 3.0], 0.1, 2)


# ---- the saddle -----------------------------------------------------------------------------
def test_linear_network_gradient_and_hessian_match_finite_differences():
    net = ch02.LinearNetwork()
    point, eps = np.array([0.7, -0.3]), 1e-6
    numeric = [(net(point + eps * e) - net(point - eps * e)) / (2 * eps) for e in np.eye(2)]
    assert np.allclose(net.gradient(point), numeric, atol=1e-8)
    columns = [(net.gradient(point + eps * e) - net.gradient(point - eps * e)) / (2 * eps)
               for e in np.eye(2)]
    assert np.allclose(net.hessian(point), np.array(columns).T, atol=1e-7)
    assert net((0.5, 2.0)) == 0 and np.allclose(net.hessian((0, 0)), [[0, -1], [-1, 0]])


# ---- sharpness ------------------------------------------------------------------------------
def test_power_iteration_and_hessian_vector_products():
    H = np.diag([1.0, 4.0, -2.0])
    value, vector = ch02.power_iteration(lambda v: H @ v, np.ones(3), iterations=200)
    assert abs(value - 4) < 1e-9 and abs(abs(vector[1]) - 1) < 1e-9
    hvp = ch02.hessian_vector_product(lambda th: H @ th, np.array([0.3, 1.0, 2.0]))
    assert np.allclose(hvp(np.array([1.0, 2.0, 3.0])), H @ [1.0, 2.0, 3.0])
    with pytest.raises(ValueError):
        ch02.power_iteration(lambda v: v, np.ones(2), iterations=0)


def test_edge_of_stability_records_the_run():
    run = ch02.edge_of_stability(0.5, seed=0, steps=30, every=10, n=64, width=8)
    assert not run["diverged"] and len(run["loss"]) == 30
    assert list(run["sharpness_steps"]) == [0, 10, 20] and np.all(run["sharpness"] > 0)
    assert run["loss"][-1] < run["loss"][0]
    assert ch02.edge_of_stability(1e4, steps=100, every=50, n=64, width=8)["diverged"]


# ---- SGD on least squares -------------------------------------------------------------------
def test_least_squares_sgd_one_run_by_hand():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 3)), rng.standard_normal(20)
    gaps = ch02.least_squares_sgd(X, y, {"c": lambda t: 0.05, "d": lambda t: 0.1 / t}, 50,
                                  seeds=[3, 4], checkpoints=[10, 50])
    assert set(gaps) == {"c", "d"} and gaps["c"].shape == (2, 2)
    w, draws = np.zeros(3), np.random.default_rng(4).integers(0, 20, 50)
    for t, i in enumerate(draws, 1):
        w -= 0.1 / t * 2 * (X[i] @ w - y[i]) * X[i]
    best = np.mean((X @ np.linalg.lstsq(X, y, rcond=None)[0] - y) ** 2)
    assert np.isclose(gaps["d"][1, 1], np.mean((X @ w - y) ** 2) - best)
    with pytest.raises(ValueError, match="checkpoints must lie in"):
        ch02.least_squares_sgd(X, y, {"c": lambda t: 0.1}, 5, [0], checkpoints=[6])


def test_least_squares_sgd_converges_without_noise():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 2))
    gaps = ch02.least_squares_sgd(X, X @ [1.0, -1.0], {"c": lambda t: 0.05}, 2000, [0],
                                  checkpoints=[2000])
    assert gaps["c"][0, 0] < 1e-12


# ---- timing and the grid ------------------------------------------------------------------
def test_time_per_example_is_positive():
    seconds = ch02.time_per_example([1, 8], hidden=8, repeats=1, examples_per_timing=16)
    assert seconds.shape == (2,) and np.all(seconds > 0)


def test_batch_size_grid_marks_the_unstable_settings():
    grid = ch02.batch_size_grid([256], [0.1, 1000.0], seeds=[0, 1], epochs=1)
    assert grid[256, 1000.0] == {"unstable": True}
    stable = grid[256, 0.1]
    assert not stable["unstable"] and stable["val_loss"].values.shape == (2,)
    assert 0 < stable["test_accuracy"].mean <= 1 and stable["val_loss"].mean < math.log(10)
