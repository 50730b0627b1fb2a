"""ddlopt.optim.SGD and ddlopt.torch.SGD against torch.optim.SGD: 1000 steps in float64, every
combination of momentum, dampening, nesterov, weight decay and maximize, two param groups."""

import itertools

import numpy as np
import pytest
import torch

import ddlopt
import ddlopt.torch
from ddlopt.optim import SGD, get, sgd_update
from optim_harness import (Problem, max_relative_error, numpy_trajectory,
                           resume_is_bit_identical, torch_trajectory)

STEPS = 1000
TOLERANCE = 1e-10

COMBINATIONS = [
    dict(momentum=m, dampening=d, nesterov=n, weight_decay=w, maximize=x)
    for m, d, n, w, x in itertools.product([0.0, 0.9], [0.0, 0.3], [False, True], [0.0, 0.01],
                                           [False, True])
    if not (n and (m == 0 or d != 0))  # torch's rule: nesterov needs momentum, no dampening
]


def options(combo):
    """Two groups: the second overrides the learning rate and the momentum."""
    second = {"lr": 0.05}
    if combo["momentum"]:
        second["momentum"] = 0.5
    return [{"lr": 0.1, **combo}, second]


def ids(combo):
    return "-".join(f"{k}={v}" for k, v in combo.items())


@pytest.fixture(scope="module")
def references():
    cache = {}

    def reference(combo):
        key = ids(combo)
        if key not in cache:
            problem = Problem(STEPS, maximize=combo["maximize"])
            cache[key] = problem, torch_trajectory(torch.optim.SGD, problem, options(combo), foreach=False)
        return cache[key]
    return reference


@pytest.mark.parametrize("combo", COMBINATIONS, ids=ids)
def test_numpy_sgd_follows_torch_for_1000_steps(combo, references):
    problem, reference = references(combo)
    trajectory, _, _ = numpy_trajectory(SGD, problem, options(combo))
    assert max_relative_error(trajectory, reference) <= TOLERANCE


@pytest.mark.parametrize("foreach", [False, True], ids=["per-tensor", "foreach"])
@pytest.mark.parametrize("combo", COMBINATIONS, ids=ids)
def test_torch_twin_follows_torch_for_1000_steps(combo, foreach, references):
    problem, reference = references(combo)
    trajectory = torch_trajectory(ddlopt.torch.SGD, problem, options(combo), foreach=foreach)
    assert max_relative_error(trajectory, reference) <= TOLERANCE


def test_the_trajectories_actually_move():
    """Guards the parity tests against a problem on which nothing happens."""
    combo = COMBINATIONS[-1]
    problem = Problem(STEPS, maximize=combo["maximize"])
    trajectory, _, _ = numpy_trajectory(SGD, problem, options(combo))
    moved = [np.linalg.norm(last - first) / np.linalg.norm(first)
             for last, first in zip(trajectory[-1], problem.initial)]
    assert min(moved) > 0.5


@pytest.mark.parametrize("combo", [c for c in COMBINATIONS if c["momentum"]][:4], ids=ids)
def test_resuming_from_a_state_dict_is_bit_identical(combo):
    assert resume_is_bit_identical(SGD, options(combo), steps=STEPS, split=400)


def test_state_dict_is_a_copy_and_has_torchs_layout():
    p = ddlopt.Parameter(np.ones(3))
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.ones(3)
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"} and sd["param_groups"][0]["params"] == [0]
    assert sd["param_groups"][0]["lr"] == 0.1
    p.grad = np.ones(3)
    opt.step()
    assert np.array_equal(sd["state"][0]["momentum_buffer"], np.ones(3))  # not changed by a step


def test_state_dict_of_the_torch_twin_loads_into_torch_sgd():
    w = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    ours = ddlopt.torch.SGD([w], lr=0.1, momentum=0.9)
    w.grad = torch.ones(3, dtype=torch.float64)
    ours.step()
    theirs = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    theirs.load_state_dict(ours.state_dict())
    assert torch.equal(theirs.state[w]["momentum_buffer"], ours.state[w]["momentum_buffer"])


