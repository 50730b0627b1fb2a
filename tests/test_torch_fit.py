"""ddlopt.torch.fit: the same History as the NumPy Sequential.fit (same numbers, from the same
weights and batches, in float64), schedulers, callbacks, devices, progress bar, bad input."""

import numpy as np
import pytest
import torch

import ddlopt.torch
from ddlopt import data, losses
from ddlopt.nn import Callback, Dense, Sequential
from ddlopt.optim import SGD, Adam
from ddlopt.torch import BatchLoader, fit


@pytest.fixture(scope="module")
def iris():
    X, y = data.load("iris")
    (X_train, y_train), (X_val, y_val) = data.split(X, y, seed=0)
    X_train, X_val = data.standardize(X_train, X_val)
    return X_train, y_train, X_val, y_val


def twin_models(seed, n_in, n_out, activation=None):
    """A NumPy MLP and a torch.nn MLP (float64) with the same initial weights."""
    numpy_model = Sequential([Dense(n_in, 16, "tanh", rng=seed), Dense(16, n_out, activation, rng=seed + 1)])
    torch_model = torch.nn.Sequential(torch.nn.Linear(n_in, 16), torch.nn.Tanh(),
                                      torch.nn.Linear(16, n_out)).double()
    with torch.no_grad():
        for linear, dense in zip(torch_model[::2], numpy_model.layers):
            linear.weight.copy_(torch.from_numpy(dense.W.data.T))
            linear.bias.copy_(torch.from_numpy(dense.b.data))
    return numpy_model, torch_model


def assert_histories_match(ours, theirs, rtol):
    assert list(ours.history) == list(theirs.history)
    assert ours.epoch == theirs.epoch
    for key in ours.history:
        np.testing.assert_allclose(theirs.history[key], ours.history[key], rtol=rtol, atol=0, err_msg=key)


def test_matches_the_numpy_fit_on_a_multiclass_problem(iris):
    X_train, y_train, X_val, y_val = iris
    numpy_model, torch_model = twin_models(0, 4, 3)
    numpy_model.compile(optimizer=Adam(numpy_model.parameters(), lr=0.01),
                        loss=losses.get("sparse_categorical_crossentropy", from_logits=True),
                        metrics=["accuracy"])
    ours = numpy_model.fit(X_train, y_train, epochs=15, batch_size=16,
                           validation_data=(X_val, y_val), verbose=0, rng=3)
    theirs = fit(torch_model, BatchLoader(X_train, y_train, 16, rng=3),
                 ddlopt.torch.Adam(torch_model.parameters(), lr=0.01), torch.nn.CrossEntropyLoss(),
                 epochs=15, val_loader=BatchLoader(X_val, y_val, 1000, shuffle=False),
                 metrics=["accuracy"], verbose=0)
    assert_histories_match(ours, theirs, rtol=1e-12)
    assert theirs.history["val_accuracy"][-1] > 0.9  # it did learn


def test_matches_the_numpy_fit_on_a_binary_problem_with_logits_and_probabilities(iris):
    X_train, y_train, X_val, y_val = iris
    y_train, y_val = (y_train == 0).astype(float), (y_val == 0).astype(float)
    for from_logits, loss_fn in [(True, torch.nn.BCEWithLogitsLoss()), (False, None)]:
        numpy_model, torch_model = twin_models(5, 4, 1, activation=None if from_logits else "sigmoid")
        if not from_logits:
            torch_model.append(torch.nn.Sigmoid())
            loss_fn = torch.nn.BCELoss()
        numpy_model.compile(optimizer=SGD(numpy_model.parameters(), lr=0.1, momentum=0.9),
                            loss=losses.get("binary_crossentropy", from_logits=from_logits),
                            metrics=["accuracy"])
        ours = numpy_model.fit(X_train, y_train, epochs=5, batch_size=32,
                               validation_data=(X_val, y_val), verbose=0, rng=1)
        theirs = fit(torch_model, BatchLoader(X_train, y_train[:, None], 32, rng=1),
                     ddlopt.torch.SGD(torch_model.parameters(), lr=0.1, momentum=0.9), loss_fn,
                     epochs=5, val_loader=[(torch.from_numpy(X_val), torch.from_numpy(y_val[:, None]))],
                     metrics=["acc"], verbose=0)
        # BCELoss clamps log(p) at -100, ours clips p to 1e-7: equal while no p is that extreme
        assert_histories_match(ours, theirs, rtol=1e-12)


