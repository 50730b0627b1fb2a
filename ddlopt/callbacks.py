"""Callbacks for ``ddlopt.nn.Sequential.fit``, with Keras's names and semantics.

A callback is a :class:`Callback` (Keras's protocol: ``on_train_begin``, ``on_epoch_begin``,
``on_epoch_end``, ``on_train_end``); ``fit`` calls its hooks and records what happened in the
returned :class:`History`. The base and History live in ``ddlopt.nn``; this module gathers
the callbacks a reader uses, one section a chapter.
"""

import numbers

import numpy as np

from .nn import Callback, History

__all__ = ["Callback", "History"]
__all__ += ["EarlyStopping"]


# ----------------------------------------------------------------------------------------
# The learning rate during training (chapter 6)
# ----------------------------------------------------------------------------------------




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
        for name, value in (("patience", patience), ("start_from_epoch", start_from_epoch)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
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
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, which fit does not log; "
                             f"logged: {', '.join(logs)} (val_* needs validation_data)")
        current = logs[self.monitor]
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
