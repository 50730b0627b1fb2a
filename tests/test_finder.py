"""The learning-rate finder (ddlopt.lr_finder, ddlopt.torch.lr_finder): the range test's
numbers, its suggestion rules, and that it leaves model and optimizer exactly as it found them."""

import copy
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import ddlopt
from ddlopt import data, finder
from ddlopt.nn import Dense, Sequential
from ddlopt.optim import SGD


@pytest.fixture(scope="module")
def digits():
    X, y = data.load("digits")
    (X_train, y_train), _ = data.split(X, y, val_size=0.2, seed=0)
    X_train, _ = data.standardize(X_train, X_train)
    return X_train, y_train


def numpy_mlp(optimizer=lambda params: SGD(params, lr=0.01, momentum=0.9)):
    model = Sequential([Dense(64, 32, "relu", rng=0), Dense(32, 10, "softmax", rng=1)])
    return model.compile(optimizer=optimizer(model.parameters()),
                         loss="sparse_categorical_crossentropy")


def torch_twin(model):
    """A torch.nn model with the NumPy model's weights, in float64."""
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(),
                              torch.nn.Linear(32, 10)).double()
    with torch.no_grad():
        for linear, dense in zip(net[::2], model.layers):
            linear.weight.copy_(torch.from_numpy(dense.W.data.T))
            linear.bias.copy_(torch.from_numpy(dense.b.data))
    return net


def test_the_test_grows_the_rate_exponentially_and_smooths_with_bias_correction(digits):
    model = numpy_mlp()
    result = ddlopt.lr_finder(model, digits, start_lr=1e-5, end_lr=1e2, num_iter=60, rng=0)
    n = len(result.lrs)
    np.testing.assert_allclose(result.lrs, (1e-5 * 1e7 ** (np.arange(60) / 59))[:n], rtol=1e-14)
    average, expected = 0.0, []
    for i, loss in enumerate(result.raw_losses):
        average = 0.98 * average + 0.02 * loss
        expected.append(average / (1 - 0.98 ** (i + 1)))
    np.testing.assert_allclose(result.losses, expected, rtol=1e-14)
    assert result.losses[0] == pytest.approx(result.raw_losses[0], rel=1e-14)
    # it diverged before 1e2 and stopped there, when the smoothed loss passed 5x the best
    assert result.diverged and n < 60
    assert result.losses[-1] > 5 * result.losses.min()
    assert np.all(result.losses[:-1] <= 5 * np.minimum.accumulate(result.losses)[:-1])
    assert result.suggestion == pytest.approx(result.min_loss_lr / 10)
    assert 1e-3 < result.suggestion < 1.0


def fake_curve(loss_of_lr, **kwargs):
    """range_test on a loss that is a known function of the learning rate (no smoothing)."""
    optimizer = SimpleNamespace(param_groups=[{"lr": None}])  # what range_test needs of one
    return finder.range_test(lambda: loss_of_lr(optimizer.param_groups[0]["lr"]), optimizer,
                             start_lr=1e-6, end_lr=1e2, num_iter=81, smooth=0.0, **kwargs)


def test_the_suggestion_rules_on_a_known_curve():
    # falls fastest at lr = 1e-4 (x = -4), flat from 1e-3 to 1e-1, lowest at x = -1.5,
    # then rises
    def loss(lr):
        x = math.log10(lr)
        return 2 - math.tanh(2 * (x + 4)) + 0.01 * (x + 1.5) ** 2 + (max(0.0, x + 1) ** 2)

    result = fake_curve(loss, diverge_th=1e9)
    assert result.min_loss_lr == pytest.approx(10**-1.5, rel=1e-12)
    assert result.suggestion == pytest.approx(10**-2.5, rel=1e-12)  # "min/10"
    assert result.suggest("steepest") == pytest.approx(1e-4, rel=1e-12)
    assert fake_curve(loss, diverge_th=1e9, rule="steepest").suggestion == \
        pytest.approx(1e-4, rel=1e-12)
    assert not result.diverged and len(result.lrs) == 81


