r"""What every Keras optimizer does around its update: the base of ddlopt's Keras classes.

Keras 3 (``keras.optimizers``) differs from torch.optim in more than the formulas, and these
differences live here, once, for all of them:

- An optimizer is made *before* the model's parameters exist and bound to them later
  (``model.compile(optimizer=RMSprop(learning_rate=1e-3))``, Keras's ``build``). Here
  ``params`` may be left out; ``compile`` (or ``build(params)``) binds it.
- Each step, in Keras's order: clip the gradients (``clipnorm`` per parameter,
  ``global_clipnorm`` over all of them, or ``clipvalue`` per coordinate); decay the weights,
  *decoupled*, for every optimizer, :math:`\theta \leftarrow \theta - \eta\lambda\theta`
  (``weight_decay``); then the method's own update.
- The names of Keras 2, which the older notebooks and tutorials use: ``lr`` for
  ``learning_rate``, ``epsilon=None`` for Keras's backend epsilon :math:`10^{-7}`, and the
  legacy ``decay``, a time-based schedule per step (not weight decay),

  .. math:: \eta_t = \frac{\eta}{1 + \text{decay}\cdot k}, \qquad k = \text{steps taken before},

  which is Keras 3's ``InverseTimeDecay(eta, decay_steps=1, decay_rate=decay)``.

The learning rate is kept as ``param_groups[i]["lr"]``, as in every ddlopt optimizer, so
that schedules and callbacks work on Keras's optimizers too.
"""

import numpy as np

from .optimizer import Optimizer, check_hyperparameter

__all__ = ["KerasOptimizer", "EPSILON", "clip_gradients"]

EPSILON = 1e-7   # keras.config.epsilon(): what Keras 2's epsilon=None stands for

# Keras 3's options that ddlopt leaves out: accepted at their default value only
_UNSUPPORTED = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                "loss_scale_factor": None, "gradient_accumulation_steps": None}


def _optional_positive(value, name):
    """None, or a finite number >= 0 (Keras's clipping and weight-decay options)."""
    if value is not None:
        check_hyperparameter(value, name)
    return value


def clip_gradients(grads, clipnorm=None, clipvalue=None, global_clipnorm=None):
    """Keras's gradient clipping (at most one of the three is set; 0 or None means off):
    ``clipnorm`` scales each gradient to norm at most ``clipnorm``, ``global_clipnorm`` scales
    all of them together to global norm at most ``global_clipnorm``, ``clipvalue`` clips each
    coordinate to ``[-clipvalue, clipvalue]``. Returns new arrays; the inputs are left as
    they are."""
    if clipnorm:
        return [g * clipnorm / max(np.linalg.norm(g), clipnorm) for g in grads]
    if global_clipnorm:
        norm = np.sqrt(sum(np.sum(g * g) for g in grads))
        return [g * (global_clipnorm * min(1.0 / norm, 1.0 / global_clipnorm)) for g in grads]
    if clipvalue:
        return [np.clip(g, -clipvalue, clipvalue) for g in grads]
    return grads


