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

from . import init as _init
from . import losses as _losses
from . import optim as _optim
from . import schedules as _schedules
from . import utils as _utils
from .floor import arrays_moved
from .params import Parameter

__all__ = ["loss", "optimizer_step", "schedule", "clip_grad_norm", "initializer", "dropout",
           "step_bytes"]

_RTOL = 1e-6  # a student's float64 formula agrees with ours far better than this


def _say(passed, message):
    """Print one verdict, ✓ or ✗, wrapped to a notebook's output width; returns ``passed``."""
    print(textwrap.fill(("✓ " if passed else "✗ ") + message, 78, subsequent_indent="  ",
                        break_on_hyphens=False))
    return passed


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

    return all([_say(passed, message) for passed, message in findings])  # every line printed


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


def optimizer_step(student_update, reference="sgd", *, steps=None, seed=0, **hyperparameters):
    """Check a student's update rule against ddlopt's, over ``steps`` steps (5; 200 for Lion).

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
    if steps is None:   # Lion's sign hides its momentum for the first dozens of steps
        steps = _CHECK_STEPS.get(reference, 5)
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
    return _say(problem is None, message)


# ----------------------------------------------------------------------------------------
# Learning-rate schedules (chapter 6)
# ----------------------------------------------------------------------------------------
_SCHEDULES = ("StepLR", "MultiStepLR", "ExponentialLR", "LinearLR", "CosineAnnealingLR",
              "OneCycleLR", "InverseTimeDecay")


def _reference_lrs(reference, lr, steps, hyperparameters):
    """The learning rate of steps 0 .. steps-1 under ddlopt's scheduler ``reference``."""
    group = {"params": [], "lr": lr, "momentum": 0.9}
    optimizer = type("Optimizer", (), {"param_groups": [group], "defaults": group})()
    scheduler = getattr(_schedules, reference)(optimizer, **hyperparameters)
    lrs = []
    for _ in range(steps):
        lrs.append(group["lr"])
        scheduler.step()
    return np.array(lrs)