def test_it_stops_at_divergence_and_at_a_non_finite_loss():
    result = fake_curve(lambda lr: 1.0 if lr < 1e-2 else 10.0, diverge_th=5.0)
    assert result.diverged and result.lrs[-1] == pytest.approx(1e-2, rel=1e-12)
    result = fake_curve(lambda lr: 1.0 if lr < 1e-3 else math.inf)
    assert result.diverged and result.lrs[-1] < 1e-3
    with pytest.raises(FloatingPointError, match="not finite at start_lr=1e-06"):
        fake_curve(lambda lr: math.nan)


def assert_same_numpy_state(model, before):
    params, grads, optimizer_state, step_count = before
    for p, value, grad in zip(model.parameters(), params, grads):
        np.testing.assert_array_equal(p.data, value)
        assert (grad is None and p.grad is None) or np.array_equal(p.grad, grad)
    after = model.optimizer.state_dict()
    assert after["param_groups"] == optimizer_state["param_groups"]
    assert after["state"].keys() == optimizer_state["state"].keys()
    for i, state in optimizer_state["state"].items():
        assert after["state"][i].keys() == state.keys()
        for key, value in state.items():
            np.testing.assert_array_equal(after["state"][i][key], value)
    assert model.optimizer._step_count == step_count


@pytest.mark.parametrize("optimizer", [lambda ps: SGD(ps, lr=0.01, momentum=0.9),
                                       lambda ps: ddlopt.optim.Adam(ps, lr=1e-3)])
def test_numpy_model_and_optimizer_come_back_bit_equal(digits, optimizer):
    X, y = digits
    model, untouched = numpy_mlp(optimizer), numpy_mlp(optimizer)
    for m in (model, untouched):  # some state to restore: momentum buffers, moments, steps
        m.fit(X, y, epochs=1, batch_size=64, verbose=0, rng=3)
    model.train_on_batch(X[:10], y[:10])
    untouched.train_on_batch(X[:10], y[:10])  # leaves gradients in .grad
    before = ([p.data.copy() for p in model.parameters()],
              [p.grad.copy() for p in model.parameters()],
              copy.deepcopy(model.optimizer.state_dict()), model.optimizer._step_count)
    ddlopt.lr_finder(model, digits, end_lr=100.0, num_iter=50, rng=0)
    assert_same_numpy_state(model, before)
    # and training goes on exactly as if the finder had never run
    a = model.fit(X, y, epochs=2, verbose=0, rng=4).history["loss"]
    b = untouched.fit(X, y, epochs=2, verbose=0, rng=4).history["loss"]
    assert a == b


def test_numpy_restores_even_when_the_test_fails(digits):
    model = numpy_mlp()
    before = ([p.data.copy() for p in model.parameters()], [None] * 4,
              copy.deepcopy(model.optimizer.state_dict()), 0)
    train_on_batch, calls = model.train_on_batch, []

    def fails_on_the_fourth_batch(X, y):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt  # the reader stops the test
        return train_on_batch(X, y)

    model.train_on_batch = fails_on_the_fourth_batch
    with pytest.raises(KeyboardInterrupt):
        ddlopt.lr_finder(model, digits, num_iter=10)
    assert_same_numpy_state(model, before)


def numpy_batches_as_torch(X, y, batch_size, rng, count):
    stream = finder._numpy_batches(X, y, batch_size, np.random.default_rng(rng))
    return [tuple(map(torch.from_numpy, next(stream))) for _ in range(count)]


def test_torch_finder_matches_the_numpy_finder(digits):
    """Same weights, same batches, same SGD: the same curve, to rounding."""
    X, y = digits
    model = numpy_mlp()
    ours = ddlopt.lr_finder(model, digits, end_lr=10.0, num_iter=80, batch_size=32, rng=5)
    net = torch_twin(numpy_mlp())
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    batches = numpy_batches_as_torch(X, y, 32, 5, 80)
    theirs = ddlopt.lr_finder(net, batches, optimizer=optimizer,
                              loss_fn=torch.nn.CrossEntropyLoss(), end_lr=10.0, num_iter=80)
    assert len(ours.lrs) == len(theirs.lrs) > 20
    np.testing.assert_array_equal(ours.lrs, theirs.lrs)
    np.testing.assert_allclose(ours.losses, theirs.losses, rtol=1e-9)
    assert ours.suggestion == theirs.suggestion


