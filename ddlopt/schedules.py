r"""Learning-rate schedules with torch.optim.lr_scheduler's names, arguments and numbers.

A scheduler changes ``group["lr"]`` in an optimizer's ``param_groups``, so it drives any
optimizer that has them: ddlopt's NumPy optimizers and every ``torch.optim.Optimizer``.
The loop is torch's::

    scheduler = CosineAnnealingLR(optimizer, T_max=100)
    for step in range(100):
        ...; optimizer.step()
        scheduler.step()          # after the optimizer, once per step (or per epoch)

Notation: :math:`\eta_0` is a group's ``initial_lr`` (its ``lr`` when the scheduler was
built), :math:`t` is ``last_epoch``, the number of ``step()`` calls so far, and
:math:`\eta_t` the learning rate the next optimizer step uses.

Each docstring gives the closed form. PyTorch computes several schedules *recursively*,
from the current ``group["lr"]`` (so that schedulers can be chained), and rounds differently
from the closed form; ``get_lr`` here repeats torch's arithmetic, so the sequences agree to
the bit, and ``closed_form`` is the equation itself.

``InverseTimeDecay`` is Keras's time-based decay, which is also the legacy ``decay`` argument
of Keras's optimizers (chapter 3).
"""

import bisect
import math
import numbers
from collections import Counter

from .optim.optimizer import check_hyperparameter

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "LambdaLR", "LinearLR",
           "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "OneCycleLR", "SequentialLR", "ReduceLROnPlateau",
           "InverseTimeDecay"]


def _check_int(value, name, low=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value}")


def _check_optimizer(optimizer):
    if not isinstance(getattr(optimizer, "param_groups", None), list):
        raise TypeError(f"{type(optimizer).__name__} is not an optimizer: a scheduler needs "
                        "an object with param_groups (a ddlopt or torch.optim optimizer)")


