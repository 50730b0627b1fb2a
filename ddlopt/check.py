"""Exercise checkers: they run a student's code on test inputs and say what is wrong.

Each checker prints one line per finding (``✓`` passed, ``✗`` failed, with the likely
cause and the fix) and returns True when everything passed.

>>> import numpy as np
>>> def my_mse(y_true, y_pred):
...     return np.mean((y_pred - y_true) ** 2)
>>> check.loss(my_mse, "mse")          # doctest: +SKIP
✓ value matches mean_squared_error on random inputs
"""

import textwrap
import warnings

import numpy as np

from . import losses as _losses
from . import optim as _optim

__all__ = ["loss", "optimizer_step"]
__all__ += ["step_bytes"]

_RTOL = 1e-6  # a student's float64 formula agrees with ours far better than this


def _close(a, b):
    return bool(np.isfinite(a) and abs(a - b) <= _RTOL * max(abs(b), 1e-12))


def _call(fn, *args, **kwargs):
    """fn(*args) with NumPy's overflow and divide warnings silenced: we report them ourselves."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


def _inputs(reference, rng):
    """Ordinary inputs (y_true, y_pred) and extreme ones (or None) for the reference loss."""
    n_samples = 8
    if isinstance(reference, _losses.BinaryCrossentropy):
        y_true = rng.integers(0, 2, size=(n_samples, 1)).astype(float)
        logits = rng.normal(0.0, 2.0, size=(n_samples, 1))
        extreme_logits = np.where(y_true > 0.5, -1000.0, 1000.0)  # confidently wrong
        if reference.from_logits:
            return (y_true, logits), (y_true, extreme_logits)
        return (y_true, _losses.sigmoid(logits)), (y_true, _losses.sigmoid(extreme_logits))
    if isinstance(reference, _losses.CategoricalCrossentropy):
        n_classes = 4
        labels = rng.integers(0, n_classes, size=n_samples)
        logits = rng.normal(0.0, 2.0, size=(n_samples, n_classes))
        extreme_logits = 1000.0 * (1.0 - 2.0 * np.eye(n_classes)[labels])  # wrong, confidently
        y_true = labels if isinstance(reference, _losses.SparseCategoricalCrossentropy) \
            else np.eye(n_classes)[labels]
        if reference.from_logits:
            return (y_true, logits), (y_true, extreme_logits)
        return (y_true, _losses.softmax(logits)), (y_true, _losses.softmax(extreme_logits))
    y_true = rng.normal(size=(n_samples, 3))
    y_pred = y_true + rng.normal(0.0, 1.5, size=(n_samples, 3))
    return (y_true, y_pred), None  # nothing overflows in a regression loss


def _diagnose_scale(ratio, y_pred, what):
    """Name the usual mistakes from yours / expected: a flipped sign, a sum for a mean.

    Returns None when the ratio is none of them.
    """
    problems = []
    if ratio < 0:
        problems.append("has the wrong sign: " + (
            "cross-entropy is -(y log p), and the minus makes it positive" if what == "the value"
            else "it must point uphill, towards larger loss (prediction minus target)"))
        ratio = -ratio
    if not _close(ratio, 1.0):
        counts = {y_pred.size: "every element", len(y_pred): "the samples"}
        if y_pred.ndim > 1:
            counts.setdefault(y_pred.shape[-1], "the last axis")
        for count, over in counts.items():
            if count > 1 and _close(ratio, count):
                problems.append(f"is {count} times too large: the loss is a mean over {over}, "
                                f"so divide the sum by {count} (or use np.mean)")
                break
            if count > 1 and _close(ratio * count, 1.0):
                problems.append(f"is {count} times too small: it divides by {count} once too often")
                break
        else:
            return None
    return f"{what} " + ", and ".join(problems)


def loss(student_loss, reference, gradient=None, *, seed=0, **kwargs):
    """Check a student's loss function (and, optionally, its gradient) against ``reference``.

    ``student_loss(y_true, y_pred)`` must return the mean loss as one number;
    ``gradient(y_true, y_pred)`` must return d(mean loss)/d(y_pred), shaped like ``y_pred``.
    ``reference`` is a Keras name or a :class:`ddlopt.losses.Loss`; ``kwargs`` configure it
    (``from_logits=True``). Prints what passed and what did not; returns True if all passed.
    """
    if not callable(student_loss):
        raise TypeError(f"student_loss must be a function, got {student_loss!r}")
    if gradient is not None and not callable(gradient):
        raise TypeError(f"gradient must be a function or None, got {gradient!r}")
    ref = _losses.get(reference, **kwargs)
    rng = np.random.default_rng(seed)
    (y_true, y_pred), extreme = _inputs(ref, rng)
    findings = []  # (passed, message)

    def value_of(fn, *args):
        try:
            out = np.asarray(_call(fn, *args), dtype=float)
        except Exception as e:
            return None, f"it raised {type(e).__name__}: {e}"
        if out.size != 1:
            return None, f"it returns an array of shape {out.shape}; a loss is one number: " \
                         "average the per-sample losses (np.mean)"
        return float(out.reshape(())), None

    # 1. The value on ordinary inputs.
    yours, problem = value_of(student_loss, y_true, y_pred)
    expected = ref(y_true, y_pred)
    if problem is None and not np.isfinite(yours):
        problem = f"it returns {yours} on ordinary inputs"
    if problem is None and not _close(yours, expected):
        problem = _diagnose_scale(yours / expected, y_pred, "the value") or \
            f"the value differs: yours {yours:.6g}, expected {expected:.6g}"
    findings.append((problem is None, problem or f"value matches {ref.name} on random inputs"))

    # 2. Extreme inputs: logits of ±1000, probabilities of exactly 0 and 1. Where the value
    # was already wrong above, only its finiteness is judged here.
    if extreme is not None and yours is not None and np.isfinite(yours):
        yours_x, problem_x = value_of(student_loss, *extreme)
        expected_x = ref(*extreme)
        if problem_x is None and not np.isfinite(yours_x):
            problem_x = f"gives {yours_x}"
        elif problem_x is None and problem is None and not _close(yours_x, expected_x):
            problem_x = f"gives {yours_x:.6g} instead of {expected_x:.6g}"
        if problem_x is not None:
            if getattr(ref, "from_logits", False):
                fix = "exp(1000) overflows: use the log-sum-exp trick (np.logaddexp, or " \
                      "subtract the largest logit before exponentiating)"
            else:
                fix = f"log(0) is -inf: clip the probabilities to [{_losses.EPSILON:g}, " \
                      f"1 - {_losses.EPSILON:g}] first"
            problem_x = f"unstable on extreme inputs: {problem_x}; {fix}"
        findings.append((problem_x is None, problem_x or "stays finite on extreme inputs"))

    # 3. The gradient: shape, then values.
    if gradient is not None:
        try:
            g = np.asarray(_call(gradient, y_true, y_pred), dtype=float)
            g_problem = None
        except Exception as e:
            g, g_problem = None, f"the gradient raised {type(e).__name__}: {e}"
        g_expected = ref.gradient(y_true, y_pred)
        if g_problem is None and g.shape != y_pred.shape:
            g_problem = f"the gradient has shape {g.shape} but y_pred has shape {y_pred.shape}: " \
                        "the derivative of one number by each prediction has y_pred's shape"
        if g_problem is None and not np.allclose(g, g_expected, rtol=_RTOL, atol=1e-12):
            scale = float(np.vdot(g, g_expected) / np.vdot(g_expected, g_expected))
            g_problem = _diagnose_scale(scale, y_pred, "the gradient") or \
                f"the gradient differs: largest error {np.max(np.abs(g - g_expected)):.3g} " \
                f"(its entries are about {np.max(np.abs(g_expected)):.3g})"
        findings.append((g_problem is None,
                         g_problem or "gradient matches d(mean loss)/d(y_pred)"))

    for passed, message in findings:  # wrapped to fit a notebook's output area
        print(textwrap.fill(("✓ " if passed else "✗ ") + message, 78, subsequent_indent="  ",
                            break_on_hyphens=False))
    return all(passed for passed, _ in findings)


# ----------------------------------------------------------------------------------------
# Optimizer update rules
# ----------------------------------------------------------------------------------------
_UPDATES = {"sgd": _optim.sgd_update, "adagrad": _optim.adagrad_update,
            "rmsprop": _optim.rmsprop_update, "adam": _optim.adam_update}


def _adam_variant(param, grad, state, *, lr, betas=(0.9, 0.999), eps=1e-8, correct_bias=True,
                  eps_inside=False, average_m=True, **_):
    """Adam with one of the usual mistakes, to recognise it in a student's steps."""
    beta1, beta2 = betas
    state["t"] = t = state.get("t", 0) + 1
    m = state["m"] = beta1 * state.get("m", 0.0) + ((1 - beta1) if average_m else 1.0) * grad
    v = state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * grad * grad
    if correct_bias:
        m, v = m / (1 - beta1**t), v / (1 - beta2**t)
    param -= lr * m / (np.sqrt(v + eps) if eps_inside else np.sqrt(v) + eps)


