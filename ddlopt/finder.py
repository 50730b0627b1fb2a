"""The learning-rate finder for a compiled ``ddlopt.nn.Sequential`` (NumPy): Smith's range
test (``ddlopt.range_test``, where the method and its rules are explained) on mini-batches
of ``(X, y)``, with the model and its optimizer put back afterwards to the bit.
``ddlopt.torch.finder`` does the same for a torch model; ``ddlopt.lr_finder`` takes either.
"""

import copy
import math
import numbers

import numpy as np

from . import _random
from .range_test import RULES, LRFinderResult, check_arguments, exponential_lrs, range_test

__all__ = ["lr_finder", "LRFinderResult", "range_test", "exponential_lrs", "RULES"]


def _numpy_batches(X, y, batch_size, rng):
    """Mini-batches of (X, y), reshuffled each pass, for as long as they are asked for."""
    while True:
        order = rng.permutation(len(X))
        for start in range(0, len(X) - batch_size + 1, batch_size):
            index = order[start:start + batch_size]
            yield X[index], y[index]


def lr_finder(model, data, *, start_lr=1e-7, end_lr=10.0, num_iter=100, batch_size=32,
              smooth=0.98, diverge_th=5.0, rule="min/10", rng=None):
    """Run the learning-rate range test on a compiled ``ddlopt.nn.Sequential``; returns an
    :class:`LRFinderResult`.

    ``lr_finder(model, (X, y), batch_size=32)`` trains with ``model.optimizer``, every param
    group at the test's rate, on mini-batches shuffled by ``rng``. The parameters, their
    gradients and the optimizer's state are restored afterwards, to the bit.
    """
    if getattr(model, "optimizer", None) is None or not hasattr(model, "train_on_batch"):
        raise TypeError("model must be a compiled ddlopt.nn.Sequential; for a torch model call "
                        "ddlopt.lr_finder(model, batches, optimizer=..., loss_fn=...)")
    if not (isinstance(data, tuple) and len(data) == 2):
        raise TypeError("data must be a tuple (X, y) of inputs and targets")
    X, y = np.asarray(data[0], dtype=np.float64), np.asarray(data[1])
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
            or not 1 <= batch_size <= len(X):
        raise ValueError(f"batch_size must be an integer from 1 to len(X) = {len(X)}, "
                         f"got {batch_size!r}")
    check_arguments(start_lr, end_lr, num_iter, smooth, diverge_th, rule)
    optimizer = model.optimizer
    params = model.parameters()
    saved = (model.get_weights(), [copy.deepcopy(p.grad) for p in params],
             optimizer.state_dict(), optimizer._step_count)
    batches = _numpy_batches(X, y, batch_size, _random.generator(rng))

    def train_step():
        try:
            return model.train_on_batch(*next(batches))[0]
        except FloatingPointError:  # train_on_batch's report of a non-finite loss
            return math.inf

    try:
        return range_test(train_step, optimizer, start_lr, end_lr, num_iter, smooth, diverge_th,
                          rule)
    finally:
        weights, grads_before, optimizer_state, step_count = saved
        model.set_weights(weights)  # in place: the optimizer holds these very arrays
        for p, grad in zip(params, grads_before):
            p.grad = grad
        optimizer.load_state_dict(optimizer_state)
        optimizer._step_count = step_count
