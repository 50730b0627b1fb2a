r"""The learning-rate finder: Smith's learning-rate range test.

Train for ``num_iter`` mini-batches while the learning rate grows exponentially from
``start_lr`` to ``end_lr`` (Smith, 2017, "Cyclical learning rates for training neural
networks", section 3.3, ramps the rate *linearly* over a few epochs and reads the
accuracy; this exponential ramp read on the smoothed loss is fast.ai's ``lr_find``, as
Sylvain Gugger's 2018 post "How do you find a good learning rate" describes it),

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

The suggested learning rate follows one of three rules (``rule``):

- ``"min/10"`` (the default): a tenth of the rate at the smoothed loss's minimum. At the
  minimum the rate is already large enough to stop the loss from falling; a tenth of it is
  safely inside the range where it falls fast. It depends on the curve's lowest point,
  which smoothing makes stable.
- ``"steepest"``: the rate where the smoothed loss falls fastest against
  :math:`\log\eta` (the most negative slope before the minimum). It depends on a
  derivative of a noisy curve, so it moves more from run to run, most of all at the start
  of the test (``suggest("steepest", skip_start=10)`` leaves the first batches out).
- ``"valley"``: fast.ai's default since fastai 2.4 (Zachary Mueller's rule): the longest
  descending stretch of the smoothed curve (the longest strictly decreasing subsequence of
  the losses, start to end), and the rate near its middle, at
  ``start + ⌊d/3⌋ + ⌊d/6⌋`` for a stretch of ``d`` batches (fastai's ``valley``).

This module is the test alone, for any framework: ``ddlopt.finder`` runs it on a ddlopt
model (NumPy), ``ddlopt.torch.finder`` on a torch model, and ``ddlopt.lr_finder`` picks
between them. Both import it; neither imports the other.
"""

import math
import numbers

import numpy as np

from .optim.optimizer import check_hyperparameter

__all__ = ["range_test", "LRFinderResult", "exponential_lrs", "check_arguments", "RULES"]

RULES = ("min/10", "steepest", "valley")


class LRFinderResult:
    """What the range test saw: ``lrs`` (one per batch trained), ``losses`` (smoothed),
    ``raw_losses``, whether it ``diverged``, and ``suggestion`` by ``rule``."""

    def __init__(self, lrs, losses, raw_losses, diverged, rule):
        self.lrs, self.losses = np.asarray(lrs, float), np.asarray(losses, float)
        self.raw_losses, self.diverged, self.rule = np.asarray(raw_losses, float), diverged, rule
        self.min_loss_lr = float(self.lrs[np.argmin(self.losses)])
        self.suggestion = self.suggest(rule)

    def suggest(self, rule="min/10", skip_start=0):
        """The learning rate that ``rule`` ("min/10", "steepest" or "valley") picks.

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
        if rule == "valley":
            return float(self.lrs[_valley(self.losses)])
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


def _valley(losses):
    """fastai's ``valley``: the index near the middle of the longest strictly
    decreasing subsequence of ``losses`` (its first and last index spanning ``d``)."""
    longest = [1] * len(losses)  # the longest decreasing subsequence ending at i
    start = end = 0
    for i in range(1, len(losses)):
        for j in range(i):
            if losses[i] < losses[j] and longest[i] < longest[j] + 1:
                longest[i] = longest[j] + 1
            if longest[end] < longest[i]:
                end = i
                start = end - longest[end]
    third = (end - start) / 3
    return start + int(third) + int(third / 2)


def exponential_lrs(start_lr, end_lr, num_iter):
    """The ``num_iter`` learning rates from ``start_lr`` to ``end_lr``, equally spaced in log."""
    return start_lr * (end_lr / start_lr) ** (np.arange(num_iter) / (num_iter - 1))


def check_arguments(start_lr, end_lr, num_iter, smooth, diverge_th, rule):
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
    check_arguments(start_lr, end_lr, num_iter, smooth, diverge_th, rule)
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
