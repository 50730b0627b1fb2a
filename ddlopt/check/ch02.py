"""Chapter 2 (gradient descent): ``check.optimizer_step``, a student's update rule against
ddlopt's, step by step. Chapters 3, 4, 5 and 11 check theirs with it too: each chapter's
module registers its rules (and the usual mistakes in them) with :func:`add_update_rule`."""

import numpy as np

from .. import optim as _optim
from ._shared import call, checker, require_function, say

__all__ = ["optimizer_step"]

# rule name -> (ddlopt's update, [(message, update with that mistake)], steps to check)
_RULES = {}


def add_update_rule(name, update, mistakes=(), steps=5):
    """Let ``optimizer_step(f, name, ...)`` check against ``update`` (``param, grad, state,
    **hyperparameters``, as :func:`ddlopt.optim.sgd_update`). ``mistakes``: pairs (message,
    the update with that mistake); a student's steps that match one get its message.
    ``steps``: how many steps are compared by default."""
    _RULES[name] = (update, list(mistakes), steps)


add_update_rule("sgd", _optim.sgd_update)


def _student_steps(update, start, grads, hyperparameters):
    """Run a student's update rule; returns the parameter after each step."""
    param, state, path = start.copy(), {}, []
    for g in grads:
        out = call(update, param, g.copy(), state, **hyperparameters)
        if out is not None:  # returning the new value instead of updating in place is fine
            param = np.array(out, dtype=float)
        path.append(param.copy())
    return path


@checker
def optimizer_step(student_update, reference="sgd", *, steps=None, seed=0, **hyperparameters):
    """Check a student's update rule against ddlopt's, over ``steps`` steps (the rule's default:
    5; 200 for Lion).

    ``student_update(param, grad, state, **hyperparameters)`` must update ``param`` in place
    (or return its new value), keeping what it needs between steps in the dict ``state``,
    as :func:`ddlopt.optim.sgd_update` does. ``reference`` names the rule (``"sgd"``).
    Prints what passed and what did not; returns True if all passed.
    """
    require_function(student_update, "student_update")
    if reference not in _RULES:
        raise ValueError(f"unknown update rule {reference!r}; known: {', '.join(_RULES)}")
    if "lr" not in hyperparameters:
        raise ValueError("pass the learning rate, e.g. optimizer_step(f, 'sgd', lr=0.1)")
    reference_update, mistakes, default_steps = _RULES[reference]
    steps = default_steps if steps is None else steps
    rng = np.random.default_rng(seed)
    start = rng.normal(size=(3, 2))
    grads = [rng.normal(size=(3, 2)) for _ in range(steps)]
    expected = _student_steps(reference_update, start, grads, hyperparameters)
    try:
        yours = _student_steps(student_update, start, grads, hyperparameters)
        problem = None
    except Exception as e:
        yours, problem = None, f"it raised {type(e).__name__}: {e}"

    def same(a, b):
        return np.allclose(a, b, rtol=1e-9, atol=1e-12)

    if problem is None and np.any(~np.isfinite(np.array(yours))):
        problem = "the parameters became NaN or inf: is something negative under a square " \
                  "root (the second moment averages g * g), or a division by zero?"
    if problem is None and not all(same(a, b) for a, b in zip(yours, expected)):
        for message, mistaken in mistakes:
            if all(same(a, b) for a, b in zip(
                    yours, _student_steps(mistaken, start, grads, hyperparameters))):
                problem = message
                break
    if problem is None and not same(yours[0], expected[0]):
        step, step_expected = yours[0] - start, expected[0] - start
        lr = hyperparameters["lr"]
        if np.allclose(step, 0.0):
            problem = "the parameter did not change: update it in place (param -= ...) or " \
                      "return its new value"
        elif same(step, -step_expected):
            problem = "the first step goes uphill: descent subtracts the gradient " \
                      "(param -= lr * grad)"
        elif same(step * lr, step_expected):
            problem = "the first step is 1/lr times too large: multiply the gradient by lr"
        elif same(step, step_expected * lr):
            problem = "the first step is lr times too small: lr is applied twice"
        elif hyperparameters.get("weight_decay") and same(
                step, _student_steps(reference_update, start, grads[:1],
                                     {**hyperparameters, "weight_decay": 0})[0] - start):
            problem = "weight decay is missing: add weight_decay * param to the gradient"
        else:
            worst = np.max(np.abs(step - step_expected) / np.maximum(np.abs(step_expected), 1e-300))
            problem = f"the first step differs, by up to {worst:.1e} relative: yours moves " \
                      f"the first row by {np.array2string(step[0], precision=9)}, expected " \
                      f"{np.array2string(step_expected[0], precision=9)}"
    if problem is None:
        for t, (a, b) in enumerate(zip(yours, expected)):
            if not same(a, b):
                problem = f"the first {t} step(s) are right but step {t + 1} differs: is " \
                          "what must carry over between steps (a momentum buffer) kept in state?"
                break
    message = problem or f"{steps} steps match {reference} with {hyperparameters}"
    return say(problem is None, message)