class KerasOptimizer(Optimizer):
    """The base of the Keras classes (``KerasSGD``, ``KerasAdam``, ... and their Keras names in
    ``ddlopt.optimizers``).

    A subclass passes its hyperparameters (the learning rate as ``lr``) and Keras's common
    options, and names its update function ``update(param, grad, state, *, learning_rate,
    **hyperparameters)``; this class does the rest (see the module docstring). The common
    options, all keyword-only:

    - ``lr``: Keras 2's name for ``learning_rate`` (give one of them);
    - ``decay=0.0``: Keras 2's time-based decay, ``lr / (1 + decay * iterations)``;
    - ``weight_decay=None``: decoupled, ``param -= param * weight_decay * lr`` before the update;
    - ``clipnorm``, ``clipvalue``, ``global_clipnorm`` (at most one);
    - ``name``, and ``use_ema``, ``ema_momentum``, ``ema_overwrite_frequency``,
      ``loss_scale_factor``, ``gradient_accumulation_steps`` at their defaults only (others
      raise ValueError: ddlopt has not implemented them);
    - ``check_finite=False``: ddlopt's check for NaN or infinite gradients.
    """

    keras_name = None        # the class's name in keras.optimizers
    default_learning_rate = 0.001

    def __init__(self, params, hyperparameters, *, lr=None, decay=0.0, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None,
                 check_finite=False, **options):
        self.name = self.keras_name if name is None else name
        for option, value in options.items():
            if option not in _UNSUPPORTED:
                raise TypeError(f"{self.keras_name}() got an unexpected keyword argument "
                                f"{option!r}")
            if value != _UNSUPPORTED[option]:
                raise ValueError(f"{option}={value!r} is not implemented in ddlopt; leave "
                                 f"{option} at {_UNSUPPORTED[option]!r}")
        hyperparameters = dict(hyperparameters)
        if lr is not None:   # Keras 2's name for the learning rate
            if hyperparameters["lr"] not in (self.default_learning_rate, lr):
                raise ValueError(f"got learning_rate={hyperparameters['lr']!r} and "
                                 f"lr={lr!r}: lr is the old name of learning_rate, give one")
            hyperparameters["lr"] = lr
        if "epsilon" in hyperparameters and hyperparameters["epsilon"] is None:
            hyperparameters["epsilon"] = EPSILON   # Keras 2: epsilon=None is backend epsilon
        self._algorithm = [k for k in hyperparameters if k != "lr"]
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(f"only one of clipnorm, clipvalue and global_clipnorm can be set, "
                             f"got clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        self.clipnorm = _optional_positive(clipnorm, "clipnorm")
        self.clipvalue = _optional_positive(clipvalue, "clipvalue")
        self.global_clipnorm = _optional_positive(global_clipnorm, "global_clipnorm")
        self.iterations = 0   # Keras's count of the steps taken
        self._configure({**hyperparameters, "decay": decay, "weight_decay": weight_decay},
                        check_finite)
        if params is not None:
            self._bind(params)

    @property
    def built(self):
        """Whether the optimizer is bound to its parameters (Keras's ``built``)."""
        return bool(self.param_groups)

    def build(self, params):
        """Bind the optimizer to ``params`` (Parameters or param-group dicts), once: what
        ``compile`` does with an optimizer made without them. Returns the optimizer."""
        if self.built:
            raise ValueError(f"this {self.keras_name} is already bound to its parameters; "
                             f"make a new optimizer for other parameters")
        self._bind(params)
        return self

    def _check_group(self, group):
        check_hyperparameter(group["lr"], "learning_rate", message="Invalid learning rate")
        check_hyperparameter(group["decay"], "decay")
        _optional_positive(group["weight_decay"], "weight_decay")
        self.check_keras(group)

    def check_keras(self, group):
        """The method's own checks (a subclass's); ValueError or TypeError naming the argument."""

    def current_learning_rate(self, group):
        """The learning rate of this step in ``group``: its ``lr`` under Keras 2's legacy
        ``decay``, ``lr / (1 + decay * iterations)``."""
        return group["lr"] / (1.0 + group["decay"] * self.iterations)

    @property
    def learning_rate(self):
        """Keras's ``optimizer.learning_rate``: the current learning rate (of the first param
        group; before binding, the default). Setting it sets ``lr`` in every group."""
        return self.current_learning_rate(self.param_groups[0] if self.built else self.defaults)

    @learning_rate.setter
    def learning_rate(self, value):
        for group in [self.defaults, *self.param_groups]:
            check_hyperparameter(value, "learning_rate", message="Invalid learning rate")
            group["lr"] = value

    def step(self, closure=None):
        """One Keras step (clip, decay the weights, update) of every parameter with a
        gradient; returns closure() if given."""
        if not self.built:
            raise RuntimeError(f"this {self.keras_name} has no parameters yet: compile a model "
                               f"with it, or call optimizer.build(model.parameters())")
        loss = closure() if closure is not None else None
        self._step_count += 1
        if self.check_finite:
            self._require_finite_gradients()
        pairs = [(group, p) for group in self.param_groups for p in group["params"]
                 if p.grad is not None]
        grads = clip_gradients([p.grad for _, p in pairs], self.clipnorm, self.clipvalue,
                               self.global_clipnorm)
        for (group, p), grad in zip(pairs, grads):
            self._update(p, grad, self.state.setdefault(p, {}), group)
        self.iterations += 1
        return loss

    def _update(self, p, grad, state, group):
        lr = self.current_learning_rate(group)
        weight_decay = self.weight_decay_of(p, group)
        if weight_decay:
            p.data -= p.data * weight_decay * lr
        self.update(p.data, grad, state, learning_rate=lr,
                    **{k: group[k] for k in self._algorithm})

    def weight_decay_of(self, p, group):
        """The decoupled weight decay for ``p`` (Muon has two)."""
        return group["weight_decay"]

    def state_dict(self):
        """The base's state dict and Keras's ``iterations`` (the legacy decay counts them)."""
        return {**super().state_dict(), "iterations": self.iterations}

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self.iterations = state_dict.get("iterations", 0)

    def __repr__(self):
        if self.built:
            return super().__repr__()
        settings = ", ".join(f"{'learning_rate' if k == 'lr' else k}={v!r}"
                             for k, v in self.defaults.items())
        return f"{self.keras_name}({settings}) (not built: compile a model with it)"