def test_torch_model_and_optimizer_come_back_bit_equal(digits):
    X, y = digits
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.BatchNorm1d(32),
                              torch.nn.ReLU(), torch.nn.Linear(32, 10))
    optimizer = torch.optim.AdamW([{"params": net[0].parameters(), "lr": 1e-3},
                                   {"params": [*net[1].parameters(), *net[3].parameters()]}],
                                  lr=3e-3, amsgrad=True)
    X_t, y_t = torch.from_numpy(X).float(), torch.from_numpy(y)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X_t, y_t),
                                         batch_size=64, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    loss_fn = torch.nn.CrossEntropyLoss()
    for inputs, targets in itertools_take(loader, 5):  # some optimizer state to restore
        optimizer.zero_grad()
        loss_fn(net(inputs), targets).backward()
        optimizer.step()
    net.eval()
    model_before = copy.deepcopy(net.state_dict())
    optimizer_before = copy.deepcopy(optimizer.state_dict())
    grads_before = [p.grad.clone() for p in net.parameters()]

    result = ddlopt.torch.lr_finder(net, optimizer, loss_fn, loader, start_lr=1e-6,
                                    end_lr=10.0, num_iter=60)
    assert len(result.lrs) > 30  # it trained (the DataLoader has 23 batches: it cycled)

    assert not net.training
    for key, value in model_before.items():
        assert torch.equal(net.state_dict()[key], value), key
    for p, grad in zip(net.parameters(), grads_before):
        assert torch.equal(p.grad, grad)
    after = optimizer.state_dict()
    assert after["param_groups"] == optimizer_before["param_groups"]
    for i, state in optimizer_before["state"].items():
        for key, value in state.items():
            assert torch.equal(after["state"][i][key], value), (i, key)


def test_skip_start_leaves_a_noisy_start_out_of_the_steepest_rule():
    def loss(lr):  # the known curve above, plus a drop of 1 within the first batches
        x = math.log10(lr)
        return (2 - math.tanh(2 * (x + 4)) + 0.01 * (x + 1.5) ** 2 + (max(0.0, x + 1) ** 2)
                + (1.0 if lr < 1.5e-6 else 0.0))

    result = fake_curve(loss, diverge_th=1e9)
    assert result.suggest("steepest") < 2e-6  # the drop at the start is the steepest slope
    assert result.suggest("steepest", skip_start=5) == pytest.approx(1e-4, rel=1e-12)
    assert result.suggest("min/10", skip_start=5) == result.suggestion  # min/10: no effect
    lowest = int(np.argmin(result.losses))
    assert result.suggest("steepest", skip_start=lowest) == result.min_loss_lr / 10  # nothing left
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="skip_start must be a non-negative integer"):
            result.suggest("steepest", skip_start=bad)


def itertools_take(iterable, n):
    return [batch for _, batch in zip(range(n), iterable)]


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(start_lr=0), ValueError, "start_lr must be positive"),
    (dict(start_lr=-1e-3), ValueError, "Invalid start_lr value: -0.001"),
    (dict(start_lr=1.0, end_lr=0.1), ValueError, "end_lr must be larger than start_lr"),
    (dict(num_iter=1), ValueError, "num_iter must be an integer >= 2, got 1"),
    (dict(num_iter=10.5), ValueError, "num_iter must be an integer >= 2"),
    (dict(smooth=1.0), ValueError, "Invalid smooth value: 1.0"),
    (dict(diverge_th=0.5), ValueError, "Invalid diverge_th value: 0.5"),
    (dict(rule="valley?"), ValueError,
     "rule must be one of 'min/10', 'steepest', 'valley', got 'valley\\?'"),
    (dict(batch_size=0), ValueError, "batch_size must be an integer from 1 to len"),
])
def test_bad_arguments_raise_naming_them(digits, kwargs, error, message):
    with pytest.raises(error, match=message):
        ddlopt.lr_finder(numpy_mlp(), digits, **kwargs)


