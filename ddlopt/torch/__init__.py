"""The PyTorch twins of ddlopt's NumPy methods: same names, same arguments, same numbers.

Each optimizer is a ``torch.optim.Optimizer`` and works wherever one does (schedulers,
state dicts, param groups, CUDA), with a per-tensor path and a ``torch._foreach_*`` path.
"""

from .adagrad import Adagrad
from .adam import Adam, AdamW, NAdam
from .rmsprop import RMSprop
from .sgd import SGD
from .adadelta import Adadelta
from .adamax import Adamax
from .radam import RAdam
from .adafactor import Adafactor
from .lion import Lion
from .schedule_free import AdamWScheduleFree
from .muon import Muon, newton_schulz, split_for_muon

__all__ = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "NAdam"]

from .finder import lr_finder  # noqa: E402  (chapter 6)

__all__ += ["lr_finder"]
__all__ += ["Adadelta", "Adamax", "RAdam", "Adafactor", "Lion", "AdamWScheduleFree", "Muon", "newton_schulz",
            "split_for_muon"]
