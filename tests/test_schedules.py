"""ddlopt.schedules against torch.optim.lr_scheduler: the same learning rates, step by step.

Each schedule runs 500 steps three ways, side by side: ddlopt's scheduler on a ddlopt NumPy
optimizer, ddlopt's scheduler on a torch optimizer, and torch's scheduler on a torch
optimizer, with three param groups at different learning rates. The sequences must agree
to the bit (ddlopt repeats torch's arithmetic, recursive forms included).
"""

import math
import pickle

import numpy as np
import pytest
import torch

import ddlopt
from ddlopt import schedules

STEPS = 500
LRS = [0.1, 0.03, 0.5]


def numpy_optimizer(cls=ddlopt.optim.SGD, **kwargs):
    params = [ddlopt.Parameter(np.ones(2)) for _ in LRS]
    return cls([{"params": [p], "lr": lr} for p, lr in zip(params, LRS)], **kwargs)


def torch_optimizer(cls=torch.optim.SGD, **kwargs):
    params = [torch.nn.Parameter(torch.ones(2, dtype=torch.float64)) for _ in LRS]
    return cls([{"params": [p], "lr": lr} for p, lr in zip(params, LRS)], **kwargs)


def take_step(optimizer):
    """One optimizer step with a small gradient, so the run is a real training loop."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            if isinstance(p, torch.Tensor):
                p.grad = 0.01 * torch.ones_like(p)
            else:
                p.grad = 0.01 * np.ones_like(p.data)
    optimizer.step()


def momentum_of(group):
    return group["betas"][0] if "betas" in group else group.get("momentum")


def run(make_scheduler, optimizer, steps=STEPS, metrics=None):
    """Learning rates (and momenta) of every group after construction and each step."""
    scheduler = make_scheduler(optimizer)
    lrs = [[g["lr"] for g in optimizer.param_groups]]
    momenta = [[momentum_of(g) for g in optimizer.param_groups]]
    for t in range(steps):
        take_step(optimizer)
        scheduler.step(*([] if metrics is None else [metrics[t]]))
        lrs.append([g["lr"] for g in optimizer.param_groups])
        momenta.append([momentum_of(g) for g in optimizer.param_groups])
        assert scheduler.get_last_lr() == lrs[-1]
    return np.array(lrs, dtype=float), momenta, scheduler


def both(module, name, *args, **kwargs):
    return lambda opt: getattr(module, name)(opt, *args, **kwargs)


CASES = {  # name -> (class name, args, kwargs)
    "StepLR": ("StepLR", (30,), dict(gamma=0.5)),
    "StepLR default gamma": ("StepLR", (7,), {}),
    "MultiStepLR": ("MultiStepLR", ([50, 120, 120, 300],), dict(gamma=0.3)),
    "ExponentialLR": ("ExponentialLR", (0.99,), {}),
    "LinearLR": ("LinearLR", (), dict(start_factor=0.05, end_factor=1.0, total_iters=40)),
    "LinearLR decay": ("LinearLR", (), dict(start_factor=1.0, end_factor=0.1, total_iters=300)),
    "LinearLR defaults": ("LinearLR", (), {}),
    "CosineAnnealingLR": ("CosineAnnealingLR", (500,), {}),
    "CosineAnnealingLR periodic": ("CosineAnnealingLR", (70,), dict(eta_min=1e-3)),
    "CosineAnnealingWarmRestarts": ("CosineAnnealingWarmRestarts", (30,), dict(T_mult=2, eta_min=1e-3)),
    "CosineAnnealingWarmRestarts T_mult 1": ("CosineAnnealingWarmRestarts", (45,), {}),
    "OneCycleLR": ("OneCycleLR", ([0.4, 0.2, 1.0], STEPS), {}),
    "OneCycleLR linear three-phase": ("OneCycleLR", (0.8,), dict(
        epochs=10, steps_per_epoch=50, anneal_strategy="linear", three_phase=True,
        pct_start=0.25, div_factor=10.0, final_div_factor=100.0)),
    "OneCycleLR no momentum": ("OneCycleLR", (1.0, STEPS), dict(cycle_momentum=False)),
}


def lambda_lr(module):
    return lambda opt: module.LambdaLR(opt, [lambda t: 0.97**t, lambda t: 1 / (1 + t),
                                             lambda t: 1.0 if t < 100 else 0.1])


def sequential(module):
    def make(opt):
        warmup = module.LinearLR(opt, start_factor=0.01, total_iters=50)
        cosine = module.CosineAnnealingLR(opt, T_max=300, eta_min=1e-4)
        step = module.StepLR(opt, step_size=20, gamma=0.7)
        return module.SequentialLR(opt, [warmup, cosine, step], milestones=[50, 350])
    return make


def warmup_then_restarts(module):
    """A warm-up, then restarts that SequentialLR starts at their step 0 (chapter 6's builder)."""
    def make(opt):
        warmup = module.LinearLR(opt, start_factor=0.1, total_iters=20)
        restarts = module.CosineAnnealingWarmRestarts(opt, T_0=25, T_mult=2)
        return module.SequentialLR(opt, [warmup, restarts], milestones=[20])
    return make


def makers(name):
    if name == "warm-up then restarts":
        return warmup_then_restarts(schedules), warmup_then_restarts(torch.optim.lr_scheduler)
    if name == "LambdaLR":
        return lambda_lr(schedules), lambda_lr(torch.optim.lr_scheduler)
    if name == "SequentialLR":
        return sequential(schedules), sequential(torch.optim.lr_scheduler)
    cls, args, kwargs = CASES[name]
    return both(schedules, cls, *args, **kwargs), both(torch.optim.lr_scheduler, cls, *args, **kwargs)


@pytest.mark.parametrize("name", [*CASES, "LambdaLR", "SequentialLR", "warm-up then restarts"])
def test_learning_rates_equal_torch_over_500_steps(name):
    ours, theirs = makers(name)
    kwargs = dict(momentum=0.9)
    reference, reference_momenta, _ = run(theirs, torch_optimizer(**kwargs))
    on_numpy, numpy_momenta, _ = run(ours, numpy_optimizer(**kwargs))
    on_torch, torch_momenta, _ = run(ours, torch_optimizer(**kwargs))
    assert len(np.unique(reference[:, 0])) > 2, "the schedule must actually change the lr"
    np.testing.assert_array_equal(on_numpy, reference)
    np.testing.assert_array_equal(on_torch, reference)
    assert numpy_momenta == reference_momenta and torch_momenta == reference_momenta


def test_one_cycle_cycles_adams_beta1_as_torch_does():
    ours, theirs = makers("OneCycleLR")
    reference, reference_momenta, _ = run(theirs, torch_optimizer(torch.optim.Adam))
    on_numpy, numpy_momenta, _ = run(ours, numpy_optimizer(ddlopt.optim.Adam))
    np.testing.assert_array_equal(on_numpy, reference)
    assert numpy_momenta == reference_momenta
    assert len(set(m[0] for m in numpy_momenta)) > 100


def test_one_cycle_refuses_a_step_past_the_end():
    scheduler = schedules.OneCycleLR(numpy_optimizer(momentum=0.9), 1.0, total_steps=3)
    for _ in range(3):
        scheduler.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        scheduler.step()


def test_the_closed_form_is_the_recursive_form_to_rounding():
    """closed_form() (the docstring's equation) and get_lr() (torch's recursion) agree."""
    for name in ["StepLR", "MultiStepLR", "ExponentialLR", "LinearLR", "CosineAnnealingLR",
                 "CosineAnnealingLR periodic"]:
        make, _ = makers(name)
        optimizer = numpy_optimizer()
        scheduler = make(optimizer)
        for _ in range(STEPS):
            scheduler.step()
            closed = np.array(scheduler.closed_form())
            recursive = np.array(scheduler.get_last_lr())
            assert np.all(np.abs(closed - recursive) <= 1e-10 * np.abs(closed) + 1e-15), name


# ----------------------------------------------------------------------------------------
# ReduceLROnPlateau
# ----------------------------------------------------------------------------------------
def plateau_metric(steps=STEPS, seed=0):
    """A noisy loss that falls and then plateaus: every mode has something to cut on."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    return 0.2 + np.exp(-t / 40) + 0.02 * rng.normal(size=steps)


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
@pytest.mark.parametrize("options", [
    dict(),
    dict(factor=0.5, patience=3, threshold=1e-2, cooldown=4, min_lr=[1e-3, 0.0, 2e-2]),
    dict(factor=0.7, patience=0, threshold=0.0, cooldown=1, min_lr=1e-4, eps=1e-3),
])
def test_reduce_on_plateau_equals_torch(mode, threshold_mode, options):
    metric = plateau_metric() * (1 if mode == "min" else -1)
    kwargs = dict(mode=mode, threshold_mode=threshold_mode, **options)
    reference, _, theirs = run(lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, **kwargs),
                               torch_optimizer(), metrics=metric)
    on_numpy, _, ours = run(lambda o: schedules.ReduceLROnPlateau(o, **kwargs),
                            numpy_optimizer(), metrics=metric)
    on_torch, _, _ = run(lambda o: schedules.ReduceLROnPlateau(o, **kwargs),
                         torch_optimizer(), metrics=metric)
    assert len(np.unique(reference[:, 1])) > 2, "the metric must trigger several cuts"
    np.testing.assert_array_equal(on_numpy, reference)
    np.testing.assert_array_equal(on_torch, reference)
    assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter, ours.last_epoch) == \
        (theirs.best, theirs.num_bad_epochs, theirs.cooldown_counter, theirs.last_epoch)


def test_min_lr_and_eps_stop_the_cuts():
    optimizer = numpy_optimizer()
    scheduler = schedules.ReduceLROnPlateau(optimizer, factor=0.5, patience=0, min_lr=0.01)
    for _ in range(50):
        scheduler.step(1.0)
    assert scheduler.get_last_lr() == [0.01, 0.01, 0.01]


# ----------------------------------------------------------------------------------------
# Keras's InverseTimeDecay and the legacy decay
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("staircase", [False, True])
def test_inverse_time_decay_is_kerass_formula(staircase):
    optimizer = numpy_optimizer()
    lrs, _, _ = run(lambda o: schedules.InverseTimeDecay(o, decay_steps=25, decay_rate=0.5,
                                                         staircase=staircase), optimizer)
    t = np.arange(STEPS + 1)
    elapsed = np.floor(t / 25) if staircase else t / 25
    np.testing.assert_allclose(lrs, np.array(LRS) / (1 + 0.5 * elapsed[:, None]), rtol=1e-15)


def test_legacy_decay_is_per_step_time_decay():
    """Keras's legacy SGD(lr, decay=d) uses lr / (1 + d * iterations) at each step."""
    lrs, _, _ = run(lambda o: schedules.InverseTimeDecay.legacy(o, decay=1e-2), numpy_optimizer())
    iterations = np.arange(STEPS + 1)[:, None]
    np.testing.assert_allclose(lrs, np.array(LRS) * (1.0 / (1.0 + 1e-2 * iterations)), rtol=1e-15)


# ----------------------------------------------------------------------------------------
# Saving and resuming
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [*CASES, "SequentialLR", "InverseTimeDecay", "ReduceLROnPlateau"])
def test_state_dict_round_trip_resumes_identically(name):
    metric = plateau_metric()
    if name == "InverseTimeDecay":
        make = lambda o: schedules.InverseTimeDecay(o, 10, 0.3)  # noqa: E731
    elif name == "ReduceLROnPlateau":
        make = lambda o: schedules.ReduceLROnPlateau(o, patience=2, cooldown=3)  # noqa: E731
    else:
        make = makers(name)[0]
    args = (lambda t: [metric[t]]) if name == "ReduceLROnPlateau" else (lambda t: [])
    whole, _, _ = run(make, numpy_optimizer(momentum=0.9),
                      metrics=metric if name == "ReduceLROnPlateau" else None)

    optimizer = numpy_optimizer(momentum=0.9)
    scheduler = make(optimizer)
    for t in range(200):
        take_step(optimizer)
        scheduler.step(*args(t))
    saved = pickle.dumps((optimizer.state_dict(), scheduler.state_dict()))

    resumed_optimizer = numpy_optimizer(momentum=0.9)
    resumed = make(resumed_optimizer)  # a fresh scheduler, then the saved states
    optimizer_state, scheduler_state = pickle.loads(saved)
    resumed_optimizer.load_state_dict(optimizer_state)
    resumed.load_state_dict(scheduler_state)
    lrs = []
    for t in range(200, STEPS):
        take_step(resumed_optimizer)
        resumed.step(*args(t))
        lrs.append([g["lr"] for g in resumed_optimizer.param_groups])
    np.testing.assert_array_equal(np.array(lrs), whole[201:])


