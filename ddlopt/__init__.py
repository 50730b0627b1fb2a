"""ddlopt: the library behind the book *How Neural Networks Learn*.

`import ddlopt` needs NumPy alone. PyTorch twins live in `ddlopt.torch`, the book's
figures in `ddlopt.plot` (matplotlib); neither is imported here. ``dir(ddlopt)`` lists
what a student is meant to use (``__all__``, and ``plot`` / ``torch`` once imported).
"""

from . import (callbacks, check, data, finder, floor, init, losses, metrics, nn, optim,
               optimizers, regularization, schedules, study, surfaces, utils)
from ._random import set_seed
from .params import Parameter
from .study import compare
from .utils import clip_grad_norm

__version__ = "0.1.0"

__all__ = ["Parameter", "set_seed", "lr_finder", "clip_grad_norm", "compare",
           "callbacks", "check", "data", "floor", "init", "losses", "metrics", "nn", "optim",
           "optimizers", "regularization", "schedules", "study", "surfaces", "utils",
           "__version__"]


def lr_finder(model, data, *, optimizer=None, loss_fn=None, **options):
    """Smith's learning-rate range test (``ddlopt.range_test``) on a ddlopt model or a torch
    one; returns an ``LRFinderResult``. The model and its optimizer are restored afterwards,
    to the bit.

    - NumPy: ``lr_finder(model, (X, y), batch_size=32, rng=0)`` with a compiled
      ``ddlopt.nn.Sequential`` (``ddlopt.finder.lr_finder``).
    - PyTorch: ``lr_finder(model, batches, optimizer=..., loss_fn=...)`` with ``batches`` a
      DataLoader or any iterable of ``(inputs, targets)`` (``ddlopt.torch.lr_finder``;
      torch is imported only then).

    ``options``: ``start_lr``, ``end_lr``, ``num_iter``, ``smooth``, ``diverge_th``,
    ``rule``, and for NumPy ``batch_size`` and ``rng``.
    """
    if optimizer is None and loss_fn is None:
        return finder.lr_finder(model, data, **options)
    from .torch.finder import lr_finder as torch_lr_finder  # torch only when asked for
    return torch_lr_finder(model, optimizer, loss_fn, data, **options)


def __dir__():
    return sorted([*__all__, *(name for name in ("plot", "torch") if name in globals())])
