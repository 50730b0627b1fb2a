"""Chapter 8's regime, where overfitting is real, and each regularizer measured in it.

The data: the digits (8 x 8 images, 10 classes), pixels divided by 16 so that they lie in
[0, 1] with 0 the background (a shifted image is then still an image), split once (seed
0, stratified) into a training pool (40 %), a validation part (25 %) and a test part
(35 %). Training uses the first ``N_TRAIN`` = 300 images of the pool, and
``LABEL_NOISE`` = 30 % of their labels are replaced by a wrong class drawn at random,
once, the same for every seed: the network can fit those only by memorizing them. The
validation and test labels are the true ones.

The network: 64-128-128-10 with ReLU (about 26 000 weights for 300 images), Glorot-uniform
weights, trained by Adam at ``LR`` = 1e-3 on batches of 32 for ``EPOCHS`` = 60 epochs, in
float64. A seed draws the initial weights, the dropout masks, the shifts and the order of
the batches.

Each tool of :data:`TOOLS` changes one thing, with one strength (the hyperparameter tuned
on the validation part; :data:`GRIDS`):

    model, history = train("dropout", 0.6, seed=0)
    run("dropout", 0.6, seed=0)   # {"val_accuracy": ..., "test_accuracy": ..., ...}

``benchmarks/regularization.py`` runs every strength of every grid over ten seeds and
writes ``regularization_grid.json`` beside this module; :func:`grid_results` reads it and
:func:`chosen` picks each tool's strength by the mean validation accuracy.
"""

import functools
import json
from importlib import resources

import numpy as np

from .. import data, losses, optim
from ..callbacks import EarlyStopping
from ..nn import Callback, Dense, Dropout, RandomShift, Sequential
from ..regularization import MaxNorm
from ..study import _one_blas_thread

__all__ = ["N_TRAIN", "LABEL_NOISE", "WIDTH", "EPOCHS", "LR", "BATCH_SIZE", "PATIENCE",
           "TOOLS", "GRIDS", "problem", "noisy_labels", "network", "decay_groups", "train",
           "run", "Curves", "grid_results", "chosen"]

N_TRAIN = 300       # training images: few, so that memorizing them is easy
LABEL_NOISE = 0.3   # the fraction of training labels replaced by a wrong class
WIDTH = 128         # units in each of the two hidden layers
EPOCHS = 60
LR = 1e-3           # Adam's learning rate, the same for every tool
BATCH_SIZE = 32
PATIENCE = 10       # early stopping: epochs without a lower validation loss

# tool -> what its strength is (None: the tool has no strength to tune)
TOOLS = {
    "none": None,
    "L2 penalty": "λ",          # Adam, weight_decay=λ on the kernels: λW joins the gradient
    "weight decay": "λ",        # AdamW, weight_decay=λ on the kernels: decoupled
    "dropout": "p",             # after each hidden layer
    "max-norm": "w_max",        # every unit's incoming weights kept to norm w_max or less
    "label smoothing": "α",
    "augmentation": None,       # each training image shifted by up to a pixel, every epoch
    "early stopping": None,     # on the validation loss, patience PATIENCE, best restored
}

# The strengths the benchmark tries, about a factor of 1.5 to 3 apart
GRIDS = {
    "L2 penalty": [0.005, 0.01, 0.02, 0.04, 0.08],
    "weight decay": [0.5, 1.0, 2.0, 4.0, 8.0],
    "dropout": [0.3, 0.5, 0.6, 0.7, 0.8],
    "max-norm": [0.4, 0.6, 0.8, 1.2, 2.0],
    "label smoothing": [0.1, 0.3, 0.5, 0.7, 0.9],
}


