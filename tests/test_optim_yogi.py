"""Yogi (ddlopt.optim and ddlopt.torch, both paths) against torch-optimizer's Yogi, the
reference nobody here wrote: 1000 float64 steps, two param groups, with and without L2;
torch-optimizer starts its first moment at initial_accumulator where the paper (and
ddlopt) start it at zero, so the reference gets a zero first moment before its first step."""

import itertools

import numpy as np
import pytest
import torch
import torch_optimizer

import ddlopt
import ddlopt.torch
from ddlopt import optim
from optim_harness import (Problem, all_trajectories, max_relative_error, numpy_trajectory,
                           resume_is_bit_identical, torch_trajectory)

STEPS = 1000
TOLERANCE = 1e-10
SECOND_GROUP = {"lr": 0.003, "betas": (0.8, 0.99), "eps": 1e-4, "initial_accumulator": 0.01}


class ZeroStartYogi(torch_optimizer.Yogi):
    """torch-optimizer's Yogi with m_0 = 0, as in the paper and TensorFlow Addons."""

    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None and not self.state[p]:
                    self.state[p].update(step=0, exp_avg=torch.zeros_like(p),
                                         exp_avg_sq=torch.full_like(p, group["initial_accumulator"]))
        return super().step(closure)


@pytest.mark.parametrize("weight_decay, lr", list(itertools.product([0.0, 0.01], [0.01, 0.1])))
def test_numpy_and_torch_twins_follow_torch_optimizer_for_1000_steps(weight_decay, lr):
    options = [{"lr": lr, "weight_decay": weight_decay}, SECOND_GROUP]
    problem, reference, trajectories = all_trajectories(
        optim.Yogi, ddlopt.torch.Yogi, ZeroStartYogi, options, STEPS, reference_extra={})
    for path, trajectory in trajectories.items():
        error = max_relative_error(trajectory, reference)
        assert error <= TOLERANCE, f"{path}: relative error {error:.2e}"
    moved = np.linalg.norm(reference[-1][0] - problem.initial[0]) / np.linalg.norm(problem.initial[0])
    assert moved > 0.1


def test_torch_optimizers_own_start_of_the_first_moment_differs_a_little():
    options = [{"lr": 0.01}, SECOND_GROUP]
    problem = Problem(50)
    ours = numpy_trajectory(optim.Yogi, problem, options)[0]
    theirs = torch_trajectory(torch_optimizer.Yogi, problem, options)
    assert 1e-9 < max_relative_error(ours, theirs) < 1e-3


@pytest.mark.parametrize("foreach", [False, True])
def test_maximize_in_numpy_and_the_twin(foreach):
    options = [{"lr": 0.01, "maximize": True}, SECOND_GROUP]
    problem = Problem(300, maximize=True)
    ours = numpy_trajectory(optim.Yogi, problem, options)[0]
    twin = torch_trajectory(ddlopt.torch.Yogi, problem, options, foreach=foreach)
    assert max_relative_error(twin, ours) <= TOLERANCE
    assert np.linalg.norm(ours[-1][0]) < 0.5 * np.linalg.norm(problem.initial[0])


def test_the_second_moment_moves_by_at_most_one_minus_beta2_times_g_squared():
    rng = np.random.default_rng(0)
    param, state = np.zeros(1000), {}
    previous = np.full(1000, 1e-6)
    for _ in range(200):
        grad = rng.standard_normal(1000) * rng.choice([0.01, 1.0, 100.0], size=1000)
        optim.yogi_update(param, grad, state, betas=(0.9, 0.99))
        change = state["exp_avg_sq"] - previous
        # exact up to the rounding of v itself (the change can be far smaller than v)
        rounding = 1e-15 * np.maximum(previous, grad**2)
        assert np.all(np.abs(np.abs(change) - 0.01 * grad**2) <= rounding + 1e-12 * grad**2)
        moved = np.abs(change) > rounding
        assert np.all(np.sign(change[moved]) == np.sign(grad**2 - previous)[moved])
        previous = state["exp_avg_sq"].copy()


def test_after_the_gradients_shrink_yogi_forgets_linearly_and_adam_geometrically():
    yogi_v, adam_v = {}, {}
    for t in range(2000):
        g = np.array([1.0 if t < 1000 else 0.01])
        optim.yogi_update(np.zeros(1), g, yogi_v)
        optim.adam_update(np.zeros(1), g, adam_v, lr=1e-3)
    # 1000 small steps: Yogi's v fell by 1000 * 1e-3 * 1e-4, Adam's by a factor ~ e
    drop = 1000 * (1 - 0.999) * 1e-4
    before = 1e-6 + 1000 * (1 - 0.999)           # v grew linearly while below g^2 = 1
    assert yogi_v["exp_avg_sq"][0] == pytest.approx(before - drop, rel=1e-9)
    assert adam_v["exp_avg_sq"][0] < 0.4 * (1 - 0.999**1000)


def test_bad_hyperparameters_raise_torchs_errors():
    p = [ddlopt.Parameter(np.zeros(2))]
    for cls, params in [(optim.Yogi, p), (ddlopt.torch.Yogi, [torch.zeros(2, requires_grad=True)])]:
        with pytest.raises(ValueError, match="Invalid learning rate: -1"):
            cls(params, lr=-1)
        with pytest.raises(ValueError, match="Invalid initial_accumulator value: -0.1"):
            cls(params, initial_accumulator=-0.1)
        with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
            cls(params, betas=(0.9, 1.0))


def test_resuming_from_a_state_dict_is_bit_identical():
    assert resume_is_bit_identical(optim.Yogi, [{"weight_decay": 0.01}, {"lr": 0.003}])


def test_the_defaults_are_torch_optimizers():
    import inspect

    theirs = inspect.signature(torch_optimizer.Yogi).parameters
    for cls in (optim.Yogi, ddlopt.torch.Yogi):
        ours = inspect.signature(cls).parameters
        for name in ("lr", "betas", "eps", "initial_accumulator", "weight_decay"):
            assert ours[name].default == theirs[name].default, (cls, name)
