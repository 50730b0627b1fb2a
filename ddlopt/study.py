"""Experiments a statistician would accept: a result over seeds with its spread, and a fair
comparison of optimizers (each one's learning rate tuned on the same grid, every setting
run over several seeds, the results in a tidy table).

    accuracy = over_seeds(lambda seed: train_and_score(seed))   # seeds 0..4
    print(f"{accuracy:.3f}")        # 0.912 ± 0.004: the mean ± the sample std over seeds
    accuracy.differs_from(other)    # False: a tie, the difference is inside the spread

    study = compare(OPTIMIZERS, mlp_problem("digits"), lrs=[1e-3, 1e-2, 1e-1], seeds=[0, 1, 2])
    print(study.to_markdown())      # each optimizer at its best learning rate
    study.rows                      # one dict a run: optimizer, lr, seed, results, the curve

A *problem* is a function of the seed returning a fresh :class:`Problem` (an uncompiled
``ddlopt.nn.Sequential``, its loss, the training and validation data): the seed draws the
initial weights and the order of the batches, so each setting is judged over several draws
of both, and the same seeds give the same table.
"""

import contextlib
import math
import numbers
from collections import namedtuple
from functools import partial

import numpy as np

from . import data, losses, optim
from ._checks import check_count
from .nn import Dense, Sequential

__all__ = ["over_seeds", "OverSeeds", "compare", "Study", "Problem", "mlp_problem",
           "OPTIMIZERS"]

Problem = namedtuple("Problem", "model loss train val test", defaults=(None,))
Problem.__doc__ = """What one run trains: ``model`` (a fresh, uncompiled Sequential), ``loss``
(a Keras name or a Loss), ``train``, ``val`` and ``test`` (``(X, y)`` pairs; ``test`` None
when the problem holds none back). :func:`compare` trains on ``train`` and judges on
``val``; ``test`` is for reporting the chosen setting."""


class OverSeeds:
    """One quantity measured once per seed (what :func:`over_seeds` returns): ``values``
    (a NumPy array, in the order of ``seeds``), ``mean``, ``std`` (the sample standard
    deviation, ddof=1: the spread from seed to seed) and ``sem`` (the standard error of the
    mean, std / sqrt(n)).

    ``f"{result:.3f}"`` prints the mean and the std in that format, ``0.912 ± 0.004``;
    ``str(result)`` rounds the std to one significant digit and the mean to the same place,
    the precision the spread supports.
    """

    def __init__(self, values, seeds):
        self.values = np.asarray(values, dtype=np.float64)
        self.seeds = tuple(seeds)
        self.mean = float(np.mean(self.values))
        self.std = float(np.std(self.values, ddof=1))
        self.sem = self.std / math.sqrt(len(self.values))

    def differs_from(self, other, z=2.0):
        """Whether the two means differ beyond their spread: ``|mean - other.mean| > z * se``
        with ``se = sqrt(sem**2 + other.sem**2)``, the standard error of the difference of
        two independent means (Welch's). ``z = 2`` is about a 95 % two-sided threshold for
        many seeds; with 3 to 5 seeds it is a screen, not a test at a stated level. False
        means a tie: say so rather than rank the two."""
        if not isinstance(other, OverSeeds):
            raise TypeError(f"compare with another over_seeds result, got {other!r}")
        return abs(self.mean - other.mean) > z * math.hypot(self.sem, other.sem)

    def __format__(self, spec):
        if not spec:
            return str(self)
        return f"{self.mean:{spec}} ± {self.std:{spec}}"

    def __str__(self):
        if not 0 < self.std < math.inf:  # no spread (or NaN): nothing to round to
            return f"{self.mean:g} ± {self.std:g}"
        decimals = max(0, -math.floor(math.log10(self.std)))
        return f"{self.mean:.{decimals}f} ± {self.std:.{decimals}f}"

    def __repr__(self):
        return f"OverSeeds({self}, seeds={self.seeds})"


