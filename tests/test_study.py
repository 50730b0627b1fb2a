"""ddlopt.compare: deterministic given the seeds, a table of the right shape, the known winner
found, divergence recorded, bad arguments named."""

import math
from functools import partial

import numpy as np
import pytest

import ddlopt
from ddlopt import optim
from ddlopt.study import OPTIMIZERS, OverSeeds, Problem, Study, compare, mlp_problem, over_seeds


@pytest.fixture(scope="module")
def iris():
    return mlp_problem("iris", hidden=(8,))


def test_the_same_seeds_give_the_same_table_and_other_seeds_another(iris):
    def study(seeds):
        return compare({"SGD": optim.SGD, "Adam": optim.Adam}, iris, lrs=[0.01, 0.1], seeds=seeds, epochs=3)
    first, again, other = study([0, 1]), study([0, 1]), study([2, 3])
    assert first.rows == again.rows
    assert [r["curve"] for r in first] != [r["curve"] for r in other]
    assert [r["curve"] for r in first if r["seed"] == 0] != [r["curve"] for r in first if r["seed"] == 1]
    # the seed draws the initial weights (and fit's batch order); the data split stays
    weights = [[p.data for p in iris(seed).model.parameters()] for seed in (0, 0, 1)]
    assert all(np.array_equal(a, b) for a, b in zip(weights[0], weights[1]))
    assert not np.array_equal(weights[0][0], weights[2][0])
    assert np.array_equal(iris(0).val[0], iris(1).val[0])


def test_the_table_has_a_row_a_run_and_summaries_a_row_a_setting(iris):
    study = compare({"SGD": optim.SGD, "momentum": partial(optim.SGD, momentum=0.9)}, iris,
                    lrs={"SGD": [0.01, 0.1, 0.3], "momentum": [0.01, 0.1]}, seeds=[0, 1], epochs=4,
                    target=0.8)
    assert isinstance(study, Study) and len(study) == (3 + 2) * 2
    assert [(r["optimizer"], r["lr"], r["seed"]) for r in study][:3] == [("SGD", 0.01, 0), ("SGD", 0.01, 1),
                                                                        ("SGD", 0.1, 0)]
    for row in study:
        assert len(row["curve"]) == 4 and row["best"] == max(row["curve"])
        assert row["best_epoch"] == 1 + row["curve"].index(row["best"])
        reached = [i + 1 for i, v in enumerate(row["curve"]) if v >= 0.8]
        assert row["epochs_to_target"] == (reached[0] if reached else None)
    summary = study.summary()
    assert len(summary) == 5 and all(s["runs"] == 2 for s in summary)
    first = summary[0]
    best = [r["best"] for r in study][:2]
    assert first["mean"] == pytest.approx(np.mean(best)) and first["std"] == pytest.approx(np.std(best, ddof=1))
    assert [b["optimizer"] for b in study.best()] == ["SGD", "momentum"]
    lines = study.to_markdown().splitlines()
    assert len(lines) == 4 and lines[0].startswith("| optimizer | lr | best val_accuracy | runs reaching 0.8 |")


def test_the_known_winner_wins(iris):
    # the same optimizer, one of them with its steps shrunk a millionfold: it cannot learn
    crippled = lambda params, lr: optim.SGD(params, lr=lr * 1e-6, momentum=0.9)  # noqa: E731
    study = compare({"momentum": partial(optim.SGD, momentum=0.9), "crippled": crippled}, iris,
                    lrs=[1e-4, 0.1], seeds=[0, 1], epochs=10, target=0.9)
    best = {row["optimizer"]: row for row in study.best()}
    assert best["momentum"]["lr"] == 0.1 and best["momentum"]["mean"] > 0.9
    assert best["momentum"]["reached"] == 2 and best["crippled"]["reached"] == 0
    assert best["momentum"]["mean"] > best["crippled"]["mean"] + 0.2


def test_divergence_is_recorded_and_never_wins(iris):
    study = compare({"SGD": optim.SGD}, iris, lrs=[0.1, 1e30], seeds=[0], epochs=3)
    diverged = [r for r in study if r["lr"] == 1e30][0]
    assert diverged["diverged"] and math.isnan(diverged["best"]) and diverged["curve"] == []
    assert study.best()[0]["lr"] == 0.1
    assert "| SGD | 1e+30 | — | 0/1 | — | 1/1 |" in study.to_markdown(study.summary())


