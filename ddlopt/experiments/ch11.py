"""Chapter 11's comparison: the optimizers that came after Adam, each with its learning rate
tuned at the same budget, on one small problem, over seeds.

The problem: the digits (8 x 8 images, 10 classes), split once into training, validation
and test parts (``ddlopt.data.splits``, seed 0), and a NumPy MLP 64-64-64-10 with ReLU
(``ddlopt.nn``), trained in float64 with batches of 64 (the reason for float64: a run's
last bits differ between CPUs, and in float64 that difference stays far below the digits
printed). A seed draws the initial weights and the order of the batches.

    result = train("AdamW + cosine", lr=3e-3, seed=0, steps=400)
    result["val_loss"], result["test_loss"], result["curve"]
    tuned = tune("Lion + cosine", lrs=[1e-4, 3e-4, 1e-3], seeds=[0, 1, 2], steps=400)
    tuned.best_lr, tuned.val[tuned.best_lr]       # an OverSeeds: mean ± std over seeds

Each method of :data:`METHODS` makes its optimizers and schedules from ``(model, lr,
steps)``: every one gets a cosine schedule over the run's length except Schedule-Free
(constant by design) and the plain "AdamW" (constant, the control for what the schedule
does). The learning rate is chosen on the validation loss at the end of the run; the test
part is for reporting the chosen setting only.
"""

import functools
import json
import math
from importlib import resources
from collections import namedtuple

import numpy as np

from .. import data, losses, optim, schedules
from ..nn import Dense, Sequential
from ..study import _one_blas_thread, over_seeds

__all__ = ["problem", "mlp", "muon_split", "METHODS", "muon_and_adamw", "train", "tune",
           "Tuned", "full_results"]

_LOSS = losses.get("sparse_categorical_crossentropy", from_logits=True)


@functools.lru_cache(maxsize=4)
def problem(dataset="digits", val_size=0.2, test_size=0.2):
    """The split, fixed for every seed: ``{"train": (X, y), "val": ..., "test": ...}``."""
    train_part, val_part, test_part = data.splits(dataset, val_size=val_size,
                                                  test_size=test_size, seed=0)
    return {"train": train_part, "val": val_part, "test": test_part}


def mlp(seed, n_in=64, hidden=(64, 64), n_classes=10):
    """A ReLU MLP whose last layer gives logits; ``seed`` draws its initial weights."""
    rng = np.random.default_rng(seed)
    sizes = [n_in, *hidden, n_classes]
    return Sequential([Dense(a, b, "relu" if i < len(sizes) - 2 else None, rng=rng)
                       for i, (a, b) in enumerate(zip(sizes, sizes[1:]))])


def muon_split(model, input_layer=True):
    """``(hidden, others)`` for the Muon recipe on a ``Sequential`` of Dense layers: the
    weight matrices of the layers between the first and the last to Muon; the input layer
    (the first, which reads the pixels), the output layer and every bias to the other
    optimizer. ``input_layer=False`` gives the input layer's matrix to Muon too."""
    layers = [layer for layer in model.layers if isinstance(layer, Dense)]
    first = 1 if input_layer else 0
    hidden = [layer.W for layer in layers[first:-1]]
    chosen = {id(p) for p in hidden}
    return hidden, [p for p in model.parameters() if id(p) not in chosen]


def _cosine(optimizer, steps):
    return schedules.CosineAnnealingLR(optimizer, T_max=steps)


def _adamw(model, lr, steps, schedule=True):
    optimizer = optim.AdamW(model.parameters(), lr=lr)
    return [optimizer], [_cosine(optimizer, steps)] if schedule else []


def _with_cosine(cls, **options):
    def make(model, lr, steps):
        optimizer = cls(model.parameters(), lr=lr, **options)
        return [optimizer], [_cosine(optimizer, steps)]
    return make


def _schedule_free(model, lr, steps):
    return [optim.AdamWScheduleFree(model.parameters(), lr=lr, weight_decay=0.01)], []


def _prodigy(model, lr, steps):
    optimizer = optim.Prodigy(model.parameters(), lr=lr, weight_decay=0.01)
    return [optimizer], [_cosine(optimizer, steps)]


def muon_and_adamw(adamw_lr, input_layer=True):
    """The Muon recipe as a method: Muon (at the tuned ``lr``) for the hidden matrices,
    AdamW at ``adamw_lr`` (AdamW's own tuned rate) for the rest, one cosine schedule for
    both. ``input_layer=False`` gives the input layer's matrix to Muon as well."""
    def make(model, lr, steps):
        hidden, others = muon_split(model, input_layer)
        parts = [optim.Muon(hidden, lr=lr, weight_decay=0.01),
                 optim.AdamW(others, lr=adamw_lr)]
        return parts, [_cosine(part, steps) for part in parts]
    return make


# name -> make(model, lr, steps) -> (optimizers, schedulers); weight decay 0.01 (torch's
# AdamW default) for the AdamW family and Muon, Lion's 0.1 (its rate is about ten times
# smaller and its decay is multiplied by it), the others' defaults
METHODS = {
    "AdamW": functools.partial(_adamw, schedule=False),
    "AdamW + cosine": _adamw,
    "Schedule-Free AdamW": _schedule_free,
    "Lion + cosine": _with_cosine(optim.Lion, weight_decay=0.1),
    "Adafactor + cosine": _with_cosine(optim.Adafactor),
    "RAdam + cosine": _with_cosine(optim.RAdam),
    "Prodigy + cosine": _prodigy,
    "Adadelta": lambda model, lr, steps: ([optim.Adadelta(model.parameters(), lr=lr)], []),
}


