"""Chapter 3 (momentum): Nesterov's rule for ``check.optimizer_step(f, "nesterov", ...)``,
with the usual mistakes in it named, and :func:`momentum_rate`, which checks a student's
closed-form rate of the heavy ball (or of Nesterov's method) on a quadratic against the
eigenvalues of the 2 x 2 matrix of one step. The heavy ball itself is checked with chapter
2's rule: ``check.optimizer_step(f, "sgd", lr=0.1, momentum=0.9)``."""

import math
import numbers

import numpy as np

from .. import optim as _optim
from ._shared import checker, close, require_function, result_of, say
from .ch02 import add_update_rule

__all__ = ["momentum_rate"]


# ----------------------------------------------------------------------------------------
# Nesterov's step, for optimizer_step(f, "nesterov", lr=..., momentum=...)
# ----------------------------------------------------------------------------------------
def _nesterov(param, grad, state, *, lr, momentum, **_):
    """PyTorch's Nesterov step: b_t = β b_{t-1} + g_t, θ -= η (g_t + β b_t)."""
    _optim.sgd_update(param, grad, state, lr=lr, momentum=momentum, nesterov=True)


def _scaled_buffer(param, grad, state, *, lr, momentum, **_):
    """(1 + β) b_t in place of g_t + β b_t."""
    _optim.sgd_update(param, grad, state, lr=lr * (1 + momentum), momentum=momentum)


def _heavy_ball(param, grad, state, *, lr, momentum, **_):
    """The heavy ball's step, θ -= η b_t, where Nesterov's was asked for."""
    _optim.sgd_update(param, grad, state, lr=lr, momentum=momentum)


add_update_rule("nesterov", _nesterov, [
    ("this is the heavy ball's step, param -= lr * b (the same as lr * (g + momentum * "
     "b_old) with the buffer before its update): Nesterov's adds momentum times the "
     "updated buffer, b = momentum * b + g, then param -= lr * (g + momentum * b)",
     _heavy_ball),
    ("the step is (1 + momentum) * b: Nesterov's is g + momentum * b, the gradient once "
     "and the updated buffer scaled by momentum", _scaled_buffer),
])


# ----------------------------------------------------------------------------------------
# The rate on a quadratic: max |z| over the roots of the characteristic polynomial
# ----------------------------------------------------------------------------------------
# (lr, beta, h): overdamped, complex, critically damped, alternating, diverging, plain
# gradient descent, a direction past 1/lr (Nesterov's 1 - lr h < 0), a tiny lr h
_POINTS = [(0.01, 0.5, 1.0), (0.3, 0.6, 2.0), (0.25, 0.25, 1.0), (1.0, 0.1, 2.0),
           (1.0, 0.5, 3.5), (0.5, 0.0, 1.0), (0.02, 0.9, 60.0), (1e-4, 0.9, 1.0),
           (0.03, 0.67, 100.0), (0.7, 0.3, 2.0)]


def _coefficients(lr, beta, h, nesterov):
    """(b, c) of z^2 - b z + c: eq. (hb-char) or, with ``nesterov``, eq. (nag-char)."""
    if nesterov:
        return (1 + beta) * (1 - lr * h), beta * (1 - lr * h)
    return 1 + beta - lr * h, beta


def _roots(lr, beta, h, nesterov):
    b, c = _coefficients(lr, beta, h, nesterov)
    root = np.emath.sqrt(b * b - 4 * c)
    return np.array([(b + root) / 2, (b - root) / 2])


def _rate(lr, beta, h, nesterov=False):
    """The reference: the largest eigenvalue modulus of the 2 x 2 matrix of one step."""
    b, c = _coefficients(lr, beta, h, nesterov)
    return float(np.max(np.abs(np.linalg.eigvals(np.array([[b, -c], [1.0, 0.0]])))))


# what a student's rate may be instead of the right one, and what to say then
def _largest_real(lr, beta, h, nesterov):
    return float(np.max(_roots(lr, beta, h, nesterov).real))


