"""Chapter 8 (regularization): ``check.dropout``, a student's inverted dropout."""

import numpy as np

from ._shared import checker, require_function, result_of, verdict

__all__ = ["dropout"]


@checker
def dropout(student_dropout, p=0.5, *, seed=0):
    """Check ``student_dropout(x, p, rng)``, inverted dropout in training mode: each entry
    kept with probability ``1 - p`` and divided by ``1 - p``, else 0, a fresh mask each call.

    The tolerances are 5 standard errors of the fractions measured over 250 000 entries.
    """
    require_function(student_dropout, "student_dropout")
    if not 0 < p < 1:
        raise ValueError(f"p must be strictly between 0 and 1 for the check, got {p!r}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 1.5, (500, 500))
    problem = None
    try:
        first = np.asarray(result_of(student_dropout, x.copy(), p, rng), dtype=np.float64)
        second = np.asarray(result_of(student_dropout, x.copy(), p, rng), dtype=np.float64)
    except Exception as e:
        first = second = None
        problem = f"it raised {type(e).__name__}: {e}"
    if problem is None and first.shape != x.shape:
        problem = f"it returns shape {first.shape} for x of shape {x.shape}"
    if problem is None:
        kept = first != 0
        dropped = 1 - kept.mean()
        tolerance = 5 * np.sqrt(p * (1 - p) / x.size)
        scale = first[kept] / x[kept] if kept.any() else np.array([np.nan])
        if abs(dropped - p) > tolerance:
            problem = (f"it drops {dropped:.3f} of the entries, expected p = {p}" +
                       (": p is the probability to DROP a unit, keep it with 1 - p"
                        if abs(dropped - (1 - p)) < tolerance else ""))
        elif not np.allclose(scale, scale[0]):
            problem = "the kept entries are not all scaled by the same factor"
        elif np.isclose(scale[0], 1.0):
            problem = ("the kept entries are not scaled: divide them by 1 - p (inverted "
                       "dropout), or the expected activation shrinks by a factor 1 - p")
        elif np.isclose(scale[0], 1 - p):
            problem = "the kept entries are multiplied by 1 - p: divide by it instead"
        elif not np.isclose(scale[0], 1 / (1 - p)):
            problem = f"the kept entries are scaled by {scale[0]:.4g}, expected 1/(1 - p) = {1 / (1 - p):.4g}"
        elif np.array_equal(first != 0, second != 0):
            problem = "two calls drop the same entries: draw a new mask from rng at every call"
    return verdict(problem, f"drops a fraction p = {p} and scales the rest by 1/(1 - p) = "
                             f"{1 / (1 - p):.4g}; the mean activation is kept")
