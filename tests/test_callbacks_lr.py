"""The learning-rate callbacks of ddlopt.callbacks (chapter 6): Keras's ReduceLROnPlateau
and LearningRateScheduler, EpochScheduler, and what History's "lr" records."""

import numpy as np
import pytest

import ddlopt
from ddlopt import callbacks, data, schedules
from ddlopt.nn import Callback, Dense, Sequential
from ddlopt.optim import SGD


class FakeModel:
    """Just what the callbacks touch: an optimizer with param groups."""

    def __init__(self, lrs=(0.1,)):
        self.optimizer = SGD([{"params": [ddlopt.Parameter(np.zeros(1))], "lr": lr} for lr in lrs])


def drive(callback, values, monitor="val_loss", lrs=(0.1,)):
    """The learning rates (group 0) each epoch trains with, as fit records them."""
    model = FakeModel(lrs)
    callback.set_model(model)
    callback.on_train_begin()
    used = []
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch)
        used.append(model.optimizer.param_groups[0]["lr"])
        callback.on_epoch_end(epoch, {monitor: value})
    return used


def test_keras_cuts_after_patience_epochs_torch_after_one_more():
    """The loss stops improving after epoch 1; with patience 2, Keras's callback cuts at the
    end of epoch 3 (the second epoch without improvement) and again at the end of epoch 5;
    torch's scheduler at the end of epoch 4 (the third), and not again by epoch 6."""
    stream = [1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    keras_lrs = drive(callbacks.ReduceLROnPlateau(patience=2, factor=0.5), stream)
    assert keras_lrs == [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.025]

    optimizer = FakeModel().optimizer
    torch_rule = schedules.ReduceLROnPlateau(optimizer, patience=2, factor=0.5)
    torch_lrs = []
    for value in stream:
        torch_lrs.append(optimizer.param_groups[0]["lr"])
        torch_rule.step(value)
    assert torch_lrs == [0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05]


@pytest.mark.parametrize("mode, monitor, sign", [("min", "val_loss", 1), ("auto", "val_loss", 1),
                                                 ("max", "val_loss", -1), ("auto", "val_accuracy", -1)])
def test_keras_patience_p_is_torch_patience_p_minus_1_in_absolute_mode(mode, monitor, sign):
    """Without cooldown, Keras's rule (patience p, absolute min_delta) is torch's rule with
    patience p - 1 and threshold_mode="abs": the same cuts on a long noisy stream."""
    rng = np.random.default_rng(0)
    stream = sign * (0.3 + np.exp(-np.arange(300) / 30) + 0.02 * rng.normal(size=300))
    keras_lrs = drive(callbacks.ReduceLROnPlateau(monitor=monitor, mode=mode, patience=4,
                                                  factor=0.5, min_delta=1e-3, min_lr=1e-4),
                      stream, monitor=monitor)
    optimizer = FakeModel().optimizer
    torch_rule = schedules.ReduceLROnPlateau(optimizer, mode="min" if sign > 0 else "max",
                                             patience=3, factor=0.5, threshold=1e-3,
                                             threshold_mode="abs", min_lr=1e-4)
    torch_lrs = []
    for value in stream:
        torch_lrs.append(optimizer.param_groups[0]["lr"])
        torch_rule.step(value)
    assert len(set(keras_lrs)) > 4
    assert keras_lrs == torch_lrs


def test_keras_cooldown_and_min_lr():
    """After a cut, the cooldown's epochs are not counted; the rate stops at min_lr."""
    stream = [1.0] * 12
    lrs = drive(callbacks.ReduceLROnPlateau(patience=1, factor=0.5, cooldown=2, min_lr=0.03),
                stream)
    # epoch 0 sets best; 1 is bad -> cut (0.05); 2, 3 cool down (the counter reaches 0
    # during 3, which then counts as bad: Keras's cooldown is one epoch shorter than
    # torch's) -> cut at 3 (0.03 = min_lr); nothing below min_lr.
    assert lrs == [0.1, 0.1, 0.05, 0.05, 0.03] + [0.03] * 7


def test_reduce_on_plateau_acts_on_every_param_group_and_can_print(capsys):
    model = FakeModel(lrs=(0.1, 1.0))
    callback = callbacks.ReduceLROnPlateau(patience=1, factor=0.5, verbose=1)
    callback.set_model(model)
    callback.on_train_begin()
    for epoch in range(2):
        callback.on_epoch_end(epoch, {"val_loss": 1.0})
    assert [g["lr"] for g in model.optimizer.param_groups] == [0.05, 0.5]
    assert "Epoch 2: ReduceLROnPlateau setting learning rate to 0.05." in capsys.readouterr().out


def test_learning_rate_scheduler_calls_schedule_with_epoch_and_lr():
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return lr if epoch < 2 else lr * 0.5

    lrs = drive(callbacks.LearningRateScheduler(schedule), [0.0] * 5)
    assert lrs == [0.1, 0.1, 0.05, 0.025, 0.0125]
    assert seen == [(0, 0.1), (1, 0.1), (2, 0.1), (3, 0.05), (4, 0.025)]


def digits_model(lr=0.05):
    X, y = data.load("digits")
    (X_train, y_train), (X_val, y_val) = data.split(X, y, val_size=0.2, seed=0)
    X_train, X_val = data.standardize(X_train, X_val)
    model = Sequential([Dense(64, 16, "relu", rng=0), Dense(16, 10, "softmax", rng=1)])
    model.compile(optimizer=SGD(model.parameters(), lr=lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model, (X_train[:300], y_train[:300]), (X_val, y_val)


class Recorder(Callback):
    """The learning rate the optimizer holds while each epoch trains."""

    def __init__(self):
        self.lrs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.lrs.append(self.model.optimizer.param_groups[0]["lr"])


def test_history_lr_is_the_rate_each_epoch_trained_with():
    model, (X, y), validation = digits_model(lr=0.5)
    recorder = Recorder()
    cut = callbacks.ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5, min_delta=10.0)
    history = model.fit(X, y, epochs=5, validation_data=validation, verbose=0, rng=0,
                        callbacks=[recorder, cut])
    # min_delta=10 makes every epoch after the first "no improvement": a cut after each
    assert history.history["lr"] == recorder.lrs == [0.5, 0.5, 0.25, 0.125, 0.0625]

    model, (X, y), validation = digits_model()
    history = model.fit(X, y, epochs=4, verbose=0, rng=0, callbacks=[
        callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (1 + epoch))])
    assert history.history["lr"] == [0.1, 0.05, 0.1 / 3, 0.025]


def test_epoch_scheduler_steps_a_ddlopt_or_torch_scheduler_per_epoch():
    model, (X, y), validation = digits_model(lr=0.1)
    scheduler = schedules.StepLR(model.optimizer, step_size=2, gamma=0.1)
    history = model.fit(X, y, epochs=5, verbose=0, rng=0,
                        callbacks=[callbacks.EpochScheduler(scheduler)])
    np.testing.assert_allclose(history.history["lr"], [0.1, 0.1, 0.01, 0.01, 0.001], rtol=1e-15)

    model, (X, y), validation = digits_model(lr=0.1)
    plateau = schedules.ReduceLROnPlateau(model.optimizer, patience=0, threshold=10.0)
    history = model.fit(X, y, epochs=3, validation_data=validation, verbose=0, rng=0,
                        callbacks=[callbacks.EpochScheduler(plateau, monitor="val_accuracy")])
    # mode "min" on an accuracy that must drop 10x to count: every epoch after the first cuts
    np.testing.assert_allclose(history.history["lr"], [0.1, 0.01, 0.001], rtol=1e-15)

    other = SGD([ddlopt.Parameter(np.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="drives another optimizer than the model's"):
        model.fit(X, y, epochs=1, verbose=0,
                  callbacks=[callbacks.EpochScheduler(schedules.StepLR(other, 1))])


@pytest.mark.parametrize("make, error, message", [
    (lambda: callbacks.ReduceLROnPlateau(factor=1.0), ValueError, "Invalid factor value: 1.0"),
    (lambda: callbacks.ReduceLROnPlateau(mode="lowest"), ValueError, "mode must be 'auto', 'min' or 'max'"),
    (lambda: callbacks.ReduceLROnPlateau(monitor=3), TypeError, "monitor must be the name"),
    (lambda: callbacks.ReduceLROnPlateau(patience=-1), ValueError, "patience must be a non-negative integer"),
    (lambda: callbacks.ReduceLROnPlateau(cooldown=0.5), ValueError, "cooldown must be a non-negative integer"),
    (lambda: callbacks.ReduceLROnPlateau(min_delta=-1), ValueError, "Invalid min_delta value: -1"),
    (lambda: callbacks.ReduceLROnPlateau(min_lr=-1), ValueError, "Invalid min_lr value: -1"),
    (lambda: callbacks.LearningRateScheduler(0.1), TypeError, "schedule must be a function"),
    (lambda: callbacks.EpochScheduler(0.1), TypeError, "scheduler must be a learning-rate scheduler"),
])
def test_bad_arguments_raise(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_missing_monitor_and_bad_schedule_output_are_named():
    with pytest.raises(ValueError, match="monitors 'val_loss', which fit did not record; "
                                         "recorded: loss, accuracy, lr"):
        model, (X, y), _ = digits_model()
        model.fit(X, y, epochs=1, verbose=0, callbacks=[callbacks.ReduceLROnPlateau()])
    with pytest.raises(ValueError, match=r"schedule\(0, 0.1\) returned nan; it must return"):
        drive(callbacks.LearningRateScheduler(lambda epoch, lr: float("nan")), [0.0])
    with pytest.raises(ValueError, match=r"returned '0.1'"):
        drive(callbacks.LearningRateScheduler(lambda epoch, lr: "0.1"), [0.0])
