"""ddlopt.experiments.ch08: chapter 8's regime (the noisy-label digits, the wide MLP), its
tools, and the committed benchmark the chapter reads."""

import numpy as np
import pytest

from ddlopt.experiments import ch08
from ddlopt.nn import Dense, Dropout, RandomShift
from ddlopt.regularization import MaxNorm


def test_the_regime_has_its_sizes_and_exactly_its_share_of_wrong_labels():
    part = ch08.problem()
    (X, y), clean, flipped = part["train"], part["clean"], part["flipped"]
    assert X.shape == (ch08.N_TRAIN, 64) and 0 <= X.min() and X.max() <= 1
    assert len(part["val"][0]) == 449 and len(part["test"][0]) == 630
    assert flipped.sum() == round(ch08.LABEL_NOISE * ch08.N_TRAIN)
    assert np.all(y[flipped] != clean[flipped]) and np.array_equal(y[~flipped], clean[~flipped])
    with pytest.raises(ValueError, match="read-only"):
        X[0, 0] = 1.0
    # the same split and the same wrong labels every time
    ch08.problem.cache_clear()
    again = ch08.problem()
    assert np.array_equal(again["train"][1], y) and np.array_equal(again["test"][0],
                                                                   part["test"][0])


def test_noisy_labels_draw_every_other_class_evenly():
    y = np.zeros(30000, dtype=np.int64)
    noisy, flipped = ch08.noisy_labels(y, 0.5, rng=1, n_classes=4)
    assert flipped.sum() == 15000 and np.all(noisy[~flipped] == 0)
    counts = np.bincount(noisy[flipped], minlength=4)
    assert counts[0] == 0
    assert np.all(np.abs(counts[1:] - 5000) < 5 * np.sqrt(5000))  # 5 standard deviations
    assert not ch08.noisy_labels(y[:10], 0.0, rng=0, n_classes=4)[1].any()