def _make(method):
    if callable(method):
        return method
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}, or a "
                         f"function (model, lr, steps) -> (optimizers, schedulers)")
    return METHODS[method]


def _evaluate(model, part):
    X, y = part
    logits = model.forward(X)
    if not np.all(np.isfinite(logits)):
        return math.inf, 0.0
    return float(_LOSS(y, logits)), float(np.mean(np.argmax(logits, axis=1) == y))


def _modes(optimizers, mode):
    for optimizer in optimizers:
        if hasattr(optimizer, mode):     # Schedule-Free: train() to step, eval() to evaluate
            getattr(optimizer, mode)()


def train(method, lr, seed, steps=400, batch_size=64, every=20, dataset="digits",
          hidden=(64, 64)):
    """One run; returns a dict: ``val_loss``, ``test_loss``, ``test_accuracy`` at the end,
    ``curve`` (an array of rows ``(step, validation loss)`` every ``every`` steps) and
    ``diverged``. A run whose loss stops being finite is ``diverged`` with infinite
    losses."""
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    parts = problem(dataset)
    (X, y), n = parts["train"], len(parts["train"][1])
    model = mlp(seed, n_in=X.shape[1], hidden=hidden, n_classes=int(y.max()) + 1)
    optimizers, schedulers = _make(method)(model, lr, steps)
    order_rng, order, curve = np.random.default_rng(seed), np.array([], dtype=int), []
    # one BLAS thread: for matrices this small, threads cost more than they save
    with np.errstate(all="ignore"), _one_blas_thread():
        for step in range(1, steps + 1):
            if len(order) < batch_size:                       # a new epoch, a new order
                order = np.concatenate([order, order_rng.permutation(n)])
            batch, order = order[:batch_size], order[batch_size:]
            _modes(optimizers, "train")
            logits = model.forward(X[batch])
            if not (np.all(np.isfinite(logits)) and np.isfinite(_LOSS(y[batch], logits))):
                return {"val_loss": math.inf, "test_loss": math.inf, "test_accuracy": 0.0,
                        "curve": np.array(curve), "diverged": True}
            for optimizer in optimizers:
                optimizer.zero_grad()
            model.backward(_LOSS.gradient(y[batch], logits))
            for optimizer in optimizers:
                optimizer.step()
            for scheduler in schedulers:
                scheduler.step()
            if step % every == 0 or step == steps:
                _modes(optimizers, "eval")
                curve.append((step, _evaluate(model, parts["val"])[0]))
        _modes(optimizers, "eval")
        val_loss = _evaluate(model, parts["val"])[0]
        test_loss, test_accuracy = _evaluate(model, parts["test"])
    diverged = not math.isfinite(val_loss)
    return {"val_loss": val_loss if not diverged else math.inf,
            "test_loss": test_loss if not diverged else math.inf,
            "test_accuracy": test_accuracy, "curve": np.array(curve), "diverged": diverged}


Tuned = namedtuple("Tuned", "method best_lr val runs lrs")
Tuned.__doc__ = """What :func:`tune` returns: ``best_lr`` (the rate with the lowest mean
validation loss), ``val`` (rate -> OverSeeds of the final validation loss), ``runs`` (rate
-> the list of :func:`train` results, one a seed) and ``lrs`` (the grid)."""


def tune(method, lrs, seeds=(0, 1, 2), **options):
    """Train ``method`` at every rate of ``lrs`` with every seed; the best rate is the one
    with the lowest mean final validation loss (a diverged seed makes a rate lose)."""
    lrs = sorted(float(lr) for lr in lrs)
    if not lrs:
        raise ValueError("lrs must hold at least one learning rate")
    runs = {lr: [train(method, lr, seed, **options) for seed in seeds] for lr in lrs}
    val = {lr: over_seeds(lambda seed, rs=rs: rs[list(seeds).index(seed)]["val_loss"],
                          seeds) for lr, rs in runs.items()}
    best = min(lrs, key=lambda lr: val[lr].mean if math.isfinite(val[lr].mean) else math.inf)
    return Tuned(method if isinstance(method, str) else getattr(method, "__name__", "method"),
                 best, val, runs, lrs)


def full_results(steps=300):
    """The full comparison as ``benchmarks/after_adam.py`` ran it and committed it (package
    data, so the chapter prints it in Colab too): a dict with the run's settings (``steps``,
    ``seeds``, ``machine``, ``date``, ``wall_minutes``...) and ``methods``: name -> its
    ``best_lr``, and ``rows``, one a rate, with the values over the seeds (``val_loss``,
    ``test_loss``, ``test_accuracy``; None where a run diverged)."""
    name = f"after_adam_{steps}steps.json"
    path = resources.files(__package__).joinpath(name)
    if not path.is_file():
        raise FileNotFoundError(f"no committed comparison of {steps} steps ({name}); run "
                                f"python -m benchmarks.after_adam --steps {steps}")
    return json.loads(path.read_text())
