"""Chapter 3's experiments (momentum): the digits network trained with SGD and with momentum
at the same effective learning rate, and the noisy quadratic's loss over many runs.

The network: the digits (8 x 8 images, 10 classes), split once into training, validation
and test parts (``ddlopt.data.splits``: 60 / 20 / 20 %, seed 0, standardized), and a NumPy
MLP 64-64-10 with ReLU whose last layer gives logits (``ddlopt.nn``), trained in float64
with batches of 32. A seed draws the initial weights and the order of the batches.

    result = train_digits(lr=0.03, momentum=0.9, seed=0)
    result["val_loss"], result["test_loss"], result["test_accuracy"], result["diverged"]

A run that ends with a validation loss above ln 10 (what predicting one tenth for every
class scores) or not finite has diverged: its losses and accuracy are NaN, ``diverged`` 1.
A run stops early once its validation loss passes a hundred times ln 10 (on the digits such
runs only grow from there: SGD's within an epoch, momentum's threefold an epoch).
"""

import functools
import json
import math
from importlib import resources

import numpy as np

from .. import data, losses, surfaces
from ..nn import Callback, Dense, Sequential
from ..optim import SGD
from ..params import Parameter
from ..study import _one_blas_thread

__all__ = ["digits_parts", "digits_mlp", "train_digits", "noisy_quadratic_losses",
           "full_results", "DIVERGED_ABOVE"]

DIVERGED_ABOVE = math.log(10)  # the loss of a uniform guess over the ten classes
_LOSS = losses.get("sparse_categorical_crossentropy", from_logits=True)


@functools.lru_cache(maxsize=1)
def digits_parts():
    """The split, the same for every seed: ``{"train": (X, y), "val": ..., "test": ...}``."""
    train, val, test = data.splits("digits", val_size=0.2, test_size=0.2, seed=0)
    return {"train": train, "val": val, "test": test}


def digits_mlp(seed):
    """The 64-64-10 ReLU network, its last layer giving logits; ``seed`` draws its weights."""
    rng = np.random.default_rng(seed)
    return Sequential([Dense(64, 64, "relu", rng=rng), Dense(64, 10, None, rng=rng)])


class _StopWhenDiverged(Callback):
    """End ``fit`` after an epoch whose validation loss passed 100 ln 10 (or is not finite)."""

    def on_epoch_end(self, epoch, logs=None):
        if not logs["val_loss"] <= 100 * DIVERGED_ABOVE:
            self.model.stop_training = True


def train_digits(lr, momentum=0.0, nesterov=False, seed=0, epochs=20, batch_size=32):
    """Train :func:`digits_mlp` with ``SGD(lr, momentum, nesterov)`` for ``epochs``; returns
    ``{"val_loss", "test_loss", "test_accuracy", "diverged"}``: the validation loss after
    the last epoch (what a learning rate is chosen on), the test part's loss and accuracy
    (for reporting the chosen setting), and 1.0 if the run diverged (its numbers NaN), else
    0.0. The seed draws the initial weights and the order of the batches."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    parts = digits_parts()
    model = digits_mlp(seed)
    optimizer = SGD(model.parameters(), lr=lr, momentum=momentum, nesterov=nesterov)
    model.compile(optimizer=optimizer, loss=_LOSS, metrics=["accuracy"])
    nan = {"val_loss": math.nan, "test_loss": math.nan, "test_accuracy": math.nan,
           "diverged": 1.0}
    with _one_blas_thread(), np.errstate(over="ignore", invalid="ignore"):
        try:
            history = model.fit(*parts["train"], epochs=epochs, batch_size=batch_size,
                                validation_data=parts["val"], verbose=0, rng=seed,
                                callbacks=[_StopWhenDiverged()])
            test = model.evaluate(*parts["test"], return_dict=True)
        except FloatingPointError:
            return nan
    val_loss = history.history["val_loss"][-1]
    if not val_loss <= DIVERGED_ABOVE:  # NaN fails this too
        return nan
    return {"val_loss": float(val_loss), "test_loss": float(test["loss"]),
            "test_accuracy": float(test["accuracy"]), "diverged": 0.0}


def noisy_quadratic_losses(condition_number, noise, steps, seed, runs=100, **sgd_args):
    """SGD (``sgd_args``: lr, momentum, nesterov...) on ``surfaces.NoisyQuadratic``, ``runs``
    independent runs at once from the surface's start, the noise drawn from ``seed``.
    Returns the true loss after each step, averaged over the runs: shape (steps + 1,)."""
    surface = surfaces.NoisyQuadratic(condition_number, noise=noise, rng=seed)
    theta = Parameter(np.tile(surface.start, (runs, 1)))  # one row a run
    optimizer = SGD([theta], **sgd_args)
    curve = [surface(theta.data).mean()]
    for _ in range(steps):
        optimizer.zero_grad()
        theta.grad = surface.gradient(theta.data)
        optimizer.step()
        curve.append(surface(theta.data).mean())
    return np.array(curve)


def full_results():
    """The full digits study that ``benchmarks/momentum_digits.py`` ran (every method at
    every effective learning rate, five seeds), read from the package's JSON: a dict with
    ``effective_lrs``, ``seeds``, ``epochs``, ``momentum`` and ``runs`` (one dict a run:
    method, effective_lr, lr, seed and :func:`train_digits`'s results)."""
    text = resources.files(__package__).joinpath("momentum_digits.json").read_text()
    return json.loads(text)
