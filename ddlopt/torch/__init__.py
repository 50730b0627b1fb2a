"""The PyTorch twins of ddlopt's NumPy methods: same names, same arguments, same numbers.

Each optimizer is a ``torch.optim.Optimizer`` and works wherever one does (schedulers,
state dicts, param groups, CUDA), with a per-tensor path and a ``torch._foreach_*`` path.
"""

from .adagrad import Adagrad
from .adam import Adam, AdamW, NAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "NAdam"]
from . import init  # noqa: E402  (chapter 7: the initializers, in place)
