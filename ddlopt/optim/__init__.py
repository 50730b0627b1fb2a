"""NumPy optimizers with torch.optim's names, signatures, defaults and semantics.

``get("sgd", params)`` resolves a Keras name to the optimizer with Keras's defaults.
"""

from .._registry import lookup
from .adagrad import Adagrad, adagrad_update
from .adam import Adam, AdamW, KerasAdam, NAdam, adam_update, keras_adam_update, nadam_update
from .optimizer import Optimizer
from .rmsprop import KerasRMSprop, RMSprop, keras_rmsprop_update, rmsprop_update
from .sgd import SGD, sgd_update

__all__ = ["Optimizer", "SGD", "sgd_update", "Adagrad", "adagrad_update", "RMSprop",
           "rmsprop_update", "KerasRMSprop", "keras_rmsprop_update", "Adam", "AdamW", "NAdam",
           "adam_update", "nadam_update", "KerasAdam", "keras_adam_update", "get"]

# Keras name -> (class, Keras's defaults, Keras argument name -> the class's name)
_KERAS = {
    # Keras's SGD and torch's agree at a constant learning rate: torch's class, Keras's lr
    "sgd": (SGD, {"lr": 0.01}, {"learning_rate": "lr"}),
    # Keras's RMSprop puts epsilon inside the square root: a class of its own
    "rmsprop": (KerasRMSprop, {}, {}),
    # Keras's Adam folds the bias corrections into the learning rate ("epsilon hat")
    "adam": (KerasAdam, {}, {}),
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
