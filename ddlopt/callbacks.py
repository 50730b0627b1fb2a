"""Callbacks for ``ddlopt.nn.Sequential.fit``, with Keras's names and semantics.

A callback is a :class:`Callback` (Keras's protocol: ``on_train_begin``, ``on_epoch_begin``,
``on_epoch_end``, ``on_train_end``); ``fit`` calls its hooks and records what happened in the
returned :class:`History`. The base and History live in ``ddlopt.nn``; this module gathers
the callbacks a reader uses, one section a chapter.
"""

import numbers

import numpy as np

from . import schedules
from ._checks import check_count
from .nn import Callback, History
from .optim.optimizer import check_hyperparameter

__all__ = ["Callback", "History"]
__all__ += ["EarlyStopping"]


# ----------------------------------------------------------------------------------------
# The learning rate during training (chapter 6)
# ----------------------------------------------------------------------------------------
# fit records each epoch's learning rate (History's "lr": group 0's) before these callbacks'
# on_epoch_end, so "lr" is the rate the epoch trained with, and a cut shows from the next.
__all__ += ["ReduceLROnPlateau", "LearningRateScheduler", "EpochScheduler"]


def _set_lrs(model, new_lr, verbose, epoch, who):
    """Set every param group's lr to ``new_lr(group's lr)``; Keras's message if verbose."""
    for group in model.optimizer.param_groups:
        group["lr"] = new_lr(group["lr"])
    if verbose:
        print(f"\nEpoch {epoch + 1}: {who} setting learning rate to "
              f"{model.optimizer.param_groups[0]['lr']:.6g}.")


def _monitored(logs, monitor, who):
    """The value ``who`` monitors, from the epoch's logs; a clear error if fit did not log it."""
    if monitor not in (logs or {}):
        raise ValueError(f"{who} monitors {monitor!r}, which fit did not record; recorded: "
                         f"{', '.join(logs or {})} (val_* needs validation_data)")
    return logs[monitor]


class ReduceLROnPlateau(Callback):
    """Keras's ReduceLROnPlateau: multiply the learning rate by ``factor`` once ``monitor``
    has not improved for ``patience`` epochs (Keras's counting).

    Keras's rules, which differ from ``ddlopt.schedules.ReduceLROnPlateau`` (torch's):

    - it cuts after ``patience`` epochs without improvement (torch after ``patience + 1``);
    - improving means beating the best by ``min_delta`` in absolute terms (torch's default is
      relative); ``mode="auto"`` maximizes a monitor whose name contains "acc", else minimizes;
    - during ``cooldown`` epochs after a cut, epochs without improvement are not counted
      (the last of them is, where torch skips it: Keras's cooldown is one epoch shorter);
    - the rate becomes ``max(lr * factor, min_lr)``, for every param group, while group 0's
      is above ``min_lr``. A monitor that fit did not record raises ValueError (Keras warns).
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        check_hyperparameter(factor, "factor", high=1.0, inclusive_high=False)
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be the name of a logged value, got {monitor!r}")
        check_count(patience, "patience", low=0)
        check_count(cooldown, "cooldown", low=0)
        check_hyperparameter(min_delta, "min_delta")
        check_hyperparameter(min_lr, "min_lr")
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.mode, self.min_delta, self.cooldown, self.min_lr = mode, min_delta, cooldown, min_lr
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.maximize = self.mode == "max" or (self.mode == "auto" and "acc" in self.monitor)
        self.best = -np.inf if self.maximize else np.inf
        self.wait = self.cooldown_counter = 0

    def improved(self, current):
        if self.maximize:
            return current > self.best + self.min_delta
        return current < self.best - self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(logs, self.monitor, "ReduceLROnPlateau")
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.improved(current):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and \
                    self.model.optimizer.param_groups[0]["lr"] > np.float32(self.min_lr):
                _set_lrs(self.model, lambda lr: max(lr * self.factor, self.min_lr),
                         self.verbose, epoch, "ReduceLROnPlateau")
                self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Keras's LearningRateScheduler: at the start of each epoch, ``lr = schedule(epoch, lr)``
    (``epoch`` counts from 0), for every param group."""

    def __init__(self, schedule, verbose=0):
        if not callable(schedule):
            raise TypeError(f"schedule must be a function (epoch, lr) -> lr, got {schedule!r}")
        self.schedule, self.verbose = schedule, verbose

    def _next(self, epoch, lr):
        new_lr = self.schedule(epoch, lr)
        if isinstance(new_lr, bool) or not isinstance(new_lr, numbers.Real) \
                or not np.isfinite(new_lr) or new_lr < 0:
            raise ValueError(f"schedule({epoch}, {lr}) returned {new_lr!r}; it must return a "
                             "learning rate, a finite number >= 0")
        return float(new_lr)

    def on_epoch_begin(self, epoch, logs=None):
        _set_lrs(self.model, lambda lr: self._next(epoch, lr), self.verbose, epoch,
                 "LearningRateScheduler")


