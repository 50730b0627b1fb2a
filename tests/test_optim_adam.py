"""Adam, AdamW and NAdam (ddlopt.optim and ddlopt.torch, both paths) against torch.optim:
1000 float64 steps for every flag combination and two param groups; hypothesis draws the
hyperparameters; Keras's Adam against torch's where they must agree; NaN gradients."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ddlopt
import ddlopt.torch
from ddlopt.optim import Adam, AdamW, KerasAdam, NAdam, get
from optim_harness import (Problem, all_trajectories, max_relative_error, numpy_trajectory,
                           resume_is_bit_identical, torch_trajectory,
                           twin_state_loads_into_reference)

STEPS = 1000
TOLERANCE = 1e-10
CLASSES = {"Adam": (Adam, ddlopt.torch.Adam, torch.optim.Adam),
           "AdamW": (AdamW, ddlopt.torch.AdamW, torch.optim.AdamW),
           "NAdam": (NAdam, ddlopt.torch.NAdam, torch.optim.NAdam)}
CASES = (
    [("Adam", dict(amsgrad=a, weight_decay=w, maximize=x))
     for a, w, x in itertools.product([False, True], [0.0, 0.01], [False, True])]
    + [("AdamW", dict(amsgrad=a, weight_decay=w, maximize=x))
       for a, w, x in itertools.product([False, True], [0.01, 0.1], [False, True])]
    + [("NAdam", dict(weight_decay=w, decoupled_weight_decay=d, maximize=x))
       for w, d, x in itertools.product([0.0, 0.01], [False, True], [False, True])]
)


def ids(case):
    return case[0] + "-" + "-".join(f"{k}={v}" for k, v in case[1].items())


def compare(name, combo, steps, seed=0):
    # the second group overrides the learning rate and the betas
    options = [{"lr": 0.01, **combo}, {"lr": 0.003, "betas": (0.8, 0.99)}]
    return all_trajectories(*CLASSES[name], options, steps, seed=seed,
                            maximize=combo.get("maximize", False))


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_numpy_and_torch_twins_follow_torch_optim_for_1000_steps(case):
    problem, reference, trajectories = compare(*case, STEPS)
    for path, trajectory in trajectories.items():
        error = max_relative_error(trajectory, reference)
        assert error <= TOLERANCE, f"{path}: relative error {error:.2e}"
    moved = np.linalg.norm(reference[-1][0] - problem.initial[0]) / np.linalg.norm(problem.initial[0])
    assert moved > 0.1


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(["Adam", "AdamW", "NAdam"]), lr=st.floats(1e-4, 0.05),
       beta1=st.floats(0.0, 0.99), beta2=st.floats(0.5, 0.9999), eps=st.floats(1e-10, 1e-2),
       weight_decay=st.floats(0.0, 0.1), flag=st.booleans(), maximize=st.booleans(),
       seed=st.integers(0, 2**16))
def test_drawn_hyperparameters(name, lr, beta1, beta2, eps, weight_decay, flag, maximize, seed):
    combo = dict(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay,
                 maximize=maximize)
    combo["decoupled_weight_decay" if name == "NAdam" else "amsgrad"] = flag
    _, reference, trajectories = compare(name, combo, 200, seed=seed)
    for trajectory in trajectories.values():
        assert max_relative_error(trajectory, reference) <= TOLERANCE


@pytest.mark.parametrize("amsgrad", [False, True])
def test_keras_adam_equals_torchs_when_epsilon_is_zero(amsgrad):
    """Keras folds the bias corrections into the learning rate; with epsilon = 0 it is
    algebraically torch's Adam."""
    problem = Problem(STEPS)
    keras = numpy_trajectory(KerasAdam, problem, [{"lr": 0.01, "epsilon": 0.0, "amsgrad": amsgrad},
                                                  {"lr": 0.003, "epsilon": 0.0, "amsgrad": amsgrad}])[0]
    reference = torch_trajectory(torch.optim.Adam, problem,
                                 [{"lr": 0.01, "eps": 0.0, "amsgrad": amsgrad},
                                  {"lr": 0.003, "eps": 0.0, "amsgrad": amsgrad}])
    assert max_relative_error(keras, reference) <= TOLERANCE