def _smaller_modulus(lr, beta, h, nesterov):
    return float(np.min(np.abs(_roots(lr, beta, h, nesterov))))


def _sqrt_product(lr, beta, h, nesterov):
    return math.sqrt(abs(_coefficients(lr, beta, h, nesterov)[1]))


def _other_method(lr, beta, h, nesterov):
    return _rate(lr, beta, h, not nesterov)


_RATE_MISTAKES = [
    (_largest_real, "the rate is the largest modulus |z|, not the largest root: a negative "
                    "root such as -0.9 shrinks the error as slowly as +0.9 (and a complex "
                    "pair by its modulus)"),
    (_smaller_modulus, "that is the smaller of the two |z|: the slower root, max |z|, sets "
                       "the pace"),
    (_sqrt_product, "sqrt of the roots' product is the rate only where the roots are "
                    "complex; where they are real the larger one is slower"),
]


def _number(value):
    """A student's rate as a float, or None if it is not a real number."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, (bool, complex)) or not isinstance(value, numbers.Real):
        return None
    return float(value)


@checker
def momentum_rate(student_rate, nesterov=False):
    """Check ``student_rate(lr, beta, h)``: the heavy ball's rate on a quadratic direction of
    curvature ``h``, the largest modulus of the roots of z^2 - (1 + beta - lr h) z + beta
    (eq. hb-char), or with ``nesterov=True`` of z^2 - (1 + beta)(1 - lr h) z
    + beta (1 - lr h) (eq. nag-char). Compared at ten settings that cover real, complex,
    double and diverging roots. Prints what passed or what did not; returns True if all
    passed."""
    require_function(student_rate, "student_rate")
    if not isinstance(nesterov, bool):
        raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
    method = "Nesterov's method" if nesterov else "the heavy ball"
    expected = [_rate(*point, nesterov) for point in _POINTS]
    try:
        raw = [result_of(student_rate, *point) for point in _POINTS]
    except Exception as error:  # a student's error, reported as a verdict
        return say(False, f"it raised {type(error).__name__}: {error}")
    yours = [_number(value) for value in raw]
    bad = [point for point, value in zip(_POINTS, yours) if value is None]
    if bad:
        return say(False, f"at lr, beta, h = {bad[0]} it returned {raw[_POINTS.index(bad[0])]!r}"
                          ": return one real number, the modulus |z| (abs() of a complex "
                          "root)")
    if any(math.isnan(value) for value in yours):
        point = _POINTS[[math.isnan(v) for v in yours].index(True)]
        return say(False, f"nan at lr, beta, h = {point}: there the roots are complex and "
                          "np.sqrt of the negative discriminant is nan; use np.emath.sqrt "
                          "(or cmath.sqrt) and take abs() of the roots")
    if all(close(y, e) for y, e in zip(yours, expected)):
        return say(True, f"the rate of {method} matches max |z| of the 2 x 2 matrix at "
                         f"{len(_POINTS)} settings (real, complex, double and diverging "
                         "roots)")
    mistakes = _RATE_MISTAKES + [(_other_method, "that is the rate of " + (
        "the heavy ball: Nesterov's polynomial is z^2 - (1 + beta)(1 - lr h) z "
        "+ beta (1 - lr h)" if nesterov else "Nesterov's method: the heavy ball's "
        "polynomial is z^2 - (1 + beta - lr h) z + beta"))]
    for mistaken, message in mistakes:
        if all(close(y, mistaken(*point, nesterov)) for y, point in zip(yours, _POINTS)):
            return say(False, message)
    for point, y, e in zip(_POINTS, yours, expected):
        if not close(y, e):
            return say(False, f"at lr, beta, h = {point} yours gives {y:.6g}, expected "
                              f"{e:.6g} (max |z| over both roots of {method}'s polynomial)")
    return False  # unreachable: some point differed
