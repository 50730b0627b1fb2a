"""ddlopt.experiments.ch09: the random-search comparison, the monitor, the loss floor of a
softmax applied twice, and GradScaler's rule."""

import math

import numpy as np
import pytest

from ddlopt import losses
from ddlopt.experiments import ch09
from ddlopt.optim import SGD


def test_sample_trials_draws_inside_each_space_and_repeats_with_the_seed():
    for name, (_, space) in ch09.SPACES.items():
        a = ch09.sample_trials(space, 50, np.random.default_rng(1))
        b = ch09.sample_trials(space, 50, np.random.default_rng(1))
        assert a == b and len(a) == 50 and set(a[0]) == set(space)
        for key in ("momentum", "beta1"):
            if key in space:
                assert all(0 <= t[key] <= 0.99 for t in a)
        assert all(t["lr"] > 0 for t in a)
    with pytest.raises(ValueError, match="trials"):
        ch09.sample_trials(ch09.SPACES["Adam"][1], 0, np.random.default_rng(0))


def test_small_digits_holds_a_test_split_and_keeps_n_train_images():
    problem = ch09.small_digits(n_train=100)(seed=3)
    assert len(problem.train[0]) == 100 and len(problem.test[0]) > 300
    assert len(problem.val[0]) > 300
    with pytest.raises(ValueError, match="n_train"):
        ch09.small_digits(n_train=0)


def test_tune_and_test_chooses_the_trial_with_the_lowest_validation_loss():
    spaces = {k: ch09.SPACES[k] for k in ("SGD", "Adam")}
    result = ch09.tune_and_test(spaces, ch09.small_digits(100), trials=3, seeds=(1, 2),
                                epochs=1)
    for r in result.values():
        best = min(r["trials"], key=lambda t: t["val_loss"])
        assert r["chosen"] == {k: best[k] for k in r["chosen"]}
        assert len(r["test_accuracy"].values) == 2 and 0 < r["test_accuracy"].mean <= 1
    two = ch09.tune_and_test(spaces, ch09.small_digits(100), trials=3, seeds=(2, 3),
                             epochs=1, tune_seeds=(0, 1))
    assert two["SGD"]["trials"][0]["val_loss"] != result["SGD"]["trials"][0]["val_loss"]
    with pytest.raises(ValueError, match="tuning seeds"):
        ch09.tune_and_test(spaces, ch09.small_digits(100), trials=1, seeds=(0, 1), epochs=1)


def test_the_monitor_records_sgds_update_ratio_as_lr_times_grad_over_weight():
    model = ch09.small_digits(64)(0).model
    loss = losses.get("sparse_categorical_crossentropy", from_logits=True)
    X, y = ch09.small_digits(64)(0).train
    W0 = model.layers[0].W.data.copy()
    record = ch09.train_monitored(model, loss, SGD(model.parameters(), lr=0.1), X, y,
                                  epochs=1, batch_size=64)
    assert record["grad_norm"].shape == record["update_ratio"].shape == (1, 2)
    expected = 0.1 * record["grad_norm"][0, 0] / np.linalg.norm(W0)
    assert record["update_ratio"][0, 0] == pytest.approx(expected, rel=1e-12)


def test_the_softmax_twice_floor_is_the_loss_of_a_one_hot_output():
    for k in (2, 10):
        one_hot = np.eye(k)[:1]
        logp = one_hot - np.log(np.sum(np.exp(one_hot)))
        assert ch09.softmax_twice_floor(k) == pytest.approx(-logp[0, 0], rel=1e-14)
    # no other point of the simplex does better (random probability vectors)
    p = np.random.default_rng(0).dirichlet(np.ones(10), size=1000)
    values = np.log(np.sum(np.exp(p), axis=1)) - p[:, 0]
    assert values.min() > ch09.softmax_twice_floor(10)
    with pytest.raises(ValueError):
        ch09.softmax_twice_floor(1)


def test_scaler_update_follows_torchs_grad_scaler():
    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.SGD([param], lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16, growth_interval=3)
    ours = (2.0**16, 0)
    for found_inf in [False, False, True, False, False, False, False, True, True, False]:
        optimizer.zero_grad()
        scaler.scale(param.sum()).backward()
        if found_inf:
            param.grad[0] = math.inf
        scaler.step(optimizer)
        scaler.update()
        ours = ch09.scaler_update(*ours, found_inf, growth_interval=3)
        assert ours[0] == scaler.get_scale()
    with pytest.raises(ValueError, match="scale"):
        ch09.scaler_update(0.0, 0, False)