def test_keras_adam_is_adam_with_epsilon_hat():
    """Keras's epsilon equals torch's eps = epsilon / sqrt(1 - beta2^t): one step."""
    p, q = ddlopt.Parameter([1.0, -1.0]), ddlopt.Parameter([1.0, -1.0])
    keras, ours = KerasAdam([p], learning_rate=0.1, epsilon=1e-3), Adam([q], lr=0.1, eps=1e-3 / np.sqrt(1e-3))
    p.grad = q.grad = np.array([1e-3, 2.0])
    keras.step(), ours.step()
    assert np.allclose(p.data, q.data, rtol=1e-14, atol=0)


def test_get_adam_gives_keras_defaults():
    opt = get("adam", [ddlopt.Parameter([0.0])])
    group = opt.param_groups[0]
    assert isinstance(opt, KerasAdam)
    assert (group["lr"], group["beta_1"], group["beta_2"], group["epsilon"]) == (0.001, 0.9, 0.999, 1e-7)


@pytest.mark.parametrize("cls", [Adam, AdamW, NAdam, KerasAdam])
def test_resuming_from_a_state_dict_is_bit_identical(cls):
    options = [{"lr": 0.01}, {"lr": 0.003}]
    if cls is Adam:
        options[0]["amsgrad"] = True
    assert resume_is_bit_identical(cls, options)


@pytest.mark.parametrize("twin, reference, kwargs", [
    (ddlopt.torch.Adam, torch.optim.Adam, {"lr": 0.01, "amsgrad": True}),
    (ddlopt.torch.AdamW, torch.optim.AdamW, {"lr": 0.01}),
    (ddlopt.torch.NAdam, torch.optim.NAdam, {"lr": 0.01}),
])
def test_torch_twin_state_dict_loads_into_torch_optim(twin, reference, kwargs):
    assert twin_state_loads_into_reference(twin, reference, kwargs)


# ---- NaN and infinite gradients ---------------------------------------------------------
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # NumPy says so; torch is silent
@pytest.mark.parametrize("name", ["Adam", "AdamW", "NAdam"])
def test_a_nan_gradient_does_to_the_parameters_what_it_does_in_torch(name):
    numpy_cls, twin_cls, reference_cls = CLASSES[name]
    start, grads = np.array([1.0, 2.0, 3.0]), [np.array([0.1, np.nan, 0.2]), np.array([0.1, 0.1, np.inf])]
    p = ddlopt.Parameter(start)
    opt = numpy_cls([p], lr=0.01)
    tensors = [torch.tensor(start, requires_grad=True) for _ in range(2)]
    optimizers = [twin_cls([tensors[0]], lr=0.01), reference_cls([tensors[1]], lr=0.01)]
    for g in grads:
        p.grad = g.copy()
        opt.step()
        for t, o in zip(tensors, optimizers):
            t.grad = torch.tensor(g)
            o.step()
    expected = tensors[1].detach().numpy()
    assert np.array_equal(np.isnan(p.data), np.isnan(expected))
    assert np.array_equal(np.isnan(tensors[0].detach().numpy()), np.isnan(expected))


@pytest.mark.parametrize("make", [
    lambda ps: Adam(ps, check_finite=True), lambda ps: NAdam(ps, check_finite=True),
    lambda ps: AdamW(ps, check_finite=True),
])
def test_check_finite_names_the_parameter_and_the_step(make):
    a, b = ddlopt.Parameter([1.0, 2.0]), ddlopt.Parameter([3.0])
    opt = make([a, b])
    a.grad, b.grad = np.array([0.1, 0.1]), np.array([0.2])
    opt.step()
    before = (a.data.copy(), b.data.copy())
    a.grad, b.grad = np.array([0.1, 0.1]), np.array([np.nan])
    with pytest.raises(FloatingPointError, match=r"step 2: the gradient of parameter 1 in param group 0 "
                                                 r"\(shape \(1,\)\) contains NaN; no parameter was updated"):
        opt.step()
    assert np.array_equal(a.data, before[0]) and np.array_equal(b.data, before[1])


