"""Chapter 4 (Adagrad and RMSprop): their update rules for ``check.optimizer_step(f,
"adagrad", ...)`` and ``check.optimizer_step(f, "rmsprop", ...)``, Keras's RMSprop
(``check.keras_rmsprop_step``, which tells epsilon inside the square root from outside) and
full-matrix Adagrad (``check.full_adagrad_step``)."""

import numpy as np

from .. import optim as _optim
from ._shared import checker, require_function, say
from .ch02 import _student_steps, add_update_rule

__all__ = ["keras_rmsprop_step", "full_adagrad_step"]


# ----------------------------------------------------------------------------------------
# PyTorch's RMSprop and Adagrad, through optimizer_step
# ----------------------------------------------------------------------------------------
def _rmsprop_variant(param, grad, state, *, lr, alpha=0.99, eps=1e-8, eps_inside=False,
                     average=True, **_):
    """RMSprop with one of the usual mistakes, to recognise it in a student's steps."""
    square_avg = alpha * state.get("v", 0.0) + ((1 - alpha) if average else 1.0) * grad**2
    state["v"] = square_avg
    denominator = np.sqrt(square_avg + eps) if eps_inside else np.sqrt(square_avg) + eps
    param -= lr * grad / denominator


_RMSPROP_MISTAKES = [
    ("epsilon is inside the square root: that is Keras's RMSprop; PyTorch's divides by "
     "sqrt(v) + eps", lambda *a, **k: _rmsprop_variant(*a, eps_inside=True, **k)),
    ("v is not an average: v = alpha * v + (1 - alpha) * g**2, not alpha * v + g**2",
     lambda *a, **k: _rmsprop_variant(*a, average=False, **k)),
]

add_update_rule("adagrad", _optim.adagrad_update)
add_update_rule("rmsprop", _optim.rmsprop_update, _RMSPROP_MISTAKES)


def _steps_or_problem(student_update, reference, start, grads, hyperparameters):
    """(the student's parameters after each step, None) or (None, what went wrong)."""
    try:
        yours = _student_steps(student_update, start, grads, hyperparameters)
    except Exception as e:
        return None, f"it raised {type(e).__name__}: {e}"
    if not np.all(np.isfinite(np.array(yours))):
        return None, ("the parameters became NaN or inf: is something negative under a "
                      "square root, or a division by zero?")
    return yours, None


def _match(yours, other, rtol=1e-9):
    return all(np.allclose(a, b, rtol=rtol, atol=1e-14) for a, b in zip(yours, other))


# ----------------------------------------------------------------------------------------
# Keras's RMSprop
# ----------------------------------------------------------------------------------------
_SCALES = np.array([1.0, 1e-3, 1e-6])  # gradient sizes of the three rows: g^2 >> eps, ~ eps, << eps


def _keras_rmsprop(param, grad, state, *, lr, rho=0.9, eps=1e-7):
    _optim.keras_rmsprop_update(param, grad, state, learning_rate=lr, rho=rho, epsilon=eps)


def _keras_variant(param, grad, state, *, lr, rho=0.9, eps=1e-7, eps_outside=False,
                   average=True, swapped=False, corrected=False, root=True):
    """Keras's RMSprop with one of the usual mistakes."""
    state["t"] = t = state.get("t", 0) + 1
    old = state.get("v", 0.0)
    if swapped:
        v = (1 - rho) * old + rho * grad**2
    else:
        v = rho * old + ((1 - rho) if average else 1.0) * grad**2
    state["v"] = v
    if corrected:
        v = v / (1 - rho**t)
    if not root:
        denominator = v + eps
    elif eps_outside:
        denominator = np.sqrt(v) + eps
    else:
        denominator = np.sqrt(v + eps)
    param -= lr * grad / denominator


def _keras_mistake(**flags):
    return lambda *a, **k: _keras_variant(*a, **flags, **k)


_KERAS_MISTAKES = [
    ("epsilon is outside the square root: that is PyTorch's RMSprop. Keras divides by "
     "sqrt(v + eps). The two agree where g**2 is far above eps and part where it is not: "
     "on the coordinates whose gradients are about 1e-6 your steps are {ratio} times "
     "Keras's", _keras_mistake(eps_outside=True)),
    ("v is not an average: v = rho * v + (1 - rho) * g**2, not rho * v + g**2",
     _keras_mistake(average=False)),
    ("rho and 1 - rho are swapped: the new g**2 gets the weight 1 - rho = 0.1, the old "
     "average rho = 0.9", _keras_mistake(swapped=True)),
    ("v is bias-corrected (divided by 1 - rho**t): that is Adam's correction; RMSprop "
     "uses v as it is", _keras_mistake(corrected=True)),
    ("the square root is missing: divide by sqrt(v + eps), not by v + eps",
     _keras_mistake(root=False)),
]