@pytest.mark.parametrize("call, message", [
    (lambda: ch08.noisy_labels(np.array([0.5, 1.0]), 0.1), "integer labels"),
    (lambda: ch08.noisy_labels(np.array([0, 1]), 1.5), r"fraction must be in \[0, 1\]"),
    (lambda: ch08.noisy_labels(np.array([0, 0]), 0.5), "at least 2 classes"),
    (lambda: ch08.train("mixup"), "unknown tool 'mixup'"),
    (lambda: ch08.train("dropout"), r"'dropout' needs its strength \(p\)"),
    (lambda: ch08.train("augmentation", 2), "'augmentation' has no strength"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_network_carries_each_tool_and_a_seed_fixes_its_weights():
    plain = ch08.network(3)
    assert [type(layer) for layer in plain.layers] == [Dense] * 3
    assert sum(p.data.size for p in plain.parameters()) == 26122
    held = ch08.network(3, dropout=0.5, max_norm=0.7, augment=True)
    assert [type(layer) for layer in held.layers] == [RandomShift, Dense, Dropout, Dense,
                                                       Dropout, Dense]
    assert all(isinstance(layer.kernel_constraint, MaxNorm) for layer in held.layers
               if isinstance(layer, Dense))
    # the tools draw nothing while the network is built: the same initial weights
    for a, b in zip(plain.get_weights(), held.get_weights()):
        assert np.array_equal(a, b)
    assert not np.array_equal(plain.layers[0].W.data, ch08.network(4).layers[0].W.data)


def test_decay_groups_decay_the_kernels_only():
    model = ch08.network(0)
    decayed, rest = ch08.decay_groups(model, 0.3)
    assert decayed["weight_decay"] == 0.3 and rest["weight_decay"] == 0.0
    assert {id(p) for p in decayed["params"]} == {id(layer.W) for layer in model.layers}
    assert {id(p) for p in rest["params"]} == {id(layer.b) for layer in model.layers}


def test_a_run_is_deterministic_given_its_seed():
    first = ch08.run("dropout", 0.5, seed=2, epochs=2)
    assert first == ch08.run("dropout", 0.5, seed=2, epochs=2)
    assert first != ch08.run("dropout", 0.5, seed=3, epochs=2)
    assert set(first) == {"val_accuracy", "test_accuracy", "epochs"} and first["epochs"] == 2


def test_early_stopping_restores_the_plain_run_at_its_best_epoch():
    # same seed: the same weights and batches, so the run stopped early is the plain run
    # cut at the epoch of its lowest validation loss
    model, history = ch08.train("early stopping", seed=1, epochs=25)
    val_loss = history.history["val_loss"]
    best = int(np.argmin(val_loss))
    assert len(val_loss) == 25 or len(val_loss) == best + 1 + ch08.PATIENCE
    plain, _ = ch08.train("none", seed=1, epochs=best + 1)
    for a, b in zip(model.get_weights(), plain.get_weights()):
        assert np.array_equal(a, b)


def test_curves_record_one_value_an_epoch():
    curves = ch08.Curves()
    ch08.train("none", seed=0, epochs=3, callbacks=[curves])
    for values in (curves.memorized, curves.fitted, curves.test_accuracy):
        assert len(values) == 3 and all(0 <= v <= 1 for v in values)


def test_clean_labels_train_on_the_true_labels():
    curves = ch08.Curves()
    ch08.train("none", seed=0, epochs=3, callbacks=[curves], clean_labels=True)
    # trained on the true labels, the network predicts few of the wrong ones
    assert curves.memorized[-1] < 0.2


# ---- the committed benchmark ---------------------------------------------------------------
def test_the_committed_benchmark_covers_every_grid_and_seed():
    results = ch08.grid_results()
    seeds = results["meta"]["seeds"]
    assert len(seeds) >= 5 and results["meta"]["grids"] == ch08.GRIDS
    found = {(r["tool"], r["strength"], r["seed"], r["lr"]) for r in results["runs"]}
    wanted = {(tool, strength, seed, ch08.LR) for tool in ch08.TOOLS
              for strength in ch08.GRIDS.get(tool, [None]) for seed in seeds}
    # and AdamW's weight decay again at twice the learning rate
    wanted |= {("weight decay", strength, seed, 2 * ch08.LR)
               for strength in ch08.GRIDS["weight decay"] for seed in seeds}
    assert found == wanted and len(results["runs"]) == len(wanted)
    for key in ("date", "machine", "wall_minutes", "cpus"):
        assert results["meta"][key]


def test_every_chosen_strength_is_inside_its_grid():
    picks = ch08.chosen()
    assert set(picks) == set(ch08.GRIDS)
    for tool, strength in picks.items():
        grid = ch08.GRIDS[tool]
        assert grid[0] < strength < grid[-1], f"{tool}: best {strength} at the edge of {grid}"
    # at twice the rate only weight decay was studied
    assert set(ch08.chosen(lr=2 * ch08.LR)) == {"weight decay"}


def test_chosen_takes_the_highest_mean_validation_accuracy():
    runs = [{"tool": tool, "strength": s, "seed": seed, "val_accuracy": v}
            for tool, grid in ch08.GRIDS.items() for s, base in zip(grid, [1, 3, 2, 3, 0])
            for seed, v in enumerate([base, base + 1])]
    picks = ch08.chosen({"runs": runs})
    assert picks == {tool: grid[1] for tool, grid in ch08.GRIDS.items()}  # first of a tie


def test_the_code_reproduces_a_committed_run():
    results = ch08.grid_results()
    strength = ch08.chosen(results)["max-norm"]
    row = next(r for r in results["runs"] if r["tool"] == "max-norm"
               and r["strength"] == strength and r["seed"] == 0 and r["lr"] == ch08.LR)
    again = ch08.run("max-norm", strength, seed=0)
    assert again["epochs"] == row["epochs"]
    # 630 test images: another CPU's last bits may move a prediction or two, no more
    assert abs(again["test_accuracy"] - row["test_accuracy"]) <= 2 / 630 + 1e-9
    assert abs(again["val_accuracy"] - row["val_accuracy"]) <= 2 / 449 + 1e-9