@pytest.mark.parametrize("cls", [ddlopt.torch.Adam, ddlopt.torch.AdamW, ddlopt.torch.NAdam])
def test_check_finite_in_the_torch_twins(cls):
    w = torch.nn.Parameter(torch.ones(2, 2, dtype=torch.float64))
    opt = cls([w], check_finite=True)
    w.grad = torch.tensor([[0.0, float("inf")], [0.0, 0.0]], dtype=torch.float64)
    with pytest.raises(FloatingPointError, match=r"step 1: the gradient of parameter 0 in param group 0 "
                                                 r"\(shape \(2, 2\)\) contains inf"):
        opt.step()
    assert torch.equal(w.detach(), torch.ones(2, 2, dtype=torch.float64))


# ---- bad hyperparameters ----------------------------------------------------------------
BAD = [
    (dict(lr=-1e-3), "Invalid learning rate: -0.001"),
    (dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (dict(betas=(-0.1, 0.999)), "Invalid beta parameter at index 0: -0.1"),
    (dict(betas=(0.9, 1.5)), "Invalid beta parameter at index 1: 1.5"),
    (dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
]


@pytest.mark.parametrize("kwargs, message", BAD)
@pytest.mark.parametrize("name", ["Adam", "AdamW", "NAdam"])
@pytest.mark.parametrize("which", ["numpy", "torch"])
def test_bad_hyperparameters_raise_torchs_errors(kwargs, message, name, which):
    numpy_cls, twin_cls, _ = CLASSES[name]
    cls, param = ((numpy_cls, ddlopt.Parameter(np.zeros(2))) if which == "numpy"
                  else (twin_cls, torch.zeros(2, requires_grad=True)))
    with pytest.raises(ValueError, match=message):
        cls([param], **kwargs)
    with pytest.raises(ValueError, match=message):
        cls([{"params": [param], **kwargs}])


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(momentum_decay=-1.0), ValueError, "Invalid momentum_decay value: -1.0"),
    (dict(betas=0.9), TypeError, "betas must be a pair"),
])
def test_more_bad_hyperparameters(kwargs, error, message):
    with pytest.raises(error, match=message):
        NAdam([ddlopt.Parameter([0.0])], **kwargs)


def test_keras_adam_bad_hyperparameters():
    with pytest.raises(ValueError, match="Invalid beta_2 value: 1.0"):
        KerasAdam([ddlopt.Parameter([0.0])], beta_2=1.0)


def test_betas_given_as_a_list_are_kept_as_a_tuple_everywhere():
    """In the defaults (NumPy and twins) and, for the NumPy optimizers, in every param group
    (the twins leave a group's own value as torch does)."""
    import ddlopt.torch
    for module in (ddlopt.optim, ddlopt.torch):
        for name in ("Adam", "AdamW", "NAdam", "Adamax", "RAdam", "Lion", "AdamWScheduleFree"):
            cls = getattr(module, name)
            make = (lambda: ddlopt.Parameter(np.ones(2))) if module is ddlopt.optim else \
                (lambda: torch.nn.Parameter(torch.ones(2)))
            opt = cls([make()], betas=[0.8, 0.9])
            opt.add_param_group({"params": [make()], "betas": [0.5, 0.6]})
            assert opt.defaults["betas"] == (0.8, 0.9), name
            if module is ddlopt.optim:
                assert [g["betas"] for g in opt.param_groups] == [(0.8, 0.9), (0.5, 0.6)], name
