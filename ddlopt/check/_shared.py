"""What every checker shares: calling the student's code, spotting a skeleton, printing a
verdict. Private: the chapter modules import it, a student never needs to."""

import functools
import textwrap
import warnings

import numpy as np

RTOL = 1e-6  # a student's float64 formula agrees with ours far better than this


def say(passed, message):
    """Print one verdict, ``✓`` or ``✗`` then ``message``, wrapped to a notebook's output
    width; returns ``passed``. Every line a checker prints goes through here."""
    print(textwrap.fill(("✓ " if passed else "✗ ") + message, 78, subsequent_indent="  ",
                        break_on_hyphens=False))
    return passed


def verdict(problem, success):
    """``problem`` (what is wrong, or None) printed as ✗, else ``success`` as ✓."""
    return say(problem is None, problem or success)


def close(a, b):
    """``a`` finite and within RTOL of ``b`` (relative; absolute near zero)."""
    return bool(np.isfinite(a) and abs(a - b) <= RTOL * max(abs(b), 1e-12))


def require_function(value, name):
    """TypeError naming the argument unless ``value`` can be called."""
    if not callable(value):
        raise TypeError(f"{name} must be a function, got {value!r}")


# ----------------------------------------------------------------------------------------
# Skeletons: a student's function whose body is still `raise NotImplementedError(...)`
# ----------------------------------------------------------------------------------------
class NotWritten(BaseException):
    """The student's function is still a skeleton; ``str()`` is the verdict to print.

    A BaseException, as KeyboardInterrupt is, so that it passes through the checkers'
    ``except Exception`` (which turns a student's error into a verdict) to :func:`checker`.
    """


def not_written(fn, returned_none=False):
    """The :class:`NotWritten` to raise for the student's ``fn``: its body raised
    NotImplementedError, or (``returned_none``) it returned None where a value is needed."""
    name = getattr(fn, "__name__", "<lambda>")
    name = "your function" if name == "<lambda>" else name
    if returned_none:
        return NotWritten(f"not written yet: {name} returns None; fill in its body, end it "
                          "with return ..., and run this cell again")
    return NotWritten(f"not written yet: fill in the body of {name} and run this cell again")


def call(fn, *args, **kwargs):
    """The student's ``fn(*args, **kwargs)``: NumPy's overflow and divide warnings silenced
    (the checkers report them), a NotImplementedError turned into :class:`NotWritten`."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return fn(*args, **kwargs)
        except NotImplementedError:
            raise not_written(fn) from None


def result_of(fn, *args, **kwargs):
    """:func:`call`, where a value is needed: None back means the body is not written."""
    out = call(fn, *args, **kwargs)
    if out is None:
        raise not_written(fn, returned_none=True)
    return out


def checker(check):
    """Decorate every public checker with this: a :class:`NotWritten` raised while it runs
    (by :func:`call` or :func:`result_of`) becomes one ✗ verdict and False, not a
    traceback. The verdicts printed before it stay."""
    @functools.wraps(check)
    def checked(*args, **kwargs):
        try:
            return check(*args, **kwargs)
        except NotWritten as skeleton:
            return say(False, str(skeleton))
    return checked


def answer_of(answer):
    """A student's answer to a question (a count, a formula's value): the value itself, or
    a function of no arguments returning it; ``...`` or None means not written yet."""
    if callable(answer):
        return result_of(answer)
    if answer is None or answer is Ellipsis:
        raise NotWritten("not written yet: put your answer in place of the ... and run this "
                         "cell again")
    return answer