# rule -> [(message, update with that mistake)]: a student's steps matching one get its message
_MISTAKES = {"adam": [
    ("the bias correction is missing: divide m by 1 - beta1^t and v by 1 - beta2^t "
     "(both start at zero, so uncorrected the early steps have the wrong size)",
     lambda *a, **k: _adam_variant(*a, correct_bias=False, **k)),
    ("epsilon is inside the square root: Adam divides by sqrt(v_hat) + eps",
     lambda *a, **k: _adam_variant(*a, eps_inside=True, **k)),
    ("the first moment is not an average: m = beta1 * m + (1 - beta1) * g, not beta1 * m + g",
     lambda *a, **k: _adam_variant(*a, average_m=False, **k)),
]}


def _student_steps(update, start, grads, hyperparameters):
    """Run a student's update rule; returns the parameter after each step."""
    param, state, path = start.copy(), {}, []
    for g in grads:
        out = _call(update, param, g.copy(), state, **hyperparameters)
        if out is not None:  # returning the new value instead of updating in place is fine
            param = np.array(out, dtype=float)
        path.append(param.copy())
    return path


def optimizer_step(student_update, reference="sgd", *, steps=5, seed=0, **hyperparameters):
    """Check a student's update rule against ddlopt's, over ``steps`` steps.

    ``student_update(param, grad, state, **hyperparameters)`` must update ``param`` in place
    (or return its new value), keeping what it needs between steps in the dict ``state``,
    as :func:`ddlopt.optim.sgd_update` does. ``reference`` names the rule (``"sgd"``).
    Prints what passed and what did not; returns True if all passed.
    """
    if not callable(student_update):
        raise TypeError(f"student_update must be a function, got {student_update!r}")
    if reference not in _UPDATES:
        raise ValueError(f"unknown update rule {reference!r}; known: {', '.join(_UPDATES)}")
    if "lr" not in hyperparameters:
        raise ValueError("pass the learning rate, e.g. optimizer_step(f, 'sgd', lr=0.1)")
    rng = np.random.default_rng(seed)
    start = rng.normal(size=(3, 2))
    grads = [rng.normal(size=(3, 2)) for _ in range(steps)]
    expected = _student_steps(_UPDATES[reference], start, grads, hyperparameters)
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
        for message, mistaken in _MISTAKES.get(reference, []):
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
                step, _student_steps(_UPDATES[reference], start, grads[:1],
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
    print(textwrap.fill(("✓ " if problem is None else "✗ ") + message, 78, subsequent_indent="  ",
                        break_on_hyphens=False))
    return problem is None


def step_bytes(answer, optimizer, **flags):
    """Check a count of the bytes per parameter that one float32 step of ``optimizer``
    (``"sgd"``, ``"adam"``, ``"adamw"``, ``"rmsprop"``, ``"adagrad"``, with flags such as
    ``momentum=0.9``, ``amsgrad=True``, ``centered=True``) must move. Prints what is right
    or the likely slip; returns True if right."""
    from .floor import arrays_moved

    read, written = arrays_moved(optimizer, **flags)
    expected = 4 * (read + written)
    what = f"{optimizer} with {flags}" if flags else optimizer
    if answer == expected:
        problem = None
    elif answer == 4 * read:
        problem = "that counts the reads only: each array the step changes is written back too"
    elif answer == 4 * (read + written + 1):
        problem = "the gradient is read but not written: the step leaves it as it is"
    elif answer == 4 * (read + written - 1):
        problem = ("one array is missing: the parameter and the gradient are read, and each "
                   "state array is read and written back")
    elif answer == read + written:
        problem = "that counts arrays: each float32 value is 4 bytes"
    elif answer == 8 * (read + written):
        problem = "that is float64: the question is about float32 (4 bytes a value)"
    else:
        problem = (f"not {answer}: count the arrays read (parameter, gradient, each state) and "
                   "those written (parameter, each state), 4 bytes a value")
    message = problem or f"{what}: {expected} bytes per parameter ({read} arrays read, " \
                         f"{written} written)"
    print(textwrap.fill(("✓ " if problem is None else "✗ ") + message, 78, subsequent_indent="  ",
                        break_on_hyphens=False))
    return problem is None
