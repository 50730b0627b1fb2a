"""The one check of a count (epochs, batch_size, patience, ...), shared by the whole library.

Real-valued hyperparameters have theirs, with torch's messages, in
``ddlopt.optim.optimizer.check_hyperparameter``.
"""

import numbers


def check_count(value, name, low=1):
    """ValueError naming ``name`` unless ``value`` is an integer >= ``low`` (1: a positive
    integer, 0: a non-negative one). Booleans are not counts."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        kind = {1: "a positive integer", 0: "a non-negative integer"}.get(low, f"an integer >= {low}")
        raise ValueError(f"{name} must be {kind}, got {value!r}")