def test_the_torch_twin_works_with_an_lr_scheduler():
    w = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt = ddlopt.torch.SGD([w], lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    lrs = []
    for _ in range(5):
        w.grad = torch.ones(2, dtype=torch.float64)
        opt.step()
        scheduler.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == [1.0, 0.5, 0.5, 0.25, 0.25]
    assert torch.equal(w.detach(), torch.full((2,), -3.25, dtype=torch.float64))


def test_parameters_without_gradient_are_skipped_and_zero_grad_resets():
    a, b = ddlopt.Parameter([1.0, 2.0]), ddlopt.Parameter([3.0])
    opt = SGD([a, b], lr=0.5)
    a.grad = np.array([1.0, 1.0])
    opt.step()
    assert np.array_equal(a.data, [0.5, 1.5]) and np.array_equal(b.data, [3.0])
    opt.zero_grad()
    assert a.grad is None
    a.grad = np.ones(2)
    opt.zero_grad(set_to_none=False)
    assert np.array_equal(a.grad, np.zeros(2))


def test_sgd_update_is_the_equation():
    theta, g, state = np.array([1.0, -2.0]), np.array([0.5, 0.5]), {}
    sgd_update(theta, g, state, lr=0.1, momentum=0.9, weight_decay=0.1)
    # g + wd * theta = [0.6, 0.3]; b_1 = that; theta - lr * b_1
    assert np.allclose(theta, [0.94, -2.03], rtol=0, atol=1e-15)
    assert np.allclose(state["momentum_buffer"], [0.6, 0.3], rtol=0, atol=1e-15)


def test_keras_names_resolve_with_keras_defaults():
    p = ddlopt.Parameter(np.zeros(2))
    opt = get("sgd", [p])
    assert isinstance(opt, ddlopt.optim.KerasSGD) and opt.param_groups[0]["lr"] == 0.01  # Keras's
    opt = get("SGD", [p], learning_rate=0.3, momentum=0.9, nesterov=True)
    assert opt.param_groups[0]["lr"] == 0.3 and opt.param_groups[0]["nesterov"]
    assert get(opt) is opt


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    (dict(lr=float("nan")), ValueError, "Invalid learning rate: nan"),
    (dict(lr="0.1"), TypeError, "lr must be a real number"),
    (dict(momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
    (dict(weight_decay=-1e-4), ValueError, "Invalid weight_decay value: -0.0001"),
    (dict(nesterov=True), ValueError, "Nesterov momentum requires a momentum and zero dampening"),
    (dict(nesterov=True, momentum=0.9, dampening=0.1), ValueError, "Nesterov momentum requires"),
    (dict(maximize="yes"), TypeError, "maximize must be True or False"),
])
@pytest.mark.parametrize("cls", [SGD, ddlopt.torch.SGD], ids=["numpy", "torch"])
def test_bad_hyperparameters_raise_torchs_errors(cls, kwargs, error, message):
    param = ddlopt.Parameter(np.zeros(2)) if cls is SGD else torch.zeros(2, requires_grad=True)
    with pytest.raises(error, match=message):
        cls([param], **kwargs)
    with pytest.raises(error, match=message):  # the same rules for a param group's overrides
        cls([{"params": [param], **kwargs}], lr=0.1)


@pytest.mark.parametrize("params, error, message", [
    ([], ValueError, "optimizer got an empty parameter list"),
    ([np.zeros(2)], TypeError, "can only optimize ddlopt.Parameter objects, got ndarray"),
    ("weights", TypeError, "can only optimize ddlopt.Parameter objects, got str"),
])
def test_bad_params_raise(params, error, message):
    with pytest.raises(error, match=message):
        SGD(params, lr=0.1)


def test_a_parameter_in_two_groups_is_refused():
    p = ddlopt.Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="more than one parameter group"):
        SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="duplicate parameters"):
        SGD([p, p], lr=0.1)


@pytest.mark.parametrize("args, kwargs, error, message", [
    (("adamx", [ddlopt.Parameter([0.0])]), {}, ValueError, "unknown optimizer 'adamx'; known names: adadelta, adafactor, adagrad, adam, adamax, adamw, ftrl, lion, muon, nadam, rmsprop, schedulefreeadamw, sgd"),
    (("Lamb",), {}, ValueError, r"unknown optimizer 'Lamb': keras.optimizers.get\('lamb'\) fails in Keras too"),
    ((3,), {}, TypeError, "identifier must be the name of an optimizer"),
])
def test_get_bad_input(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        get(*args, **kwargs)
