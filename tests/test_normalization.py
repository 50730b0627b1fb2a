"""ddlopt.nn.BatchNorm and ddlopt.nn.LayerNorm against their PyTorch twins, torch's own
torch.nn.BatchNorm1d and torch.nn.LayerNorm, in float64: outputs, input gradients, parameter
gradients and running statistics over several steps in training mode and then in inference
mode; a Sequential with BatchNorm trained with SGD against the same network in torch, step
for step; every optimizer updating the affine parameters; and the errors bad inputs raise.

The hand-written backward and autograd sum in other orders: they agree to rounding. The
tolerance, 1e-12 relative to the largest value, holds with room over these few steps
(measured: at most 4e-14 for one layer, where a batch of two rows makes the input's
gradient a small difference, and 1.1e-13 for the network after 12 SGD steps)."""

import numpy as np
import pytest
import torch

import ddlopt
from ddlopt import optim
from ddlopt.nn import BatchNorm, Dense, Dropout, LayerNorm, Sequential

TOLERANCE = 1e-12
STEPS = 4


def relative_error(ours, reference):
    reference = reference.detach().numpy() if isinstance(reference, torch.Tensor) else reference
    return np.max(np.abs(ours - reference)) / max(np.max(np.abs(reference)), 1e-300)


def twin_of(layer):
    """torch's layer with the same settings and the same gamma and beta."""
    if isinstance(layer, BatchNorm):
        twin = torch.nn.BatchNorm1d(layer.num_features, eps=layer.eps, momentum=layer.momentum,
                                    affine=layer.affine, dtype=torch.float64)
    else:
        twin = torch.nn.LayerNorm(layer.num_features, eps=layer.eps,
                                  elementwise_affine=layer.affine, dtype=torch.float64)
    if layer.affine:
        with torch.no_grad():
            twin.weight.copy_(torch.from_numpy(layer.gamma.data))
            twin.bias.copy_(torch.from_numpy(layer.beta.data))
    return twin


def one_step(layer, twin, x, grad_out):
    """Forward and backward through both; returns the largest relative error over the
    output, the input's gradient and the parameters' gradients."""
    for p in layer.parameters():
        p.grad = None
    out = layer.forward(x)
    grad_x = layer.backward(grad_out)
    x_t = torch.tensor(x, requires_grad=True)
    twin.zero_grad()
    out_t = twin(x_t)
    out_t.backward(torch.from_numpy(grad_out))
    errors = [relative_error(out, out_t), relative_error(grad_x, x_t.grad)]
    if layer.affine:
        errors += [relative_error(layer.gamma.grad, twin.weight.grad),
                   relative_error(layer.beta.grad, twin.bias.grad)]
    return max(errors)


def batches(rng, sizes, features):
    """Inputs far from standardized (offsets and scales per feature), and gradients."""
    offset, scale = rng.normal(3.0, 2.0, features), rng.uniform(0.1, 5.0, features)
    for m in sizes:
        yield offset + scale * rng.normal(size=(m, features)), rng.normal(size=(m, features))


def move_parameters(layer, twin, rng):
    """Stand in for an optimizer step, the same in both, so gamma and beta leave 1 and 0."""
    for ours, theirs in zip(layer.parameters(), twin.parameters()):
        ours.data += rng.normal(scale=0.3, size=ours.data.shape)
        with torch.no_grad():
            theirs.copy_(torch.from_numpy(ours.data))


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_matches_torch_batchnorm1d_in_training_then_inference_mode(momentum, affine):
    rng = np.random.default_rng(0)
    layer = BatchNorm(5, eps=1e-3, momentum=momentum, affine=affine)
    twin = twin_of(layer)
    worst = 0.0
    for step, (x, grad_out) in enumerate(batches(rng, [8, 3, 16, 2], 5)):
        worst = max(worst, one_step(layer, twin, x, grad_out))
        worst = max(worst, relative_error(layer.running_mean, twin.running_mean),
                    relative_error(layer.running_var, twin.running_var))
        assert layer.num_batches_tracked == twin.num_batches_tracked.item() == step + 1
        move_parameters(layer, twin, rng)
    assert np.max(np.abs(layer.running_var - 1)) > 0.1   # the statistics moved
    saved = layer.running_mean.copy(), layer.running_var.copy()
    layer.training = False
    twin.eval()
    for x, grad_out in batches(rng, [6, 1], 5):   # one row is fine in inference mode
        worst = max(worst, one_step(layer, twin, x, grad_out))
    assert np.array_equal(layer.running_mean, saved[0])   # inference leaves them alone
    assert np.array_equal(layer.running_var, saved[1])
    assert worst <= TOLERANCE


