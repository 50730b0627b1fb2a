"""Chapter 6's experiments: learning-rate schedules on a noisy problem, over seeds.

The problem: the digits (8 x 8 images, 10 classes), split once into training, validation
and test parts (``ddlopt.data.splits``, seed 0), with a share of the *training* labels
replaced by random digits (the validation and test labels stay clean), and the 64-64-10
NumPy network of the earlier chapters, trained in float64 with SGD (momentum 0.9) in
batches of 32. A seed draws the initial weights and the order of the batches.

    splits = noisy_digits(noise=0.3)
    result = train(splits, "cosine", seed=0)      # a dict: val and test accuracy, History
    result["test_accuracy"], result["history"]["lr"]

Each entry of :data:`SCHEDULES` makes a scheduler from ``(optimizer, T)``, a schedule of
length ``T`` that starts at the optimizer's rate; "reduce on plateau" is Keras's callback.
"""

import math

import numpy as np

from .. import callbacks, data, schedules
from ..nn import Dense, Sequential
from ..optim import SGD

__all__ = ["noisy_quadratic", "lr_curve", "warmup_cosine", "SCHEDULES", "noisy_digits",
           "digits_mlp", "train"]


def noisy_quadratic(lr, make_scheduler=None, steps=600, runs=2000, seed=0):
    """The mean loss after each step of ``runs`` independent SGD runs on f = θ²/2 from
    θ = 10, each gradient θ + ξ with unit Gaussian noise ξ (one ``Parameter`` of ``runs``
    coordinates). ``make_scheduler(optimizer)`` may return a scheduler stepped each step."""
    if lr <= 0 or steps < 1 or runs < 1:
        raise ValueError(f"need lr > 0, steps >= 1 and runs >= 1; got {lr}, {steps}, {runs}")
    from ..params import Parameter

    noise = np.random.default_rng(seed)
    theta = Parameter(np.full(runs, 10.0))
    optimizer = SGD([theta], lr=lr)
    scheduler = make_scheduler(optimizer) if make_scheduler else None
    mean_loss = np.empty(steps)
    for t in range(steps):
        theta.grad = theta.data + noise.standard_normal(runs)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        mean_loss[t] = np.mean(theta.data**2 / 2)
    return mean_loss


def lr_curve(make_scheduler, T=100, lr=0.1):
    """The learning rate of steps 0 .. T-1 under ``make_scheduler(optimizer, T)``."""
    from ..params import Parameter

    optimizer = SGD([Parameter(np.zeros(1))], lr=lr, momentum=0.9)
    scheduler = make_scheduler(optimizer, T)
    rates = []
    for _ in range(T):
        rates.append(optimizer.param_groups[0]["lr"])
        scheduler.step()
    return np.array(rates)


