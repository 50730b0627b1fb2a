"""Chapter 6 (schedules): ``check.schedule``, a student's schedule function against
``ddlopt.schedules``."""

import numpy as np

from .. import schedules as _schedules
from ._shared import checker, require_function, result_of, say

__all__ = ["schedule"]

_SCHEDULES = ("StepLR", "MultiStepLR", "ExponentialLR", "LinearLR", "CosineAnnealingLR",
              "OneCycleLR", "InverseTimeDecay")


def _reference_lrs(reference, lr, steps, hyperparameters):
    """The learning rate of steps 0 .. steps-1 under ddlopt's scheduler ``reference``."""
    group = {"params": [], "lr": lr, "momentum": 0.9}
    optimizer = type("Optimizer", (), {"param_groups": [group], "defaults": group})()
    scheduler = getattr(_schedules, reference)(optimizer, **hyperparameters)
    lrs = []
    for _ in range(steps):
        lrs.append(group["lr"])
        scheduler.step()
    return np.array(lrs)


@checker
def schedule(student_schedule, reference="StepLR", *, lr=0.1, steps=100, **hyperparameters):
    """Check a student's schedule function against ``ddlopt.schedules.<reference>``.

    ``student_schedule(t, lr, **hyperparameters)`` must return the learning rate of step
    ``t`` (t = 0 is the rate before any scheduler step) for a base rate ``lr``, with the
    scheduler's own hyperparameters (``T_max=50``...). It is compared with the scheduler
    over ``steps`` steps. Prints what passed and what did not; returns True if all passed.
    """
    require_function(student_schedule, "student_schedule")
    if reference not in _SCHEDULES:
        raise ValueError(f"unknown schedule {reference!r}; known: {', '.join(_SCHEDULES)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 3:
        raise ValueError(f"steps must be an integer >= 3, got {steps!r}")
    expected = _reference_lrs(reference, lr, steps, hyperparameters)
    try:
        yours = np.array([result_of(student_schedule, t, lr, **hyperparameters)
                          for t in range(steps)], dtype=float)
        problem = None if yours.shape == (steps,) else \
            f"it returns arrays of shape {yours.shape[1:]}; return one number per step"
    except Exception as e:
        yours, problem = None, f"it raised {type(e).__name__}: {e}"

    def same(a, b):
        return np.allclose(a, b, rtol=1e-9, atol=1e-15)

    if problem is None and not np.all(np.isfinite(yours)):
        t = int(np.argmin(np.isfinite(yours)))
        problem = f"step {t} gives {yours[t]}: a division by zero?"
    if problem is None and not same(yours, expected):
        if same(yours[1:], expected[:-1]):
            problem = "off by one: your step t is the reference's step t - 1; t = 0 is the " \
                      "learning rate before any step, and it must be lr itself"
        elif same(yours[:-1], expected[1:]):
            problem = "off by one: your step t is the reference's step t + 1; t = 0 is the " \
                      "learning rate before any step"
        elif same(yours * lr, expected):
            problem = "yours is the factor, not the learning rate: multiply it by lr"
        elif expected[0] != 0 and same(yours, expected * (yours[0] / expected[0])):
            problem = f"yours is {yours[0] / expected[0]:.4g} times the reference at every " \
                      "step: the shape is right, the scale is not (is it lr at t = 0?)"
        else:
            t = int(np.argmax(~np.isclose(yours, expected, rtol=1e-9, atol=1e-15)))
            problem = f"the first {t} step(s) match but step {t} differs: yours " \
                      f"{yours[t]:.6g}, expected {expected[t]:.6g}"
            if reference == "StepLR" and t > 0:
                problem += " (StepLR changes only every step_size steps: round t / step_size " \
                           "down)"
    message = problem or f"{steps} steps match {reference} with lr={lr:g}" + \
        "".join(f", {k}={v}" for k, v in hyperparameters.items())
    return say(problem is None, message)
