"""Chapter 7 (initialization): ``check.initializer``, a student's initializer against
``ddlopt.init``."""

import numpy as np

from .. import init as _init
from ._shared import checker, require_function, result_of, verdict

__all__ = ["initializer"]

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