@functools.lru_cache(maxsize=1)
def problem():
    """The regime's data, fixed for every seed (read-only: do not modify the arrays):
    ``train`` (X, noisy labels), ``clean`` (the true training labels), ``flipped`` (a
    boolean mask of the replaced labels), ``val`` and ``test`` ((X, y) pairs)."""
    X, y = data.load("digits")
    (X_pool, y_pool), val, test = data.split(X / 16.0, y, val_size=0.25, test_size=0.35,
                                             seed=0)
    X_train, y_clean = X_pool[:N_TRAIN], y_pool[:N_TRAIN]
    y_noisy, flipped = noisy_labels(y_clean, LABEL_NOISE, rng=0)
    for array in (X_train, y_clean, y_noisy, flipped, *val, *test):
        array.flags.writeable = False
    return {"train": (X_train, y_noisy), "clean": y_clean, "flipped": flipped, "val": val,
            "test": test}


def noisy_labels(y, fraction, rng=None, n_classes=None):
    """``(noisy, flipped)``: a copy of the integer labels ``y`` in which ``round(fraction *
    len(y))`` of them, chosen at random, are replaced by one of the *other* classes drawn
    uniformly, and the boolean mask of those replaced. ``n_classes``: default
    ``y.max() + 1``."""
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"y must be a 1-D array of integer labels, got {y.dtype} {y.shape}")
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be in [0, 1], got {fraction!r}")
    n_classes = int(y.max()) + 1 if n_classes is None else n_classes
    if n_classes < 2:
        raise ValueError(f"a wrong label needs at least 2 classes, got n_classes={n_classes}")
    rng = np.random.default_rng(rng)
    chosen = rng.permutation(len(y))[:int(round(fraction * len(y)))]
    noisy = y.copy()
    # adding 1 to K-1 modulo K gives each other class with the same probability
    noisy[chosen] = (y[chosen] + rng.integers(1, n_classes, len(chosen))) % n_classes
    flipped = np.zeros(len(y), dtype=bool)
    flipped[chosen] = True
    return noisy, flipped


