"""ddlopt.experiments.ch11: chapter 11's comparison (the runs, the split for Muon, tuning)."""

import math

import numpy as np
import pytest

from ddlopt import optim
from ddlopt.experiments import ch11


def test_the_split_is_fixed_and_disjoint():
    parts = ch11.problem()
    sizes = [len(parts[k][1]) for k in ("train", "val", "test")]
    assert sizes == [1078, 359, 360]
    X = np.concatenate([parts[k][0] for k in ("train", "val", "test")])
    assert len(np.unique(X, axis=0)) > 0.99 * len(X)


def test_muon_split_leaves_the_input_and_output_layers_and_the_biases_out():
    model = ch11.mlp(0)
    first, hidden_layer, last = model.layers
    hidden, others = ch11.muon_split(model)
    assert [id(p) for p in hidden] == [id(hidden_layer.W)]
    assert {id(p) for p in others} == {id(first.W), id(first.b), id(hidden_layer.b),
                                       id(last.W), id(last.b)}
    hidden, others = ch11.muon_split(model, input_layer=False)
    assert [id(p) for p in hidden] == [id(first.W), id(hidden_layer.W)]
    assert len(hidden) + len(others) == len(model.parameters())


def test_a_run_is_deterministic_given_its_seed_and_learns():
    a = ch11.train("AdamW + cosine", 3e-3, seed=1, steps=60, every=20)
    b = ch11.train("AdamW + cosine", 3e-3, seed=1, steps=60, every=20)
    c = ch11.train("AdamW + cosine", 3e-3, seed=2, steps=60, every=20)
    assert a["val_loss"] == b["val_loss"] and np.array_equal(a["curve"], b["curve"])
    assert a["val_loss"] != c["val_loss"]
    assert a["curve"][:, 0].tolist() == [20, 40, 60]
    assert a["val_loss"] < 0.5 * math.log(10) and a["test_accuracy"] > 0.8
    assert not a["diverged"]


@pytest.mark.parametrize("method", list(ch11.METHODS))
def test_every_method_trains(method):
    lr = {"Lion + cosine": 3e-4, "Prodigy + cosine": 1.0, "Adadelta": 1.0,
          "Adafactor + cosine": 1e-2}.get(method, 3e-3)
    result = ch11.train(method, lr, seed=0, steps=40, every=40)
    assert result["val_loss"] < math.log(10)     # below a uniform guess after 40 steps


def test_muon_and_adamw_puts_each_part_under_its_rate_and_schedule():
    model = ch11.mlp(0)
    optimizers, schedulers = ch11.muon_and_adamw(1e-3)(model, 0.02, 100)
    assert isinstance(optimizers[0], optim.Muon) and isinstance(optimizers[1], optim.AdamW)
    assert [o.param_groups[0]["lr"] for o in optimizers] == [0.02, 1e-3]
    assert len(schedulers) == 2
    result = ch11.train(ch11.muon_and_adamw(3e-3), 0.02, seed=0, steps=40, every=40)
    assert result["val_loss"] < math.log(10)


def test_schedule_free_is_evaluated_at_x():
    # the curve's last point and the final validation loss are both taken in eval mode
    result = ch11.train("Schedule-Free AdamW", 3e-3, seed=0, steps=40, every=40)
    assert result["curve"][-1, 1] == result["val_loss"]


def test_a_diverging_run_is_reported_not_raised():
    result = ch11.train("AdamW", 1e6, seed=0, steps=60)
    assert result["diverged"] and result["val_loss"] == math.inf


def test_tune_picks_the_rate_with_the_lowest_mean_validation_loss():
    tuned = ch11.tune("AdamW + cosine", [3e-5, 3e-3], seeds=[0, 1], steps=40, every=40)
    assert tuned.lrs == [3e-5, 3e-3] and tuned.best_lr == 3e-3
    assert tuned.val[3e-3].mean < tuned.val[3e-5].mean
    assert tuned.val[3e-3].values.tolist() == [r["val_loss"] for r in tuned.runs[3e-3]]


def test_bad_arguments_are_reported():
    with pytest.raises(ValueError, match="unknown method 'Shampoo'"):
        ch11.train("Shampoo", 1e-3, seed=0, steps=1)
    with pytest.raises(ValueError, match="lr must be a positive number"):
        ch11.train("AdamW", -1.0, seed=0, steps=1)
    with pytest.raises(ValueError, match="at least one learning rate"):
        ch11.tune("AdamW", [], seeds=[0, 1])
