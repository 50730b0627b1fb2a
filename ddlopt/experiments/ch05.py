"""Chapter 5's experiments: Adam and its family on the network of chapter 11's comparison.

The problem, the training loop and the tuning are :mod:`ddlopt.experiments.ch11`'s (the
digits, split once into training, validation and test parts; a 64-64-64-10 ReLU MLP in
float64; batches of 64; a seed draws the initial weights and the batch order): ``train``
and ``tune`` are re-exported here. What this module adds is the recipes chapter 5 trains
with::

    tuned = tune(recipe("Adam"), lrs=[1e-3, 3e-3, 1e-2], seeds=[0, 1, 2])
    train(recipe("Adam", warmup=50), 1e-2, seed=0)          # a linear warm-up of 50 steps
    train(recipe("SGD", grad_scale=100.0), 0.1, seed=0)     # the loss multiplied by 100
    sizes = []
    train(recipe("Adam", record=sizes), 3e-3, seed=0, steps=100)   # the steps' sizes
"""

import numpy as np

from .. import optim, schedules
from .ch11 import problem, train, tune

__all__ = ["METHODS", "recipe", "train", "tune", "problem"]

# the six optimizers the chapter compares, each made from (params, lr, **options);
# defaults otherwise
METHODS = {
    "SGD": lambda params, lr, **o: optim.SGD(params, lr=lr, **o),
    "momentum": lambda params, lr, **o: optim.SGD(params, lr=lr, **{"momentum": 0.9, **o}),
    "RMSprop": lambda params, lr, **o: optim.RMSprop(params, lr=lr, **o),
    "Adam": lambda params, lr, **o: optim.Adam(params, lr=lr, **o),
    "NAdam": lambda params, lr, **o: optim.NAdam(params, lr=lr, **o),
    "Yogi": lambda params, lr, **o: optim.Yogi(params, lr=lr, **o),
}


class _Stepper:
    """The optimizer ``train`` steps: ``inner`` with its gradients multiplied by
    ``grad_scale`` (the same training as a loss multiplied by it) and, if ``record`` is a
    list, the root mean square of each step's change of the parameters, in units of the
    learning rate, appended to it."""

    def __init__(self, inner, grad_scale, record):
        self.inner, self.grad_scale, self.record = inner, grad_scale, record
        self.params = [p for group in inner.param_groups for p in group["params"]]

    def zero_grad(self):
        self.inner.zero_grad()

    def step(self):
        if self.grad_scale != 1.0:
            for p in self.params:
                if p.grad is not None:
                    p.grad = p.grad * self.grad_scale
        before = [p.data.copy() for p in self.params] if self.record is not None else None
        self.inner.step()
        if before is not None:
            squares = sum(float(np.sum((p.data - b) ** 2)) for p, b in zip(self.params, before))
            size = sum(p.data.size for p in self.params)
            self.record.append(np.sqrt(squares / size) / self.inner.param_groups[0]["lr"])


def recipe(name, warmup=0, grad_scale=1.0, record=None, **options):
    """A method for :func:`train`: the optimizer ``METHODS[name]`` (or ``name`` itself, a
    function ``(params, lr) -> optimizer``), with ``options`` passed on to it, and

    - ``warmup``: a linear warm-up of the learning rate over that many steps (``LinearLR``
      from ``1 / warmup`` of the rate to all of it; chapter 6), none if 0;
    - ``grad_scale``: every gradient multiplied by it before the step;
    - ``record``: a list that gets each step's root-mean-square change of the parameters
      divided by the learning rate.
    """
    make = METHODS.get(name) if isinstance(name, str) else name
    if make is None:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}, or a "
                         "function (params, lr) -> optimizer")
    if not callable(make):
        raise TypeError(f"name must be a method's name or a function, got {name!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be a number of steps (an integer >= 0), got {warmup!r}")
    if not (isinstance(grad_scale, (int, float)) and grad_scale > 0 and np.isfinite(grad_scale)):
        raise ValueError(f"grad_scale must be a positive number, got {grad_scale!r}")
    if record is not None and not isinstance(record, list):
        raise TypeError(f"record must be a list (or None), got {record!r}")

    def build(model, lr, steps):
        inner = make(model.parameters(), lr, **options) if options else make(model.parameters(), lr)
        warm = [schedules.LinearLR(inner, start_factor=1 / warmup, total_iters=warmup)
                ] if warmup else []
        if grad_scale == 1.0 and record is None:
            return [inner], warm
        return [_Stepper(inner, float(grad_scale), record)], warm

    build.__name__ = name if isinstance(name, str) else getattr(name, "__name__", "method")
    return build