def test_without_validation_or_metrics_only_loss_and_lr():
    X = torch.randn(20, 3, generator=torch.Generator().manual_seed(0))
    model = torch.nn.Linear(3, 1)
    history = fit(model, [(X, X.sum(1, keepdim=True))], torch.optim.SGD(model.parameters(), lr=0.1),
                  torch.nn.MSELoss(), epochs=3, verbose=0)
    assert list(history.history) == ["loss", "lr"] and history.epoch == [0, 1, 2]
    assert history.history["loss"][2] < history.history["loss"][0]


def small_problem(n=32):
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(n, 4, generator=gen)
    y = (X[:, 0] > 0).long()
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    return model, [(X[:16], y[:16]), (X[16:], y[16:])], [(X, y)]


def test_a_scheduler_is_stepped_once_an_epoch_and_lr_records_the_rate_used():
    model, train, val = small_problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    history = fit(model, train, optimizer, torch.nn.CrossEntropyLoss(), epochs=5, scheduler=scheduler,
                  verbose=0)
    assert history.history["lr"] == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_reduce_lr_on_plateau_gets_the_validation_loss():
    class Recording(torch.optim.lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics, epoch=None):
            seen.append(metrics)
            super().step(metrics)

    seen = []
    model, train, val = small_problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, train, optimizer, torch.nn.CrossEntropyLoss(), epochs=3, val_loader=val,
                  scheduler=Recording(optimizer), verbose=0)
    assert seen == history.history["val_loss"]
    with pytest.raises(ValueError, match="ReduceLROnPlateau scheduler steps on val_loss: pass val_loader"):
        fit(model, train, optimizer, torch.nn.CrossEntropyLoss(), epochs=1,
            scheduler=torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer), verbose=0)


def test_callbacks_see_every_epoch_and_can_stop_training():
    class StopAtTwo(Callback):
        def __init__(self):
            self.calls = []

        def on_train_begin(self, logs=None):
            self.calls.append("begin")

        def on_epoch_end(self, epoch, logs=None):
            self.calls.append((epoch, sorted(logs)))
            if epoch == 1:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            self.calls.append("end")

    model, train, val = small_problem()
    cb = StopAtTwo()
    history = fit(model, train, torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.CrossEntropyLoss(),
                  epochs=10, val_loader=val, callbacks=[cb], metrics=["accuracy"], verbose=0)
    keys = ["accuracy", "loss", "lr", "val_accuracy", "val_loss"]
    assert cb.model.module is model and cb.model.training is model.training  # the module, seen through
    assert history.epoch == [0, 1] and not hasattr(model, "stop_training")  # fit leaves the module alone
    assert cb.calls == ["begin", (0, keys), (1, keys), "end"]


def test_trains_in_train_mode_and_validates_in_eval_mode_without_gradients():
    class Spy(torch.nn.Linear):
        def forward(self, x):
            modes.append((self.training, torch.is_grad_enabled()))
            return super().forward(x)

    modes = []
    model, train, val = small_problem()
    model[2] = Spy(8, 2)
    fit(model, train, torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.CrossEntropyLoss(),
        epochs=1, val_loader=val, verbose=0)
    assert modes == [(True, True), (True, True), (False, False)]


def test_device_moves_the_model_and_each_batch():
    model, train, val = small_problem()
    moved = []

    class Tracking(torch.Tensor):  # records where .to() sends a batch
        def to(self, *args, **kwargs):
            moved.append(args[0])
            return super().to(*args, **kwargs)

    train = [(X.as_subclass(Tracking), y) for X, y in train]
    model.to(torch.float64)
    with pytest.raises(RuntimeError):  # float32 batches, float64 model: the batches do reach it
        fit(model, train, torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.CrossEntropyLoss(),
            epochs=1, verbose=0)
    model.to(torch.float32)
    fit(model, train, torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.CrossEntropyLoss(),
        epochs=1, device="cpu", verbose=0)
    assert moved[-2:] == [torch.device("cpu")] * 2
    assert next(model.parameters()).device == torch.device("cpu")
    with pytest.raises(RuntimeError, match="Expected one of|device"):
        fit(model, train, torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.CrossEntropyLoss(),
            epochs=1, device="no_such_device", verbose=0)


