"""Keras's optimizers under Keras's names: ``from ddlopt import optimizers`` reads as
``from keras import optimizers``.

Each is made before the model exists and bound to its parameters when the model is
compiled, exactly as in Keras::

    from ddlopt import losses, metrics, optimizers
    model.compile(optimizer=optimizers.RMSprop(lr=0.001),
                  loss=losses.binary_crossentropy, metrics=[metrics.binary_accuracy])

Every class has Keras 3's signature, defaults and formula (``RMSprop(learning_rate=0.001,
rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, ...)``), plus Keras 2's spellings that
old notebooks use: ``lr=`` for ``learning_rate``, ``epsilon=None`` for 1e-7 and the legacy
``decay=`` (``lr / (1 + decay * iterations)``); see :class:`ddlopt.optim.keras.KerasOptimizer`.
They are the ``Keras...`` classes of ``ddlopt.optim`` without their first argument,
``params``; ``ddlopt.optim.Adam`` and the rest keep PyTorch's formulas and defaults.
"""

import inspect

from . import optim
from .optim import KerasOptimizer as Optimizer

__all__ = ["Optimizer", "get", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta",
           "Adamax", "Nadam", "Ftrl", "Lion", "Adafactor", "Muon", "ScheduleFreeAdamW"]


def _without_params(cls):
    """``cls`` with Keras's signature: the same class, less its first argument ``params``
    (``build(params)`` or ``model.compile`` binds them)."""

    def __init__(self, *args, **kwargs):
        cls.__init__(self, None, *args, **kwargs)

    signature = inspect.signature(cls)
    keras_class = type(cls.keras_name, (cls,), {
        "__init__": __init__, "__doc__": cls.__doc__, "__module__": __name__,
        "__signature__": signature.replace(parameters=list(signature.parameters.values())[1:]),
    })
    return keras_class


SGD = _without_params(optim.KerasSGD)
RMSprop = _without_params(optim.KerasRMSprop)
Adam = _without_params(optim.KerasAdam)
AdamW = _without_params(optim.KerasAdamW)
Adagrad = _without_params(optim.KerasAdagrad)
Adadelta = _without_params(optim.KerasAdadelta)
Adamax = _without_params(optim.KerasAdamax)
Nadam = _without_params(optim.KerasNadam)
Ftrl = _without_params(optim.KerasFtrl)
Lion = _without_params(optim.KerasLion)
Adafactor = _without_params(optim.KerasAdafactor)
Muon = _without_params(optim.KerasMuon)
ScheduleFreeAdamW = _without_params(optim.KerasScheduleFreeAdamW)


def get(identifier, **kwargs):
    """Keras's ``optimizers.get``: the optimizer for a name (``"rmsprop"``, ``"adam"``, ...;
    see :func:`ddlopt.optim.get`), not yet bound to parameters; an Optimizer is returned as
    it is."""
    return optim.get(identifier, **kwargs)