def test_bad_models_and_data_raise(digits):
    with pytest.raises(TypeError, match="model must be a compiled ddlopt.nn.Sequential"):
        ddlopt.lr_finder(Sequential([Dense(64, 10)]), digits)
    with pytest.raises(TypeError, match=r"data must be a tuple \(X, y\)"):
        ddlopt.lr_finder(numpy_mlp(), digits[0])
    net = torch.nn.Linear(64, 10)
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer"):
        ddlopt.lr_finder(net, [], optimizer=SGD(numpy_mlp().parameters()), loss_fn=abs)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        ddlopt.torch.lr_finder(numpy_mlp(), torch.optim.SGD(net.parameters()), abs, [])
    with pytest.raises(TypeError, match="loss_fn must be callable: a function"):
        ddlopt.torch.lr_finder(net, torch.optim.SGD(net.parameters()), None, [])
    with pytest.raises(ValueError, match="batches yielded nothing"):
        ddlopt.torch.lr_finder(net, torch.optim.SGD(net.parameters()), abs, [])
    with pytest.raises(ValueError, match="rule must be one of"):
        fake_curve(lambda lr: 1.0).suggest("best")


def test_the_plot_marks_the_suggestion_on_a_log_axis():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = fake_curve(lambda lr: 1.0 + (math.log10(lr) + 2) ** 2, diverge_th=1e9)
    ax = result.plot()
    assert ax.get_xscale() == "log"
    marker = [line for line in ax.get_lines() if line.get_label().startswith("suggestion")]
    assert len(marker) == 1 and marker[0].get_xdata()[0] == result.suggestion
    assert marker[0].get_label() == "suggestion (min/10): 0.001"
    plt.close("all")


def imported_modules(path, package):
    """Every module the file ``path`` of ``package`` imports, at the top or inside a
    function, as absolute names."""
    import ast
    from pathlib import Path

    found = set()
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            found |= {module} | {f"{module}.{alias.name}" for alias in node.names}
    return found


def test_the_two_finders_share_the_range_test_and_import_neither_other():
    root = ddlopt.__path__[0]
    numpy_side = imported_modules(f"{root}/finder.py", "ddlopt")
    torch_side = imported_modules(f"{root}/torch/finder.py", "ddlopt.torch")
    assert "ddlopt.range_test" in numpy_side and "ddlopt.range_test" in torch_side
    assert not any(name.startswith("ddlopt.torch") or name == "torch" for name in numpy_side)
    assert not any(name.startswith("ddlopt.finder") for name in torch_side)
    assert finder.range_test is ddlopt.range_test.range_test  # the names stay where they were


def test_the_valley_rule_is_fastais():
    # fastai's `valley` written as in fastai 2.4 (callback/schedule.py), on noisy curves
    def fastai_valley(losses):
        n = len(losses)
        max_start, max_end = 0, 0
        lds = [1] * n
        for i in range(1, n):
            for j in range(0, i):
                if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                    lds[i] = lds[j] + 1
                if lds[max_end] < lds[i]:
                    max_end = i
                    max_start = max_end - lds[max_end]
        sections = (max_end - max_start) / 3
        return max_start + int(sections) + int(sections / 2)

    rng = np.random.default_rng(0)
    for _ in range(20):
        losses = np.cumsum(rng.normal(-0.1, 1.0, 60))
        assert finder.range_test.__globals__["_valley"](list(losses)) == fastai_valley(losses)


def test_the_valley_rule_lands_inside_the_descent_of_a_known_curve():
    def loss(lr):  # the known curve above: falls from 1e-5 to 1e-3, flat, rises past 0.1
        x = math.log10(lr)
        return 2 - math.tanh(2 * (x + 4)) + 0.01 * (x + 1.5) ** 2 + (max(0.0, x + 1) ** 2)

    result = fake_curve(loss, diverge_th=1e9, rule="valley")
    assert result.rule == "valley"
    assert 1e-4 < result.suggestion < result.min_loss_lr