def over_seeds(fn, seeds=(0, 1, 2, 3, 4)):
    """Call ``fn(seed)`` for each seed; returns an :class:`OverSeeds` (mean, std, sem,
    values) when ``fn`` returns a number, or a dict ``key -> OverSeeds`` when it returns a
    dict of numbers (the same keys every seed).

    >>> r = over_seeds(lambda seed: 0.9 + 0.01 * seed, seeds=(0, 1, 2))
    >>> f"{r:.3f}"
    '0.910 ± 0.010'

    ``fn`` should draw everything random from its seed (``ddlopt.set_seed(seed)`` or an
    ``rng`` made from it), so that the same seeds give the same values.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function of the seed, got {fn!r}")
    seeds = _seed_list(seeds)
    if len(seeds) < 2 or len(set(seeds)) < len(seeds):
        raise ValueError(f"over_seeds needs at least 2 distinct seeds to measure a spread, "
                         f"got {seeds!r}")
    results = [fn(seed) for seed in seeds]
    if not isinstance(results[0], dict):
        return OverSeeds([_number(r, f"fn({seed})") for seed, r in zip(seeds, results)], seeds)
    keys = list(results[0])
    for seed, result in zip(seeds, results):
        if not isinstance(result, dict) or not keys or set(result) != set(keys):
            raise ValueError(f"fn({seed}) returned {result!r}, fn({seeds[0]}) a dict with the "
                             f"keys {keys}: every seed must return a dict with the same keys")
    return {key: OverSeeds([_number(result[key], f"fn({seed})[{key!r}]")
                            for seed, result in zip(seeds, results)], seeds)
            for key in keys}


def _number(value, where):
    """``value`` as a float, or a TypeError saying where a non-number came from."""
    zero_d_array = isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf"
    if isinstance(value, bool) or not (isinstance(value, numbers.Real) or zero_d_array):
        raise TypeError(f"{where} returned {value!r}: over_seeds needs a number (or a dict of "
                        "numbers) from each seed")
    return float(value)


def _seed_list(seeds):
    """``seeds`` as a list of non-negative integers, at least one, or a clear error."""
    try:
        seeds = list(seeds)
    except TypeError:
        raise TypeError(f"seeds must be a list of non-negative integers such as (0, 1, 2), "
                        f"got {seeds!r}") from None
    if not seeds or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0
                        for s in seeds):
        raise ValueError(f"seeds must be a non-empty list of non-negative integers, got {seeds!r}")
    return seeds


# The book's eight optimizers, each made from (params, lr): torch's defaults otherwise
OPTIMIZERS = {
    "SGD": optim.SGD,
    "momentum": partial(optim.SGD, momentum=0.9),
    "Nesterov": partial(optim.SGD, momentum=0.9, nesterov=True),
    "Adagrad": optim.Adagrad,
    "RMSprop": optim.RMSprop,
    "Adam": optim.Adam,
    "AdamW": optim.AdamW,
    "NAdam": optim.NAdam,
}


def mlp_problem(dataset="digits", hidden=(64,), activation="relu", val_size=0.2, test_size=0.0):
    """A problem: classify a bundled data set (``ddlopt.data.DATASETS``) with an MLP.

    The split (``ddlopt.data.splits``: fixed, seed 0, stratified) and the standardization
    are the same for every seed; the seed draws the initial weights. ``test_size > 0``
    holds a test part back (``Problem.test``); the default 0 keeps the split without one.
    The last layer gives logits, trained with
    ``sparse_categorical_crossentropy(from_logits=True)``.
    """
    train, val, test = data.splits(dataset, val_size=val_size, test_size=test_size, seed=0)
    X_train, y_train = train
    if y_train.dtype.kind != "i":
        raise ValueError(f"mlp_problem classifies; {dataset!r} is a regression data set")
    sizes = [X_train.shape[1], *hidden, int(y_train.max()) + 1]

    def problem(seed):
        rng = np.random.default_rng(seed)
        layers = [Dense(n_in, n_out, activation if i < len(sizes) - 2 else None, rng=rng)
                  for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]))]
        return Problem(Sequential(layers),
                       losses.get("sparse_categorical_crossentropy", from_logits=True),
                       train, val, test)

    return problem


class Study:
    """The results of :func:`compare`: ``rows``, one dict a run, and summaries of them.

    Each row: ``optimizer``, ``lr``, ``seed``, ``best`` (the best value of the metric over
    the epochs; NaN if the run diverged), ``best_epoch``, ``epochs_to_target`` (the first
    epoch, counted from 1, at which the metric reached the target; None if never),
    ``diverged``, and ``curve`` (the metric per epoch).
    """

    def __init__(self, rows, metric, target):
        self.rows, self.metric, self.target = list(rows), metric, target

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def summary(self):
        """One row a setting (optimizer, lr), over its seeds: ``mean`` and ``std`` of the
        best metric (sample std; NaN if any seed diverged), ``reached`` (how many seeds
        reached the target), ``epochs_mean`` and ``epochs_std`` to reach it (over those
        that did), ``diverged`` (how many seeds), ``runs``."""
        settings = {}
        for row in self.rows:
            settings.setdefault((row["optimizer"], row["lr"]), []).append(row)
        table = []
        for (name, lr), runs in settings.items():
            best = np.array([r["best"] for r in runs])
            epochs = np.array([r["epochs_to_target"] for r in runs if r["epochs_to_target"] is not None])
            table.append({"optimizer": name, "lr": lr, "mean": float(np.mean(best)),
                          "std": _std(best), "reached": len(epochs),
                          "epochs_mean": float(np.mean(epochs)) if len(epochs) else math.nan,
                          "epochs_std": _std(epochs) if len(epochs) else math.nan,
                          "diverged": sum(r["diverged"] for r in runs), "runs": len(runs)})
        return table

    def best(self):
        """Each optimizer at its best learning rate: the summary row with the best mean
        (the highest accuracy, the lowest loss); settings where a seed diverged never win,
        and ties go to the smaller learning rate. In the order the optimizers were given."""
        sign = -1.0 if self._lower_is_better() else 1.0
        chosen = {}
        for row in self.summary():
            score = sign * row["mean"] if not math.isnan(row["mean"]) else -math.inf
            held = chosen.get(row["optimizer"])
            if held is None or score > held[0] or (score == held[0] and row["lr"] < held[1]["lr"]):
                chosen[row["optimizer"]] = (score, row)
        return [row for _, row in chosen.values()]

    def to_markdown(self, rows=None, digits=3):
        """A Markdown table of ``rows`` (default: :meth:`best`)."""
        rows = self.best() if rows is None else rows
        target = f"{self.target:g}"
        header = ["optimizer", "lr", f"best {self.metric}", f"runs reaching {target}",
                  f"epochs to {target}", "diverged"]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for r in rows:
            best = f"{r['mean']:.{digits}f} ± {r['std']:.{digits}f}" if not math.isnan(r["mean"]) else "—"
            epochs = f"{r['epochs_mean']:.1f} ± {r['epochs_std']:.1f}" if r["reached"] else "—"
            lines.append(f"| {r['optimizer']} | {r['lr']:g} | {best} | {r['reached']}/{r['runs']} "
                         f"| {epochs} | {r['diverged']}/{r['runs']} |")
        return "\n".join(lines)

    def _lower_is_better(self):
        return "loss" in self.metric


def _std(values):
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def _check(optimizers, problem, lrs, seeds, epochs, batch_size, metric, target):
    if not isinstance(optimizers, dict) or not optimizers:
        raise TypeError("optimizers must be a non-empty dict: name -> factory(params, lr), "
                        "e.g. {'Adam': ddlopt.optim.Adam}")
    for name, factory in optimizers.items():
        if not callable(factory):
            raise TypeError(f"optimizers[{name!r}] must make an optimizer from (params, lr), got {factory!r}")
    if not callable(problem):
        raise TypeError(f"problem must be a function of the seed returning a Problem, got {problem!r}")
    grids = lrs if isinstance(lrs, dict) else {name: lrs for name in optimizers}
    missing = set(optimizers) - set(grids)
    if missing:
        raise ValueError(f"lrs has no grid for {sorted(missing)}")
    for name in optimizers:
        grid = list(grids[name])
        if not grid or any(isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr > 0
                           or not math.isfinite(lr) for lr in grid):
            raise ValueError(f"lrs must be a non-empty list of positive numbers, got {grids[name]!r}")
    seeds = _seed_list(seeds)
    check_count(epochs, "epochs")
    check_count(batch_size, "batch_size")
    if not isinstance(metric, str) or not metric.startswith("val_"):
        raise ValueError(f"metric must be a validation key of the History, e.g. 'val_accuracy', got {metric!r}")
    if isinstance(target, bool) or not isinstance(target, numbers.Real):
        raise TypeError(f"target must be a number, got {target!r}")
    return {name: [float(lr) for lr in grids[name]] for name in optimizers}, seeds


def _one_blas_thread():
    """BLAS limited to one thread: these matrices are small, and threads that wait for each
    other (worse on a shared machine) cost more than they save (5 to 10 times here)."""
    try:
        from threadpoolctl import threadpool_limits  # comes with scikit-learn
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _run_one(factory, problem, lr, seed, epochs, batch_size, metric):
    """One run: the metric's curve over the epochs, or None if training diverged."""
    model, loss, (X_train, y_train), (X_val, y_val) = problem(seed)[:4]  # test: not used
    metrics = ["accuracy"] if metric == "val_accuracy" else []
    model.compile(optimizer=factory(model.parameters(), lr=lr), loss=loss, metrics=metrics)
    try:
        history = model.fit(X_train, y_train, epochs=epochs, batch_size=batch_size,
                            validation_data=(X_val, y_val), verbose=0, rng=seed)
    except FloatingPointError:
        return None
    if metric not in history.history:
        raise ValueError(f"the History has no {metric!r}; it has {sorted(history.history)}")
    return history.history[metric]