class EpochScheduler(Callback):
    """Step a ``ddlopt.schedules`` scheduler once at the end of each epoch, over ``fit``'s
    optimizer: ``fit(..., callbacks=[EpochScheduler(StepLR(model.optimizer, 10))])``. A
    ``ReduceLROnPlateau`` scheduler is stepped with the logged ``monitor``."""

    def __init__(self, scheduler, monitor="val_loss"):
        if not hasattr(scheduler, "step") or not hasattr(scheduler, "optimizer"):
            raise TypeError(f"scheduler must be a learning-rate scheduler, got {scheduler!r}")
        self.scheduler, self.monitor = scheduler, monitor

    def on_train_begin(self, logs=None):
        if self.scheduler.optimizer is not self.model.optimizer:
            raise ValueError("the scheduler drives another optimizer than the model's: build it "
                             "over model.optimizer after compile")

    def on_epoch_end(self, epoch, logs=None):
        if isinstance(self.scheduler, schedules.ReduceLROnPlateau):
            self.scheduler.step(_monitored(logs, self.monitor, "EpochScheduler"))
        else:
            self.scheduler.step()


# ----------------------------------------------------------------------------------------
# Stopping early (chapter 8)
# ----------------------------------------------------------------------------------------
_HIGHER_IS_BETTER = ("accuracy", "acc")
_LOWER_IS_BETTER = ("loss", "mse", "mae")


class EarlyStopping(Callback):
    """Stop ``fit`` when ``monitor`` has stopped improving, as Keras 3's ``EarlyStopping``.

    After each epoch (from ``start_from_epoch`` on) the monitored value is compared with the
    best so far: an improvement is a change by more than ``min_delta`` in the right direction
    (``mode``: ``"min"``, ``"max"``, or ``"auto"``, which minimizes losses, ``mse`` and
    ``mae`` and maximizes accuracy). ``patience`` epochs without one end training; with a
    ``baseline``, an improvement resets the count only once it also beats the baseline.
    With ``restore_best_weights`` the weights of the best epoch are copied back at the end of
    training (whether or not it stopped early, as Keras 3 does). ``best_epoch`` and
    ``stopped_epoch`` (0 if it never stopped) count from 0, like ``History.epoch``.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be the name of a logged value (str), got {monitor!r}")
        check_count(patience, "patience", low=0)
        check_count(start_from_epoch, "start_from_epoch", low=0)
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real) \
                or not np.isfinite(min_delta):
            raise ValueError(f"min_delta must be a finite number, got {min_delta!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"unknown mode {mode!r}; known: 'auto', 'min', 'max'")
        metric = monitor.removeprefix("val_")
        if mode == "auto":
            if metric not in _HIGHER_IS_BETTER + _LOWER_IS_BETTER:
                raise ValueError(f"mode='auto' cannot tell whether {monitor!r} should go up or "
                                 f"down: pass mode='min' or mode='max'")
            mode = "max" if metric in _HIGHER_IS_BETTER else "min"
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.mode, self.baseline = mode, baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch
        self.min_delta = abs(min_delta)  # Keras takes the size; the direction comes from mode

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        if self.mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best = self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(logs, self.monitor, "EarlyStopping")
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)
