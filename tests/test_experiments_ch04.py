"""ddlopt.experiments.ch04: chapter 4's experiments do what they say, on small cases whose
answers are known."""

import numpy as np
import pytest

from ddlopt import surfaces
from ddlopt.experiments import ch04 as ex
from ddlopt.optim import KerasRMSprop, RMSprop, adagrad_update, sgd_update

STARTS = np.array([[1.0, 0.0], [0.0, 1.0], [-0.6, 0.8]])


def test_steps_to_tolerance_counts_what_a_plain_loop_counts():
    bowl = surfaces.Quadratic(10.0)
    lrs = [0.01, 0.1, 0.25]                       # 0.25 > 2/L = 0.2: diverges
    counts = ex.steps_to_tolerance(bowl, sgd_update, lrs, STARTS, tol=1e-6,
                                   max_steps=3000)
    assert counts.shape == (3, 3)
    for i, lr in enumerate(lrs[:2]):
        for j, start in enumerate(STARTS):
            theta, f0 = start.copy(), bowl(start)
            for step in range(1, 3001):
                theta -= lr * bowl.gradient(theta)
                if bowl(theta) <= 1e-6 * f0:
                    break
            assert counts[i, j] == step
    assert np.all(np.isinf(counts[2, [1, 2]]))    # the steep direction blows up
    # along the flat axis alone lr=0.25 converges: (1 - 0.25)^k
    assert counts[2, 0] == np.ceil(np.log(1e-6) / np.log(0.75**2))


def test_steps_to_tolerance_passes_hyperparameters_and_checks_its_input():
    bowl = surfaces.Quadratic(100.0)
    plain = ex.steps_to_tolerance(bowl, sgd_update, [0.005], STARTS)
    heavy = ex.steps_to_tolerance(bowl, sgd_update, [0.005], STARTS, momentum=0.9)
    assert heavy.mean() < plain.mean() / 5       # momentum: the flat direction is fast
    with pytest.raises(ValueError, match="lrs must be a non-empty list of positive"):
        ex.steps_to_tolerance(bowl, sgd_update, [0.0], STARTS)
    with pytest.raises(ValueError, match=r"starts must have shape \(k, 2\)"):
        ex.steps_to_tolerance(bowl, sgd_update, [0.1], np.zeros(2))


def test_adagrad_on_an_aligned_bowl_ignores_kappa_and_a_turn_costs_it():
    """What the chapter measures: the same count at every kappa when aligned (from starts
    on the axes; elsewhere the loss weighs the coordinates by kappa, though the paths are
    the same); many more steps once the bowl is turned, while SGD's count does not change
    with the turn."""
    grid = np.geomspace(0.1, 10, 5)
    aligned = [ex.steps_to_tolerance(surfaces.Quadratic(k), adagrad_update, grid, STARTS[:2])
               for k in (1.0, 100.0)]
    assert np.array_equal(aligned[0], aligned[1])
    angle = np.pi / 4
    turn = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    turned = surfaces.Quadratic(100.0, angle=angle)
    assert ex.steps_to_tolerance(turned, adagrad_update, grid, STARTS @ turn).mean(1).min() \
        > 10 * aligned[1].mean(1).min()
    sgd_aligned = ex.steps_to_tolerance(surfaces.Quadratic(100.0), sgd_update, [0.015], STARTS)
    sgd_turned = ex.steps_to_tolerance(turned, sgd_update, [0.015], STARTS @ turn)
    assert np.abs(sgd_aligned - sgd_turned).max() <= 1


def test_sparse_problem_is_what_it_says():
    problem = ex.sparse_problem(n=2000, seed=3)
    (X, y), (X_val, _), (X_test, _) = problem.train, problem.val, problem.test
    assert (len(X), len(X_val), len(X_test)) == (1200, 400, 400)
    assert problem.n_dense == 10 and problem.w_true.shape == (20,)
    assert set(np.unique(X[:, 10:])) == {0.0, 1.0}
    assert 0.01 < X[:, 10:].mean() < 0.03
    assert np.all(np.abs(problem.w_true[10:]) == 3.0)
    assert set(np.unique(y)) == {0.0, 1.0}
    again = ex.sparse_problem(n=2000, seed=3)
    assert np.array_equal(again.train[0], X)