def test_a_loss_metric_is_judged_lower_is_better(iris):
    study = compare({"SGD": optim.SGD}, iris, lrs=[1e-4, 0.1], seeds=[0], epochs=5, metric="val_loss",
                    target=0.5)
    row = study.rows[1]
    assert row["best"] == min(row["curve"]) and study.best()[0]["lr"] == 0.1


def test_the_eight_optimizers_and_a_problem_of_your_own():
    assert list(OPTIMIZERS) == ["SGD", "momentum", "Nesterov", "Adagrad", "RMSprop", "Adam", "AdamW", "NAdam"]
    X, y = ddlopt.data.two_moons(100, rng=0)

    def moons(seed):
        model = ddlopt.nn.Sequential([ddlopt.nn.Dense(2, 8, "tanh", rng=seed), ddlopt.nn.Dense(8, 1, rng=seed)])
        return Problem(model, ddlopt.losses.get("binary_crossentropy", from_logits=True), (X[:80], y[:80]),
                       (X[80:], y[80:]))

    study = ddlopt.compare(OPTIMIZERS, moons, lrs=[0.01], seeds=[0], epochs=2)
    assert len(study) == 8 and all(len(r["curve"]) == 2 for r in study)


def test_bad_arguments_are_named(iris):
    good = dict(optimizers={"SGD": optim.SGD}, problem=iris, lrs=[0.1], seeds=[0], epochs=1)
    cases = [
        (TypeError, "optimizers must be a non-empty dict", dict(optimizers=[optim.SGD])),
        (TypeError, "optimizers\\['SGD'\\] must make an optimizer", dict(optimizers={"SGD": "sgd"})),
        (TypeError, "problem must be a function of the seed", dict(problem="digits")),
        (ValueError, "lrs must be a non-empty list of positive numbers", dict(lrs=[0.1, -1])),
        (ValueError, "lrs must be a non-empty list of positive numbers", dict(lrs=[])),
        (ValueError, "lrs has no grid for \\['SGD'\\]", dict(lrs={"Adam": [0.1]})),
        (ValueError, "seeds must be a non-empty list of non-negative integers", dict(seeds=[0.5])),
        (ValueError, "epochs must be a positive integer, got 0", dict(epochs=0)),
        (ValueError, "metric must be a validation key", dict(metric="accuracy")),
        (TypeError, "target must be a number", dict(target="95%")),
    ]
    for error, message, change in cases:
        with pytest.raises(error, match=message):
            compare(**{**good, **change})
    with pytest.raises(ValueError, match="mlp_problem classifies; 'diabetes' is a regression"):
        mlp_problem("diabetes")


def test_runs_use_one_blas_thread(iris):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    seen = []

    def spying(seed):
        seen.append({pool["num_threads"] for pool in threadpoolctl.threadpool_info()
                     if pool["user_api"] == "blas"})
        return iris(seed)

    compare({"SGD": optim.SGD}, spying, lrs=[0.1], seeds=[0], epochs=1)
    assert seen == [{1}]


def test_mlp_problem_holds_a_test_split_back_only_when_asked(iris):
    default = iris(0)
    assert default.test is None and len(default.train[0]) + len(default.val[0]) == 150
    (X_train, _), (X_val, _) = ddlopt.data.split(*ddlopt.data.load("iris"), val_size=0.2, seed=0)
    assert np.allclose(default.train[0], ddlopt.data.standardize(X_train))  # the split it had
    held = mlp_problem("iris", hidden=(8,), val_size=0.2, test_size=0.2)(0)
    parts = ddlopt.data.splits("iris", val_size=0.2, test_size=0.2, seed=0)
    for mine, theirs in zip((held.train, held.val, held.test), parts):
        assert np.array_equal(mine[0], theirs[0]) and np.array_equal(mine[1], theirs[1])
    assert len(held.test[0]) == 30
    assert len(compare({"SGD": optim.SGD}, mlp_problem("iris", test_size=0.2), lrs=[0.1], seeds=[0],
                       epochs=1)) == 1  # compare judges on val and leaves test alone