@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_matches_torch_layernorm_in_both_modes(affine):
    rng = np.random.default_rng(1)
    layer = LayerNorm(7, eps=1e-4, elementwise_affine=affine)
    twin = twin_of(layer)
    worst = 0.0
    for training in (True, False):
        layer.training = training
        twin.train(training)
        for x, grad_out in batches(rng, [4, 1, 9], 7):
            worst = max(worst, one_step(layer, twin, x, grad_out))
            move_parameters(layer, twin, rng)
    assert worst <= TOLERANCE


def test_batchnorm_inference_uses_the_running_statistics_row_by_row():
    layer = BatchNorm(3, eps=0.25)
    layer.running_mean[...] = [1.0, 2.0, 3.0]
    layer.running_var[...] = [4.0, 0.75, 0.0]
    layer.gamma.data[...] = [2.0, 1.0, 1.0]
    layer.training = False
    out = layer.forward(np.array([[3.0, 3.0, 3.5]]))
    assert np.allclose(out, [[2.0 * 2.0 / np.sqrt(4.25), 1.0, 0.5 / np.sqrt(0.25)]],
                       rtol=1e-15)


def test_the_backward_formula_is_the_gradient_of_the_normalization():
    """Finite differences on the shared formula, independently of torch."""
    rng = np.random.default_rng(2)
    x, weights = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    layer = BatchNorm(4, affine=False)

    def loss(inputs):
        layer.forward(inputs)
        return np.sum(weights * layer._x_hat)

    loss(x)
    analytic = layer.backward(weights)
    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = 1e-6
        numeric[index] = (loss(x + step) - loss(x - step)) / 2e-6
    assert relative_error(analytic, numeric) < 1e-7


def torch_twin(model):
    """torch.nn.Sequential equal to a Sequential of Dense (relu or linear) and BatchNorm."""
    modules = []
    for layer in model.layers:
        if isinstance(layer, BatchNorm):
            modules.append(twin_of(layer))
            continue
        linear = torch.nn.Linear(layer.in_features, layer.out_features, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.W.data.T))
            linear.bias.copy_(torch.from_numpy(layer.b.data))
        modules.append(linear)
        if layer.activation == "relu":
            modules.append(torch.nn.ReLU())
    return torch.nn.Sequential(*modules)


def state(model):
    """Every weight and running statistic, in get_weights order, from the torch twin."""
    arrays = []
    for module in model:
        if isinstance(module, torch.nn.Linear):
            arrays += [module.weight.T, module.bias]
        elif isinstance(module, torch.nn.BatchNorm1d):
            arrays += [module.weight, module.bias, module.running_mean, module.running_var]
    return arrays


