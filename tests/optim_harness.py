"""Trajectory parity for optimizers: the same problem driven through ddlopt.optim (NumPy),
ddlopt.torch (per-tensor and foreach paths) and the reference torch.optim, in float64.

The problem: several parameters in two param groups, each with a noisy quadratic gradient
g_t = s * curvature * theta + noise_t (s = -1 under maximize, so ascent converges too),
the noise drawn in advance so every implementation sees the same sequence. One parameter
has no gradient on every third step, which every optimizer must skip.
"""

import numpy as np
import torch

import ddlopt

SHAPES = [(3, 4), (4,), (2, 3, 2), ()]
GROUP_OF = [0, 0, 1, 1]   # which param group each parameter belongs to
SKIPPED = 3               # this parameter has grad None on steps divisible by 3


class Problem:
    def __init__(self, steps, seed=0, maximize=False, shapes=SHAPES):
        rng = np.random.default_rng(seed)
        self.steps = steps
        self.initial = [rng.normal(size=s) for s in shapes]
        self.curvature = [rng.uniform(0.1, 1.0, size=s) for s in shapes]
        self.noise = [0.1 * rng.normal(size=(steps,) + s) for s in shapes]
        self.sign = -1.0 if maximize else 1.0

    def gradient(self, i, theta, t):
        return np.asarray(self.sign * self.curvature[i] * theta + self.noise[i][t])

    def has_grad(self, i, t):
        return not (i == SKIPPED and t % 3 == 0)


def groups(params, group_options):
    return [{"params": [p for p, g in zip(params, GROUP_OF) if g == k], **group_options[k]}
            for k in range(len(group_options))]


def numpy_trajectory(cls, problem, group_options, start=0, stop=None, optimizer=None, params=None,
                     hook=None):
    """Run steps [start, stop) with a ddlopt.optim optimizer; returns (trajectory, opt, params).
    ``hook(opt, t)``, if given, runs before each step (Schedule-Free's train()/eval())."""
    if params is None:
        params = [ddlopt.Parameter(x) for x in problem.initial]
    opt = optimizer or cls(groups(params, group_options))
    trajectory = []
    for t in range(start, problem.steps if stop is None else stop):
        if hook is not None:
            hook(opt, t)
        opt.zero_grad()
        for i, p in enumerate(params):
            if problem.has_grad(i, t):
                p.grad = problem.gradient(i, p.data, t)
        opt.step()
        trajectory.append([p.data.copy() for p in params])
    return trajectory, opt, params


def torch_trajectory(cls, problem, group_options, **extra):
    """The same with a torch optimizer, under float64 as the default dtype: torch keeps some
    scalar state (NAdam's mu_product, the step counts) in the default dtype, float32 unless
    told otherwise, and a float64 comparison means float64 throughout."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return _torch_trajectory(cls, problem, group_options, **extra)
    finally:
        torch.set_default_dtype(previous)


def _torch_trajectory(cls, problem, group_options, hook=None, **extra):
    params = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in problem.initial]
    opt = cls(groups(params, [{**o, **extra} for o in group_options]))
    trajectory = []
    for t in range(problem.steps):
        if hook is not None:
            hook(opt, t)
        opt.zero_grad()
        for i, p in enumerate(params):
            if problem.has_grad(i, t):
                p.grad = torch.from_numpy(problem.gradient(i, p.detach().numpy(), t))
        opt.step()
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory


def max_relative_error(trajectory, reference):
    """The largest, over steps and parameters, of ||x - x_ref|| / ||x_ref||."""
    worst = 0.0
    for step, step_ref in zip(trajectory, reference, strict=True):
        for x, x_ref in zip(step, step_ref, strict=True):
            worst = max(worst, np.linalg.norm(x - x_ref) / max(np.linalg.norm(x_ref), 1e-300))
    return worst


def all_trajectories(numpy_cls, twin_cls, reference_cls, group_options, steps, seed=0,
                     maximize=False, hook=None, reference_extra=None, shapes=SHAPES):
    """The reference torch.optim trajectory, and ddlopt's three (NumPy, torch per-tensor,
    torch foreach) on the same problem. ``reference_extra``: keyword arguments for the
    reference (torch.optim's ``foreach=False`` by default; a package may take none)."""
    problem = Problem(steps, seed=seed, maximize=maximize, shapes=shapes)
    if reference_extra is None:
        reference_extra = {"foreach": False}
    reference = torch_trajectory(reference_cls, problem, group_options, hook=hook,
                                 **reference_extra)
    return problem, reference, {
        "numpy": numpy_trajectory(numpy_cls, problem, group_options, hook=hook)[0],
        "torch per-tensor": torch_trajectory(twin_cls, problem, group_options, hook=hook,
                                             foreach=False),
        "torch foreach": torch_trajectory(twin_cls, problem, group_options, hook=hook,
                                          foreach=True),
    }


def resume_is_bit_identical(cls, group_options, steps=300, split=120, shapes=SHAPES, hook=None):
    """Run straight through, and stop at ``split``, pickle the state dict, load it into a
    fresh optimizer over copies of the parameters and go on: the two must agree to the bit."""
    import pickle

    problem = Problem(steps, shapes=shapes)
    straight = numpy_trajectory(cls, problem, group_options, hook=hook)[0]
    first, opt, params = numpy_trajectory(cls, problem, group_options, stop=split, hook=hook)
    saved = pickle.loads(pickle.dumps(opt.state_dict()))
    resumed_params = [ddlopt.Parameter(p.data) for p in params]
    resumed = cls(groups(resumed_params, [{} for _ in group_options]))
    resumed.load_state_dict(saved)
    second = numpy_trajectory(cls, problem, group_options, start=split, optimizer=resumed,
                              params=resumed_params, hook=hook)[0]
    return all(np.array_equal(x, y) for a, b in zip(first + second, straight, strict=True)
               for x, y in zip(a, b, strict=True))


def twin_state_loads_into_reference(twin, reference, kwargs, steps=2):
    """A state dict saved by a ddlopt.torch twin loads into the torch.optim reference and
    holds the same tensors."""
    w = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    ours = twin([w], **kwargs)
    for _ in range(steps):
        w.grad = torch.full((3,), 0.5, dtype=torch.float64)
        ours.step()
    theirs = reference([w], **kwargs)
    theirs.load_state_dict(ours.state_dict())
    return all(torch.equal(theirs.state[w][key], value) for key, value in ours.state[w].items())
