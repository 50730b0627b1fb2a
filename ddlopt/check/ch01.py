"""Chapter 1 (losses): ``check.loss``, a student's loss and its gradient against ours."""

import numpy as np

from .. import losses as _losses
from ._shared import RTOL, checker, close, require_function, result_of, say

__all__ = ["loss"]


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
    if not close(ratio, 1.0):
        counts = {y_pred.size: "every element", len(y_pred): "the samples"}
        if y_pred.ndim > 1:
            counts.setdefault(y_pred.shape[-1], "the last axis")
        for count, over in counts.items():
            if count > 1 and close(ratio, count):
                problems.append(f"is {count} times too large: the loss is a mean over {over}, "
                                f"so divide the sum by {count} (or use np.mean)")
                break
            if count > 1 and close(ratio * count, 1.0):
                problems.append(f"is {count} times too small: it divides by {count} once too often")
                break
        else:
            return None
    return f"{what} " + ", and ".join(problems)


@checker
def loss(student_loss, reference, gradient=None, *, seed=0, **kwargs):
    """Check a student's loss function (and, optionally, its gradient) against ``reference``.

    ``student_loss(y_true, y_pred)`` must return the mean loss as one number;
    ``gradient(y_true, y_pred)`` must return d(mean loss)/d(y_pred), shaped like ``y_pred``.
    ``reference`` is a Keras name or a :class:`ddlopt.losses.Loss`; ``kwargs`` configure it
    (``from_logits=True``). Prints what passed and what did not; returns True if all passed.
    """
    require_function(student_loss, "student_loss")
    if gradient is not None and not callable(gradient):
        raise TypeError(f"gradient must be a function or None, got {gradient!r}")
    ref = _losses.get(reference, **kwargs)
    rng = np.random.default_rng(seed)
    (y_true, y_pred), extreme = _inputs(ref, rng)
    passed = []  # each verdict is printed as soon as it is known

    def value_of(fn, *args):
        try:
            out = np.asarray(result_of(fn, *args), dtype=float)
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
    if problem is None and not close(yours, expected):
        problem = _diagnose_scale(yours / expected, y_pred, "the value") or \
            f"the value differs: yours {yours:.6g}, expected {expected:.6g}"
    passed.append(say(problem is None, problem or f"value matches {ref.name} on random inputs"))

    # 2. Extreme inputs: logits of ±1000, probabilities of exactly 0 and 1. Where the value
    # was already wrong above, only its finiteness is judged here.
    if extreme is not None and yours is not None and np.isfinite(yours):
        yours_x, problem_x = value_of(student_loss, *extreme)
        expected_x = ref(*extreme)
        if problem_x is None and not np.isfinite(yours_x):
            problem_x = f"gives {yours_x}"
        elif problem_x is None and problem is None and not close(yours_x, expected_x):
            problem_x = f"gives {yours_x:.6g} instead of {expected_x:.6g}"
        if problem_x is not None:
            if getattr(ref, "from_logits", False):
                fix = "exp(1000) overflows: use the log-sum-exp trick (np.logaddexp, or " \
                      "subtract the largest logit before exponentiating)"
            else:
                fix = f"log(0) is -inf: clip the probabilities to [{_losses.EPSILON:g}, " \
                      f"1 - {_losses.EPSILON:g}] first"
            problem_x = f"unstable on extreme inputs: {problem_x}; {fix}"
        passed.append(say(problem_x is None, problem_x or "stays finite on extreme inputs"))

    # 3. The gradient: shape, then values.
    if gradient is not None:
        try:
            g = np.asarray(result_of(gradient, y_true, y_pred), dtype=float)
            g_problem = None
        except Exception as e:
            g, g_problem = None, f"the gradient raised {type(e).__name__}: {e}"
        g_expected = ref.gradient(y_true, y_pred)
        if g_problem is None and g.shape != y_pred.shape:
            g_problem = f"the gradient has shape {g.shape} but y_pred has shape {y_pred.shape}: " \
                        "the derivative of one number by each prediction has y_pred's shape"
        if g_problem is None and not np.allclose(g, g_expected, rtol=RTOL, atol=1e-12):
            scale = float(np.vdot(g, g_expected) / np.vdot(g_expected, g_expected))
            g_problem = _diagnose_scale(scale, y_pred, "the gradient") or \
                f"the gradient differs: largest error {np.max(np.abs(g - g_expected)):.3g} " \
                f"(its entries are about {np.max(np.abs(g_expected)):.3g})"
        passed.append(say(g_problem is None,
                          g_problem or "gradient matches d(mean loss)/d(y_pred)"))

    return all(passed)


