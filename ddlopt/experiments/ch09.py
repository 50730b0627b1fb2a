"""Chapter 9's experiments: an optimizer comparison by random search at equal budgets
(tuned on validation, reported on a held-out test split over seeds), and the practitioner's
tools the chapter builds (monitoring gradient norms and update ratios, the loss floor that
the overfit-one-batch check exposes, GradScaler's update of the loss scale).

    spaces = SPACES                                  # optimizer -> search space
    problem = small_digits(n_train=300)              # seed -> Problem with a test split
    result = tune_and_test(spaces, problem, trials=12, seeds=range(1, 6), epochs=20)
    result["Adam"]["test_accuracy"]                  # an OverSeeds: mean ± std over seeds

``python -m benchmarks.compare`` runs the full study with these functions.
"""

import math
import numpy as np

from .. import data, losses, optim
from ..nn import Dense, Sequential
from ..study import Problem, _one_blas_thread, _seed_list, over_seeds

__all__ = ["RANGES", "SPACES", "small_digits", "sample_trials", "tune_and_test",
           "full_study", "train_monitored", "softmax_twice_floor", "scaler_update"]


# Each optimizer: its factory and the ranges of the learning rate and one more
# hyperparameter, each drawn on a log scale; for a momentum coefficient β (momentum,
# Adam's β₁) the range is of β and 1 - β is drawn on a log scale, so that β runs from 0
# (no momentum: the space contains plain SGD) to 0.99 with as many draws near 0.9 as near 0.
RANGES = {
    "SGD": (optim.SGD, {"lr": (1e-2, 3.0), "weight_decay": (1e-5, 1e-1)}),
    "momentum": (optim.SGD, {"lr": (1e-3, 1.0), "momentum": (0.0, 0.99)}),
    "Adam": (optim.Adam, {"lr": (1e-4, 1e-1), "beta1": (0.0, 0.99)}),
    "AdamW": (optim.AdamW, {"lr": (1e-4, 1e-1), "weight_decay": (1e-4, 1.0)}),
}
_MOMENTA = ("momentum", "beta1")


def _sampler(name, low, high):
    """Draw ``name`` from [low, high]: log-uniform, or 1 - β log-uniform for a momentum."""
    if name in _MOMENTA:
        lo, hi = math.log10(1 - high), math.log10(1 - low)
        return lambda rng: float(1 - 10 ** rng.uniform(lo, hi))
    lo, hi = math.log10(low), math.log10(high)
    return lambda rng: float(10 ** rng.uniform(lo, hi))


SPACES = {name: (factory, {hp: _sampler(hp, *bounds) for hp, bounds in ranges.items()})
          for name, (factory, ranges) in RANGES.items()}


def small_digits(n_train=300, hidden=(64,), val_size=0.2, test_size=0.2):
    """A problem (seed -> Problem): digits with a held-out test split
    (``ddlopt.data.splits``, fixed, seed 0) and only the first ``n_train`` training
    images, so that accuracy stays off its ceiling. The seed draws the initial weights."""
    train, val, test = data.splits("digits", val_size=val_size, test_size=test_size, seed=0)
    if not 0 < n_train <= len(train[0]):
        raise ValueError(f"n_train must be in 1..{len(train[0])}, got {n_train}")
    train = (train[0][:n_train], train[1][:n_train])
    sizes = [train[0].shape[1], *hidden, 10]

    def problem(seed):
        rng = np.random.default_rng(seed)
        layers = [Dense(a, b, "relu" if i < len(sizes) - 2 else None, rng=rng)
                  for i, (a, b) in enumerate(zip(sizes, sizes[1:]))]
        return Problem(Sequential(layers),
                       losses.get("sparse_categorical_crossentropy", from_logits=True),
                       train, val, test)

    return problem


def sample_trials(space, trials, rng):
    """``trials`` settings drawn at random from ``space`` (name -> sampler): a list of dicts."""
    if not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
    return [{name: sample(rng) for name, sample in space.items()} for _ in range(trials)]


def _make(factory, params, setting):
    kwargs = dict(setting)
    if "beta1" in kwargs:
        kwargs["betas"] = (kwargs.pop("beta1"), 0.999)
    return factory(params, **kwargs)


def _run(factory, setting, problem, seed, epochs, batch_size):
    """Train once; a dict of the final validation and test losses and accuracies, or None
    if training diverged."""
    model, loss, train, val, test = problem(seed)
    model.compile(optimizer=_make(factory, model.parameters(), setting), loss=loss,
                  metrics=["accuracy"])
    try:
        model.fit(*train, epochs=epochs, batch_size=batch_size, verbose=0, rng=seed)
    except FloatingPointError:
        return None
    scores = {}
    for part, (X, y) in (("val", val), ("test", test)):
        logits = model(X)
        value = float(loss(y, logits))
        scores[part + "_loss"] = value if math.isfinite(value) else math.inf
        scores[part + "_accuracy"] = float(np.mean(np.argmax(logits, axis=1) == y))
    return scores