def test_log_loss_and_weight_errors():
    X = np.array([[1.0, 0.0], [0.0, 2.0]])
    y = np.array([1.0, 0.0])
    w = np.array([[0.0, 0.0], [2.0, -1.0]])
    expected_second = np.mean([np.log1p(np.exp(-2.0)), np.log1p(np.exp(-2.0))])
    assert np.allclose(ex.log_loss(w, X, y), [np.log(2), expected_second])
    problem = ex.SparseProblem(None, None, None, np.array([1.0, 2.0, 3.0]), 2)
    dense, sparse = ex.weight_errors(np.array([1.0, 2.0, 0.0]), problem)
    assert dense[0] == 0.0 and sparse[0] == 3.0


def test_train_logistic_runs_every_rate_as_a_separate_run_would():
    problem = ex.sparse_problem(n=600, seed=1)
    together, _ = ex.train_logistic(problem, sgd_update, [0.1, 1.0], seed=2, epochs=2,
                                    decay=lambda t: 1 / np.sqrt(t))
    for row, lr in zip(together, [0.1, 1.0]):
        alone, _ = ex.train_logistic(problem, sgd_update, [lr], seed=2, epochs=2,
                                     decay=lambda t: 1 / np.sqrt(t))
        assert np.allclose(row, alone[0], rtol=1e-12, atol=1e-14)
    # the decay is applied: without it the same rate moves the weights elsewhere
    constant, _ = ex.train_logistic(problem, sgd_update, [1.0], seed=2, epochs=2)
    assert not np.allclose(constant[0], together[1])


def test_adagrad_reaches_the_maximum_likelihood_weights():
    problem = ex.sparse_problem(n=1500, seed=0)
    w_mle = ex.max_likelihood(problem)
    p = 1 / (1 + np.exp(-(problem.train[0] @ w_mle)))
    assert np.abs((p - problem.train[1]) @ problem.train[0]).max() < 1e-9   # a stationary point
    w, state = ex.train_logistic(problem, adagrad_update, [0.5], seed=0, epochs=60)
    assert np.linalg.norm(w[0] - w_mle) < 0.1 * np.linalg.norm(w_mle)
    assert "sum" in state


def test_sparse_study_shapes_and_keys():
    problem = ex.sparse_problem(n=500, seed=0)
    methods = {"SGD": (sgd_update, [0.1, 1.0], None),
               "Adagrad": (adagrad_update, [0.1, 0.3, 1.0], None)}
    results = ex.sparse_study(problem, methods, seeds=(0, 1), epochs=1)
    assert set(results) == {"SGD", "Adagrad"}
    assert results["Adagrad"]["val"].shape == (2, 3)
    assert set(results["SGD"]) == {"val", "test", "dense", "sparse", "lrs"}
    assert np.all(np.isfinite(results["SGD"]["test"]))


def test_train_digits_reports_losses_and_divergence():
    good = ex.train_digits(lambda p: RMSprop(p, lr=1e-3), seed=0, epochs=1)
    assert set(good) == {"val_loss", "test_loss"}
    assert 0 < good["val_loss"] < 2.3 and 0 < good["test_loss"] < 2.3
    again = ex.train_digits(lambda p: RMSprop(p, lr=1e-3), seed=0, epochs=1)
    assert again == good
    bad = ex.train_digits(lambda p: RMSprop(p, lr=1e3), seed=0, epochs=1)
    assert np.isnan(bad["val_loss"]) or bad["val_loss"] > 10


def test_lockstep_distances_zero_for_the_same_optimizer():
    make = {"a": lambda p: RMSprop(p, lr=1e-3), "same": lambda p: RMSprop(p, lr=1e-3),
            "other": lambda p: RMSprop(p, lr=1e-3, alpha=0.9)}
    distances = ex.lockstep_distances(make, seed=0, checkpoints=[1, 5])
    assert set(distances) == {"same", "other"}
    assert distances["same"] == [0.0, 0.0]
    assert 0 < distances["other"][0] < distances["other"][1]


def test_epsilon_regimes_shares():
    shares = ex.epsilon_regimes(seed=0)
    assert shares["no gradient, constant pixel"] == 1.0
    assert 0 < shares["over 1 %"] < 0.1 and shares["over 1 %, first layer"] == 1.0
    assert shares["over 1 %"] + shares["under 0.1 %"] + shares["no gradient"] <= 1.0
    # a large epsilon inside the root matters for many more weights
    assert ex.epsilon_regimes(seed=0, eps=1e-4)["over 1 %"] > 5 * shares["over 1 %"]