def schedule(student_schedule, reference="StepLR", *, lr=0.1, steps=100, **hyperparameters):
    """Check a student's schedule function against ``ddlopt.schedules.<reference>``.

    ``student_schedule(t, lr, **hyperparameters)`` must return the learning rate of step
    ``t`` (t = 0 is the rate before any scheduler step) for a base rate ``lr``, with the
    scheduler's own hyperparameters (``T_max=50``...). It is compared with the scheduler
    over ``steps`` steps. Prints what passed and what did not; returns True if all passed.
    """
    if not callable(student_schedule):
        raise TypeError(f"student_schedule must be a function, got {student_schedule!r}")
    if reference not in _SCHEDULES:
        raise ValueError(f"unknown schedule {reference!r}; known: {', '.join(_SCHEDULES)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 3:
        raise ValueError(f"steps must be an integer >= 3, got {steps!r}")
    expected = _reference_lrs(reference, lr, steps, hyperparameters)
    try:
        yours = np.array([_call(student_schedule, t, lr, **hyperparameters)
                          for t in range(steps)], dtype=float)
        problem = None if yours.shape == (steps,) else \
            f"it returns arrays of shape {yours.shape[1:]}; return one number per step"
    except Exception as e:
        yours, problem = None, f"it raised {type(e).__name__}: {e}"

    def same(a, b):
        return np.allclose(a, b, rtol=1e-9, atol=1e-15)

    if problem is None and not np.all(np.isfinite(yours)):
        t = int(np.argmin(np.isfinite(yours)))
        problem = f"step {t} gives {yours[t]}: a division by zero?"
    if problem is None and not same(yours, expected):
        if same(yours[1:], expected[:-1]):
            problem = "off by one: your step t is the reference's step t - 1; t = 0 is the " \
                      "learning rate before any step, and it must be lr itself"
        elif same(yours[:-1], expected[1:]):
            problem = "off by one: your step t is the reference's step t + 1; t = 0 is the " \
                      "learning rate before any step"
        elif same(yours * lr, expected):
            problem = "yours is the factor, not the learning rate: multiply it by lr"
        elif expected[0] != 0 and same(yours, expected * (yours[0] / expected[0])):
            problem = f"yours is {yours[0] / expected[0]:.4g} times the reference at every " \
                      "step: the shape is right, the scale is not (is it lr at t = 0?)"
        else:
            t = int(np.argmax(~np.isclose(yours, expected, rtol=1e-9, atol=1e-15)))
            problem = f"the first {t} step(s) match but step {t} differs: yours " \
                      f"{yours[t]:.6g}, expected {expected[t]:.6g}"
            if reference == "StepLR" and t > 0:
                problem += " (StepLR changes only every step_size steps: round t / step_size " \
                           "down)"
    message = problem or f"{steps} steps match {reference} with lr={lr:g}" + \
        "".join(f", {k}={v}" for k, v in hyperparameters.items())
    return _say(problem is None, message)


# ----------------------------------------------------------------------------------------
# Chapter 11: Lion's update rule, for optimizer_step(..., "lion")
# ----------------------------------------------------------------------------------------
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


_UPDATES["lion"] = _optim.lion_update
_CHECK_STEPS = {"lion": 200}
_MISTAKES["lion"] = [
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


# ----------------------------------------------------------------------------------------
# Gradient clipping (chapter 9)
# ----------------------------------------------------------------------------------------
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


def clip_grad_norm(student_clip, *, seed=0):
    """Check a student's gradient clipping against :func:`ddlopt.clip_grad_norm`.

    ``student_clip(params, max_norm)`` gets a list of :class:`ddlopt.Parameter` (some with
    ``grad`` None), must rescale their ``.grad`` in place so that the total 2-norm is at most
    ``max_norm``, and return the total norm before clipping, as torch's
    ``clip_grad_norm_`` does. Prints what passed and what did not; returns True if all passed.
    """
    if not callable(student_clip):
        raise TypeError(f"student_clip must be a function, got {student_clip!r}")
    findings = []
    for name, grads, max_norm in _clipping_cases(np.random.default_rng(seed)):
        reference = _parameters(grads)
        expected_norm = _utils.clip_grad_norm(reference, max_norm)
        expected = [p.grad for p in reference]
        params = _parameters(grads)
        try:
            returned = _call(student_clip, params, max_norm)
            problem = None
        except Exception as e:
            problem = f"it raised {type(e).__name__}: {e}" + (
                " (skip parameters whose grad is None)" if any(g is None for g in grads) else "")
        yours = [p.grad for p in params]

        def same(a, b):
            return all((x is None) == (y is None) and (x is None or np.allclose(x, y, rtol=1e-12, atol=0))
                       for x, y in zip(a, b))

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
            elif _close(value, expected_norm):
                pass
            elif _close(value, clipped_norm):
                problem = "it returns the norm after clipping: return the norm before it, as torch does"
            elif _close(value, expected_norm**2):
                problem = "it returns the squared norm: take the square root"
            else:
                problem = f"it returns {value:.6g}, but the total norm is {expected_norm:.6g}"
        findings.append((problem is None, f"{name}: " + (problem or "right gradients and norm")))
    return all([_say(passed, message) for passed, message in findings])  # every line printed


# ----------------------------------------------------------------------------------------
# Chapter 7: initializers
# ----------------------------------------------------------------------------------------

_UNIFORM_KURTOSIS, _NORMAL_KURTOSIS = 1.8, 3.0  # E[w^4] / Var[w]^2


def _verdict(problem, success):
    """``problem`` (a mistake found, or None) printed as a verdict, else ``success``."""
    return _say(problem is None, problem or success)


def _initializer_problem(student_init, reference, shape, kwargs, seed):
    """What is wrong with student_init on one torch-layout shape, or None."""
    try:
        w = _call(student_init, shape, np.random.default_rng(seed))
    except Exception as e:
        return f"it raised {type(e).__name__}: {e}"
    w = np.asarray(w, dtype=np.float64)
    if w.shape != shape:
        return f"it returns shape {w.shape} for shape {shape}: return an array of the shape asked"
    if not np.all(np.isfinite(w)):
        return "it returns NaN or inf"
    expected = getattr(_init, reference)(shape, rng=np.random.default_rng(seed), **kwargs).var()
    fan_in, fan_out = _init.calculate_fan_in_and_fan_out(shape)
    ratio = w.var() / expected
    if abs(ratio - 1) > 0.03:  # the sample variance is within ~0.3 % at this size
        swapped = getattr(_init, reference)(shape[1::-1] + shape[2:], rng=np.random.default_rng(seed),
                                            **kwargs).var()
        receptive = fan_in // shape[1]
        if receptive == 1:  # a dense shape: the receptive field cannot be the mistake
            receptive = float("nan")
        hints = [
            (swapped / expected, "fan_in and fan_out are swapped: for a torch-layout shape "
                                 "(out, in, ...), fan_in = shape[1] * receptive field"),
            (receptive, "the receptive field is missing: for a convolution both fans are "
                        "multiplied by prod(shape[2:])"),
            (1 / receptive, "the receptive field is missing: for a convolution both fans are "
                            "multiplied by prod(shape[2:])"),
            (1 / 3, "the variance is 3 times too small: the bound of U(-b, b) is sqrt(3) "
                    "times the standard deviation, since Var = b^2 / 3"),
            (3, "the variance is 3 times too large: a normal's standard deviation is the "
                "std itself, not sqrt(3) * std (that is the uniform's bound)"),
            (0.5, "the variance is half the expected one: is the gain (sqrt(2) for ReLU) "
                  "missing, or a 1 where the formula has a 2?"),
            (2, "the variance is twice the expected one: is a gain of sqrt(2) applied twice, "
                "or a factor 2 added?"),
        ]
        for factor, message in hints:
            if abs(ratio / factor - 1) < 0.03:
                return message
        return (f"the variance is {w.var():.3g}, expected {expected:.3g} ({ratio:.3g} times) "
                f"for shape {shape} (fan_in {fan_in}, fan_out {fan_out})")
    if abs(w.mean()) > 5 * np.sqrt(expected / w.size):
        return f"the mean is {w.mean():.3g}, not 0: center the distribution"
    kurtosis = np.mean((w - w.mean()) ** 4) / w.var() ** 2
    if "uniform" in reference:
        if abs(kurtosis - _UNIFORM_KURTOSIS) > 0.1:
            return "the variance is right but the values are not uniform: use rng.uniform(-b, b, shape)"
    elif abs(kurtosis - _NORMAL_KURTOSIS) > 0.15:
        return "the variance is right but the values are not normal: use rng.normal(0, std, shape)"
    return None


def initializer(student_init, reference="xavier_uniform", *, seed=0, **kwargs):
    """Check ``student_init(shape, rng)`` against ``ddlopt.init.<reference>(shape, **kwargs)``.

    ``shape`` is in PyTorch's layout, ``(out, in, *kernel)``. A dense shape and a
    convolution shape are drawn with many entries; the checker compares the sample variance
    (within 3 %), the mean and the shape of the distribution (uniform or normal), and names
    the usual mistakes: swapped fans, a forgotten receptive field, a missing gain, a uniform
    bound taken for a standard deviation.
    """
    if not callable(student_init):
        raise TypeError(f"student_init must be a function, got {student_init!r}")
    known = ("xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "lecun_normal")
    if reference not in known:
        raise ValueError(f"unknown initializer {reference!r}; known: {', '.join(known)}")
    problem = None
    for shape in [(300, 1200), (64, 32, 5, 5)]:
        problem = _initializer_problem(student_init, reference, shape, kwargs, seed)
        if problem is not None:
            problem = f"shape {shape}: {problem}"
            break
    return _verdict(problem, f"variance, mean and distribution match {reference} for a dense "
                             f"and a convolution shape")


# ----------------------------------------------------------------------------------------
# Chapter 8: dropout
# ----------------------------------------------------------------------------------------
def dropout(student_dropout, p=0.5, *, seed=0):
    """Check ``student_dropout(x, p, rng)``, inverted dropout in training mode: each entry
    kept with probability ``1 - p`` and divided by ``1 - p``, else 0, a fresh mask each call.

    The tolerances are 5 standard errors of the fractions measured over 250 000 entries.
    """
    if not callable(student_dropout):
        raise TypeError(f"student_dropout must be a function, got {student_dropout!r}")
    if not 0 < p < 1:
        raise ValueError(f"p must be strictly between 0 and 1 for the check, got {p!r}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 1.5, (500, 500))
    problem = None
    try:
        first = np.asarray(_call(student_dropout, x.copy(), p, rng), dtype=np.float64)
        second = np.asarray(_call(student_dropout, x.copy(), p, rng), dtype=np.float64)
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
    return _verdict(problem, f"drops a fraction p = {p} and scales the rest by 1/(1 - p) = "
                             f"{1 / (1 - p):.4g}; the mean activation is kept")


# ----------------------------------------------------------------------------------------
# Chapter 10: the bytes a step moves
# ----------------------------------------------------------------------------------------
def step_bytes(answer, optimizer, **flags):
    """Check a count of the bytes per parameter that one float32 step of ``optimizer``
    (``"sgd"``, ``"adam"``, ``"adamw"``, ``"rmsprop"``, ``"adagrad"``, with flags such as
    ``momentum=0.9``, ``amsgrad=True``, ``centered=True``) must move. Prints what is right
    or the likely slip; returns True if right."""
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
    return _say(problem is None, message)
