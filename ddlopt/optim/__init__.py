"""NumPy optimizers with torch.optim's names, signatures, defaults and semantics.

``get("sgd", params)`` resolves a Keras name to the optimizer with Keras's defaults.
"""

from .._registry import lookup
from .optimizer import Optimizer
from .sgd import SGD, sgd_update

__all__ = ["Optimizer", "SGD", "sgd_update", "get"]

# Keras name -> (class, Keras's defaults in torch's argument names). Keras's own argument
# names are accepted by get() too and translated.
_KERAS = {
    "sgd": (SGD, {"lr": 0.01}),
}
_KERAS_ARGUMENTS = {"learning_rate": "lr", "epsilon": "eps"}


def get(identifier, params=None, **kwargs):
    """The optimizer for a Keras name, with Keras's defaults, over ``params``.

    ``get("sgd", model.parameters())`` is ``SGD(params, lr=0.01)``: Keras's default learning
    rate, torch's semantics (for SGD the two agree at a constant learning rate). Keras's
    argument names work too: ``get("sgd", params, learning_rate=0.1, momentum=0.9)``. An
    Optimizer object is returned as it is.
    """
    found = lookup(identifier.lower() if isinstance(identifier, str) else identifier,
                   kwargs, Optimizer, "optimizer", _KERAS)
    if isinstance(found, Optimizer):
        return found
    if params is None:
        raise ValueError(f"get({identifier!r}) needs the parameters to optimize: "
                         f"get({identifier!r}, model.parameters())")
    cls, defaults = found
    arguments = dict(defaults)
    arguments.update({_KERAS_ARGUMENTS.get(k, k): v for k, v in kwargs.items()})
    return cls(params, **arguments)
