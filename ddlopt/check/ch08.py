"""Chapter 8 (regularization): ``check.dropout`` (inverted dropout), ``check.shift_images``
(data augmentation by shifting) and ``check.max_norm`` (the max-norm projection)."""

import numpy as np

from ._shared import checker, require_function, result_of, verdict

__all__ = ["dropout", "shift_images", "max_norm"]


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


def _shift_reference(images, dy, dx):
    from ..data import shift_images
    return shift_images(images, dy, dx, shape=images.shape[1:])


@checker
def shift_images(student_shift, *, seed=0):
    """Check ``student_shift(images, dy, dx)``: (n, h, w) images moved by ``dy`` rows (down
    when positive) and ``dx`` columns (right when positive), zeros coming in, against
    ``ddlopt.data.shift_images`` for every offset up to two pixels on 8 x 8 images and on
    5 x 7 ones."""
    require_function(student_shift, "student_shift")
    rng = np.random.default_rng(seed)
    problem = None
    for shape in ((8, 8), (5, 7)):
        images = rng.uniform(1.0, 2.0, (3, *shape))  # no zeros of their own
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                given = images.copy()
                try:
                    out = np.asarray(result_of(student_shift, given, dy, dx), dtype=np.float64)
                except Exception as e:
                    problem = f"it raised {type(e).__name__}: {e} (for dy={dy}, dx={dx})"
                    break
                problem = _shift_problem(images, given, out, dy, dx)
                if problem:
                    break
            if problem:
                break
        if problem:
            break
    return verdict(problem, "moves every image by (dy, dx) and fills the pixels that come in "
                            "with 0, for every offset up to two pixels")


def _shift_problem(images, given, out, dy, dx):
    """What is wrong with one shifted batch, or None."""
    where = f"for dy={dy}, dx={dx}"
    if not np.array_equal(given, images):
        return f"it changes the images it is given ({where}): return a new array"
    if out.shape != images.shape:
        return f"it returns shape {out.shape} for images of shape {images.shape}"
    if np.array_equal(out, _shift_reference(images, dy, dx)):
        return None
    if np.array_equal(out, np.roll(images, (dy, dx), axis=(1, 2))):
        return (f"the pixels pushed over one edge come back at the other ({where}): that is "
                "np.roll; the pixels that come in must be 0")
    if np.array_equal(out, _shift_reference(images, -dy, -dx)):
        return (f"it moves the images the wrong way ({where}): a positive dy moves the "
                "image down (row i goes to row i + dy), a positive dx to the right")
    if images.shape[1] == images.shape[2] and np.array_equal(
            out, _shift_reference(images, dx, dy)):
        return (f"dy and dx are swapped ({where}): dy counts rows (axis 1 of the (n, h, w) "
                "array), dx columns (axis 2)")
    return f"the result differs from the shifted images ({where})"


@checker
def max_norm(student_max_norm, *, seed=0):
    """Check ``student_max_norm(W, w_max)``: every column of W (one unit's incoming weights,
    for W of shape (in_features, out_features)) longer than ``w_max`` scaled back to norm
    ``w_max``, the others left as they are, against ``ddlopt.regularization.MaxNorm``."""
    from ..regularization import MaxNorm

    require_function(student_max_norm, "student_max_norm")
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(12, 8))
    W[:, ::2] *= 0.2  # half the columns short, half long
    c = 1.5
    given = W.copy()
    problem = None
    try:
        out = np.asarray(result_of(student_max_norm, given, c), dtype=np.float64)
    except Exception as e:
        out, problem = None, f"it raised {type(e).__name__}: {e}"
    if problem is None and out.shape != W.shape:
        problem = f"it returns shape {out.shape} for W of shape {W.shape}"
    if problem is None and not np.allclose(out, MaxNorm(c)(W), rtol=1e-6, atol=1e-12):
        columns = np.linalg.norm(W, axis=0)
        if np.allclose(out, MaxNorm(c, axis=1)(W), rtol=1e-6):
            problem = ("it bounds the rows: each unit's incoming weights are a column of W "
                       "(in_features, out_features), so take the norm over axis 0")
        elif np.allclose(out, W * c / columns, rtol=1e-6):
            problem = ("it scales every column to norm w_max, the short ones up too: only "
                       "a column longer than w_max is scaled down; the others stay as they "
                       "are")
        elif np.allclose(out, np.clip(W, -c, c), rtol=1e-6):
            problem = ("it clips the entries: max-norm bounds the length (Euclidean norm) "
                       "of each column, not each weight")
        elif np.allclose(out, W * min(1.0, c / np.linalg.norm(W)), rtol=1e-6):
            problem = ("it scales the whole matrix by its norm: bound each column "
                       "separately")
        else:
            problem = ("the result differs from the projection of each column onto norm "
                       "<= w_max")
    return verdict(problem, "scales each column longer than w_max back to norm w_max and "
                            "leaves the shorter ones alone")
