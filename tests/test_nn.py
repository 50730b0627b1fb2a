"""ddlopt.nn: hand-written backprop against torch autograd, layer by layer, in float64; and
Keras's compile/fit workflow."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import ddlopt
from ddlopt import data, losses
from ddlopt.nn import Callback, Dense, Sequential
from ddlopt.optim import SGD

TORCH_ACTIVATIONS = {"linear": lambda z: z, "relu": torch.relu, "tanh": torch.tanh,
                     "sigmoid": torch.sigmoid, "softmax": lambda z: torch.softmax(z, -1)}


def relative_error(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


def torch_forward(model, X, fold):
    """The same network in torch, on the same weights; returns the output and per-layer
    tensors (weights, biases, activations) for gradient comparison."""
    x = torch.tensor(X)
    weights, biases, activations = [], [], []
    for i, layer in enumerate(model.layers):
        W = torch.tensor(layer.W.data, requires_grad=True)
        b = torch.tensor(layer.b.data, requires_grad=True)
        z = x @ W + b
        last = i == len(model.layers) - 1
        x = z if (fold and last) else TORCH_ACTIVATIONS[layer.activation](z)
        x.retain_grad()
        weights.append(W), biases.append(b), activations.append(x)
    return x, weights, biases, activations


CASES = [  # (layer sizes and activations, loss, torch loss on outputs, targets)
    ([(5, 8, "tanh"), (8, 6, "relu"), (6, 3, None)], "mse",
     lambda out, y: F.mse_loss(out, y), lambda r: r.normal(size=(16, 3))),
    ([(5, 8, "relu"), (8, 1, "sigmoid")], "binary_crossentropy",
     lambda out, y: F.binary_cross_entropy_with_logits(out, y),
     lambda r: r.integers(0, 2, (16, 1)).astype(float)),
    ([(5, 7, "sigmoid"), (7, 7, "tanh"), (7, 4, "softmax")], "sparse_categorical_crossentropy",
     lambda out, y: F.cross_entropy(out, y), lambda r: r.integers(0, 4, 16)),
    ([(5, 6, "relu"), (6, 4, "softmax")], "mse",  # softmax not folded: its own backward
     lambda out, y: F.mse_loss(out, y), lambda r: r.normal(size=(16, 4))),
    ([(5, 6, "tanh"), (6, 4, None)], ("categorical_crossentropy", {"from_logits": True}),
     lambda out, y: F.cross_entropy(out, y), lambda r: np.eye(4)[r.integers(0, 4, 16)]),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_gradients_match_autograd_layer_by_layer(case):
    spec, loss, torch_loss, make_y = CASES[case]
    rng = np.random.default_rng(case)
    model = Sequential([Dense(i, o, a, rng=rng) for i, o, a in spec])
    for layer in model.layers:  # non-zero biases, so their gradients are tested in general
        layer.b.data[:] = rng.normal(size=layer.b.data.shape)
    name, kwargs = loss if isinstance(loss, tuple) else (loss, {})
    model.compile(optimizer=SGD(model.parameters(), lr=0.1), loss=losses.get(name, **kwargs))
    X, y = rng.normal(size=(16, 5)), make_y(rng)

    out = model.forward(X, fold=model._fold)
    yy = model._targets(y, out)
    value = model._train_loss(yy, out)
    t_out, weights, biases, activations = torch_forward(model, X, model._fold)
    t_loss = torch_loss(t_out, torch.tensor(yy))
    t_loss.backward()
    assert relative_error(value, t_loss.item()) < 1e-12

    # layer by layer: dL/d(output of layer k) as it enters layer k's backward pass
    grad = model._train_loss.gradient(yy, out)
    for k in reversed(range(len(model.layers))):
        assert relative_error(grad, activations[k].grad.numpy()) < 1e-10, f"layer {k} output"
        grad = model.layers[k].backward(grad)
    for k, (layer, W, b) in enumerate(zip(model.layers, weights, biases)):
        assert relative_error(layer.W.grad, W.grad.numpy()) < 1e-10, f"layer {k} W"
        assert relative_error(layer.b.grad, b.grad.numpy()) < 1e-10, f"layer {k} b"


def test_gradients_accumulate_until_zero_grad():
    rng = np.random.default_rng(0)
    model = Sequential([Dense(3, 2, "tanh", rng=rng)])
    X = rng.normal(size=(4, 3))
    for _ in range(2):
        model.forward(X)
        model.backward(np.ones((4, 2)))
    once = Sequential([Dense(3, 2, "tanh", rng=np.random.default_rng(0))])
    once.forward(X)
    once.backward(np.ones((4, 2)))
    assert np.allclose(model.layers[0].W.grad, 2 * once.layers[0].W.grad, rtol=1e-14, atol=0)


def test_fit_reaches_95_percent_on_digits():
    ddlopt.set_seed(0)
    X, y = data.load("digits")
    (X_train, y_train), (X_val, y_val) = data.split(X, y, val_size=0.2, seed=0)
    X_train, X_val = data.standardize(X_train, X_val)
    model = Sequential([Dense(64, 64, "relu"), Dense(64, 10, "softmax")])
    model.compile(optimizer=SGD(model.parameters(), lr=0.1), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(X_train, y_train, epochs=20, batch_size=32,
                        validation_data=(X_val, y_val), verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert len(history.epoch) == 20 and history.history["lr"] == [0.1] * 20
    assert history.history["val_accuracy"][-1] >= 0.95
    assert history.history["loss"][-1] < history.history["loss"][0] / 5
    probs = model.predict(X_val)
    assert np.allclose(probs.sum(axis=1), 1.0)  # the folded softmax still gives probabilities
    loss, accuracy = model.evaluate(X_val, y_val)
    assert accuracy == history.history["val_accuracy"][-1] and loss == history.history["val_loss"][-1]


def breast_cancer_fit(seed, hidden, epochs, batch_size):
    """Keras style: names in compile, labels of shape (n,) for an (n, 1) output."""
    ddlopt.set_seed(seed)
    X, y = data.load("breast_cancer")
    X = data.standardize(X)
    model = Sequential([Dense(30, hidden, "relu"), Dense(hidden, 1, "sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    return model, X, model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0)


def test_fit_is_reproducible_after_set_seed():
    first, second = (breast_cancer_fit(3, 8, 3, 64)[2].history for _ in range(2))
    assert first == second


def test_keras_style_compile_with_names_and_binary_targets_of_shape_n():
    model, X, history = breast_cancer_fit(0, 16, 15, 32)
    assert history.history["accuracy"][-1] > 0.9  # the base rate is 0.63: it learned
    assert model.predict(X).shape == (569, 1)


def test_callbacks_see_every_epoch_and_can_stop_training():
    class StopAfterTwo(Callback):
        def __init__(self):
            self.seen = []

        def on_epoch_end(self, epoch, logs=None):
            self.seen.append((epoch, sorted(logs)))
            if epoch == 1:
                self.model.stop_training = True

    rng = np.random.default_rng(0)
    model = Sequential([Dense(2, 1, rng=rng)]).compile(optimizer="sgd", loss="mse")
    callback = StopAfterTwo()
    history = model.fit(rng.normal(size=(10, 2)), rng.normal(size=10), epochs=5, verbose=0,
                        callbacks=[callback])
    assert history.epoch == [0, 1] and callback.seen == [(0, ["loss", "lr"]), (1, ["loss", "lr"])]


def test_divergence_is_an_error_not_a_warning():
    rng = np.random.default_rng(0)
    model = Sequential([Dense(2, 8, "relu", rng=rng), Dense(8, 1, rng=rng)])
    model.compile(optimizer=SGD(model.parameters(), lr=100.0), loss="mse")
    with pytest.raises(FloatingPointError, match="training diverged: the loss is no longer finite.*lower the learning rate"):
        model.fit(rng.normal(size=(64, 2)), 100 * rng.normal(size=64), epochs=50, verbose=0)


@pytest.mark.parametrize("build, error, message", [
    (lambda: Dense(0, 3), ValueError, "in_features must be a positive integer, got 0"),
    (lambda: Dense(3, 2.5), ValueError, "out_features must be a positive integer"),
    (lambda: Dense(3, 2, "swish"), ValueError, "unknown activation 'swish'; known: linear, relu"),
    (lambda: Sequential([]), ValueError, "at least one layer"),
    (lambda: Sequential([Dense(3, 4), Dense(5, 1)]), ValueError, "gives 4 features but .* expects 5"),
    (lambda: Sequential([Dense(3, 1)]).compile(loss="mse", optimizer="nope"), ValueError, "unknown optimizer"),
    (lambda: Sequential([Dense(3, 1)]).compile(optimizer="sgd"), ValueError, "compile needs a loss"),
    (lambda: Sequential([Dense(3, 1)]).compile("sgd", "mse", ["accuracy"]), ValueError,
     "'accuracy' needs a classification loss"),
    (lambda: Sequential([Dense(3, 1)]).compile("sgd", "mse", ["f1"]), ValueError, "unknown metric 'f1'"),
    (lambda: Sequential([Dense(3, 2, "softmax")]).compile(
        "sgd", losses.get("categorical_crossentropy", from_logits=True)), ValueError,
     "from_logits=True but the last layer applies 'softmax'"),
    (lambda: Sequential([Dense(3, 1)]).compile(SGD([ddlopt.Parameter([0.0])]), "mse"), ValueError,
     "built over this model's parameters"),
    (lambda: Sequential([Dense(3, 1)]).fit(np.zeros((2, 3)), np.zeros(2)), RuntimeError,
     "call model.compile"),
    (lambda: Sequential([Dense(3, 1)]).compile("sgd", "mse").fit(np.zeros((2, 3)), np.zeros(3)),
     ValueError, "X has 2 rows but y has 3"),
    (lambda: Sequential([Dense(3, 1)]).compile("sgd", "mse").fit(np.zeros((2, 3)), np.zeros(2), epochs=0),
     ValueError, "epochs must be a positive integer"),
    (lambda: Sequential([Dense(3, 1)]).forward(np.zeros((2, 4))), ValueError,
     r"expects input of shape \(batch, 3\), got \(2, 4\)"),
])
def test_bad_input_raises_a_clear_error(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_verbose_fit_shows_a_progress_bar_on_stderr(capsys):
    rng = np.random.default_rng(0)
    model = Sequential([Dense(2, 1, rng=rng)]).compile(optimizer="sgd", loss="mse")
    model.fit(rng.normal(size=(8, 2)), rng.normal(size=8), epochs=3, verbose=1)
    captured = capsys.readouterr()
    assert "3/3" in captured.err and "loss=" in captured.err and captured.out == ""


# ---------------------------------------------------------------- Activation, a layer of its own
@pytest.mark.parametrize("name", ["linear", "relu", "tanh", "sigmoid", "softmax"])
def test_activation_layer_is_dense_split_in_two(name):
    """Dense(n, m, phi) and Dense(n, m) followed by Activation(phi): the same outputs and the
    same gradients, to the bit."""
    rng = np.random.default_rng(0)
    x, grad = rng.normal(size=(7, 5)), rng.normal(size=(7, 4))
    whole = Dense(5, 4, name, rng=1)
    product = Dense(5, 4, rng=1)
    split = Sequential([product, ddlopt.nn.Activation(name)])
    assert np.array_equal(whole.forward(x), split.forward(x))
    assert np.array_equal(whole.backward(grad), split.backward(grad))
    assert np.array_equal(whole.W.grad, product.W.grad)
    assert np.array_equal(whole.b.grad, product.b.grad)


@pytest.mark.parametrize("name, reference", [("relu", torch.relu), ("tanh", torch.tanh),
                                             ("sigmoid", torch.sigmoid)])
def test_activation_layer_matches_autograd(name, reference):
    rng = np.random.default_rng(1)
    x, grad = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    layer = ddlopt.nn.Activation(name)
    x_t = torch.tensor(x, requires_grad=True)
    out_t = reference(x_t)
    out_t.backward(torch.tensor(grad))
    assert np.allclose(layer.forward(x), out_t.detach().numpy(), rtol=1e-14, atol=0)
    assert np.allclose(layer.backward(grad), x_t.grad.numpy(), rtol=1e-14, atol=0)
    assert layer.parameters() == []


def test_a_last_softmax_activation_is_folded_into_the_cross_entropy():
    X, y = data.load("digits")
    X = X[:200] / 16.0
    y = y[:200]
    folded = Sequential([Dense(64, 10, rng=3), ddlopt.nn.Activation("softmax")])
    whole = Sequential([Dense(64, 10, "softmax", rng=3)])
    for model in (folded, whole):
        model.compile(SGD(model.parameters(), lr=0.1), loss="sparse_categorical_crossentropy")
        model.fit(X, y, epochs=2, batch_size=32, verbose=0, rng=0)
    assert folded._fold
    assert np.array_equal(folded.predict(X), whole.predict(X))
    assert np.allclose(folded.predict(X).sum(axis=1), 1.0)


def test_activation_layer_bad_input():
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        ddlopt.nn.Activation("gelu")
    layer = ddlopt.nn.Activation("relu")
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"Activation\('relu'\) got grad_out of shape \(2, 4\)"):
        layer.backward(np.ones((2, 4)))
    assert repr(layer) == "Activation('relu')"


def test_metrics_by_name_and_function_see_probabilities():
    """Keras's metrics by name ("binary_accuracy", "mse") or function (metrics.mae), keyed in
    the History by that name; they see probabilities even where the model trains on logits
    (the folded sigmoid), so "mse" here is the Brier score, not an error of logits."""
    from ddlopt import metrics

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(float)
    model = Sequential([Dense(3, 1, "sigmoid", rng=rng)])
    model.compile(optimizer="adam", loss="binary_crossentropy",
                  metrics=["binary_accuracy", "mse", metrics.mae, "accuracy"])
    history = model.fit(X, y, epochs=2, batch_size=40, verbose=0).history
    assert set(history) == {"loss", "binary_accuracy", "mse", "mean_absolute_error",
                            "accuracy", "lr"}
    results = model.evaluate(X, y, return_dict=True)
    p = model.predict(X)[:, 0]
    assert results["mse"] == pytest.approx(np.mean((p - y) ** 2), rel=1e-12)
    assert results["mean_absolute_error"] == pytest.approx(np.mean(np.abs(p - y)), rel=1e-12)
    assert results["binary_accuracy"] == results["accuracy"] == np.mean((p > 0.5) == y)
