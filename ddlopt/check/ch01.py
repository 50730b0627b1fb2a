"""Chapter 1 (losses): ``check.loss``, a student's loss and its gradient against ours;
``check.class_weights``, a student's balanced class weights."""

import numpy as np

from .. import losses as _losses
from ._shared import RTOL, checker, close, require_function, result_of, say, verdict

__all__ = ["loss", "class_weights"]


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
        # count -> (what the mean runs over, how the code names the count)
        counts = {y_pred.size: ("every element", "y_pred.size"),
                  len(y_pred): ("the samples", "len(y_pred)")}
        if y_pred.ndim > 1:
            counts.setdefault(y_pred.shape[-1], ("the last axis", "y_pred.shape[-1]"))
        for count, (over, named) in counts.items():
            if count > 1 and close(ratio, count):
                if what == "the value":
                    fix = f"so divide the sum by {count} (or use np.mean)"
                else:   # the derivative of a mean of m terms carries its 1/m
                    fix = (f"so the derivative of each term carries the factor 1/{count}: "
                           f"divide every entry of the gradient by {count} ({named})")
                problems.append(f"is {count} times too large: the loss is a mean over {over}, "
                                f"{fix}")
                break
            if count > 1 and close(ratio * count, 1.0):
                problems.append(f"is {count} times too small: it divides by {count} once too often")
                break
        else:
            return None
    return f"{what} " + ", and ".join(problems)


class _OtherSmoothing(_losses.Loss):
    """A cross-entropy whose targets are smoothed another way: ``smooth(y)`` in place of
    Keras's ``y (1 - alpha) + alpha / K`` (a student's usual slips)."""

    def __init__(self, reference, smooth):
        self.reference, self.smooth = reference, smooth

    def _check(self, y_true, y_pred):
        # the reference's checks on the raw targets, then this smoothing of them
        plain = type(self.reference)(self.reference.from_logits)
        y, p = plain._check(y_true, y_pred)
        return self.smooth(y), p

    def _value(self, y, p):
        return self.reference._value(y, p)

    def _gradient(self, y, p):
        return self.reference._gradient(y, p)


def _diagnose_smoothing(ref, evaluate, yours, agree, what="the value"):
    """For a label-smoothed reference: name the value (or gradient) of the usual slips, the
    targets not smoothed or alpha spread over the K - 1 wrong classes; else None."""
    alpha = getattr(ref, "label_smoothing", 0.0)
    if not alpha:
        return None
    binary = isinstance(ref, _losses.BinaryCrossentropy)
    n_classes = "2" if binary else "K"

    def spread_over_others(y):
        k = 2 if binary else y.shape[-1]
        return y * (1 - alpha) + alpha * (1 - y) / (k - 1)

    slips = [
        (lambda y: y, f"is that of the loss without label smoothing: train on the smoothed "
                      f"targets y (1 - {alpha:g}) + {alpha:g} / {n_classes}"),
        (spread_over_others, f"spreads alpha = {alpha:g} over the {n_classes} - 1 other "
                             f"classes only; Keras and PyTorch spread it over all "
                             f"{n_classes} classes, the true one included: "
                             f"y (1 - alpha) + alpha / {n_classes}"),
    ]
    for smooth, message in slips:
        if agree(yours, evaluate(_OtherSmoothing(ref, smooth))):
            return f"{what} {message}"
    return None


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
            _diagnose_smoothing(ref, lambda r: r(y_true, y_pred), yours, close) or \
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
                _diagnose_smoothing(ref, lambda r: r.gradient(y_true, y_pred), g,
                                    lambda a, b: np.allclose(a, b, rtol=RTOL, atol=1e-12),
                                    "the gradient") or \
                f"the gradient differs: largest error {np.max(np.abs(g - g_expected)):.3g} " \
                f"(its entries are about {np.max(np.abs(g_expected)):.3g})"
        passed.append(say(g_problem is None,
                          g_problem or "gradient matches d(mean loss)/d(y_pred)"))

    return all(passed)




@checker
def class_weights(student_weights, *, seed=0):
    """Check ``student_weights(labels, n_classes)``, the balanced class weights
    ``n / (K n_k)`` (scikit-learn's and Keras's "balanced": every class then carries the
    same total weight n / K), on imbalanced labels. Prints what passed and what did not;
    returns True if all passed."""
    require_function(student_weights, "student_weights")
    rng = np.random.default_rng(seed)
    cases = [(np.repeat([0, 1], [90, 10]), 2), (np.repeat([0, 1, 2, 3], [50, 30, 15, 5]), 4)]
    problem = None
    for labels, n_classes in cases:
        labels = rng.permutation(labels)
        counts = np.bincount(labels, minlength=n_classes)
        expected = len(labels) / (n_classes * counts)
        try:
            yours = np.asarray(result_of(student_weights, labels, n_classes), dtype=float)
        except Exception as e:
            problem = f"it raised {type(e).__name__}: {e}"
            break
        if yours.shape != (n_classes,):
            problem = (f"it returns shape {yours.shape} for {n_classes} classes; return one "
                       f"weight a class, shape ({n_classes},)")
            break
        if np.allclose(yours, expected, rtol=RTOL):
            continue
        if not np.all(np.isfinite(yours)):
            problem = (f"some weights are inf or NaN ({yours.tolist()}); each class here has "
                       "examples, so n / (K n_k) is finite")
            break
        shown = (f" (counts {counts.tolist()}: yours {np.round(yours, 4).tolist()}, "
                 f"expected {np.round(expected, 4).tolist()})")
        ratio = yours / expected
        if np.all(np.isfinite(ratio)) and np.allclose(ratio, ratio[0], rtol=1e-6) \
                and ratio[0] > 0:
            problem = (f"your weights are proportional to the balanced ones but "
                       f"{ratio[0]:.4g} times as large: scale them so that every class "
                       f"carries the total weight n / K, i.e. n_k * w_k = n / K{shown}")
        elif np.all(np.diff(yours[np.argsort(counts)]) >= 0) and yours.max() > yours.min():
            problem = ("your weights grow with the class's size: the rare class must get "
                       f"the larger weight, n / (K n_k){shown}")
        else:
            problem = f"the weights differ{shown}"
        break
    return verdict(problem, "balanced weights n / (K n_k) on 2 and 4 imbalanced classes")