def tune_and_test(spaces, problem, trials=12, seeds=(1, 2, 3, 4, 5), epochs=20,
                  batch_size=32, tune_seeds=(0,), search_seed=0):
    """Per optimizer: ``trials`` random settings of its space, each trained once per seed
    of ``tune_seeds`` and judged by its final validation loss (the mean over those seeds;
    a diverged run counts as infinite); the best one trained again with each of ``seeds``
    and scored on the test split. Every optimizer gets the same budget and its own draws
    (from ``search_seed``).

    Returns name -> dict: ``trials`` (the settings with their validation loss and
    accuracy), ``chosen`` (the winning setting), ``test_loss``, ``test_accuracy``
    (:class:`ddlopt.study.OverSeeds` over ``seeds``)."""
    seeds, tune_seeds = _seed_list(seeds), _seed_list(tune_seeds)
    if set(tune_seeds) & set(seeds):
        raise ValueError(f"the tuning seeds {tune_seeds} must not be test seeds {seeds}")
    results = {}
    with _one_blas_thread():
        for index, (name, (factory, space)) in enumerate(spaces.items()):
            rng = np.random.default_rng([search_seed, index])
            tried = []
            for setting in sample_trials(space, trials, rng):
                runs = [_run(factory, setting, problem, seed, epochs, batch_size)
                        for seed in tune_seeds]
                runs = [r or {"val_loss": math.inf, "val_accuracy": 0.0} for r in runs]
                tried.append({**setting,
                              "val_loss": float(np.mean([r["val_loss"] for r in runs])),
                              "val_accuracy": float(np.mean([r["val_accuracy"]
                                                             for r in runs]))})
            chosen = min(tried, key=lambda t: t["val_loss"])
            setting = {k: chosen[k] for k in space}
            final = over_seeds(lambda seed: _test_scores(factory, setting, problem, seed,
                                                         epochs, batch_size), seeds)
            results[name] = {"trials": tried, "chosen": setting, **final}
    return results


def _test_scores(factory, setting, problem, seed, epochs, batch_size):
    scores = _run(factory, setting, problem, seed, epochs, batch_size)
    if scores is None:
        return {"test_loss": math.inf, "test_accuracy": 0.0}
    return {"test_loss": scores["test_loss"], "test_accuracy": scores["test_accuracy"]}


def full_study(trials=48, tune_seeds=2, test_seeds=10, epochs=30, n_train=(300, 1078)):
    """The study of ``python -m benchmarks.compare``: :func:`tune_and_test` on
    ``small_digits(n)`` for each ``n`` of ``n_train``, each trial run with seeds
    ``0 .. tune_seeds-1`` and the chosen settings with the next ``test_seeds`` seeds.
    Returns ``n -> results``."""
    tune = list(range(tune_seeds))
    seeds = list(range(tune_seeds, tune_seeds + test_seeds))
    return {n: tune_and_test(SPACES, small_digits(n), trials=trials, seeds=seeds,
                             epochs=epochs, tune_seeds=tune) for n in n_train}


def train_monitored(model, loss, optimizer, X, y, epochs=5, batch_size=32, rng=0):
    """Train ``model`` (a Sequential of Dense layers) by hand and record, at every step and
    for each layer's weight matrix W, the gradient norm ||g|| and the update-to-weight ratio
    ||ΔW|| / ||W|| (Frobenius norms). Returns a dict with arrays of shape (steps, layers):
    ``grad_norm`` and ``update_ratio``, and ``loss`` (steps,)."""
    weights = [layer.W for layer in model.layers if hasattr(layer, "W")]
    grad_norm, update_ratio, values = [], [], []
    generator = np.random.default_rng(rng)
    for _ in range(epochs):
        for X_batch, y_batch in data.batches(X, y, batch_size, rng=generator):
            logits = model(X_batch)
            values.append(float(loss(y_batch, logits)))
            optimizer.zero_grad()
            model.backward(loss.gradient(y_batch, logits))
            before = [w.data.copy() for w in weights]
            grad_norm.append([np.linalg.norm(w.grad) for w in weights])
            optimizer.step()
            update_ratio.append([np.linalg.norm(w.data - b) / np.linalg.norm(b)
                                 for w, b in zip(weights, before)])
    return {"grad_norm": np.array(grad_norm), "update_ratio": np.array(update_ratio),
            "loss": np.array(values)}


def softmax_twice_floor(classes):
    """The smallest cross-entropy reachable when probabilities (already a softmax) are fed
    to a loss that applies the softmax again: the best output is one-hot, whose second
    softmax gives the target e / (e + K - 1), so the floor is log(1 + (K - 1) / e)."""
    if not isinstance(classes, int) or classes < 2:
        raise ValueError(f"classes must be an integer of at least 2, got {classes!r}")
    return math.log1p((classes - 1) / math.e)


def scaler_update(scale, growth_tracker, found_inf, growth_factor=2.0,
                  backoff_factor=0.5, growth_interval=2000):
    """One update of a dynamic loss scale, as torch's GradScaler.update does it
    (``torch._amp_update_scale_``): after a step whose gradients held an inf or NaN (the
    step was skipped) multiply the scale by ``backoff_factor`` and reset the count of good
    steps; otherwise count the step, and after ``growth_interval`` good steps in a row
    multiply the scale by ``growth_factor`` and reset the count. Returns
    ``(scale, growth_tracker)``."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    if found_inf:
        return scale * backoff_factor, 0
    growth_tracker += 1
    if growth_tracker == growth_interval:
        return scale * growth_factor, 0
    return scale, growth_tracker