def test_lambda_state_dict_leaves_the_functions_out():
    scheduler = lambda_lr(schedules)(numpy_optimizer())
    assert "lr_lambdas" not in scheduler.state_dict()
    assert "optimizer" not in scheduler.state_dict()


def test_resuming_with_last_epoch_needs_initial_lr():
    with pytest.raises(ValueError, match="last_epoch=5 resumes a schedule.*'initial_lr'"):
        schedules.StepLR(numpy_optimizer(), 10, last_epoch=5)
    optimizer = numpy_optimizer()
    schedules.StepLR(optimizer, 10, gamma=0.5)
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"] * 0.5**2
    resumed = schedules.StepLR(optimizer, 10, gamma=0.5, last_epoch=25)
    for _ in range(5):
        resumed.step()
    assert resumed.get_last_lr() == pytest.approx([lr * 0.5**3 for lr in LRS], rel=1e-15)


# ----------------------------------------------------------------------------------------
# Bad arguments
# ----------------------------------------------------------------------------------------
def opt():
    return numpy_optimizer(momentum=0.9)


@pytest.mark.parametrize("make, error, message", [
    (lambda: schedules.StepLR(object(), 10), TypeError, "object is not an optimizer"),
    (lambda: schedules.StepLR(opt(), 0), ValueError, "step_size must be an integer >= 1, got 0"),
    (lambda: schedules.StepLR(opt(), 2.5), TypeError, "step_size must be an integer, got 2.5"),
    (lambda: schedules.StepLR(opt(), 10, gamma=-0.1), ValueError, "Invalid gamma value: -0.1"),
    (lambda: schedules.StepLR(opt(), 10, last_epoch=-2), ValueError, "last_epoch must be an integer >= -1"),
    (lambda: schedules.MultiStepLR(opt(), 30), TypeError, "milestones must be a list"),
    (lambda: schedules.MultiStepLR(opt(), [10, -1]), ValueError, "each of milestones must be an integer >= 0"),
    (lambda: schedules.ExponentialLR(opt(), "0.9"), TypeError, "gamma must be a real number"),
    (lambda: schedules.ExponentialLR(opt(), math.nan), ValueError, "Invalid gamma value: nan"),
    (lambda: schedules.LambdaLR(opt(), 0.5), TypeError, "lr_lambda must be a function"),
    (lambda: schedules.LambdaLR(opt(), [lambda t: 1.0]), ValueError, "expected 3 values for lr_lambda, got 1"),
    (lambda: schedules.LinearLR(opt(), start_factor=0), ValueError, "start_factor must be in \\(0, 1\\]"),
    (lambda: schedules.LinearLR(opt(), start_factor=1.5), ValueError, "Invalid start_factor value: 1.5"),
    (lambda: schedules.LinearLR(opt(), end_factor=-1), ValueError, "Invalid end_factor value: -1"),
    (lambda: schedules.LinearLR(opt(), total_iters=0), ValueError, "total_iters must be an integer >= 1"),
    (lambda: schedules.CosineAnnealingLR(opt(), 0), ValueError, "T_max must be an integer >= 1"),
    (lambda: schedules.CosineAnnealingLR(opt(), 10, eta_min=-1), ValueError, "Invalid eta_min value: -1"),
    (lambda: schedules.InverseTimeDecay(opt(), 0, 0.5), ValueError, "decay_steps must be positive"),
    (lambda: schedules.InverseTimeDecay(opt(), 10, -0.5), ValueError, "Invalid decay_rate value: -0.5"),
    (lambda: schedules.InverseTimeDecay(opt(), 10, 0.5, staircase=1), TypeError, "staircase must be True or False"),
    (lambda: schedules.OneCycleLR(opt(), 1.0), ValueError, "needs total_steps, or epochs and steps_per_epoch"),
    (lambda: schedules.OneCycleLR(opt(), 1.0, total_steps=0), ValueError, "total_steps must be an integer >= 1"),
    (lambda: schedules.OneCycleLR(opt(), 1.0, epochs=2, steps_per_epoch=0), ValueError, "steps_per_epoch must be"),
    (lambda: schedules.OneCycleLR(opt(), 1.0, 10, pct_start=1.5), ValueError, "Invalid pct_start value: 1.5"),
    (lambda: schedules.OneCycleLR(opt(), 1.0, 10, anneal_strategy="exp"), ValueError, "anneal_strategy must be"),
    (lambda: schedules.OneCycleLR(opt(), -1.0, 10), ValueError, "Invalid max_lr value: -1.0"),
    (lambda: schedules.OneCycleLR(opt(), [1.0, 2.0], 10), ValueError, "expected 3 values for max_lr, got 2"),
    (lambda: schedules.OneCycleLR(opt(), 1.0, 10, div_factor=0), ValueError, "div_factor must be positive"),
    (lambda: schedules.OneCycleLR(numpy_optimizer(ddlopt.optim.Adagrad), 1.0, 10), ValueError,
     "cycle_momentum=True needs an optimizer with momentum or betas"),
    (lambda: schedules.ReduceLROnPlateau(opt(), mode="lowest"), ValueError, "mode must be 'min' or 'max'"),
    (lambda: schedules.ReduceLROnPlateau(opt(), factor=1.0), ValueError, "Invalid factor value: 1.0"),
    (lambda: schedules.ReduceLROnPlateau(opt(), threshold_mode="pct"), ValueError, "threshold_mode must be"),
    (lambda: schedules.ReduceLROnPlateau(opt(), patience=-1), ValueError, "patience must be an integer >= 0"),
    (lambda: schedules.ReduceLROnPlateau(opt(), cooldown=1.5), TypeError, "cooldown must be an integer"),
    (lambda: schedules.ReduceLROnPlateau(opt(), threshold=-1e-4), ValueError, "Invalid threshold value"),
    (lambda: schedules.ReduceLROnPlateau(opt(), min_lr=[0.1]), ValueError, "expected 3 values for min_lr"),
    (lambda: schedules.ReduceLROnPlateau(opt(), min_lr=-1), ValueError, "Invalid min_lr value: -1"),
    (lambda: schedules.ReduceLROnPlateau(opt(), eps=-1), ValueError, "Invalid eps value: -1"),
])
def test_bad_arguments_raise_naming_them(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_sequential_lr_bad_arguments():
    optimizer, other = opt(), opt()
    a = schedules.LinearLR(optimizer, total_iters=5)
    b = schedules.ExponentialLR(optimizer, 0.9)
    with pytest.raises(ValueError, match="non-empty list of schedulers"):
        schedules.SequentialLR(optimizer, [], [])
    with pytest.raises(ValueError, match="one milestone fewer than schedulers: got 2 schedulers and 2"):
        schedules.SequentialLR(optimizer, [a, b], [5, 10])
    with pytest.raises(ValueError, match=r"schedulers\[1\] drives another optimizer"):
        schedules.SequentialLR(optimizer, [a, schedules.ExponentialLR(other, 0.9)], [5])
    with pytest.raises(ValueError, match="cannot run ReduceLROnPlateau"):
        schedules.SequentialLR(optimizer, [a, schedules.ReduceLROnPlateau(optimizer)], [5])


NUMPY_OPTIMIZERS = [getattr(ddlopt.optim, name) for name in ddlopt.optim.__all__
                    if isinstance(getattr(ddlopt.optim, name), type)
                    and issubclass(getattr(ddlopt.optim, name), ddlopt.optim.Optimizer)
                    and name not in ("Optimizer", "KerasOptimizer")]   # the bases


@pytest.mark.parametrize("cls", NUMPY_OPTIMIZERS, ids=lambda cls: cls.__name__)
def test_every_numpy_optimizer_ignores_the_keys_a_scheduler_adds(cls):
    """torch's optimizers ignore param-group keys they do not know (initial_lr, max_lr...);
    so must ddlopt's, and a scheduled run must equal the same run with the lrs set by hand.
    Matrices, so that Muon (matrices only) is among them, and of 64 x 64 = 4096 values, so
    that Adam's chunked path (arrays from adam.SMALL values) is among them too."""
    assert 64 * 64 >= ddlopt.optim.adam.SMALL

    def build():
        params = [ddlopt.Parameter(np.ones((64, 64))) for _ in LRS]
        if cls is ddlopt.optim.Prodigy:  # one estimated step for all parameters: one group
            optimizer = cls([{"params": params, "lr": LRS[0]}])
        else:
            optimizer = cls([{"params": [p], "lr": lr} for p, lr in zip(params, LRS)])
        if hasattr(optimizer, "train"):  # Schedule-Free steps only in train mode
            optimizer.train()
        return optimizer

    scheduled, by_hand = build(), build()
    scheduler = schedules.ExponentialLR(scheduled, gamma=0.9)
    for group in scheduled.param_groups:
        group["max_lr"] = group["some_other_key"] = 1.0
    for _ in range(5):
        take_step(scheduled)
        take_step(by_hand)
        scheduler.step()
        for group in by_hand.param_groups:
            group["lr"] *= 0.9
    for a, b in zip(scheduled.param_groups, by_hand.param_groups):
        np.testing.assert_array_equal(a["params"][0].data, b["params"][0].data)