def test_sequential_with_batchnorm_trains_as_torch_does_step_for_step():
    rng = np.random.default_rng(3)
    X = rng.normal(2.0, 3.0, size=(50, 5))
    y = np.tanh(X[:, :3] / 3) + 0.1 * rng.normal(size=(50, 3))
    model = Sequential([Dense(5, 16, "relu", rng=rng), BatchNorm(16, momentum=0.2),
                        Dense(16, 3, rng=rng)])
    twin, initial = torch_twin(model), model.get_weights()
    model.compile(optim.SGD(model.parameters(), lr=0.05, momentum=0.9), loss="mse")
    reference = torch.optim.SGD(twin.parameters(), lr=0.05, momentum=0.9)
    worst = 0.0
    for epoch in range(3):
        for start in range(0, 50, 16):   # the last batch has 2 rows
            Xb, yb = X[start:start + 16], y[start:start + 16]
            loss, _ = model.train_on_batch(Xb, yb)
            reference.zero_grad()
            loss_t = torch.nn.functional.mse_loss(twin(torch.from_numpy(Xb)), torch.from_numpy(yb))
            loss_t.backward()
            reference.step()
            worst = max([worst, abs(loss - loss_t.item()) / loss_t.item()] +
                        [relative_error(a, b) for a, b in zip(model.get_weights(), state(twin))])
    twin.eval()
    predictions = model.predict(X)
    assert model.training   # predict ran in inference mode and came back
    worst = max(worst, relative_error(predictions, twin(torch.from_numpy(X))))
    assert worst <= TOLERANCE
    # and fit, with the same batches in the same order, takes the same steps to the bit
    again = Sequential([Dense(5, 16, "relu"), BatchNorm(16, momentum=0.2), Dense(16, 3)])
    again.set_weights(initial)
    again.compile(optim.SGD(again.parameters(), lr=0.05, momentum=0.9), loss="mse")
    again.fit(X, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    for ours, theirs in zip(again.get_weights(), model.get_weights(), strict=True):
        assert np.array_equal(ours, theirs)


OPTIMIZERS = [optim.SGD, optim.Adagrad, optim.RMSprop, optim.KerasRMSprop, optim.Adam,
              optim.AdamW, optim.NAdam, optim.KerasAdam, optim.Adadelta, optim.Adamax,
              optim.RAdam, optim.Adafactor, optim.Lion, optim.AdamWScheduleFree]


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=lambda cls: cls.__name__)
def test_every_optimizer_updates_gamma_and_beta(cls):
    """(Muon takes matrices only, as torch's does: norms and biases go to AdamW.)"""
    rng = np.random.default_rng(4)
    model = Sequential([Dense(3, 4, rng=rng), BatchNorm(4), LayerNorm(4), Dense(4, 1, rng=rng)])
    model.compile(cls(model.parameters()), loss="mse")
    if hasattr(model.optimizer, "train"):
        model.optimizer.train()   # Schedule-Free steps in its training mode
    norms = [p for layer in model.layers[1:3] for p in layer.parameters()]
    assert len(norms) == 4 and all(id(p) in map(id, model.parameters()) for p in norms)
    before = [p.data.copy() for p in norms]
    model.train_on_batch(rng.normal(size=(8, 3)), rng.normal(size=(8, 1)))
    assert all(np.all(p.data != b) for p, b in zip(norms, before))


def test_get_weights_carries_the_running_statistics_in_keras_order():
    rng = np.random.default_rng(5)
    model = Sequential([Dense(3, 4, rng=rng), BatchNorm(4), Dense(4, 2, rng=rng)])
    model.compile("sgd", loss="mse")
    X, y = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    saved = model.get_weights()
    assert [w.shape for w in saved] == [(3, 4), (4,), (4,), (4,), (4,), (4,), (4, 2), (2,)]
    model.fit(X, y, epochs=2, batch_size=5, verbose=0)
    bn = model.layers[1]
    assert not np.array_equal(bn.running_mean, saved[4])
    model.set_weights(saved)   # in place: the layer keeps its arrays
    assert np.array_equal(bn.running_mean, saved[4]) and np.array_equal(bn.running_var, saved[5])
    assert bn.buffers()[0] is bn.running_mean


def test_lr_finder_leaves_the_running_statistics_as_they_were():
    rng = np.random.default_rng(6)
    model = Sequential([Dense(3, 8, "relu", rng=rng), BatchNorm(8), Dense(8, 1, rng=rng)])
    model.compile("sgd", loss="mse")
    X, y = rng.normal(size=(64, 3)), rng.normal(size=(64, 1))
    before = model.get_weights()
    ddlopt.lr_finder(model, (X, y), num_iter=10, batch_size=16, rng=rng)
    for ours, saved in zip(model.get_weights(), before, strict=True):
        assert np.array_equal(ours, saved)


def test_sequential_switches_the_mode_and_checks_the_widths():
    model = Sequential([Dense(3, 4), BatchNorm(4), Dropout(0.1), LayerNorm(4), Dense(4, 2)])
    model.eval()
    assert not any(layer.training for layer in model.layers)
    model.train()
    assert all(layer.training for layer in model.layers)
    with pytest.raises(ValueError, match=r"gives 4 features but BatchNorm\(5"):
        Sequential([Dense(3, 4), BatchNorm(5)])
    with pytest.raises(ValueError, match=r"LayerNorm\(4, eps=1e-05\) gives 4 features"):
        Sequential([Dense(3, 4), LayerNorm(4), Dense(6, 1)])


