"""NumPy optimizers with torch.optim's names, signatures, defaults and semantics.

``get("sgd", params)`` resolves a Keras name to the optimizer with Keras's defaults.
"""

from .._registry import lookup
from .adagrad import Adagrad, adagrad_update
from .adam import Adam, AdamW, KerasAdam, NAdam, adam_update, keras_adam_update, nadam_update
from .optimizer import Optimizer
from .rmsprop import KerasRMSprop, RMSprop, keras_rmsprop_update, rmsprop_update
from .sgd import SGD, sgd_update
from .adadelta import Adadelta, adadelta_update
from .adamax import Adamax, adamax_update
from .radam import RAdam, radam_update
from .adafactor import Adafactor, adafactor_update
from .lion import Lion, lion_update
from .schedule_free import AdamWScheduleFree, schedule_free_adamw_update
from .muon import Muon, muon_update, newton_schulz
from .prodigy import Prodigy, prodigy_update

__all__ = ["Optimizer", "SGD", "sgd_update", "Adagrad", "adagrad_update", "RMSprop",
           "rmsprop_update", "KerasRMSprop", "keras_rmsprop_update", "Adam", "AdamW", "NAdam",
           "adam_update", "nadam_update", "KerasAdam", "keras_adam_update", "get"]
__all__ += ["Adadelta", "adadelta_update", "Adamax", "adamax_update", "RAdam", "radam_update",
            "Adafactor", "adafactor_update", "Lion", "lion_update", "AdamWScheduleFree",
            "schedule_free_adamw_update", "Muon", "muon_update", "newton_schulz",
            "Prodigy", "prodigy_update"]

# Keras name -> (class, Keras's defaults, Keras argument name -> the class's name)
_KERAS = {
    # Keras's SGD and torch's agree at a constant learning rate: torch's class, Keras's lr
    "sgd": (SGD, {"lr": 0.01}, {"learning_rate": "lr"}),
    # Keras's RMSprop puts epsilon inside the square root: a class of its own
    "rmsprop": (KerasRMSprop, {}, {}),
    # Keras's Adam folds the bias corrections into the learning rate ("epsilon hat")
    "adam": (KerasAdam, {}, {}),
    # chapter 11: torch's classes with Keras's defaults (see get's docstring for what differs)
    "adadelta": (Adadelta, {"lr": 0.001, "rho": 0.95, "eps": 1e-7},
                 {"learning_rate": "lr", "epsilon": "eps"}),
    "adamax": (Adamax, {"lr": 0.001, "eps": 1e-7}, {"learning_rate": "lr", "epsilon": "eps"}),
    "adafactor": (Adafactor, {"lr": 0.001}, {"learning_rate": "lr", "clip_threshold": "d"}),
    "lion": (Lion, {"lr": 0.001}, {"learning_rate": "lr"}),
}


def get(identifier, params=None, **kwargs):
    """The optimizer for a Keras name, with Keras's defaults and semantics, over ``params``.

    - ``get("sgd", params)`` is ``SGD(params, lr=0.01)``: Keras's default learning rate with
      torch's update, which for SGD is Keras's too at a constant learning rate. Keras's
      ``learning_rate=`` is accepted for ``lr=``.
    - ``get("rmsprop", params)`` is :class:`KerasRMSprop`: ``learning_rate=0.001, rho=0.9,
      epsilon=1e-7`` inside the square root, as Keras computes it. For torch's RMSprop
      (``alpha=0.99``, epsilon outside the root) use ``RMSprop`` directly.
    - ``get("adam", params)`` is :class:`KerasAdam`: ``learning_rate=0.001, beta_1=0.9,
      beta_2=0.999, epsilon=1e-7`` added to the uncorrected root ("epsilon hat"). For torch's
      Adam use ``Adam`` directly.

    - ``get("adadelta", params)`` is :class:`Adadelta` with Keras's ``learning_rate=0.001,
      rho=0.95, epsilon=1e-7``. Keras's algorithm is torch's (epsilon inside both roots).
      Keras's learning rate 0.001 is Zeiler's "no learning rate" scaled down a thousandfold:
      torch's default ``lr=1.0`` is the paper's.
    - ``get("adamax", params)`` is :class:`Adamax` with Keras's ``learning_rate=0.001,
      epsilon=1e-7``, **torch's formula**: Keras divides by ``max(beta_2 u, |g|) + epsilon``,
      torch by ``max(beta_2 u, |g| + epsilon)``; they differ by at most epsilon in the
      denominator.
    - ``get("adafactor", params)`` is :class:`Adafactor` with Keras's ``learning_rate=0.001``
      (``beta2_decay=-0.8``, ``epsilon_2=1e-3`` and ``clip_threshold=1`` are the same in both),
      **torch's formula**. Keras's has the same parts (relative step min(lr, 1/sqrt(t)),
      step scaled by the parameter's RMS, factored second moment, update clipping) but adds
      ``epsilon_1=1e-30`` to g^2 where torch clamps the estimate at (machine epsilon)^2; the
      book has not run Keras to measure the difference, so none is claimed.
    - ``get("lion", params)`` is :class:`Lion` with Keras's ``learning_rate=0.001``; Keras's
      Lion is the same algorithm (decoupled weight decay, as Keras 3 does for every optimizer).

    An Optimizer object is returned as it is.
    """
    found = lookup(identifier.lower() if isinstance(identifier, str) else identifier,
                   kwargs, Optimizer, "optimizer", _KERAS)
    if isinstance(found, Optimizer):
        return found
    if params is None:
        raise ValueError(f"get({identifier!r}) needs the parameters to optimize: "
                         f"get({identifier!r}, model.parameters())")
    cls, defaults, renames = found
    arguments = dict(defaults)
    arguments.update({renames.get(k, k): v for k, v in kwargs.items()})
    return cls(params, **arguments)
