"""Chapter 9 (in practice): ``check.clip_grad_norm``, a student's gradient clipping
against ``ddlopt.clip_grad_norm``."""

import numpy as np

from .. import utils as _utils
from ..params import Parameter
from ._shared import call, checker, close, not_written, require_function, say

__all__ = ["clip_grad_norm"]


def _clipping_cases(rng):
    """(name, gradients or None, max_norm): above the limit, below it, and a missing grad."""
    above = [rng.normal(size=(3, 4)) * 5, rng.normal(size=4) * 5]
    below = [g / 100 for g in above]
    return [("a total norm above max_norm", above, 1.0),
            ("a total norm below max_norm", below, 1.0),
            ("a parameter without a gradient", [above[0], None, above[1]], 2.0)]


def _parameters(grads):
    params = []
    for g in grads:
        p = Parameter(np.zeros_like(grads[0] if g is None else g))
        p.grad = None if g is None else g.copy()
        params.append(p)
    return params


def _clip_mistaken(grads, max_norm, how):
    """Clipping with one of the usual mistakes (``how``): the gradients it gives."""
    norms = [None if g is None else np.sqrt(np.sum(g**2)) for g in grads]
    total = np.sqrt(sum(n**2 for n in norms if n is not None))
    factor = {"per_parameter": lambda n: min(1.0, max_norm / (n + 1e-6)),
              "no_min": lambda n: max_norm / (total + 1e-6),
              "no_epsilon": lambda n: min(1.0, max_norm / total)}[how]
    return [None if g is None else g * factor(n) for g, n in zip(grads, norms)]


_CLIPPING_MISTAKES = [
    ("per_parameter", "each gradient is clipped on its own: clip by the global norm, one factor "
                      "for all gradients, from the norm of all of them together"),
    ("no_min", "small gradients are scaled up: the factor is min(1, max_norm / (norm + 1e-6)), "
               "so gradients below the limit stay as they are"),
    ("no_epsilon", "almost: torch divides by total_norm + 1e-6 (it keeps the division finite "
                   "when every gradient is zero); add it to match torch exactly"),
]


@checker
def clip_grad_norm(student_clip, *, seed=0):
    """Check a student's gradient clipping against :func:`ddlopt.clip_grad_norm`.

    ``student_clip(params, max_norm)`` gets a list of :class:`ddlopt.Parameter` (some with
    ``grad`` None), must rescale their ``.grad`` in place so that the total 2-norm is at most
    ``max_norm``, and return the total norm before clipping, as torch's
    ``clip_grad_norm_`` does. Prints what passed and what did not; returns True if all passed.
    """
    require_function(student_clip, "student_clip")
    findings = []
    for name, grads, max_norm in _clipping_cases(np.random.default_rng(seed)):
        reference = _parameters(grads)
        expected_norm = _utils.clip_grad_norm(reference, max_norm)
        expected = [p.grad for p in reference]
        params = _parameters(grads)
        try:
            returned = call(student_clip, params, max_norm)
            problem = None
        except Exception as e:
            problem = f"it raised {type(e).__name__}: {e}" + (
                " (skip parameters whose grad is None)" if any(g is None for g in grads) else "")
        yours = [p.grad for p in params]

        def same(a, b):
            return all((x is None) == (y is None) and (x is None or np.allclose(x, y, rtol=1e-12, atol=0))
                       for x, y in zip(a, b))

        if problem is None and returned is None and same(yours, grads) and not same(expected, grads):
            raise not_written(student_clip, returned_none=True)  # it did nothing at all

        if problem is None and not same(yours, expected):
            for how, message in _CLIPPING_MISTAKES:
                if same(yours, _clip_mistaken(grads, max_norm, how)):
                    problem = message
                    break
            else:
                problem = "the clipped gradients differ from grad * min(1, max_norm / (norm + 1e-6))"
        if problem is None:
            value = np.asarray(returned, dtype=float) if returned is not None else np.empty(0)
            value = float(value.reshape(())) if value.size == 1 else None
            clipped_norm = np.sqrt(sum(np.sum(g**2) for g in expected if g is not None))
            if value is None:
                problem = f"it returns {returned!r}: return the total norm before clipping (one number)"
            elif close(value, expected_norm):
                pass
            elif close(value, clipped_norm):
                problem = "it returns the norm after clipping: return the norm before it, as torch does"
            elif close(value, expected_norm**2):
                problem = "it returns the squared norm: take the square root"
            else:
                problem = f"it returns {value:.6g}, but the total norm is {expected_norm:.6g}"
        findings.append((problem is None, f"{name}: " + (problem or "right gradients and norm")))
    return all([say(passed, message) for passed, message in findings])  # every line printed
