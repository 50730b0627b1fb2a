"""Chapter 7 (initialization): ``check.initializer``, a student's initializer against
``ddlopt.init``, and ``check.batchnorm``, a student's batch normalization (training mode)
against ``ddlopt.nn.BatchNorm``."""

import numpy as np

from .. import init as _init
from ..nn import BatchNorm as _BatchNorm
from ._shared import checker, require_function, result_of, verdict

__all__ = ["initializer", "batchnorm"]

_UNIFORM_KURTOSIS, _NORMAL_KURTOSIS = 1.8, 3.0  # E[w^4] / Var[w]^2


def _initializer_problem(student_init, reference, shape, kwargs, seed):
    """What is wrong with student_init on one torch-layout shape, or None."""
    try:
        w = result_of(student_init, shape, np.random.default_rng(seed))
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


@checker
def initializer(student_init, reference="xavier_uniform", *, seed=0, **kwargs):
    """Check ``student_init(shape, rng)`` against ``ddlopt.init.<reference>(shape, **kwargs)``.

    ``shape`` is in PyTorch's layout, ``(out, in, *kernel)``. A dense shape and a
    convolution shape are drawn with many entries; the checker compares the sample variance
    (within 3 %), the mean and the shape of the distribution (uniform or normal), and names
    the usual mistakes: swapped fans, a forgotten receptive field, a missing gain, a uniform
    bound taken for a standard deviation.
    """
    require_function(student_init, "student_init")
    known = ("xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "lecun_normal")
    if reference not in known:
        raise ValueError(f"unknown initializer {reference!r}; known: {', '.join(known)}")
    problem = None
    for shape in [(300, 1200), (64, 32, 5, 5)]:
        problem = _initializer_problem(student_init, reference, shape, kwargs, seed)
        if problem is not None:
            problem = f"shape {shape}: {problem}"
            break
    return verdict(problem, f"variance, mean and distribution match {reference} for a dense "
                             f"and a convolution shape")


# ---- batch normalization in training mode -----------------------------------------------
def _batchnorm_reference(x, gamma, nu, eps):
    """ddlopt.nn.BatchNorm in training mode, its gamma and beta (our nu) set."""
    layer = _BatchNorm(x.shape[1], eps=eps)
    layer.gamma.data[:], layer.beta.data[:] = gamma, nu
    return layer.forward(x)


def _batchnorm_variant(x, gamma, nu, eps, *, axis=0, ddof=0, eps_outside=False,
                       swapped=False, no_eps=False):
    """Batch normalization with one of the usual mistakes, to recognise it."""
    eps = 0.0 if no_eps else eps
    mean, var = x.mean(axis=axis, keepdims=True), x.var(axis=axis, ddof=ddof, keepdims=True)
    x_hat = (x - mean) / (np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps))
    return x_hat * nu + gamma if swapped else x_hat * gamma + nu


_BATCHNORM_MISTAKES = [
    (dict(axis=1), "each row is normalized over its features (that is LayerNorm): batch "
                   "normalization takes each feature's mean and variance over the batch, "
                   "axis=0"),
    (dict(ddof=1), "the variance divides by m - 1: batch normalization uses the biased "
                   "variance (ddof=0) of the batch; the unbiased one only goes into the "
                   "running variance"),
    (dict(eps_outside=True), "eps is added to the standard deviation: it belongs inside "
                             "the square root, sqrt(var + eps)"),
    (dict(no_eps=True), "eps is missing: divide by sqrt(var + eps), which stays finite "
                        "when a feature's variance is 0"),
    (dict(swapped=True), "gamma and nu are swapped: y = gamma * x_hat + nu (gamma scales, "
                         "nu shifts)"),
]


def _batchnorm_problem(student, x, gamma, nu, eps):
    """What is wrong with student on one batch, or None."""
    try:
        y = result_of(student, x.copy(), gamma.copy(), nu.copy(), eps)
    except Exception as e:
        return f"it raised {type(e).__name__}: {e}"
    y = np.asarray(y, dtype=np.float64)
    if y.shape != x.shape:
        return f"it returns shape {y.shape} for a batch of shape {x.shape}: return y of x's shape"
    if not np.all(np.isfinite(y)):
        return ("it returns NaN or inf for a batch where one feature is constant: add eps "
                "to the variance before the square root")
    expected = _batchnorm_reference(x, gamma, nu, eps)
    if np.allclose(y, expected, rtol=1e-7, atol=1e-9):
        return None
    for options, message in _BATCHNORM_MISTAKES:
        if np.allclose(y, _batchnorm_variant(x, gamma, nu, eps, **options), rtol=1e-7,
                       atol=1e-9):
            return message
    if np.allclose(y, _batchnorm_variant(x, np.ones_like(gamma), np.zeros_like(nu), eps),
                   rtol=1e-7, atol=1e-9):
        return "gamma and nu are not applied: y = gamma * x_hat + nu"
    worst = np.max(np.abs(y - expected))
    return f"the output differs from BatchNorm's by up to {worst:.3g}"


@checker
def batchnorm(student_bn, eps=1e-5, *, seed=0):
    """Check ``student_bn(x, gamma, nu, eps)`` (batch normalization of a (batch, features)
    array in training mode, returning y) against ``ddlopt.nn.BatchNorm``.

    It tries a batch whose features have different means and scales, one with a constant
    feature (variance 0, where eps matters) and one with a feature of tiny variance, with
    gamma and nu not ones and zeros, and names the usual mistakes: the wrong axis
    (LayerNorm), the unbiased variance, eps outside the square root, gamma and nu swapped
    or left out.
    """
    require_function(student_bn, "student_bn")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    rng = np.random.default_rng(seed)
    gamma, nu = rng.uniform(0.5, 2.0, 5), rng.normal(0.0, 1.0, 5)
    spread = rng.normal(3.0, 2.0, (32, 5)) * np.array([1.0, 10.0, 0.1, 3.0, 1.0])
    constant = spread.copy()
    constant[:, 2] = 4.0                        # a feature with no variance at all
    tiny = spread.copy()
    tiny[:, 4] = 1.0 + 1e-3 * rng.normal(size=32)   # variance 1e-6, below eps
    problem = None
    for name, x in [("a batch of 32 rows and 5 features", spread),
                    ("a batch with a constant feature", constant),
                    ("a batch with a feature of variance 1e-6", tiny)]:
        problem = _batchnorm_problem(student_bn, x, gamma, nu, eps)
        if problem is not None:
            problem = f"{name}: {problem}"
            break
    return verdict(problem, "matches ddlopt.nn.BatchNorm in training mode on three batches "
                            "(a constant feature and a tiny variance included)")
