"""NumPy optimizers with torch.optim's names, signatures, defaults and semantics, and Keras's.

``Adam``, ``RMSprop``, ``SGD``... are PyTorch's. ``get("adam")`` resolves a Keras name to
Keras 3's optimizer (``KerasAdam``: Keras's defaults and formula), as
``model.compile(optimizer="adam")`` does; ``ddlopt.optimizers`` gives the same classes under
Keras's own names (``optimizers.Adam(learning_rate=1e-3)``).
"""

from .._registry import lookup
from .adagrad import Adagrad, KerasAdagrad, adagrad_update, keras_adagrad_update
from .adam import (Adam, AdamW, KerasAdam, KerasAdamW, KerasNadam, NAdam, adam_update,
                   keras_adam_update, keras_nadam_update, nadam_update)
from .keras import KerasOptimizer
from .optimizer import Optimizer
from .rmsprop import KerasRMSprop, RMSprop, keras_rmsprop_update, rmsprop_update
from .sgd import SGD, KerasSGD, keras_sgd_update, sgd_update
from .adadelta import Adadelta, KerasAdadelta, adadelta_update, keras_adadelta_update
from .adamax import Adamax, KerasAdamax, adamax_update, keras_adamax_update
from .radam import RAdam, radam_update
from .adafactor import Adafactor, KerasAdafactor, adafactor_update, keras_adafactor_update
from .ftrl import KerasFtrl, ftrl_update
from .lion import KerasLion, Lion, keras_lion_update, lion_update
from .schedule_free import (AdamWScheduleFree, KerasScheduleFreeAdamW,
                            keras_schedule_free_adamw_update, schedule_free_adamw_update)
from .muon import KerasMuon, Muon, keras_muon_update, muon_update, newton_schulz
from .prodigy import Prodigy, prodigy_update
from .yogi import Yogi, yogi_update

__all__ = ["Optimizer", "SGD", "sgd_update", "Adagrad", "adagrad_update", "RMSprop",
           "rmsprop_update", "KerasRMSprop", "keras_rmsprop_update", "Adam", "AdamW", "NAdam",
           "adam_update", "nadam_update", "KerasAdam", "keras_adam_update", "get"]
__all__ += ["Adadelta", "adadelta_update", "Adamax", "adamax_update", "RAdam", "radam_update",
            "Adafactor", "adafactor_update", "Lion", "lion_update", "AdamWScheduleFree",
            "schedule_free_adamw_update", "Muon", "muon_update", "newton_schulz",
            "Prodigy", "prodigy_update", "Yogi", "yogi_update"]
__all__ += ["KerasOptimizer", "KerasSGD", "keras_sgd_update", "KerasAdamW", "KerasNadam",
            "keras_nadam_update", "KerasAdagrad", "keras_adagrad_update", "KerasAdadelta",
            "keras_adadelta_update", "KerasAdamax", "keras_adamax_update", "KerasFtrl",
            "ftrl_update", "KerasLion", "keras_lion_update", "KerasAdafactor",
            "keras_adafactor_update", "KerasMuon", "keras_muon_update",
            "KerasScheduleFreeAdamW", "keras_schedule_free_adamw_update", "KERAS_NAMES"]

# Every name keras.optimizers.get resolves in Keras 3.15 (lower case, as Keras compares them)
KERAS_NAMES = {cls.keras_name.lower(): cls for cls in [
    KerasSGD, KerasRMSprop, KerasAdam, KerasAdamW, KerasAdagrad, KerasAdadelta, KerasAdamax,
    KerasNadam, KerasFtrl, KerasLion, KerasAdafactor, KerasMuon, KerasScheduleFreeAdamW]}

# names a reader may try that Keras's get does not resolve either
_NOT_KERAS = {
    "lamb": "keras.optimizers.get('lamb') fails in Keras too (Lamb is a class only); "
            "ddlopt has no LAMB: 'adamw' is the nearest",
    "radam": "Keras has no RAdam; PyTorch's is ddlopt.optim.RAdam(params, ...)",
    "adamwschedulefree": "Keras's name is 'schedulefreeadamw'; the schedulefree package's "
                         "algorithm is ddlopt.optim.AdamWScheduleFree(params, ...)",
    "lossscaleoptimizer": "Keras needs an inner optimizer for it, and ddlopt has no loss "
                          "scaling (NumPy runs in float32/float64)",
}


def get(identifier, params=None, **kwargs):
    """The Keras 3 optimizer for a Keras name, with Keras's defaults and formula.

    ``get("rmsprop")`` is ``KerasRMSprop()``, bound to its parameters when a model is compiled
    with it (or by ``.build(params)``); ``get("rmsprop", params)`` binds it at once.
    Keyword arguments are Keras's (``learning_rate=``, ``lr=``, ``weight_decay=``, ...).
    Names are compared in lower case, as Keras compares them, and each is Keras 3's:

    ``"sgd"`` :class:`KerasSGD`, ``"rmsprop"`` :class:`KerasRMSprop`, ``"adam"``
    :class:`KerasAdam`, ``"adamw"`` :class:`KerasAdamW`, ``"adagrad"`` :class:`KerasAdagrad`,
    ``"adadelta"`` :class:`KerasAdadelta`, ``"adamax"`` :class:`KerasAdamax`, ``"nadam"``
    :class:`KerasNadam`, ``"ftrl"`` :class:`KerasFtrl`, ``"lion"`` :class:`KerasLion`,
    ``"adafactor"`` :class:`KerasAdafactor`, ``"muon"`` :class:`KerasMuon`,
    ``"schedulefreeadamw"`` :class:`KerasScheduleFreeAdamW`.

    The PyTorch optimizers keep their own names: ``get("adam")`` is Keras's Adam (epsilon
    1e-7 added to the uncorrected root), ``Adam(params)`` is PyTorch's. An Optimizer object
    is returned as it is.
    """
    name = identifier.lower() if isinstance(identifier, str) else identifier
    if name in _NOT_KERAS:
        raise ValueError(f"unknown optimizer {identifier!r}: {_NOT_KERAS[name]}")
    found = lookup(name, kwargs, Optimizer, "optimizer", KERAS_NAMES)
    if isinstance(found, Optimizer):
        return found
    return found(params, **kwargs)
