"""Chapter 10 (fast optimizers): ``check.step_bytes``, a count of the bytes a step moves."""

from ..floor import arrays_moved
from ._shared import answer_of, checker, say

__all__ = ["step_bytes"]


@checker
def step_bytes(answer, optimizer, **flags):
    """Check a count of the bytes per parameter that one float32 step of ``optimizer``
    (``"sgd"``, ``"adam"``, ``"adamw"``, ``"rmsprop"``, ``"adagrad"``, with flags such as
    ``momentum=0.9``, ``amsgrad=True``, ``centered=True``) must move. Prints what is right
    or the likely slip; returns True if right. ``answer``: a number, or a function of no
    arguments returning it."""
    read, written = arrays_moved(optimizer, **flags)
    answer = answer_of(answer)
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
    return say(problem is None, message)