def test_verbose_shows_a_progress_bar_on_stderr(capsys):
    model, train, val = small_problem()
    fit(model, train, torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.CrossEntropyLoss(),
        epochs=2, verbose=1)
    out = capsys.readouterr()
    assert out.out == "" and "fit" in out.err and "2/2" in out.err
    fit(model, train, torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.CrossEntropyLoss(),
        epochs=2, verbose=0)
    assert capsys.readouterr().err == ""


def test_divergence_is_reported():
    model, train, val = small_problem()
    with torch.no_grad():
        model[0].weight.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="training diverged in epoch 1"):
        fit(model, train, torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.CrossEntropyLoss(),
            epochs=2, verbose=0)


def test_bad_arguments_are_named():
    model, train, val = small_problem()
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    ce = torch.nn.CrossEntropyLoss()
    cases = [
        (TypeError, "model must be a torch.nn.Module", dict(model=lambda x: x)),
        (TypeError, "optimizer must be a torch.optim.Optimizer, got SGD",
         dict(optimizer=ddlopt.optim.SGD([ddlopt.Parameter(np.zeros(1))], lr=0.1))),
        (TypeError, "loss_fn must be callable", dict(loss_fn="cross_entropy")),
        (ValueError, "epochs must be a positive integer, got 0", dict(epochs=0)),
        (ValueError, "epochs must be a positive integer, got True", dict(epochs=True)),
        (ValueError, "unknown metric 'f1'", dict(metrics=["f1"])),
        (ValueError, "'accuracy' on a single output needs loss_fn BCEWithLogitsLoss",
         dict(loss_fn=torch.nn.MSELoss(), metrics=["accuracy"])),
        (TypeError, "scheduler must have a step\\(\\) method", dict(scheduler=0.5)),
        (TypeError, "callbacks must follow ddlopt.nn.Callback's protocol", dict(callbacks=[print])),
        (ValueError, "a loader yielded no batches", dict(train_loader=iter([]))),
    ]
    for error, message, change in cases:
        arguments = dict(model=model, train_loader=train, optimizer=sgd, loss_fn=ce, epochs=1, verbose=0)
        arguments.update(change)
        with pytest.raises(error, match=message):
            fit(**arguments)


def test_batch_loader_reshuffles_each_epoch_like_the_numpy_fit():
    X, y = np.arange(10.0)[:, None], np.arange(10)
    loader = BatchLoader(X, y, batch_size=4, rng=0)
    assert len(loader) == 3
    first, second = ([b[1].tolist() for b in loader] for _ in range(2))
    rng = np.random.default_rng(0)
    for epoch in (first, second):
        order = rng.permutation(10).tolist()
        assert epoch == [order[:4], order[4:8], order[8:]]
    assert [b[1].tolist() for b in BatchLoader(X, y, 4, shuffle=False)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    with pytest.raises(ValueError, match="X has 10 rows but y has 9"):
        BatchLoader(X, y[:9])
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        BatchLoader(X, y, 0)


def test_ddlopt_callbacks_work_in_the_torch_fit_as_in_the_numpy_fit():
    """Keras's ReduceLROnPlateau cuts the torch optimizer's rate, and EarlyStopping restores the
    best epoch's weights, bit for bit, through fit's KerasModel view of the module."""
    from ddlopt.callbacks import EarlyStopping, ReduceLROnPlateau

    torch.manual_seed(0)  # the module's initial weights
    model, train, val = small_problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=5.0)  # too large: val_loss bounces

    class Snapshots(Callback):
        def __init__(self):
            self.weights = []

        def on_epoch_end(self, epoch, logs=None):
            self.weights.append([t.detach().clone() for t in model.state_dict().values()])

    snapshots = Snapshots()
    stop = EarlyStopping(min_delta=1e-3, patience=3, restore_best_weights=True)
    cut = ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.0)
    history = fit(model, train, optimizer, torch.nn.CrossEntropyLoss(), epochs=30,
                  val_loader=val, callbacks=[snapshots, cut, stop], verbose=0)
    val_loss, lrs = history.history["val_loss"], history.history["lr"]
    assert len(history.epoch) < 30 and stop.stopped_epoch == history.epoch[-1]
    assert min(lrs) < 5.0 and optimizer.param_groups[0]["lr"] < 5.0  # the plateau rule acted
    best = int(np.argmin(val_loss))
    assert stop.best_epoch == best
    for restored, saved in zip(model.state_dict().values(), snapshots.weights[best]):
        assert torch.equal(restored, saved)
    assert not all(torch.equal(a, b) for a, b in zip(snapshots.weights[best], snapshots.weights[-1]))
