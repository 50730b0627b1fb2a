r"""The learning-rate finder: Smith's learning-rate range test.

Train for ``num_iter`` mini-batches while the learning rate grows exponentially from
``start_lr`` to ``end_lr`` (Smith, 2017, "Cyclical learning rates for training neural
networks", section 3.3; the form of fast.ai's ``lr_find``),

.. math::

    \eta_i = \eta_\text{start}\,(\eta_\text{end} / \eta_\text{start})^{i / (n - 1)},
    \quad i = 0, \dots, n - 1,

and record the loss of each batch, exponentially smoothed with bias correction (as Adam
corrects its moments),

.. math::

    a_i = \beta a_{i-1} + (1 - \beta)\,\ell_i, \quad a_{-1} = 0, \qquad
    \bar\ell_i = a_i / (1 - \beta^{i+1}).

The test stops when the smoothed loss exceeds ``diverge_th`` times the best so far (or a
loss is not finite). Then the model's parameters and the optimizer's state are put back
exactly as they were: the test costs ``num_iter`` steps and changes nothing.

The suggested learning rate follows one of two rules (``rule``):

- ``"min/10"`` (the default): a tenth of the rate at the smoothed loss's minimum. At the
  minimum the rate is already large enough to stop the loss from falling; a tenth of it is
  safely inside the range where it falls fast. It depends on the curve's lowest point,
  which smoothing makes stable.
- ``"steepest"``: the rate where the smoothed loss falls fastest against
  :math:`\log\eta` (the most negative slope before the minimum). It depends on a
  derivative of a noisy curve, so it moves more from run to run, most of all at the start
  of the test (``suggest("steepest", skip_start=10)`` leaves the first batches out).

The NumPy version trains a compiled ``ddlopt.nn.Sequential``; ``optimizer=`` and
``loss_fn=`` with a torch model run ``ddlopt.torch.lr_finder`` instead (torch is imported
only then).
"""

import copy
import math
import numbers

import numpy as np

from . import _random
from .optim.optimizer import check_hyperparameter

__all__ = ["lr_finder", "LRFinderResult", "range_test", "exponential_lrs", "RULES"]

RULES = ("min/10", "steepest")


class LRFinderResult:
    """What the range test saw: ``lrs`` (one per batch trained), ``losses`` (smoothed),
    ``raw_losses``, whether it ``diverged``, and ``suggestion`` by ``rule``."""

    def __init__(self, lrs, losses, raw_losses, diverged, rule):
        self.lrs, self.losses = np.asarray(lrs, float), np.asarray(losses, float)
        self.raw_losses, self.diverged, self.rule = np.asarray(raw_losses, float), diverged, rule
        self.min_loss_lr = float(self.lrs[np.argmin(self.losses)])
        self.suggestion = self.suggest(rule)

    def suggest(self, rule="min/10", skip_start=0):
        """The learning rate that ``rule`` ("min/10" or "steepest") picks from this curve.

        ``skip_start``: for "steepest", the first batches whose slope is not considered
        (there the bias-corrected average rests on a handful of batches, and one noisy
        batch can make the steepest slope; fast.ai's plot skipped 10)."""
        if rule not in RULES:
            raise ValueError(f"rule must be one of {', '.join(map(repr, RULES))}, got {rule!r}")
        if isinstance(skip_start, bool) or not isinstance(skip_start, numbers.Integral) \
                or skip_start < 0:
            raise ValueError(f"skip_start must be a non-negative integer, got {skip_start!r}")
        if rule == "min/10":
            return self.min_loss_lr / 10
        lowest = int(np.argmin(self.losses))
        if lowest - skip_start < 2:  # no descent to measure: fall back on the safe rule
            return self.min_loss_lr / 10
        slope = np.gradient(self.losses[:lowest + 1], np.log(self.lrs[:lowest + 1]))
        return float(self.lrs[skip_start + np.argmin(slope[skip_start:])])

    def plot(self, ax=None):
        """Loss against learning rate on a log axis, the suggestion marked (ddlopt.plot)."""
        from . import plot
        return plot.lr_finder(self, ax=ax)

    def __repr__(self):
        return (f"LRFinderResult({len(self.lrs)} steps, lr {self.lrs[0]:.3g} to {self.lrs[-1]:.3g}, "
                f"suggestion={self.suggestion:.3g} by {self.rule!r})")


def exponential_lrs(start_lr, end_lr, num_iter):
    """The ``num_iter`` learning rates from ``start_lr`` to ``end_lr``, equally spaced in log."""
    return start_lr * (end_lr / start_lr) ** (np.arange(num_iter) / (num_iter - 1))