@pytest.mark.parametrize("make, error, message", [
    (lambda: BatchNorm(0), ValueError, "num_features must be a positive integer, got 0"),
    (lambda: BatchNorm(4.0), ValueError, "num_features must be a positive integer"),
    (lambda: BatchNorm(4, momentum=1.5), ValueError, "momentum must be between 0 and 1"),
    (lambda: BatchNorm(4, momentum=-0.1), ValueError, "momentum must be between 0 and 1"),
    (lambda: BatchNorm(4, momentum="0.1"), TypeError, "momentum must be a number"),
    (lambda: BatchNorm(4, momentum=True), TypeError, "momentum must be a number"),
    (lambda: BatchNorm(4, eps=0), ValueError, "eps must be a positive finite number, got 0"),
    (lambda: BatchNorm(4, eps=-1e-5), ValueError, "eps must be a positive finite number"),
    (lambda: BatchNorm(4, eps=float("nan")), ValueError, "eps must be a positive finite"),
    (lambda: BatchNorm(4, eps=float("inf")), ValueError, "eps must be a positive finite"),
    (lambda: BatchNorm(4, eps="1e-5"), TypeError, "eps must be a positive number"),
    (lambda: BatchNorm(4, affine=1), TypeError, "affine must be True or False"),
    (lambda: LayerNorm(0), ValueError, "normalized_shape must be a positive integer"),
    (lambda: LayerNorm("4"), ValueError, "normalized_shape must be a positive integer"),
    (lambda: LayerNorm((4, 5)), ValueError, r"normalized_shape must be the number of features"),
    (lambda: LayerNorm(4, eps=0.0), ValueError, "eps must be a positive finite number"),
    (lambda: LayerNorm(4, elementwise_affine="no"), TypeError,
     "elementwise_affine must be True or False"),
])
def test_bad_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_tuple_of_one_is_the_number_of_features():
    assert LayerNorm((6,)).num_features == LayerNorm([6]).num_features == 6


@pytest.mark.parametrize("layer", [BatchNorm(4), LayerNorm(4)], ids=["BatchNorm", "LayerNorm"])
@pytest.mark.parametrize("x, error, message", [
    (np.ones((8, 3)), ValueError, r"expects input of shape \(batch, 4\), got \(8, 3\)"),
    (np.ones(4), ValueError, r"expects input of shape \(batch, 4\), got \(4,\)"),
    (np.ones((2, 4, 1)), ValueError, r"expects input of shape \(batch, 4\)"),
    (np.full((3, 4), "a"), TypeError, "expects an array of real numbers, got dtype <U1"),
])
def test_bad_inputs_name_the_layer_and_the_shape(layer, x, error, message):
    with pytest.raises(error, match=message):
        layer.forward(x)


def test_batchnorm_refuses_a_batch_of_one_row_in_training_mode_only():
    layer = BatchNorm(4)
    with pytest.raises(ValueError, match=r"BatchNorm\(4.*at least 2 rows .*got 1"):
        layer.forward(np.ones((1, 4)))
    assert layer.num_batches_tracked == 0 and np.all(layer.running_var == 1)   # untouched
    layer.training = False
    assert layer.forward(np.ones((1, 4))).shape == (1, 4)
    assert LayerNorm(4).forward(np.arange(4.0)[None]).shape == (1, 4)   # a row is enough


def test_backward_refuses_a_gradient_of_another_shape():
    layer = LayerNorm(4)
    layer.forward(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"grad_out of shape \(2, 4\); its last forward"):
        layer.backward(np.ones((2, 4)))


def test_integer_inputs_are_normalized_as_floats():
    layer = LayerNorm(3, elementwise_affine=False)
    out = layer.forward(np.array([[1, 2, 3]]))
    assert out.dtype == np.float64
    assert np.allclose(out, np.array([[-1.0, 0.0, 1.0]]) / np.sqrt(2 / 3 + 1e-5), rtol=1e-15)


def test_repr():
    assert repr(BatchNorm(8)) == "BatchNorm(8, eps=1e-05, momentum=0.1)"
    assert repr(BatchNorm(8, momentum=None, affine=False)) == \
        "BatchNorm(8, eps=1e-05, momentum=None, affine=False)"
    assert repr(LayerNorm(8, eps=1e-3)) == "LayerNorm(8, eps=0.001)"
