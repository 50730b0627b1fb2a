"""Adagrad and RMSprop (ddlopt.optim and ddlopt.torch, both paths) against torch.optim: 1000
float64 steps for every flag combination and two param groups; hypothesis draws the
hyperparameters; Keras's RMSprop against torch's where the two must agree."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ddlopt
import ddlopt.torch
from ddlopt.optim import Adagrad, KerasRMSprop, RMSprop, get
from optim_harness import (Problem, all_trajectories, max_relative_error, numpy_trajectory,
                           resume_is_bit_identical, torch_trajectory,
                           twin_state_loads_into_reference)

STEPS = 1000
TOLERANCE = 1e-10

ADAGRAD = [dict(lr_decay=d, initial_accumulator_value=a, weight_decay=w, maximize=x)
           for d, a, w, x in itertools.product([0.0, 0.01], [0.0, 0.1], [0.0, 0.01], [False, True])]
RMSPROP = [dict(centered=c, momentum=m, weight_decay=w, maximize=x)
           for c, m, w, x in itertools.product([False, True], [0.0, 0.9], [0.0, 0.01], [False, True])]
CASES = ([("Adagrad", c) for c in ADAGRAD] + [("RMSprop", c) for c in RMSPROP])
CLASSES = {"Adagrad": (Adagrad, ddlopt.torch.Adagrad, torch.optim.Adagrad, 0.1),
           "RMSprop": (RMSprop, ddlopt.torch.RMSprop, torch.optim.RMSprop, 0.01)}


def ids(case):
    name, combo = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in combo.items())


def options(name, combo):
    """Two param groups; the second overrides the learning rate (and eps for RMSprop)."""
    lr = CLASSES[name][3]
    second = {"lr": lr / 2} if name == "Adagrad" else {"lr": lr / 2, "eps": 1e-6, "alpha": 0.9}
    return [{"lr": lr, **combo}, second]


def run_all(name, combo, steps=STEPS, seed=0):
    numpy_cls, twin_cls, reference_cls, _ = CLASSES[name]
    return all_trajectories(numpy_cls, twin_cls, reference_cls, options(name, combo), steps,
                            seed=seed, maximize=combo.get("maximize", False))


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_numpy_and_torch_twins_follow_torch_optim_for_1000_steps(case):
    problem, reference, trajectories = run_all(*case)
    for path, trajectory in trajectories.items():
        error = max_relative_error(trajectory, reference)
        assert error <= TOLERANCE, f"{path}: relative error {error:.2e}"
    moved = np.linalg.norm(reference[-1][0] - problem.initial[0]) / np.linalg.norm(problem.initial[0])
    assert moved > 0.1, "the problem must move the parameters for the comparison to mean anything"


@settings(max_examples=25, deadline=None)
@given(lr=st.floats(1e-3, 0.5), lr_decay=st.floats(0, 0.1), initial=st.floats(0, 1.0),
       eps=st.floats(1e-10, 1e-3), weight_decay=st.floats(0, 0.1), maximize=st.booleans(),
       seed=st.integers(0, 2**16))
def test_adagrad_with_drawn_hyperparameters(lr, lr_decay, initial, eps, weight_decay, maximize, seed):
    combo = dict(lr=lr, lr_decay=lr_decay, initial_accumulator_value=initial, eps=eps,
                 weight_decay=weight_decay, maximize=maximize)
    _, reference, trajectories = run_all("Adagrad", combo, steps=200, seed=seed)
    for trajectory in trajectories.values():
        assert max_relative_error(trajectory, reference) <= TOLERANCE


@settings(max_examples=25, deadline=None)
@given(lr=st.floats(1e-4, 0.05), alpha=st.floats(0.5, 0.999), eps=st.floats(1e-10, 1e-3),
       weight_decay=st.floats(0, 0.1), momentum=st.floats(0, 0.9), centered=st.booleans(),
       maximize=st.booleans(), seed=st.integers(0, 2**16))
def test_rmsprop_with_drawn_hyperparameters(lr, alpha, eps, weight_decay, momentum, centered,
                                            maximize, seed):
    combo = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                 centered=centered, maximize=maximize)
    _, reference, trajectories = run_all("RMSprop", combo, steps=200, seed=seed)
    for trajectory in trajectories.values():
        assert max_relative_error(trajectory, reference) <= TOLERANCE


@pytest.mark.parametrize("centered, momentum", [(False, 0.0), (True, 0.0), (False, 0.9), (True, 0.9)])
def test_keras_rmsprop_equals_torchs_when_epsilon_is_zero(centered, momentum):
    """With epsilon = 0 the two placements of epsilon coincide, and Keras's momentum (which
    accumulates lr * step) equals torch's (which multiplies by lr after) at a constant lr:
    Keras's formula must then reproduce torch's RMSprop(alpha=rho, eps=0)."""
    problem = Problem(STEPS)
    group = {"centered": centered, "momentum": momentum}
    keras = numpy_trajectory(KerasRMSprop, problem, [{"lr": 0.01, "rho": 0.9, "epsilon": 0.0, **group},
                                                     {"lr": 0.005, "epsilon": 0.0}])[0]
    reference = torch_trajectory(torch.optim.RMSprop, problem, [{"lr": 0.01, "alpha": 0.9, "eps": 0.0, **group},
                                                                {"lr": 0.005, "alpha": 0.9, "eps": 0.0}])
    assert max_relative_error(keras, reference) <= TOLERANCE


def test_keras_rmsprop_puts_epsilon_inside_the_root():
    p = ddlopt.Parameter([1.0])
    opt = KerasRMSprop([p], learning_rate=0.1, rho=0.9, epsilon=0.01)
    p.grad = np.array([0.2])
    opt.step()
    v = 0.1 * 0.2**2
    assert p.data[0] == pytest.approx(1.0 - 0.1 * 0.2 / np.sqrt(v + 0.01), rel=1e-15)


def test_get_rmsprop_gives_keras_defaults():
    p = ddlopt.Parameter(np.zeros(2))
    opt = get("rmsprop", [p])
    assert isinstance(opt, KerasRMSprop)
    group = opt.param_groups[0]
    assert (group["lr"], group["rho"], group["epsilon"], group["momentum"]) == (0.001, 0.9, 1e-7, 0.0)
    assert get("RMSprop", [p], learning_rate=0.01, rho=0.8).param_groups[0]["rho"] == 0.8


@pytest.mark.parametrize("cls", [Adagrad, RMSprop, KerasRMSprop])
def test_resuming_from_a_state_dict_is_bit_identical(cls):
    assert resume_is_bit_identical(cls, [{"lr": 0.01}, {"lr": 0.02}])


@pytest.mark.parametrize("twin, reference, kwargs", [
    (ddlopt.torch.Adagrad, torch.optim.Adagrad, {"lr": 0.1, "initial_accumulator_value": 0.1}),
    (ddlopt.torch.RMSprop, torch.optim.RMSprop, {"lr": 0.01, "momentum": 0.9, "centered": True}),
])
def test_torch_twin_state_dict_loads_into_torch_optim(twin, reference, kwargs):
    assert twin_state_loads_into_reference(twin, reference, kwargs)


BAD = [
    (Adagrad, ddlopt.torch.Adagrad, dict(lr=-1.0), "Invalid learning rate: -1.0"),
    (Adagrad, ddlopt.torch.Adagrad, dict(lr_decay=-0.1), "Invalid lr_decay value: -0.1"),
    (Adagrad, ddlopt.torch.Adagrad, dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (Adagrad, ddlopt.torch.Adagrad, dict(initial_accumulator_value=-1.0),
     "Invalid initial_accumulator_value value: -1.0"),
    (Adagrad, ddlopt.torch.Adagrad, dict(eps=-1e-10), "Invalid epsilon value: -1e-10"),
    (RMSprop, ddlopt.torch.RMSprop, dict(lr=-0.01), "Invalid learning rate: -0.01"),
    (RMSprop, ddlopt.torch.RMSprop, dict(eps=-1.0), "Invalid epsilon value: -1.0"),
    (RMSprop, ddlopt.torch.RMSprop, dict(momentum=-0.9), "Invalid momentum value: -0.9"),
    (RMSprop, ddlopt.torch.RMSprop, dict(weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
    (RMSprop, ddlopt.torch.RMSprop, dict(alpha=-0.5), "Invalid alpha value: -0.5"),
]


@pytest.mark.parametrize("numpy_cls, twin_cls, kwargs, message", BAD)
@pytest.mark.parametrize("which", ["numpy", "torch"])
def test_bad_hyperparameters_raise_torchs_errors(numpy_cls, twin_cls, kwargs, message, which):
    if which == "numpy":
        cls, param = numpy_cls, ddlopt.Parameter(np.zeros(2))
    else:
        cls, param = twin_cls, torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=message):
        cls([param], **kwargs)
    with pytest.raises(ValueError, match=message):
        cls([{"params": [param], **kwargs}])


@pytest.mark.parametrize("kwargs, message", [
    (dict(learning_rate=-0.1), "Invalid learning rate: -0.1"),
    (dict(rho=1.5), "Invalid rho value: 1.5"),
    (dict(epsilon=-1e-7), "Invalid epsilon value: -1e-07"),
    (dict(momentum=-0.1), "Invalid momentum value: -0.1"),
])
def test_keras_rmsprop_bad_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KerasRMSprop([ddlopt.Parameter(np.zeros(2))], **kwargs)
