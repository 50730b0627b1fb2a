"""Chapter 2 (gradient descent): ``check.optimizer_step``, a student's update rule against
ddlopt's, step by step (chapters 3, 4, 5 and 11 check theirs with it too: each chapter's
module registers its rules, and the usual mistakes in them, with :func:`add_update_rule`);
``check.largest_curvature``, power iteration on Hessian-vector products; and
``check.newton``, Newton's method."""

import numpy as np

from .. import optim as _optim
from ._shared import call, checker, require_function, result_of, say, verdict

__all__ = ["optimizer_step", "largest_curvature", "newton"]

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


# ----------------------------------------------------------------------------------------
# The largest curvature, by power iteration on Hessian-vector products
# ----------------------------------------------------------------------------------------
def _spd_matrix(eigenvalues, seed):
    """A symmetric matrix with these eigenvalues along random orthogonal directions."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((len(eigenvalues), len(eigenvalues))))
    return q @ np.diag(eigenvalues) @ q.T


# (what the matrix is, its eigenvalues): one eigenvalue clearly the largest in each
_CURVATURE_CASES = [
    ("a 2 x 2 Hessian diag(1, 10), rotated", [1.0, 10.0]),
    ("a 20 x 20 Hessian with curvatures from 0.01 to 50",
     list(np.r_[np.geomspace(0.01, 20.0, 19), 50.0])),
    ("a 50 x 50 Hessian whose curvatures are all below 1",
     list(np.r_[np.linspace(0.001, 0.3, 49), 0.6])),
]


@checker
def largest_curvature(student_fn, iterations=200):
    """Check ``student_fn(hvp, dim, iterations, seed)``, the largest eigenvalue L of a
    symmetric positive semi-definite Hessian H known only through ``hvp(v) = H @ v``, found
    by power iteration. Tried on three Hessians (2, 20 and 50 dimensions) whose largest
    eigenvalue is known; prints what passed and returns True if all did."""
    require_function(student_fn, "student_fn")
    ok = True
    for i, (what, eigenvalues) in enumerate(_CURVATURE_CASES):
        H = _spd_matrix(eigenvalues, seed=i)
        products = [0]

        def hvp(v, H=H):
            v = np.asarray(v, dtype=float)
            if v.shape != (len(H),):
                raise ValueError(f"hvp takes a vector of shape ({len(H)},), got {v.shape}")
            products[0] += 1
            return H @ v

        try:
            answer = result_of(student_fn, hvp, len(H), iterations, 0)
            problem = None
        except Exception as e:
            answer, problem = None, f"it raised {type(e).__name__}: {e}"
        if problem is None:
            problem = _curvature_problem(answer, max(eigenvalues), products[0])
        ok &= verdict(problem and f"on {what}: {problem}",
                      f"on {what}: L = {max(eigenvalues):.4g}")
    return ok


def _curvature_problem(answer, largest, products):
    """What is wrong with ``answer`` as the largest eigenvalue, or None."""
    if np.ndim(answer) != 0:
        return ("it returned an array: return the eigenvalue, a number (the Rayleigh "
                "quotient v @ hvp(v) of the unit vector v)")
    answer = float(answer)
    if not np.isfinite(answer) or abs(answer) < 1e-30 * largest:
        return (f"{answer:.3g}: normalize v (v / its norm) after every product, "
                "or it overflows or vanishes")
    if abs(answer - largest) <= 1e-6 * largest:
        return None
    if products <= 1:
        return (f"hvp was called {products} time(s): power iteration multiplies by H again "
                "and again, normalizing each time")
    if answer > largest * (1 + 1e-6):
        return (f"{answer:.6g}, larger than every eigenvalue of H ({largest:.6g} is the "
                "largest): is v a unit vector when you take v @ hvp(v)? (normalize v first, "
                "or divide by v @ v)")
    return (f"{answer:.6g} instead of {largest:.6g}: not yet the largest eigenvalue; repeat "
            "v <- hvp(v) / its norm as many times as you are given, then take v @ hvp(v)")


# ----------------------------------------------------------------------------------------
# Newton's method
# ----------------------------------------------------------------------------------------
def _newton_cases():
    """(what, gradient, hessian, start, steps, the answer) for the checker."""
    H = _spd_matrix([1.0, 1000.0, 30.0], seed=3)
    target = np.array([1.0, -2.0, 0.5])
    quadratic = ("a quadratic with condition number 1000, one step",
                 lambda th: H @ (th - target), lambda th: H, np.zeros(3), 1, target)
    # a smooth convex function that is not quadratic: sum of log cosh(x - c) + x^2 / 20
    c = np.array([0.5, -1.0, 2.0, 0.0])

    def gradient(th):
        return np.tanh(th - c) + th / 10

    def hessian(th):
        return np.diag(1 - np.tanh(th - c) ** 2 + 0.1)

    def rotated(th):
        return Q @ gradient(Q.T @ th)

    Q, _ = np.linalg.qr(np.random.default_rng(4).standard_normal((4, 4)))
    start = np.array([1.0, 0.0, -1.0, 0.5])
    reference = start.copy()
    for _ in range(4):
        reference = reference - np.linalg.solve(
            Q @ hessian(Q.T @ reference) @ Q.T, rotated(reference))
    smooth = ("a smooth convex function that is not quadratic, four steps", rotated,
              lambda th: Q @ hessian(Q.T @ th) @ Q.T, start, 4, reference)
    return [quadratic, smooth]


@checker
def newton(student_fn):
    """Check ``student_fn(gradient, hessian, theta, steps)``: ``steps`` steps of Newton's
    method, theta <- theta - H(theta)^-1 g(theta), from ``theta``; returns the last point.
    Tried on an ill-conditioned quadratic (one step must land on its minimum) and on a
    smooth convex function that is not quadratic. Prints what passed; True if all did."""
    require_function(student_fn, "student_fn")
    ok = True
    for what, gradient, hessian, start, steps, expected in _newton_cases():
        try:
            answer = np.asarray(result_of(student_fn, gradient, hessian, start.copy(), steps),
                                dtype=float)
            problem = None
        except Exception as e:
            answer, problem = None, f"it raised {type(e).__name__}: {e}"
        if problem is None:
            problem = _newton_problem(answer, gradient, hessian, start, steps, expected)
        ok &= verdict(problem and f"on {what}: {problem}", f"on {what}: right")
    return ok


def _newton_problem(answer, gradient, hessian, start, steps, expected):
    """What is wrong with ``answer`` as Newton's last point, or None."""
    if answer.shape != expected.shape:
        return f"it returned shape {answer.shape}; return the point, shape {expected.shape}"
    if np.allclose(answer, expected, rtol=1e-8, atol=1e-10):
        return None

    def run(step):
        theta = start.copy()
        for _ in range(steps):
            theta = step(theta)
        return theta

    mistakes = [
        (lambda th: th + np.linalg.solve(hessian(th), gradient(th)),
         "the step goes uphill: Newton subtracts H^-1 g"),
        (lambda th: th - hessian(th) @ gradient(th),
         "it multiplies the gradient by H: Newton divides by it, "
         "np.linalg.solve(H, g) (or inv(H) @ g)"),
        (lambda th: th - gradient(th) / np.diag(hessian(th)),
         "it divides by the diagonal of H only: that is a diagonal preconditioner, not "
         "Newton; solve with the whole matrix"),
        (lambda th: th - gradient(th),
         "it takes a gradient step: Newton's step is H^-1 g"),
    ]
    for step, message in mistakes:
        with np.errstate(all="ignore"):
            if np.allclose(answer, run(step), rtol=1e-8, atol=1e-10):
                return message
    if steps > 1 and np.allclose(answer, start - np.linalg.solve(hessian(start),
                                                                 gradient(start))):
        return f"only the first of the {steps} steps was taken"
    return (f"it ends at {np.array2string(answer, precision=6)}, Newton at "
            f"{np.array2string(expected, precision=6)}")