# ---- over_seeds -------------------------------------------------------------------------
def test_over_seeds_summarizes_one_number_a_seed():
    calls = []
    result = over_seeds(lambda seed: calls.append(seed) or 0.9 + 0.01 * seed)
    assert calls == [0, 1, 2, 3, 4] and result.seeds == (0, 1, 2, 3, 4)
    assert isinstance(result, OverSeeds) and isinstance(result.values, np.ndarray)
    np.testing.assert_allclose(result.values, [0.90, 0.91, 0.92, 0.93, 0.94])
    assert result.mean == pytest.approx(0.92)
    assert result.std == pytest.approx(np.std(result.values, ddof=1))  # the sample std
    assert result.sem == pytest.approx(result.std / math.sqrt(5))
    assert f"{result:.3f}" == "0.920 ± 0.016" and f"{result:.1%}" == "92.0% ± 1.6%"
    assert str(result) == "0.92 ± 0.02"  # the std to one digit, the mean to the same place


def test_over_seeds_is_reproducible_with_seeded_work():
    def noisy(seed):
        return float(np.random.default_rng(seed).normal())
    first, again = over_seeds(noisy, seeds=[3, 4, 5]), over_seeds(noisy, seeds=[3, 4, 5])
    assert np.array_equal(first.values, again.values)


def test_over_seeds_keeps_one_summary_per_key():
    result = over_seeds(lambda seed: {"accuracy": 0.9 + 0.001 * seed, "loss": np.float32(seed)},
                        seeds=(0, 1, 2))
    assert set(result) == {"accuracy", "loss"}
    assert f"{result['accuracy']:.3f}" == "0.901 ± 0.001"
    np.testing.assert_array_equal(result["loss"].values, [0.0, 1.0, 2.0])


@pytest.mark.parametrize("shift, differs", [(0.001, False), (0.05, True), (-0.05, True)])
def test_differs_from_compares_the_gap_with_twice_its_standard_error(shift, differs):
    spread = [-0.01, 0.0, 0.01]  # std 0.01, sem 0.00577; the gap's se is 0.00816
    a = over_seeds(lambda seed: 0.9 + spread[seed], seeds=(0, 1, 2))
    b = over_seeds(lambda seed: 0.9 + shift + spread[seed], seeds=(0, 1, 2))
    assert a.differs_from(b) is differs and b.differs_from(a) is differs
    se = math.hypot(a.sem, b.sem)
    assert a.differs_from(b, z=abs(shift) / se * 0.99) and not a.differs_from(b, z=abs(shift) / se * 1.01)


@pytest.mark.parametrize("fn, seeds, error, message", [
    (lambda seed: 1.0, [], ValueError, "seeds must be a non-empty list"),
    (lambda seed: 1.0, 5, TypeError, "seeds must be a list of non-negative integers such as"),
    (lambda seed: 1.0, [0], ValueError, "at least 2 distinct seeds"),
    (lambda seed: 1.0, [1, 1], ValueError, "at least 2 distinct seeds"),
    (lambda seed: 1.0, [0, -1], ValueError, "non-negative integers"),
    (lambda seed: "0.9", [0, 1], TypeError, r"fn\(0\) returned '0.9': over_seeds needs a number"),
    (lambda seed: None, [0, 1], TypeError, r"fn\(0\) returned None"),
    (lambda seed: [0.9], [0, 1], TypeError, r"fn\(0\) returned \[0.9\]"),
    (lambda seed: True, [0, 1], TypeError, "returned True"),
    (lambda seed: {"acc": "high"}, [0, 1], TypeError, r"fn\(0\)\['acc'\] returned 'high'"),
    (lambda seed: {"acc": 1.0} if seed else {"loss": 1.0}, [0, 1], ValueError, "the same keys"),
    (lambda seed: {}, [0, 1], ValueError, "the same keys"),
    ("fn", [0, 1], TypeError, "fn must be a function of the seed"),
])
def test_over_seeds_bad_input_is_named(fn, seeds, error, message):
    with pytest.raises(error, match=message):
        over_seeds(fn, seeds)
    with pytest.raises(TypeError, match="compare with another over_seeds result"):
        over_seeds(lambda seed: seed, [0, 1]).differs_from(0.5)
