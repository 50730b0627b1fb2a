"""Chapter 11 (after Adam): Lion's rule for ``check.optimizer_step(f, "lion", ...)``,
with the usual mistakes in it named, and ``check.newton_schulz(f)`` for Muon's iteration."""

import numpy as np

from .. import optim as _optim
from ._shared import checker, require_function, result_of, say
from .ch02 import add_update_rule

__all__ = ["newton_schulz"]


def _lion_variant(param, grad, state, *, lr, betas=(0.9, 0.99), weight_decay=0.0,
                  momentum_first=False, swapped=False, decay_unscaled=False, **_):
    """Lion with one of the usual mistakes, to recognise it in a student's steps."""
    beta1, beta2 = betas[::-1] if swapped else betas
    m = state.setdefault("m", np.zeros_like(param))
    if momentum_first:
        m *= beta2
        m += (1 - beta2) * grad
    direction = np.sign(beta1 * m + (1 - beta1) * grad)
    param *= 1 - (weight_decay if decay_unscaled else lr * weight_decay)
    param -= lr * direction
    if not momentum_first:
        m *= beta2
        m += (1 - beta2) * grad


_MISTAKES = [
    ("the momentum is updated before the sign is taken: Lion steps along "
     "sign(beta1 * m + (1 - beta1) * g) with the previous m, and only then sets "
     "m = beta2 * m + (1 - beta2) * g",
     lambda *a, **k: _lion_variant(*a, momentum_first=True, **k)),
    ("beta1 and beta2 are swapped: beta1 (0.9) mixes the gradient into the sign, beta2 (0.99) "
     "is the momentum's decay",
     lambda *a, **k: _lion_variant(*a, swapped=True, **k)),
    ("the weight decay is not scaled by the learning rate: Lion's decay is decoupled, "
     "param *= 1 - lr * weight_decay",
     lambda *a, **k: _lion_variant(*a, decay_unscaled=True, **k)),
]

# Lion's sign hides its momentum for the first dozens of steps: compare 200
add_update_rule("lion", _optim.lion_update, _MISTAKES, steps=200)


# ---- Muon's Newton–Schulz iteration -----------------------------------------------------
def _newton_schulz_variant(matrix, steps, *, coefficients=_optim.muon.NS_COEFFICIENTS,
                           normalize="frobenius", gram_side="left"):
    """The iteration with one of the usual mistakes, to recognise it in a student's result."""
    a, b, c = coefficients
    x = np.asarray(matrix, dtype=np.float64)
    if normalize == "frobenius":
        x = x / np.linalg.norm(x)
    elif normalize == "spectral":
        x = x / np.linalg.norm(x, 2)
    for _ in range(steps):
        if gram_side == "left":
            gram = x @ x.T
            x = a * x + (b * gram + c * gram @ gram) @ x
        else:                                   # X^T X, multiplied from the left: square only
            gram = x.T @ x
            x = a * x + (b * gram + c * gram @ gram) @ x
    return x


_NS_MISTAKES = [
    ("the matrix is not normalized first: divide it by its Frobenius norm "
     "(np.linalg.norm(X)), which brings every singular value into [0, 1], where the "
     "polynomial pushes them towards 1; outside it they blow up",
     dict(normalize=None)),
    ("the matrix is normalized by its largest singular value (the spectral norm): the "
     "reference divides by the Frobenius norm, np.linalg.norm(X), which is cheaper (no SVD) "
     "and also bounds every singular value by 1",
     dict(normalize="spectral")),
    ("the coefficients are in the wrong order: X <- q1 X + (q2 G + q3 G^2) X with "
     "(q1, q2, q3) = (3.4445, -4.7750, 2.0315) and G = X X^T",
     dict(coefficients=_optim.muon.NS_COEFFICIENTS[::-1])),
    ("the Gram matrix is X^T X: with it the polynomial must multiply X from the right, "
     "X (q2 G + q3 G^2); the reference uses G = X X^T on the left",
     dict(gram_side="right")),
]


@checker
def newton_schulz(student_fn, steps=5):
    """Check ``student_fn(matrix, steps)``, Muon's Newton–Schulz iteration (normalize by
    the Frobenius norm, then ``steps`` times X <- q1 X + (q2 X X^T + q3 (X X^T)^2) X with
    Jordan's coefficients), against ``ddlopt.optim.newton_schulz`` on a square, a wide and
    a tall matrix; names the usual mistakes."""
    require_function(student_fn, "student_fn")
    rng = np.random.default_rng(11)
    matrices = [rng.normal(size=shape) * np.geomspace(1, 1e-2, shape[1])
                for shape in [(6, 6), (4, 7), (8, 5)]]
    for matrix in matrices:
        expected = _optim.newton_schulz(matrix, steps)
        try:
            out = result_of(student_fn, matrix.copy(), steps)
            out = np.asarray(out, dtype=np.float64)
        except Exception as error:              # the student's code raised
            return say(False, f"on a {matrix.shape[0]} x {matrix.shape[1]} matrix it raised "
                              f"{type(error).__name__}: {error}")
        if out.shape == matrix.shape[::-1] and np.allclose(out.T, expected, rtol=1e-8,
                                                           atol=1e-10):
            return say(False, "the result is transposed: the iteration keeps the shape of "
                              "the matrix (transpose back a matrix you transposed)")
        if out.shape != matrix.shape:
            return say(False, f"the result has shape {out.shape}, the matrix {matrix.shape}: "
                              "the iteration keeps the shape (transpose back a matrix you "
                              "transposed)")
        if np.allclose(out, expected, rtol=1e-8, atol=1e-10):
            continue
        for message, variant in _NS_MISTAKES:
            try:
                with np.errstate(all="ignore"):
                    wrong = _newton_schulz_variant(matrix, steps, **variant)
            except ValueError:                  # X^T X on the left of a non-square X
                continue
            if np.all(np.isfinite(out)) == np.all(np.isfinite(wrong)) and (
                    not np.all(np.isfinite(out)) or np.allclose(out, wrong, rtol=1e-8,
                                                                atol=1e-10)):
                return say(False, message)
        for other in (steps - 1, steps + 1):
            if other >= 0 and np.allclose(out, _optim.newton_schulz(matrix, other),
                                          rtol=1e-8, atol=1e-10):
                return say(False, f"it runs {other} iterations where it was asked for "
                                  f"{steps}: loop exactly `steps` times")
        error = np.max(np.abs(out - expected))
        return say(False, f"on a {matrix.shape[0]} x {matrix.shape[1]} matrix the result "
                          f"differs from the reference by up to {error:.2g}: normalize by "
                          "the Frobenius norm, then apply the polynomial steps times")
    return say(True, f"{steps} iterations match ddlopt.optim.newton_schulz on a square, a "
                     "wide and a tall matrix")