def _per_group(value, name, optimizer):
    """One value per param group, from a number or a list of them (torch's _format_param)."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"expected {len(optimizer.param_groups)} values for {name}, "
                             f"got {len(value)}")
        return list(value)
    return [value] * len(optimizer.param_groups)


class LRScheduler:
    """The base: remembers each group's ``initial_lr`` (``base_lrs``), counts ``last_epoch``
    and writes ``get_lr()`` into the groups at each ``step()``. A subclass writes ``get_lr``
    (and ``closed_form`` where torch has one). As in torch, building a scheduler is its
    first step: it sets the learning rate for :math:`t = 0`."""

    def __init__(self, optimizer, last_epoch=-1):
        _check_optimizer(optimizer)
        _check_int(last_epoch, "last_epoch", low=-1)
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise ValueError(f"last_epoch={last_epoch} resumes a schedule, but param group "
                                 f"{i} has no 'initial_lr': load the optimizer's state first")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        self._step_count, self._is_initial = 0, True
        self.step()
        self._is_initial = False

    def step(self):
        """Advance the schedule by one step (call it after ``optimizer.step()``)."""
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch=None):
        """Set the groups' learning rates for the next step, or for ``epoch`` in closed form
        (SequentialLR restarts a schedule at 0 this way, as torch does)."""
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            values = self.closed_form() if hasattr(self, "closed_form") else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = self._lrs()

    def get_lr(self):
        raise NotImplementedError

    def _lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The learning rates the last ``step()`` set, one per param group."""
        return self._last_lr

    def state_dict(self):
        """Everything but the optimizer (torch's layout): load it into a scheduler built
        over the optimizer restored from its own state dict."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr})"


class StepLR(LRScheduler):
    r"""Step decay: :math:`\eta_t = \eta_0\,\gamma^{\lfloor t / s \rfloor}`, the learning rate
    multiplied by ``gamma`` every ``step_size`` steps."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        _check_int(step_size, "step_size")
        check_hyperparameter(gamma, "gamma")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._lrs()
        return [lr * self.gamma for lr in self._lrs()]

    def closed_form(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""Decay at milestones: :math:`\eta_t = \eta_0\,\gamma^{\#\{m_i \le t\}}`, the learning rate
    multiplied by ``gamma`` at each step listed in ``milestones``."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise TypeError(f"milestones must be a list of step numbers, got {milestones!r}")
        for m in milestones:
            _check_int(m, "each of milestones", low=0)
        check_hyperparameter(gamma, "gamma")
        self.milestones, self.gamma = Counter(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._lrs()
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in self._lrs()]

    def closed_form(self):
        passed = bisect.bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [base * self.gamma**passed for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Exponential decay: :math:`\eta_t = \eta_0\,\gamma^t`."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        check_hyperparameter(gamma, "gamma")
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._lrs()
        return [lr * self.gamma for lr in self._lrs()]

    def closed_form(self):
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class LambdaLR(LRScheduler):
    r"""Any schedule: :math:`\eta_t = \eta_0\,\lambda(t)`, with ``lr_lambda`` a function of
    the step (or a list of them, one per param group)."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        _check_optimizer(optimizer)
        self.lr_lambdas = _per_group(lr_lambda, "lr_lambda", optimizer)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"lr_lambda must be a function of the step, got {fn!r}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self):  # functions are not state: keep them out, as torch does
        return {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}


class LinearLR(LRScheduler):
    r"""Linear warm-up (or decay) of the factor from ``start_factor`` to ``end_factor`` over
    ``total_iters`` steps, then constant:
    :math:`\eta_t = \eta_0\,\big(f_s + (f_e - f_s)\min(t, T)/T\big)`."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        check_hyperparameter(start_factor, "start_factor", low=0.0, high=1.0)
        if start_factor == 0:
            raise ValueError("start_factor must be in (0, 1], got 0")
        check_hyperparameter(end_factor, "end_factor", low=0.0, high=1.0)
        _check_int(total_iters, "total_iters")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._lrs()
        # torch's recursive form: the ratio of this step's factor to the last one's
        slope = self.end_factor - self.start_factor
        ratio = 1.0 + slope / (self.total_iters * self.start_factor + (self.last_epoch - 1) * slope)
        return [lr * ratio for lr in self._lrs()]

    def closed_form(self):
        slope = self.end_factor - self.start_factor
        fraction = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * (self.start_factor + slope * fraction) for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing (Loshchilov and Hutter's SGDR without restarts):
    :math:`\eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\big(1 + \cos(\pi t / T)\big)`,
    from :math:`\eta_0` at :math:`t = 0` to ``eta_min`` at ``T_max``. As in torch it does not
    stop there: it climbs back over the next ``T_max`` steps (a period of ``2 T_max``)."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        _check_int(T_max, "T_max")
        check_hyperparameter(eta_min, "eta_min")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T, low = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._lrs()
        if (t - 1 - T) % (2 * T) == 0:  # leaving the bottom: below would be 0/0
            return [lr + (base - low) * (1 - math.cos(math.pi / T)) / 2
                    for lr, base in zip(self._lrs(), self.base_lrs)]
        # torch's recursive form: the ratio of consecutive closed-form values
        ratio = (1 + math.cos(math.pi * t / T)) \
            / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (lr - low) + low for lr in self._lrs()]

    def closed_form(self):
        cosine = 1 + math.cos(math.pi * self.last_epoch / self.T_max)
        return [self.eta_min + (base - self.eta_min) * cosine / 2
                for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""Cosine annealing with warm restarts (Loshchilov and Hutter's SGDR):
    :math:`\eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\big(1 + \cos(\pi\,
    t_{\text{cur}} / T_i)\big)`, where :math:`t_{\text{cur}}` counts the steps since the last
    restart and the :math:`i`-th cycle lasts :math:`T_i = T_0\,m^i` steps (``T_0``,
    ``T_mult``). At each restart the rate jumps back to :math:`\eta_0`. Integer steps only
    (torch's ``step(epoch)`` with a fractional epoch is left out)."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        _check_int(T_0, "T_0")
        _check_int(T_mult, "T_mult")
        check_hyperparameter(eta_min, "eta_min")
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def _update_lr(self, epoch=None):
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:  # one step on: torch's bookkeeping of the cycle
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur, self.T_i = self.T_cur % self.T_i, self.T_i * self.T_mult
        else:  # restarted at `epoch` (SequentialLR starts a phase at 0): walk the cycles
            self.T_i, self.T_cur = self.T_0, epoch
            while self.T_cur >= self.T_i:
                self.T_cur, self.T_i = self.T_cur - self.T_i, self.T_i * self.T_mult
        super()._update_lr(self.last_epoch + 1 if epoch is None else epoch)

    def get_lr(self):
        cosine = 1 + math.cos(math.pi * self.T_cur / self.T_i)
        return [self.eta_min + (base - self.eta_min) * cosine / 2
                for base in self.base_lrs]


class InverseTimeDecay(LRScheduler):
    r"""Keras's time-based decay: :math:`\eta_t = \eta_0 / (1 + r\, t / s)`, with ``decay_rate``
    :math:`r` and ``decay_steps`` :math:`s`; with ``staircase=True``, :math:`t / s` is
    rounded down. Keras's arguments (``initial_learning_rate`` is the optimizer's ``lr``).

    The legacy ``decay`` argument of Keras's optimizers, ``SGD(lr, decay=d)``, is this
    schedule with :math:`s = 1`, :math:`r = d`, stepped once per mini-batch:
    ``InverseTimeDecay.legacy(optimizer, decay=d)``.
    """

    def __init__(self, optimizer, decay_steps, decay_rate, staircase=False, last_epoch=-1):
        check_hyperparameter(decay_steps, "decay_steps")
        if decay_steps == 0:
            raise ValueError("decay_steps must be positive, got 0")
        check_hyperparameter(decay_rate, "decay_rate")
        if not isinstance(staircase, bool):
            raise TypeError(f"staircase must be True or False, got {staircase!r}")
        self.decay_steps, self.decay_rate, self.staircase = decay_steps, decay_rate, staircase
        super().__init__(optimizer, last_epoch)

    @classmethod
    def legacy(cls, optimizer, decay):
        """Keras's legacy ``decay``: :math:`\\eta_t = \\eta_0 / (1 + \\text{decay}\\cdot t)`, per step."""
        return cls(optimizer, decay_steps=1, decay_rate=decay)

    def get_lr(self):
        elapsed = self.last_epoch / self.decay_steps
        if self.staircase:
            elapsed = math.floor(elapsed)
        return [base / (1 + self.decay_rate * elapsed) for base in self.base_lrs]


class OneCycleLR(LRScheduler):
    r"""Smith's one-cycle policy (Smith and Topin, 2019, "Super-convergence"; torch's
    version): over ``total_steps``, the learning rate anneals from ``max_lr / div_factor`` up
    to ``max_lr`` during the first ``pct_start`` of the steps, then down to
    ``max_lr / (div_factor * final_div_factor)``; the momentum (or
    Adam's :math:`\beta_1`) moves the opposite way, between ``max_momentum`` and
    ``base_momentum``. Each phase interpolates from :math:`a` to :math:`b` with
    :math:`p \in [0, 1]` its fraction done: ``"cos"`` is
    :math:`b + \tfrac12(a - b)(1 + \cos \pi p)`, ``"linear"`` is :math:`a + (b - a)p`.
    ``three_phase=True`` comes back down to the start symmetrically before the final decay.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        _check_optimizer(optimizer)
        if total_steps is not None:
            _check_int(total_steps, "total_steps")
        elif epochs is not None and steps_per_epoch is not None:
            _check_int(epochs, "epochs")
            _check_int(steps_per_epoch, "steps_per_epoch")
            total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("OneCycleLR needs total_steps, or epochs and steps_per_epoch")
        check_hyperparameter(pct_start, "pct_start", high=1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        for name, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
            check_hyperparameter(value, name)
            if value == 0:
                raise ValueError(f"{name} must be positive, got 0")
        self.total_steps, self.anneal_strategy = total_steps, anneal_strategy
        up = float(pct_start * total_steps) - 1
        if three_phase:  # (last step of the phase, lr from, lr to, momentum from, to)
            self._phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (float(2 * pct_start * total_steps) - 2, "max_lr", "initial_lr",
                             "base_momentum", "max_momentum"),
                            (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self._phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        max_lrs = _per_group(max_lr, "max_lr", optimizer)
        for value in max_lrs:
            check_hyperparameter(value, "max_lr")
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            defaults = getattr(optimizer, "defaults", optimizer.param_groups[0])
            if "momentum" not in defaults and "betas" not in defaults:
                raise ValueError("cycle_momentum=True needs an optimizer with momentum or "
                                 "betas; pass cycle_momentum=False")
            self.use_beta1 = "betas" in defaults
            if last_epoch == -1:
                for group, top, base in zip(optimizer.param_groups,
                                            _per_group(max_momentum, "max_momentum", optimizer),
                                            _per_group(base_momentum, "base_momentum", optimizer)):
                    self._set_momentum(group, top)
                    group["max_momentum"], group["base_momentum"] = top, base
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, value):
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"Tried to step {t} times. The specified number of total steps "
                             f"is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr_from, lr_to, m_from, m_to) in enumerate(self._phases):
                if t <= end or i == len(self._phases) - 1:
                    pct = (t - start) / (end - start)
                    lrs.append(self._anneal(group[lr_from], group[lr_to], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m_from], group[m_to], pct))
                    break
                start = end
        return lrs


class SequentialLR(LRScheduler):
    """One schedule after another: ``schedulers[i]`` runs from ``milestones[i - 1]`` on, each
    restarted at its own step 0 (e.g. a ``LinearLR`` warm-up, then ``CosineAnnealingLR``)."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        _check_optimizer(optimizer)
        if not isinstance(schedulers, (list, tuple)) or not schedulers:
            raise ValueError("SequentialLR expects a non-empty list of schedulers")
        for i, scheduler in enumerate(schedulers):
            if isinstance(scheduler, ReduceLROnPlateau) or \
                    type(scheduler).__name__ == "ReduceLROnPlateau":
                raise ValueError(f"SequentialLR cannot run ReduceLROnPlateau (schedulers[{i}]): "
                                 "its step needs the metric")
            if getattr(scheduler, "optimizer", None) is not optimizer:
                raise ValueError(f"schedulers[{i}] drives another optimizer; all must drive "
                                 "this one")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR needs one milestone fewer than schedulers: got "
                             f"{len(schedulers)} schedulers and {len(milestones)} milestones")
        self._schedulers, self._milestones = list(schedulers), list(milestones)
        self.optimizer, self.last_epoch = optimizer, last_epoch + 1
        # building the schedulers stepped each once: undo that, start the first one afresh
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for scheduler in self._schedulers:
            scheduler.last_epoch -= 1
        first = self._schedulers[bisect.bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self):
        self.last_epoch += 1
        index = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)  # a new phase starts at its own step 0
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        for scheduler, saved in zip(self._schedulers, state.pop("_schedulers")):
            scheduler.load_state_dict(saved)
        self.__dict__.update(state)


class ReduceLROnPlateau(LRScheduler):
    r"""Cut the learning rate when a metric stops improving (torch's semantics).

    ``step(metric)`` once per evaluation. A value *improves* on the best so far when, in
    ``mode="min"``, it is below :math:`\text{best}\,(1 - \text{threshold})` (``"rel"``) or
    :math:`\text{best} - \text{threshold}` (``"abs"``); ``"max"`` mirrors it. After more than
    ``patience`` evaluations without improvement, every group's rate becomes
    :math:`\max(\eta\cdot\text{factor}, \text{min\_lr})` (skipped when that changes it by no
    more than ``eps``), and the next ``cooldown`` evaluations are not counted.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        _check_optimizer(optimizer)
        check_hyperparameter(factor, "factor", high=1.0, inclusive_high=False)
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        _check_int(patience, "patience", low=0)
        _check_int(cooldown, "cooldown", low=0)
        check_hyperparameter(threshold, "threshold")
        check_hyperparameter(eps, "eps")
        self.min_lrs = _per_group(min_lr, "min_lr", optimizer)
        for value in self.min_lrs:
            check_hyperparameter(value, "min_lr")
        self.optimizer, self.mode, self.factor, self.patience = optimizer, mode, factor, patience
        self.threshold, self.threshold_mode, self.cooldown, self.eps = \
            threshold, threshold_mode, cooldown, eps
        self.last_epoch = 0
        self._last_lr = self._lrs()
        self.best = math.inf if mode == "min" else -math.inf
        self.cooldown_counter = self.num_bad_epochs = 0

    def is_better(self, value, best):
        """Whether ``value`` improves on ``best`` by more than the threshold."""
        if self.mode == "min":
            return value < (best * (1.0 - self.threshold) if self.threshold_mode == "rel"
                            else best - self.threshold)
        return value > (best * (self.threshold + 1.0) if self.threshold_mode == "rel"
                        else best + self.threshold)

    def step(self, metrics):
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:  # bad epochs during cooldown do not count
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, low in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, low)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = self._lrs()