def _check_arguments(start_lr, end_lr, num_iter, smooth, diverge_th, rule):
    check_hyperparameter(start_lr, "start_lr")
    if start_lr == 0:
        raise ValueError("start_lr must be positive, got 0")
    check_hyperparameter(end_lr, "end_lr")
    if end_lr <= start_lr:
        raise ValueError(f"end_lr must be larger than start_lr, got start_lr={start_lr}, "
                         f"end_lr={end_lr}")
    if isinstance(num_iter, bool) or not isinstance(num_iter, numbers.Integral) or num_iter < 2:
        raise ValueError(f"num_iter must be an integer >= 2, got {num_iter!r}")
    check_hyperparameter(smooth, "smooth", high=1.0, inclusive_high=False)
    check_hyperparameter(diverge_th, "diverge_th", low=1.0)
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(map(repr, RULES))}, got {rule!r}")


def range_test(train_step, optimizer, start_lr=1e-7, end_lr=10.0, num_iter=100, smooth=0.98,
               diverge_th=5.0, rule="min/10"):
    """The range test itself, for any framework: before each batch it sets every param group
    of ``optimizer`` (ddlopt's or torch's) to the test's rate; ``train_step()`` trains one
    batch and returns its loss (inf if it blew up). Saving and restoring the model is the
    caller's job."""
    _check_arguments(start_lr, end_lr, num_iter, smooth, diverge_th, rule)
    lrs, losses, raw_losses = [], [], []
    average, best, diverged = 0.0, math.inf, False
    for i, lr in enumerate(exponential_lrs(start_lr, end_lr, num_iter)):
        for group in optimizer.param_groups:
            group["lr"] = float(lr)
        loss = float(train_step())
        if not math.isfinite(loss):
            diverged = True
            break
        average = smooth * average + (1 - smooth) * loss
        smoothed = average / (1 - smooth ** (i + 1))  # bias correction: a_{-1} = 0
        lrs.append(float(lr))
        losses.append(smoothed)
        raw_losses.append(loss)
        best = min(best, smoothed)
        if smoothed > diverge_th * best:
            diverged = True
            break
    if not lrs:
        raise FloatingPointError(f"the loss was not finite at start_lr={start_lr}: lower it")
    return LRFinderResult(lrs, losses, raw_losses, diverged, rule)


def _numpy_batches(X, y, batch_size, rng):
    """Mini-batches of (X, y), reshuffled each pass, for as long as they are asked for."""
    while True:
        order = rng.permutation(len(X))
        for start in range(0, len(X) - batch_size + 1, batch_size):
            index = order[start:start + batch_size]
            yield X[index], y[index]


def lr_finder(model, data, *, optimizer=None, loss_fn=None, start_lr=1e-7, end_lr=10.0,
              num_iter=100, batch_size=32, smooth=0.98, diverge_th=5.0, rule="min/10", rng=None):
    """Run the learning-rate range test; returns an :class:`LRFinderResult`.

    NumPy: ``lr_finder(model, (X, y), batch_size=32)`` with a compiled
    ``ddlopt.nn.Sequential``; it trains with ``model.optimizer``, every param group at the
    test's rate, on mini-batches shuffled by ``rng``. PyTorch: ``lr_finder(model, batches,
    optimizer=..., loss_fn=...)`` with ``batches`` a DataLoader or any iterable of
    ``(inputs, targets)`` (see ``ddlopt.torch.lr_finder``). Either way the parameters and
    the optimizer's state are restored afterwards, to the bit.
    """
    if optimizer is not None or loss_fn is not None:
        from .torch.finder import lr_finder as torch_lr_finder  # torch only when asked for
        return torch_lr_finder(model, optimizer, loss_fn, data, start_lr=start_lr, end_lr=end_lr,
                               num_iter=num_iter, smooth=smooth, diverge_th=diverge_th, rule=rule)
    if getattr(model, "optimizer", None) is None or not hasattr(model, "train_on_batch"):
        raise TypeError("model must be a compiled ddlopt.nn.Sequential; for a torch model pass "
                        "optimizer= and loss_fn=")
    if not (isinstance(data, tuple) and len(data) == 2):
        raise TypeError("data must be a tuple (X, y) of inputs and targets")
    X, y = np.asarray(data[0], dtype=np.float64), np.asarray(data[1])
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
            or not 1 <= batch_size <= len(X):
        raise ValueError(f"batch_size must be an integer from 1 to len(X) = {len(X)}, "
                         f"got {batch_size!r}")
    _check_arguments(start_lr, end_lr, num_iter, smooth, diverge_th, rule)
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