def _generators(seed):
    """Two independent generators from one seed: the network's (weights, masks, shifts)
    and the batch order's."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)]


def network(seed, dropout=0.0, max_norm=None, augment=False, width=WIDTH):
    """The regime's MLP, 64-width-width-10, ReLU, logits out: ``dropout`` (p) after each
    hidden layer, ``max_norm`` (c) on every kernel's columns, ``augment``: a RandomShift
    layer first. ``seed`` draws the weights, the masks and the shifts."""
    rng = _generators(seed)[0]
    layers = [RandomShift((8, 8), max_shift=1, rng=rng)] if augment else []
    sizes = [64, width, width, 10]
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        hidden = i < len(sizes) - 2
        layers.append(Dense(n_in, n_out, "relu" if hidden else None, rng=rng,
                            kernel_constraint=MaxNorm(max_norm) if max_norm else None))
        if hidden and dropout:
            layers.append(Dropout(dropout, rng=rng))
    return Sequential(layers)


def decay_groups(model, weight_decay):
    """Param groups that decay the kernels (``W``) by ``weight_decay`` and leave the biases
    (and any other parameter) alone, as is usual."""
    kernels = [layer.W for layer in model.layers if isinstance(layer, Dense)]
    chosen = {id(p) for p in kernels}
    others = [p for p in model.parameters() if id(p) not in chosen]
    return [{"params": kernels, "weight_decay": weight_decay},
            {"params": others, "weight_decay": 0.0}]


def _check_tool(tool, strength):
    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r}; known: {', '.join(TOOLS)}")
    if TOOLS[tool] is None and strength is not None:
        raise ValueError(f"{tool!r} has no strength to set, got {strength!r}")
    if TOOLS[tool] is not None and strength is None:
        raise ValueError(f"{tool!r} needs its strength ({TOOLS[tool]}), e.g. "
                         f"{GRIDS[tool][2]}")


def train(tool="none", strength=None, seed=0, epochs=EPOCHS, callbacks=(), clean_labels=False,
          lr=LR):
    """Train the regime's network with one tool of :data:`TOOLS` at ``strength``; returns
    ``(model, history)``. ``callbacks`` go to ``fit``; ``clean_labels=True`` trains on the
    true labels instead (the control); ``lr``: Adam's (or AdamW's) learning rate. Early
    stopping watches the validation loss."""
    _check_tool(tool, strength)
    part = problem()
    X, y = part["train"]
    y = part["clean"] if clean_labels else y
    init_rng, order_rng = _generators(seed)
    model = network(seed, dropout=strength if tool == "dropout" else 0.0,
                    max_norm=strength if tool == "max-norm" else None,
                    augment=tool == "augmentation")
    if tool in ("L2 penalty", "weight decay"):
        kind = optim.Adam if tool == "L2 penalty" else optim.AdamW
        optimizer = kind(decay_groups(model, strength), lr=lr)
    else:
        optimizer = optim.Adam(model.parameters(), lr=lr)
    loss = losses.SparseCategoricalCrossentropy(
        from_logits=True, label_smoothing=strength if tool == "label smoothing" else 0.0)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    callbacks, validation = list(callbacks), None
    if tool == "early stopping":
        callbacks.append(EarlyStopping(monitor="val_loss", patience=PATIENCE,
                                       restore_best_weights=True))
        validation = part["val"]
    with _one_blas_thread():
        history = model.fit(X, y, epochs=epochs, batch_size=BATCH_SIZE,
                            validation_data=validation, callbacks=callbacks, verbose=0,
                            rng=order_rng)
    return model, history


def _accuracy(model, X, y):
    return float(np.mean(model.predict(X).argmax(axis=1) == y))


def run(tool="none", strength=None, seed=0, epochs=EPOCHS, lr=LR):
    """One training run, scored: validation and test accuracy of the final (for early
    stopping: the restored) network, and ``epochs`` it trained."""
    model, history = train(tool, strength, seed, epochs, lr=lr)
    part = problem()
    return {"val_accuracy": _accuracy(model, *part["val"]),
            "test_accuracy": _accuracy(model, *part["test"]),
            "epochs": len(history.epoch)}


class Curves(Callback):
    """After every epoch: the fraction of the *replaced* training labels the network
    predicts (``memorized``: it has learned the wrong label), of the other training labels
    (``fitted``), and the test accuracy (``test_accuracy``); lists, one value an epoch."""

    def on_train_begin(self, logs=None):
        self.memorized, self.fitted, self.test_accuracy = [], [], []

    def on_epoch_end(self, epoch, logs=None):
        part = problem()
        (X, y), flipped = part["train"], part["flipped"]
        right = self.model.predict(X).argmax(axis=1) == y
        self.memorized.append(float(right[flipped].mean()))
        self.fitted.append(float(right[~flipped].mean()))
        self.test_accuracy.append(_accuracy(self.model, *part["test"]))


def grid_results(path=None):
    """The committed benchmark (``regularization_grid.json`` beside this module, or
    ``path``): a dict with ``meta`` (machine, date, wall time, the regime) and ``runs``,
    one dict a run (tool, strength, seed, val_accuracy, test_accuracy, epochs)."""
    if path is None:
        text = resources.files(__package__).joinpath("regularization_grid.json").read_text()
    else:
        with open(path) as f:
            text = f.read()
    return json.loads(text)


def chosen(results=None, lr=LR):
    """Each tuned tool's strength with the highest mean validation accuracy over the seeds
    at learning rate ``lr`` (the first in grid order on a tie): a dict tool -> strength."""
    runs = (results or grid_results())["runs"]
    picks = {}
    for tool, grid in GRIDS.items():
        scores = [[r["val_accuracy"] for r in runs if r["tool"] == tool
                   and r["strength"] == s and r.get("lr", LR) == lr] for s in grid]
        if all(scores):  # every strength was run at this rate
            picks[tool] = grid[int(np.argmax([np.mean(v) for v in scores]))]
    return picks