@checker
def keras_rmsprop_step(student_update, lr=0.01, rho=0.9, eps=1e-7, steps=5, seed=0):
    """Check a student's Keras RMSprop, ``student_update(param, grad, state, lr, rho, eps)``
    (in place, or returning the new value, as :func:`optimizer_step` expects), against
    ``ddlopt.optim.keras_rmsprop_update`` over ``steps`` steps, with gradients of three
    sizes (about 1, 1e-3 and 1e-6, one row each) so that epsilon's place shows: inside the
    square root (Keras) or outside (PyTorch). Returns True if every step matches."""
    require_function(student_update, "student_update")
    rng = np.random.default_rng(seed)
    start = rng.normal(size=(3, 2))
    grads = [rng.normal(size=(3, 2)) * _SCALES[:, None] for _ in range(steps)]
    hyperparameters = {"lr": lr, "rho": rho, "eps": eps}
    expected = _student_steps(_keras_rmsprop, start, grads, hyperparameters)
    yours, problem = _steps_or_problem(student_update, _keras_rmsprop, start, grads,
                                       hyperparameters)
    if problem is None and not _match(yours, expected):
        for message, mistaken in _KERAS_MISTAKES:
            if _match(yours, _student_steps(mistaken, start, grads, hyperparameters)):
                ratio = np.median(np.abs((yours[0] - start)[2] / (expected[0] - start)[2]))
                problem = message.format(ratio=f"{ratio:.0f}")
                break
        else:
            worst = [np.max(np.abs((a - b) / b)) for a, b in zip(yours[0] - start,
                                                                  expected[0] - start)]
            first = next((t for t, (a, b) in enumerate(zip(yours, expected))
                          if not np.allclose(a, b, rtol=1e-9, atol=1e-14)), 0)
            problem = (f"step {first + 1} differs from Keras's (on the first step, by up to "
                       f"{worst[0]:.1e}, {worst[1]:.1e} and {worst[2]:.1e} relative on the "
                       "coordinates with gradients of about 1, 1e-3 and 1e-6): "
                       "v = rho * v + (1 - rho) * g**2, param -= lr * g / sqrt(v + eps)")
    message = problem or (f"{steps} steps match Keras's RMSprop (rho={rho}, eps={eps:g} inside "
                          "the root), on gradients of about 1, 1e-3 and 1e-6")
    return say(problem is None, message)


# ----------------------------------------------------------------------------------------
# Full-matrix Adagrad
# ----------------------------------------------------------------------------------------
def _matrix_power(G, power):
    """G^power for a symmetric positive semi-definite G (eigenvalues below 0 by rounding
    taken as 0)."""
    values, vectors = np.linalg.eigh(G)
    return (vectors * np.clip(values, 0.0, None) ** power) @ vectors.T


def _full_adagrad(param, grad, state, *, lr, eps=1e-8, form="root", accumulate=True):
    """Full-matrix Adagrad (Duchi et al. 2011): G_t = G_{t-1} + g g^T and
    theta -= lr (G_t^{1/2} + eps I)^{-1} g; ``form`` and ``accumulate`` give the usual
    mistakes."""
    outer = np.outer(grad, grad)
    G = state["G"] = state.get("G", 0.0) + outer if accumulate else outer
    identity = np.eye(len(grad))
    if form == "root":
        step = np.linalg.solve(_matrix_power(G, 0.5) + eps * identity, grad)
    elif form == "inverse":
        step = np.linalg.solve(G + eps * identity, grad)
    elif form == "eps_inside":
        step = _matrix_power(G + eps * identity, -0.5) @ grad
    else:  # "diagonal": Adagrad
        step = grad / (np.sqrt(np.diag(G)) + eps)
    param -= lr * step


def _full_mistake(**options):
    return lambda *a, **k: _full_adagrad(*a, **options, **k)


_FULL_MISTAKES = [
    ("only the diagonal of G is used: that is Adagrad. Full-matrix Adagrad solves with the "
     "whole G^(1/2) + eps I, which mixes the coordinates", _full_mistake(form="diagonal")),
    ("the step divides by G, not by its square root: use G^(1/2) (np.linalg.eigh: "
     "vectors * sqrt(values) @ vectors.T)", _full_mistake(form="inverse")),
    ("G does not accumulate: keep G = G + outer(g, g) in state, summed over every step so far",
     _full_mistake(accumulate=False)),
    ("epsilon is inside the square root, (G + eps I)^(-1/2): Duchi et al. and PyTorch's "
     "Adagrad add it outside, (G^(1/2) + eps I)^(-1)", _full_mistake(form="eps_inside")),
]


@checker
def full_adagrad_step(student_update, lr=0.1, eps=1e-3, steps=5, seed=0):
    """Check a student's full-matrix Adagrad, ``student_update(param, grad, state, lr, eps)``
    on a vector ``param`` (in place, or returning the new value), against
    theta -= lr (G^{1/2} + eps I)^{-1} g with G the sum of g g^T, over ``steps`` steps.
    Returns True if every step matches."""
    require_function(student_update, "student_update")
    rng = np.random.default_rng(seed)
    start = rng.normal(size=3)
    grads = [rng.normal(size=3) for _ in range(steps)]
    hyperparameters = {"lr": lr, "eps": eps}
    expected = _student_steps(_full_adagrad, start, grads, hyperparameters)
    yours, problem = _steps_or_problem(student_update, _full_adagrad, start, grads,
                                       hyperparameters)
    if problem is None and np.shape(yours[0]) != np.shape(start):
        problem = f"the parameter has shape {np.shape(yours[0])}, expected {start.shape}"
    if problem is None and not _match(yours, expected, rtol=1e-7):
        for message, mistaken in _FULL_MISTAKES:
            if _match(yours, _student_steps(mistaken, start, grads, hyperparameters), 1e-7):
                problem = message
                break
        else:
            first = next(t for t, (a, b) in enumerate(zip(yours, expected))
                         if not np.allclose(a, b, rtol=1e-7, atol=1e-14))
            problem = (f"step {first + 1} differs: G = G + outer(g, g), then "
                       "param -= lr * solve(G^(1/2) + eps * I, g)")
    message = problem or f"{steps} steps match full-matrix Adagrad (lr={lr}, eps={eps:g})"
    return say(problem is None, message)