def compare(optimizers, problem, lrs, seeds=(0, 1, 2), epochs=20, batch_size=32,
            metric="val_accuracy", target=0.95, progress=False):
    """Run every optimizer at every learning rate of its grid with every seed; returns a
    :class:`Study`.

    - ``optimizers``: name -> a function making the optimizer from ``(params, lr=lr)``: a
      class (``ddlopt.optim.Adam``) or a partial (``partial(SGD, momentum=0.9)``); see
      :data:`OPTIMIZERS`.
    - ``problem``: seed -> :class:`Problem`, e.g. ``mlp_problem("digits")``.
    - ``lrs``: one grid for all, or a dict name -> grid.
    - ``seeds``: each seed draws the initial weights (through ``problem``) and the order of
      the batches; the same seeds give the same table.
    - ``metric``: the validation key judged (``val_accuracy``, higher is better; a key with
      "loss" in it is judged lower-is-better); ``target``: the value whose first crossing
      gives ``epochs_to_target``.
    - ``progress``: a tqdm bar over the runs (stderr).
    """
    grids, seeds = _check(optimizers, problem, lrs, seeds, epochs, batch_size, metric, target)
    settings = [(name, lr, seed) for name in optimizers for lr in grids[name] for seed in seeds]
    if progress:
        from tqdm.auto import tqdm
        settings = tqdm(settings, desc="compare", unit="run")
    with _one_blas_thread():
        rows = [_row(optimizers[name], problem, name, lr, seed, epochs, batch_size, metric, target)
                for name, lr, seed in settings]
    return Study(rows, metric, target)


def _row(factory, problem, name, lr, seed, epochs, batch_size, metric, target):
    """One run, and what the study keeps of it."""
    curve = _run_one(factory, problem, lr, seed, epochs, batch_size, metric)
    row = {"optimizer": name, "lr": lr, "seed": seed, "diverged": curve is None,
           "best": math.nan, "best_epoch": None, "epochs_to_target": None, "curve": curve or []}
    if curve is not None:
        values = np.array(curve)
        lower = "loss" in metric
        best_index = int(np.argmin(values) if lower else np.argmax(values))
        reached = np.flatnonzero(values <= target if lower else values >= target)
        row.update(best=float(values[best_index]), best_epoch=best_index + 1,
                   epochs_to_target=int(reached[0]) + 1 if len(reached) else None)
    return row
