"""Chapter 9 (in practice): ``check.clip_grad_norm``, a student's gradient clipping
against ``ddlopt.clip_grad_norm``; ``check.scaler_update``, a student's update of a dynamic
loss scale against GradScaler's rule (``ddlopt.experiments.ch09.scaler_update``)."""

import numpy as np

from .. import utils as _utils
from ..params import Parameter
from ._shared import call, checker, close, not_written, require_function, result_of, say

__all__ = ["clip_grad_norm", "scaler_update"]


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


# (found_inf at each step); growth_interval 3, starting from scale 2**16 and tracker 0
_SCALER_STEPS = [False, False, True, False, False, False, False, True, True, False, False,
                 False, False]


def _scaler_mistakes(scale, tracker, found_inf, interval):
    """The usual wrong rules, name -> (scale, tracker) after one step."""
    keep = (scale * 0.5, tracker) if found_inf else (
        (scale * 2.0, 0) if tracker + 1 == interval else (scale, tracker + 1))
    grow_every = (scale * 0.5, 0) if found_inf else (scale * 2.0, 0)
    no_reset = (scale * 0.5, tracker) if found_inf else (
        (scale * 2.0, tracker + 1) if (tracker + 1) % interval == 0 else (scale, tracker + 1))
    return {"keep": keep, "every": grow_every, "no_reset": no_reset}


_SCALER_MESSAGES = {
    "keep": "after an overflow the count of good steps must start again at 0",
    "every": "the scale grows only after growth_interval good steps in a row, not every step",
    "no_reset": "reset the count of good steps to 0 when the scale grows",
}


@checker
def scaler_update(student_update):
    """Check ``student_update(scale, growth_tracker, found_inf, growth_interval)``, which
    must return the new ``(scale, growth_tracker)`` as torch's GradScaler.update does
    (backoff 0.5 after an inf or NaN, growth 2 after ``growth_interval`` good steps), on a
    sequence of 13 steps with three overflows. Prints one verdict; returns True if right."""
    from ..experiments.ch09 import scaler_update as reference

    require_function(student_update, "student_update")
    interval = 3
    expected = yours = (2.0**16, 0)
    for step, found_inf in enumerate(_SCALER_STEPS, start=1):
        before = yours
        try:
            got = result_of(student_update, *yours, found_inf, interval)
            got = (float(got[0]), int(got[1]))
        except (TypeError, ValueError, IndexError) as e:
            return say(False, f"step {step}: return a pair (scale, growth_tracker); "
                              f"got an error: {e}")
        except Exception as e:
            return say(False, f"step {step}: it raised {type(e).__name__}: {e}")
        expected = reference(*expected, found_inf, growth_interval=interval)
        if not (close(got[0], expected[0]) and got[1] == expected[1]):
            wrong = _scaler_mistakes(*before, found_inf, interval)
            reason = next((_SCALER_MESSAGES[k] for k, v in wrong.items()
                           if close(got[0], v[0]) and got[1] == v[1]),
                          "compare it with GradScaler's rule in the text")
            return say(False, f"step {step} ({'overflow' if found_inf else 'finite'}): "
                              f"got scale {got[0]:g}, tracker {got[1]}; expected scale "
                              f"{expected[0]:g}, tracker {expected[1]}: {reason}")
        yours = got
    return say(True, f"the same scale as GradScaler at all {len(_SCALER_STEPS)} steps, "
                     f"three overflows among them")
