"""ddlopt.optim.Prodigy against the prodigyopt package (test-only reference): 1000 float64
steps on a noisy quadratic in three tensors, for each option, to 1e-10."""

import math

import numpy as np
import pytest
import torch

import ddlopt
from ddlopt import optim

prodigyopt = pytest.importorskip("prodigyopt")

OPTIONS = [
    {},
    {"lr": 0.5, "betas": (0.8, 0.99), "beta3": 0.9},
    {"weight_decay": 0.01},
    {"weight_decay": 0.01, "decouple": False},
    {"use_bias_correction": True},
    {"safeguard_warmup": True, "growth_rate": 1.02},
    {"d0": 1e-4, "d_coef": 0.5, "eps": 1e-6},
]


def trajectories(options, steps=1000):
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (3,), (2, 2, 2)]
    starts = [rng.normal(size=s) for s in shapes]
    centres = [rng.normal(size=s) for s in shapes]
    noise = [[0.1 * rng.normal(size=s) for s in shapes] for _ in range(steps)]
    ours = [ddlopt.Parameter(x.copy()) for x in starts]
    theirs = [torch.tensor(x, requires_grad=True) for x in starts]
    opt_ours, opt_theirs = optim.Prodigy(ours, **options), prodigyopt.Prodigy(theirs, **options)
    worst, ds = 0.0, []
    for k in range(steps):
        for p, q, c, n in zip(ours, theirs, centres, noise[k]):
            p.grad = (p.data - c) * (1 + np.arange(p.data.size).reshape(p.data.shape)) + n
            q.grad = (q.detach() - torch.from_numpy(c)) * torch.arange(
                1, q.numel() + 1, dtype=torch.float64).reshape(q.shape) + torch.from_numpy(n)
        opt_ours.step()
        opt_theirs.step()
        ds.append(opt_ours.param_groups[0]["d"])
        for p, q in zip(ours, theirs):
            scale = max(1.0, float(np.abs(p.data).max()))
            worst = max(worst, float(np.abs(p.data - q.detach().numpy()).max()) / scale)
        d_theirs = opt_theirs.param_groups[0]["d"]
        assert math.isclose(ds[-1], d_theirs, rel_tol=1e-10), (k, ds[-1], d_theirs)
    return worst, ds


@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_prodigy_follows_prodigyopt_for_1000_float64_steps(options):
    worst, ds = trajectories(options)
    assert worst < 1e-10
    assert ds[-1] > 100 * ds[0]        # the estimate grew: the test exercises the adaptation


def test_prodigy_estimates_the_distance_whatever_the_scale():
    # f(theta) = (theta / scale)^2 / 2 from theta = scale: d grows to the scale's order
    for scale in (0.01, 1.0, 100.0):
        theta = ddlopt.Parameter(np.array([scale]))
        opt = optim.Prodigy([theta])
        for _ in range(300):
            theta.grad = theta.data / scale**2
            opt.step()
        assert 0.1 * scale < opt.param_groups[0]["d"] < 10 * scale
        assert abs(theta.data[0]) < 0.05 * scale


def test_prodigy_skips_a_step_without_gradients_and_resumes_bit_identically():
    p = ddlopt.Parameter(np.ones(3))
    opt = optim.Prodigy([p])
    opt.step()                                   # no gradient: nothing happens
    assert opt.param_groups[0]["k"] == 0 and np.all(p.data == 1)
    for k in range(5):
        p.grad = p.data - k
        opt.step()
    saved, start = opt.state_dict(), p.data.copy()
    q = ddlopt.Parameter(start.copy())
    resumed = optim.Prodigy([q])
    resumed.load_state_dict(saved)
    for k in range(5):
        p.grad, q.grad = p.data - 2.0, q.data - 2.0
        opt.step()
        resumed.step()
    assert np.array_equal(p.data, q.data)


@pytest.mark.parametrize("options, error, says", [
    ({"lr": 0.0}, ValueError, "Invalid learning rate: 0.0"),
    ({"d0": -1.0}, ValueError, "Invalid d0 value: -1.0"),
    ({"eps": 0.0}, ValueError, "Invalid eps value: 0.0"),
    ({"betas": (1.0, 0.999)}, ValueError, "Invalid beta parameter at index 0: 1.0"),
    ({"growth_rate": 0.5}, ValueError, "growth_rate must be at least 1"),
    ({"decouple": 1}, TypeError, "decouple must be True or False"),
])
def test_prodigy_rejects_bad_hyperparameters(options, error, says):
    with pytest.raises(error, match=says):
        optim.Prodigy([ddlopt.Parameter(np.ones(2))], **options)


def test_prodigy_takes_one_param_group():
    groups = [{"params": [ddlopt.Parameter(np.ones(2))]}, {"params": [ddlopt.Parameter(np.ones(2))]}]
    with pytest.raises(ValueError, match="one param group"):
        optim.Prodigy(groups)
