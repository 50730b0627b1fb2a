"""ddlopt.regularization (L1, L2 against autograd), ddlopt.nn.Dropout (expectation, modes,
backprop against autograd with the same mask, torch's nn.Dropout as its twin) and
ddlopt.callbacks.EarlyStopping (Keras 3's rules, restoring the best weights)."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import ddlopt
from ddlopt import data, losses
from ddlopt.callbacks import Callback, EarlyStopping
from ddlopt.nn import Dense, Dropout, Sequential
from ddlopt.regularization import L1, L1L2, L2, MaxNorm


def relative_error(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


# ---- L1 and L2 ----------------------------------------------------------------------------
@pytest.mark.parametrize("penalty, torch_penalty", [
    (L2(0.03), lambda w: 0.03 * (w**2).sum()),
    (L1(0.02), lambda w: 0.02 * w.abs().sum()),
    (L1L2(l1=0.01, l2=0.05), lambda w: 0.01 * w.abs().sum() + 0.05 * (w**2).sum()),
])
def test_penalty_value_and_gradient_match_autograd(penalty, torch_penalty):
    W = np.random.default_rng(0).normal(size=(7, 5))
    W[0, :2] = 0.0  # abs has the subgradient 0 at 0 in autograd; so must L1's gradient
    w = torch.tensor(W, requires_grad=True)
    value = torch_penalty(w)
    value.backward()
    assert abs(penalty(W) - value.item()) <= 1e-14 * abs(value.item())
    assert relative_error(penalty.gradient(W), w.grad.numpy()) < 1e-15
    assert np.all(penalty.gradient(W)[0, :2] == (2 * penalty.l2 * W)[0, :2])


def test_l2_is_lambda_sum_of_squares_as_keras():
    assert L2(0.5)(np.array([[3.0, 4.0]])) == 0.5 * 25
    assert L1(0.5)(np.array([[3.0, -4.0]])) == 0.5 * 7
    assert L2().l2 == 0.01 and L1().l1 == 0.01 and L1L2().l1 == L1L2().l2 == 0.0


@pytest.mark.parametrize("make, message", [
    (lambda: L2(-1e-4), "l2 must be a non-negative finite number"),
    (lambda: L1(float("nan")), "l1 must be a non-negative finite number"),
    (lambda: L1L2(l2="big"), "l2 must be"),
    (lambda: Dense(3, 2, kernel_regularizer="l3"), "kernel_regularizer must be"),
    (lambda: Dropout(1.5), "dropout probability p must be between 0 and 1, got 1.5"),
    (lambda: Dropout(-0.1), "dropout probability p"),
    (lambda: Dropout("half"), "dropout probability p"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_keras_names_for_regularizers():
    assert isinstance(Dense(3, 2, kernel_regularizer="l2").kernel_regularizer, L2)
    assert Dense(3, 2).kernel_regularizer is None


# ---- Dropout ------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_the_expected_activation(p):
    """Each output is x/(1-p) with probability 1-p, else 0: mean x, variance x^2 p/(1-p).
    Over n = 10^6 outputs of x = 1 the sample mean has standard error sqrt(p/((1-p) n)); we
    allow 5 of them (a false alarm about once in 1.7 million runs; fixed seeds anyway)."""
    n = 1_000_000
    x = np.ones((1000, 1000))
    tolerance = 5 * math.sqrt(p / ((1 - p) * n))
    ours = Dropout(p, rng=np.random.default_rng(0)).forward(x)
    theirs = torch.nn.Dropout(p).train()(torch.ones(1000, 1000, dtype=torch.float64))
    for out in (ours, theirs.numpy()):
        assert abs(out.mean() - 1) < tolerance
        assert abs(np.mean(out == 0) - p) < 5 * math.sqrt(p * (1 - p) / n)
        assert set(np.unique(out)) <= {0.0, 1 / (1 - p)}  # survivors are scaled by 1/(1-p)


def test_dropout_is_the_identity_in_eval_mode():
    x = np.random.default_rng(1).normal(size=(50, 20))
    layer = Dropout(0.5, rng=0)
    layer.training = False
    assert layer.forward(x) is x and layer.backward(x) is x
    twin = torch.nn.Dropout(0.5).eval()
    t = torch.tensor(x)
    assert torch.equal(twin(t), t)


def test_dropout_extremes():
    x = np.ones((3, 4))
    assert np.array_equal(Dropout(1.0, rng=0).forward(x), np.zeros((3, 4)))
    assert np.array_equal(Dropout(0.0, rng=0).forward(x), x)


def test_dropout_mask_comes_from_the_layers_rng():
    x = np.ones((20, 30))
    a = Dropout(0.5, rng=np.random.default_rng(3)).forward(x)
    b = Dropout(0.5, rng=np.random.default_rng(3)).forward(x)
    assert np.array_equal(a, b)
    ddlopt.set_seed(2)
    c = Dropout(0.5).forward(x)
    ddlopt.set_seed(2)
    assert np.array_equal(c, Dropout(0.5).forward(x)) and not np.array_equal(a, c)


def test_dropout_seeded_with_an_int_draws_a_fresh_mask_every_pass():
    """rng=0 is a seed for one stream of masks (as for numpy.random.default_rng(0)), not one
    mask reused at every step."""
    x = np.ones((20, 30))
    seeded, stream = Dropout(0.5, rng=0), Dropout(0.5, rng=np.random.default_rng(0))
    first, second = seeded.forward(x), seeded.forward(x)
    assert not np.array_equal(first, second)
    assert np.array_equal(first, stream.forward(x)) and np.array_equal(second, stream.forward(x))


def test_network_with_dropout_and_l2_backprop_matches_autograd_with_the_same_mask():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 5)), rng.normal(size=(16, 3))
    model = Sequential([Dense(5, 8, "tanh", rng=rng, kernel_regularizer=L2(0.01)),
                        Dropout(0.4, rng=rng),
                        Dense(8, 3, rng=rng, kernel_regularizer=L1(0.02))])
    model.compile(optimizer="sgd", loss="mse")
    out = model.forward(X)
    mask = model.layers[1]._mask  # the kept units, already scaled by 1 / (1 - p)
    assert np.any(mask == 0)
    loss = losses.get("mse")
    for p in model.parameters():
        p.grad = None
    model.backward(loss.gradient(y, out))

    W1, b1, W2, b2 = (torch.tensor(p.data, requires_grad=True) for p in model.parameters())
    hidden = torch.tanh(torch.tensor(X) @ W1 + b1) * torch.tensor(mask)
    t_out = hidden @ W2 + b2
    total = F.mse_loss(t_out, torch.tensor(y)) + 0.01 * (W1**2).sum() + 0.02 * W2.abs().sum()
    total.backward()
    assert relative_error(out, t_out.detach().numpy()) < 1e-14
    value = loss(y, out) + model.regularization_loss()
    assert abs(value - total.item()) < 1e-14 * total.item()
    for ours, theirs in zip(model.parameters(), (W1, b1, W2, b2)):
        assert relative_error(ours.grad, theirs.grad.numpy()) < 1e-13


class ModeSpy(Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.training_during_fit = self.model.layers[1].training


def test_fit_trains_in_training_mode_evaluate_and_predict_in_inference_mode():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 4)), rng.integers(0, 3, 64)
    model = Sequential([Dense(4, 16, "relu", rng=rng), Dropout(0.5, rng=rng), Dense(16, 3, "softmax", rng=rng)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    spy = ModeSpy()
    model.fit(X, y, epochs=2, validation_data=(X, y), callbacks=[spy], verbose=0, rng=rng)
    assert spy.training_during_fit and model.training  # back in training mode after validation
    # deterministic in inference mode, and equal to the network without its dropout layer
    p1, p2 = model.predict(X), model.predict(X)
    assert np.array_equal(p1, p2) and model.training
    without = Sequential([model.layers[0], model.layers[2]])
    np.testing.assert_array_equal(p1, without.predict(X))
    model.eval()
    assert not model.layers[1].training
    model.train()
    assert not np.array_equal(model.forward(X), model.forward(X))  # two masks


def test_sequential_accepts_shape_preserving_layers_and_still_checks_widths():
    Sequential([Dense(3, 4), Dropout(0.2), Dense(4, 2)])
    with pytest.raises(ValueError, match="gives 4 features but .* expects 5"):
        Sequential([Dense(3, 4), Dropout(0.2), Dense(5, 2)])


def test_fit_reports_the_penalty_in_the_loss_as_keras_does():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(32, 4)), rng.normal(size=(32, 1))
    model = Sequential([Dense(4, 1, rng=rng, kernel_regularizer=L2(0.1))]).compile("sgd", "mse")
    data_loss = losses.get("mse")(y, model.predict(X))
    assert model.evaluate(X, y) == pytest.approx(data_loss + 0.1 * np.sum(model.layers[0].W.data**2), rel=1e-14)


# ---- EarlyStopping ------------------------------------------------------------------------
class Scripted:
    """A stand-in model: weights are just the epoch number, so restores are visible."""

    def __init__(self):
        self.stop_training, self.weights = False, [np.zeros(1)]

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]


def run(callback, values, key="val_loss"):
    """Feed values epoch by epoch as fit would; returns the epochs run."""
    model = Scripted()
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        model.weights = [np.array([float(epoch)])]
        callback.on_epoch_end(epoch, {key: value})
        if model.stop_training:
            break
    callback.on_train_end()
    return epoch + 1, model


def test_patience_counts_epochs_without_improvement():
    values = [1.0, 0.9, 0.95, 0.94, 0.93, 0.5]
    assert run(EarlyStopping(patience=0), values)[0] == 3
    assert run(EarlyStopping(patience=2), values)[0] == 4
    assert run(EarlyStopping(patience=3), values)[0] == 5
    assert run(EarlyStopping(patience=4), values)[0] == 6


def test_min_delta_mode_baseline_start_from_epoch():
    values = [1.0, 0.99, 0.98, 0.97]  # improvements of 0.01 only
    assert run(EarlyStopping(patience=1, min_delta=0.02), values)[0] == 2
    assert run(EarlyStopping(patience=1, min_delta=0.005), values)[0] == 4
    acc = [0.5, 0.6, 0.55, 0.56]
    assert run(EarlyStopping(monitor="val_accuracy", patience=2), acc, "val_accuracy")[0] == 4
    assert run(EarlyStopping(monitor="val_accuracy", patience=1), acc, "val_accuracy")[0] == 3
    assert run(EarlyStopping(monitor="val_accuracy", mode="min", patience=0), acc, "val_accuracy")[0] == 2
    # improvements that do not beat the baseline do not reset the count (and, as in Keras 3,
    # an improving epoch never stops training)
    assert run(EarlyStopping(patience=2, baseline=0.5), [1.0, 0.9, 0.9, 0.9, 0.9])[0] == 3
    assert run(EarlyStopping(patience=2), [1.0, 0.9, 0.9, 0.9, 0.9])[0] == 4
    # warm-up epochs are ignored: without it, patience 0 would stop at epoch 1
    assert run(EarlyStopping(patience=0, start_from_epoch=2), [1.0, 2.0, 3.0, 2.5, 2.6])[0] == 5


def test_restore_best_weights_on_scripted_values():
    cb = EarlyStopping(patience=2, restore_best_weights=True)
    epochs, model = run(cb, [1.0, 0.7, 0.8, 0.9, 0.6])
    assert epochs == 4 and cb.best_epoch == 1 and cb.stopped_epoch == 3
    assert model.weights[0][0] == 1.0
    epochs, model = run(EarlyStopping(patience=2), [1.0, 0.7, 0.8, 0.9])
    assert model.weights[0][0] == 3.0  # without restore_best_weights the last weights stay


class Snapshots(Callback):
    def on_train_begin(self, logs=None):
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def test_early_stopping_restores_the_best_weights_bit_for_bit():
    X, y = data.load("digits")
    X = X / 16.0
    rng = np.random.default_rng(0)
    model = Sequential([Dense(64, 128, "relu", rng=rng), Dense(128, 10, "softmax", rng=rng)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    snapshots = Snapshots()
    stopper = EarlyStopping(patience=3, restore_best_weights=True)
    history = model.fit(X[:60], y[:60], epochs=200, batch_size=20, validation_data=(X[1000:1400], y[1000:1400]),
                        callbacks=[snapshots, stopper], verbose=0, rng=rng)
    val = history.history["val_loss"]
    best = int(np.argmin(val))
    assert len(val) < 200 and len(val) == best + 4  # stopped, patience epochs after the best
    assert stopper.best_epoch == best and stopper.stopped_epoch == best + 3
    for restored, saved in zip(model.get_weights(), snapshots.weights[best]):
        assert np.array_equal(restored, saved)
    assert not np.array_equal(model.get_weights()[0], snapshots.weights[-1][0])
    assert model.evaluate(X[1000:1400], y[1000:1400]) == val[best]


@pytest.mark.parametrize("make, error, message", [
    (lambda: EarlyStopping(mode="biggest"), ValueError, "unknown mode 'biggest'"),
    (lambda: EarlyStopping(monitor="val_f1"), ValueError, "mode='auto' cannot tell"),
    (lambda: EarlyStopping(patience=-1), ValueError, "patience must be a non-negative integer"),
    (lambda: EarlyStopping(patience=1.5), ValueError, "patience must be"),
    (lambda: EarlyStopping(start_from_epoch=-2), ValueError, "start_from_epoch must be"),
    (lambda: EarlyStopping(min_delta=float("inf")), ValueError, "min_delta must be a finite"),
    (lambda: EarlyStopping(monitor=3), TypeError, "monitor must be"),
])
def test_early_stopping_bad_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_early_stopping_on_a_value_fit_does_not_log():
    rng = np.random.default_rng(0)
    model = Sequential([Dense(2, 1, rng=rng)]).compile("sgd", "mse")
    with pytest.raises(ValueError, match="EarlyStopping monitors 'val_loss', which fit did not record"):
        model.fit(rng.normal(size=(8, 2)), rng.normal(size=8), callbacks=[EarlyStopping()], verbose=0)


def test_set_weights_checks_shapes():
    model = Sequential([Dense(2, 3), Dense(3, 1)])
    with pytest.raises(ValueError, match="must hold 4 arrays"):
        model.set_weights([np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"expected an array of shape \(2, 3\)"):
        model.set_weights([np.zeros((3, 2)), np.zeros(3), np.zeros((3, 1)), np.zeros(1)])


# ---- max-norm (a constraint) --------------------------------------------------------------
def test_max_norm_projects_long_columns_and_leaves_short_ones():
    W = np.random.default_rng(0).normal(size=(16, 6))
    W[:, :3] *= 0.1  # three short columns
    out = MaxNorm(1.5)(W)
    norms = np.linalg.norm(W, axis=0)
    assert np.all(norms[:3] < 1.5) and np.all(norms[3:] > 1.5)
    assert np.array_equal(out[:, :3], W[:, :3])  # untouched, bit for bit
    assert np.allclose(np.linalg.norm(out[:, 3:], axis=0), 1.5, rtol=1e-15)
    assert np.allclose(out[:, 3:] / np.linalg.norm(out[:, 3:], axis=0),
                       W[:, 3:] / norms[3:], rtol=1e-14)  # same direction
    # torch.renorm divides by the norm + 1e-7: the same projection to about 1e-7
    twin = torch.renorm(torch.tensor(W), 2, 1, 1.5).numpy()
    assert relative_error(out, twin) < 1e-7
    rows = MaxNorm(1.0, axis=1)(W)
    assert np.all(np.linalg.norm(rows, axis=1) <= 1.0 + 1e-12)


@pytest.mark.parametrize("make, error, message", [
    (lambda: MaxNorm(0.0), ValueError, "max_value must be a positive finite number"),
    (lambda: MaxNorm(float("inf")), ValueError, "max_value must be a positive finite"),
    (lambda: MaxNorm(1.0, axis=0.5), TypeError, "axis must be an integer"),
    (lambda: MaxNorm(1.0, axis=2)(np.ones((2, 2))), ValueError, "axis 2 is out of range"),
    (lambda: Dense(3, 2, kernel_constraint="max_norm"), TypeError,
     "kernel_constraint must be a function"),
])
def test_max_norm_bad_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_train_on_batch_applies_the_constraint_after_each_step():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 5)), rng.integers(0, 3, 20)
    free = Sequential([Dense(5, 8, "relu", rng=1), Dense(8, 3, rng=2)])
    held = Sequential([Dense(5, 8, "relu", rng=1, kernel_constraint=MaxNorm(0.3)),
                       Dense(8, 3, rng=2)])
    for model in (free, held):
        model.compile(ddlopt.optim.SGD(model.parameters(), lr=0.5),
                      losses.get("sparse_categorical_crossentropy", from_logits=True))
        model.train_on_batch(X, y)
    # the constrained step is the free step, then the projection
    assert np.allclose(held.layers[0].W.data, MaxNorm(0.3)(free.layers[0].W.data), rtol=1e-14)
    assert np.array_equal(held.layers[1].W.data, free.layers[1].W.data)
    bad = Sequential([Dense(5, 3, rng=0, kernel_constraint=lambda W: W[:2])])
    bad.compile("sgd", "mse")
    with pytest.raises(ValueError, match="kernel_constraint returned shape"):
        bad.train_on_batch(X, np.zeros((20, 3)))


# ---- RandomShift: augmentation as a layer ------------------------------------------------
def test_random_shift_moves_training_images_by_at_most_one_pixel_and_is_identity_in_eval():
    from ddlopt.nn import RandomShift

    images = np.random.default_rng(0).random((400, 64)) + 1
    layer = RandomShift((8, 8), max_shift=1, rng=0)
    out = layer.forward(images)
    dy, dx = layer._offsets
    assert set(dy.tolist()) == set(dx.tolist()) == {-1, 0, 1}  # all nine offsets occur
    assert np.array_equal(out, data.shift_images(images, dy, dx))
    assert not np.array_equal(layer.forward(images), out)  # fresh offsets each pass
    layer.training = False
    assert layer.forward(images) is images
    assert layer.backward(images) is images


def test_random_shift_backprop_matches_autograd():
    from ddlopt.nn import RandomShift

    rng = np.random.default_rng(2)
    X, y = rng.random((16, 64)), rng.integers(0, 10, 16)
    loss = losses.get("sparse_categorical_crossentropy", from_logits=True)
    model = Sequential([RandomShift((8, 8), 1, rng=3), Dense(64, 10, rng=4)])
    model.compile("sgd", loss)
    grad_X = model.backward(loss.gradient(y, model.forward(X)))
    dy, dx = model.layers[0]._offsets
    # each image's shift as a 0/1 matrix (row k: pixel k moved), applied by torch
    x = torch.tensor(X, requires_grad=True)
    shifted = torch.stack([x[k] @ torch.tensor(data.shift_images(np.eye(64), dy[k], dx[k]))
                           for k in range(16)])
    assert np.array_equal(shifted.detach().numpy(), data.shift_images(X, dy, dx))
    dense = model.layers[1]
    z = shifted @ torch.tensor(dense.W.data) + torch.tensor(dense.b.data)
    F.cross_entropy(z, torch.tensor(y)).backward()
    assert relative_error(grad_X, x.grad.numpy()) < 1e-14


@pytest.mark.parametrize("make, message", [
    (lambda: __import__("ddlopt.nn", fromlist=["RandomShift"]).RandomShift((8,), 1),
     r"image_shape must be \(height, width\)"),
    (lambda: __import__("ddlopt.nn", fromlist=["RandomShift"]).RandomShift((8, 8), 8),
     "max_shift must be an integer from 0 to 7"),
])
def test_random_shift_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()
