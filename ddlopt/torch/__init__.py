"""The PyTorch twins of ddlopt's NumPy methods: same names, same arguments, same numbers.

Each optimizer is a ``torch.optim.Optimizer`` and works wherever one does (schedulers,
state dicts, param groups, CUDA; DDP, ZeRO and FSDP2's DTensor parameters, tested in
tests/test_distributed.py), with a per-tensor path and a ``torch._foreach_*`` path.
"""

from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW, NAdam
from .adamax import Adamax
from .finder import lr_finder
from .fit import BatchLoader, fit
from . import init
from .lion import Lion
from .muon import Muon, newton_schulz, split_for_muon
from .radam import RAdam
from .rmsprop import RMSprop
from .schedule_free import AdamWScheduleFree
from .sgd import SGD
from .yogi import Yogi

__all__ = [
    # optimizers (chapters 2-5, 11)
    "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "NAdam", "Adadelta", "Adamax", "RAdam",
    "Adafactor", "Lion", "AdamWScheduleFree", "Muon", "newton_schulz", "split_for_muon",
    "Yogi",
    # initializers, in place (chapter 7)
    "init",
    # training (chapters 6 and 9)
    "lr_finder", "fit", "BatchLoader",
]