def warmup_cosine(optimizer, T, lib=schedules, warmup=None, start_factor=0.1):
    """A linear warm-up from ``start_factor`` times the rate over ``warmup`` steps (a tenth
    of T by default), then cosine annealing to 0 over the rest. ``lib`` is
    ``ddlopt.schedules`` or ``torch.optim.lr_scheduler``: the same recipe for both."""
    warmup = max(T // 10, 1) if warmup is None else warmup
    if not 0 < warmup < T:
        raise ValueError(f"the warm-up must be 1 .. T - 1 steps, got {warmup} of {T}")
    return lib.SequentialLR(optimizer, [
        lib.LinearLR(optimizer, start_factor=start_factor, total_iters=warmup),
        lib.CosineAnnealingLR(optimizer, T_max=T - warmup)], milestones=[warmup])


def _inverse_sqrt(optimizer, T):
    """The Transformer's rule: linear warm-up over T/10 steps, then η0 √(T_w / t)."""
    warmup = max(T // 10, 1)
    return schedules.LambdaLR(optimizer, lambda t: min((t + 1) / warmup,
                                                       math.sqrt(warmup / max(t, 1))))


def _wsd(optimizer, T):
    """Warm-up (T/10), stable at η0, then a linear decay to 0 over the last fifth."""
    warmup, decay = max(T // 10, 1), max(T // 5, 1)
    return schedules.LambdaLR(optimizer, lambda t: min(
        (t + 1) / warmup, 1.0, max(T - t, 0) / decay))


def _triangular(optimizer, T):
    """Smith's cyclical rate: triangles between η0/10 and η0, two cycles over T."""
    half = max(T // 4, 1)
    return schedules.LambdaLR(optimizer, lambda t: 0.1 + 0.9 * abs(
        ((t + half) % (2 * half)) / half - 1))


SCHEDULES = {
    "constant": lambda o, T: schedules.LambdaLR(o, lambda t: 1.0),
    "step": lambda o, T: schedules.StepLR(o, step_size=math.ceil(T / 3), gamma=0.3),
    "exponential": lambda o, T: schedules.ExponentialLR(o, gamma=0.01 ** (1 / T)),
    "time-based": lambda o, T: schedules.InverseTimeDecay(o, decay_steps=T,
                                                          decay_rate=9.0),
    "cosine": lambda o, T: schedules.CosineAnnealingLR(o, T_max=T),
    "warm-up + cosine": warmup_cosine,
    "one-cycle": lambda o, T: schedules.OneCycleLR(
        o, max_lr=o.param_groups[0]["lr"], total_steps=T),
    "cosine restarts": lambda o, T: schedules.CosineAnnealingWarmRestarts(
        o, T_0=math.ceil(T / 3)),  # three cycles, the last one ending low
    "cyclical": _triangular,
    "inverse sqrt": _inverse_sqrt,
    "warm-up-stable-decay": _wsd,
}
"""name -> (optimizer, length T) -> scheduler"""


def noisy_digits(noise=0.3, seed=0):
    """The digits split 60/20/20 (seed 0, standardized), a share ``noise`` of the training
    labels replaced by random digits drawn with ``seed`` (about a tenth of those land on
    the right digit by chance). Returns ``ddlopt.data.Splits``; only ``train`` is noisy."""
    if not 0 <= noise <= 1:
        raise ValueError(f"noise must be a share in [0, 1], got {noise}")
    parts = data.splits("digits", val_size=0.2, test_size=0.2, seed=0)
    X_train, y_train = parts.train
    rng = np.random.default_rng(seed)
    y_noisy = y_train.copy()
    replaced = rng.random(len(y_train)) < noise
    y_noisy[replaced] = rng.integers(0, 10, replaced.sum())
    return data.Splits((X_train, y_noisy), parts.val, parts.test)


def digits_mlp(lr, seed=0, momentum=0.9):
    """The 64-64-10 ReLU network, compiled with SGD; ``seed`` draws its weights."""
    weight_rng = np.random.default_rng(seed)
    model = Sequential([Dense(64, 64, "relu", rng=weight_rng),
                        Dense(64, 10, "softmax", rng=weight_rng)])
    return model.compile(optimizer=SGD(model.parameters(), lr=lr, momentum=momentum),
                         loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def train(splits, schedule="constant", seed=0, lr=0.1, epochs=15):
    """Train :func:`digits_mlp` on ``splits.train`` under a named schedule of
    :data:`SCHEDULES` stepped once an epoch (or "reduce on plateau": Keras's callback with
    factor 0.3, patience 2, on the validation loss). A run whose loss overflows stops
    there: its accuracies are NaN. Returns a dict: ``val_accuracy``, ``test_accuracy``
    (after the last epoch), ``history`` (the History's dict, "lr" the rate of each epoch)."""
    model = digits_mlp(lr, seed=seed)
    if schedule == "reduce on plateau":
        callback = callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=2)
    elif schedule in SCHEDULES:
        callback = callbacks.EpochScheduler(SCHEDULES[schedule](model.optimizer, epochs))
    else:
        raise ValueError(f"unknown schedule {schedule!r}; known: "
                         f"{', '.join(SCHEDULES)}, reduce on plateau")
    try:
        history = model.fit(*splits.train, epochs=epochs, validation_data=splits.val,
                            callbacks=[callback], verbose=0, rng=seed + 1).history
        test_accuracy = model.evaluate(*splits.test)[1]
    except FloatingPointError:
        return {"val_accuracy": math.nan, "test_accuracy": math.nan, "history": None}
    return {"val_accuracy": history["val_accuracy"][-1], "test_accuracy": test_accuracy,
            "history": history}
