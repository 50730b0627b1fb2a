"""Chapter 4's experiments (Adagrad and RMSprop), each a function the chapter calls.

- :func:`steps_to_tolerance`: how many steps an update rule takes on a 2-D bowl, at many
  learning rates and from many starts at once (the rules of ``ddlopt.optim`` work
  elementwise, so one array holds every run).
- :func:`sparse_problem`, :func:`train_logistic`, :func:`max_likelihood`: logistic regression
  with dense and rare ("sparse") features, where Adagrad is said to shine, and the control
  that the claim needs: SGD with Adagrad's own 1/sqrt(t) decay.
- :func:`train_digits`, :func:`lockstep_distances`, :func:`epsilon_regimes`: the digits
  network of the book (``ddlopt.study.mlp_problem``: 64-64-10, ReLU, logits; a fixed split
  with a test part): one run; several optimizers on the very same batches side by side;
  which weights the place of Keras's epsilon matters for.

Every function draws what is random from its ``seed``; the same seed gives the same numbers.
"""

import contextlib
import functools
from collections import namedtuple

import numpy as np

from .. import study

__all__ = ["steps_to_tolerance", "SparseProblem", "sparse_problem", "log_loss",
           "train_logistic", "weight_errors", "max_likelihood", "sparse_study", "digits",
           "train_digits", "lockstep_distances", "epsilon_regimes"]


# ----------------------------------------------------------------------------------------
# Bowls
# ----------------------------------------------------------------------------------------
def steps_to_tolerance(surface, update, lrs, starts, tol=1e-8, max_steps=2000,
                       **hyperparameters):
    """The steps ``update`` (an update rule such as ``ddlopt.optim.adagrad_update``) takes
    on ``surface`` to bring the loss from its starting value f_0 to ``tol * f_0`` or below
    (the minimum's value is 0), for every learning rate of ``lrs`` and every point of
    ``starts`` (shape (k, 2)). Returns an array of shape (len(lrs), k): the first step at
    which the loss reached the tolerance, ``inf`` where it never did within ``max_steps``
    (or the run diverged). ``hyperparameters`` go to ``update`` (``momentum=0.9``)."""
    lrs = np.asarray(lrs, dtype=float)
    starts = np.asarray(starts, dtype=float)
    if lrs.ndim != 1 or not len(lrs) or not np.all(lrs > 0):
        raise ValueError(f"lrs must be a non-empty list of positive numbers, got {lrs}")
    if starts.ndim != 2 or starts.shape[1] != 2:
        raise ValueError(f"starts must have shape (k, 2), got {starts.shape}")
    theta = np.repeat(starts[None], len(lrs), axis=0)
    target = tol * surface(theta)
    reached = np.full(theta.shape[:2], np.inf)
    state = {}
    with np.errstate(all="ignore"):  # a diverging learning rate overflows: it is never reached
        for step in range(1, max_steps + 1):
            update(theta, surface.gradient(theta), state, lr=lrs[:, None, None],
                   **hyperparameters)
            now = (surface(theta) <= target) & np.isinf(reached)
            reached[now] = step
            if np.all(np.isfinite(reached)):
                break
    return reached


# ----------------------------------------------------------------------------------------
# Sparse features
# ----------------------------------------------------------------------------------------
SparseProblem = namedtuple("SparseProblem", "train val test w_true n_dense")
SparseProblem.__doc__ = """Logistic regression data: ``train``, ``val``, ``test`` as ``(X, y)``
pairs (y in {0, 1}), ``w_true`` the weights that drew the labels, the first ``n_dense``
features dense, the others sparse."""


def sparse_problem(n=5000, n_dense=10, n_sparse=10, frequency=0.02, sparse_weight=3.0,
                   seed=0):
    """Labels drawn from a logistic model with ``n_dense`` features present in every
    example (standard normal, true weights standard normal) and ``n_sparse`` features
    present (= 1) in a fraction ``frequency`` of the examples, with true weights of size
    ``sparse_weight`` and random sign. Split 60 / 20 / 20 into training, validation and
    test parts. Returns a :class:`SparseProblem`."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=(n, n_dense)),
                         (rng.random((n, n_sparse)) < frequency).astype(float)])
    w_true = np.concatenate([rng.normal(size=n_dense),
                             rng.choice([-sparse_weight, sparse_weight], n_sparse)])
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ w_true))).astype(float)
    cut = [int(0.6 * n), int(0.8 * n)]
    parts = [(X[a:b], y[a:b]) for a, b in zip([0, *cut], [*cut, n])]
    return SparseProblem(*parts, w_true, n_dense)


def log_loss(w, X, y):
    """The mean binary cross-entropy of the logits ``X @ w`` against ``y``; ``w`` may hold
    several weight vectors, one a row (one loss each)."""
    z = np.asarray(w) @ X.T
    return np.mean(np.logaddexp(0.0, z) - y * z, axis=-1)


def train_logistic(problem, update, lrs, seed, epochs=20, batch_size=32,
                   decay=None, **hyperparameters):
    """Train the logistic regression of ``problem`` (no bias: the data has none) with the
    update rule ``update`` at every learning rate of ``lrs`` at once, on the same batches.

    ``seed`` draws the initial weights (normal, std 0.1) and the order of the batches.
    ``decay``: a function of the step t = 1, 2, ... multiplying the learning rate, e.g.
    ``lambda t: 1 / np.sqrt(t)``; None keeps it constant. Returns ``(w, state)``: the final
    weights, one row per learning rate, and the update rule's state."""
    X, y = problem.train
    rng = np.random.default_rng(seed)
    lrs = np.asarray(lrs, dtype=float)[:, None]
    w = np.repeat(rng.normal(0.0, 0.1, size=(1, X.shape[1])), len(lrs), axis=0)
    state, step = {}, 0
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            step += 1
            p = 1 / (1 + np.exp(-(w @ X[batch].T)))
            grad = (p - y[batch]) @ X[batch] / len(batch)
            lr = lrs if decay is None else lrs * decay(step)
            update(w, grad, state, lr=lr, **hyperparameters)
    return w, state


def weight_errors(w, problem):
    """``(dense, sparse)``: the distance of ``w`` (one row per run) to the true weights,
    over the dense features and over the sparse ones."""
    w = np.atleast_2d(w)
    d = problem.n_dense
    return (np.linalg.norm(w[:, :d] - problem.w_true[:d], axis=1),
            np.linalg.norm(w[:, d:] - problem.w_true[d:], axis=1))


def sparse_study(problem, methods, seeds=(0, 1, 2, 3, 4), epochs=20, batch_size=32):
    """Every method of ``methods`` (name -> ``(update, lrs, decay)``, as
    :func:`train_logistic` takes them) at every learning rate of its grid, with every seed.
    Returns name -> a dict of arrays of shape (len(seeds), len(lrs)): ``"val"`` and
    ``"test"`` (the losses on the validation and test parts), ``"dense"`` and ``"sparse"``
    (the weight errors, :func:`weight_errors`), and ``"lrs"``, the grid."""
    results = {}
    for name, (update, lrs, decay) in methods.items():
        rows = []
        for seed in seeds:
            w, _ = train_logistic(problem, update, lrs, seed, epochs, batch_size, decay)
            rows.append((log_loss(w, *problem.val), log_loss(w, *problem.test),
                         *weight_errors(w, problem)))
        val, test, dense, sparse = (np.array(column) for column in zip(*rows))
        results[name] = {"val": val, "test": test, "dense": dense, "sparse": sparse,
                         "lrs": np.asarray(lrs, dtype=float)}
    return results


def max_likelihood(problem, steps=30):
    """The weights that minimize the training loss (the maximum-likelihood estimate),
    found by Newton's method: what any optimizer can at best reach on this training set."""
    X, y = problem.train
    w = np.zeros(X.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(X @ w)))
        hessian = (X * (p * (1 - p))[:, None]).T @ X / len(X)
        w -= np.linalg.solve(hessian, (p - y) @ X / len(X))
    return w


# ----------------------------------------------------------------------------------------
# The digits network
# ----------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def digits():
    """The book's digits problem with a test part: a function of the seed returning a
    ``ddlopt.study.Problem`` (64-64-10 ReLU network with logits; 60 / 20 / 20 split)."""
    return study.mlp_problem("digits", hidden=(64,), val_size=0.2, test_size=0.2)


def _one_blas_thread():
    """BLAS on one thread: these matrices are small (several times faster on 2 cores)."""
    try:
        from threadpoolctl import threadpool_limits  # comes with scikit-learn
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def train_digits(make_optimizer, seed, epochs=8, batch_size=32):
    """Train the digits network (:func:`digits`) with ``make_optimizer(params)``; ``seed``
    draws the initial weights and the order of the batches. Returns ``{"val_loss": ...,
    "test_loss": ...}`` after the last epoch, both NaN if training diverged."""
    model, loss, train, val, test = digits()(seed)
    model.compile(optimizer=make_optimizer(model.parameters()), loss=loss)
    with _one_blas_thread():
        try:
            model.fit(*train, epochs=epochs, batch_size=batch_size, verbose=0, rng=seed)
            return {"val_loss": float(model.evaluate(*val)),
                    "test_loss": float(model.evaluate(*test))}
        except FloatingPointError:  # the loss or the outputs overflowed: diverged
            return {"val_loss": np.nan, "test_loss": np.nan}


def lockstep_distances(make_optimizers, seed, checkpoints, batch_size=32):
    """Train one digits network per optimizer of ``make_optimizers`` (name -> function of
    the parameters), all from the same initial weights (``seed``) on the same batches, and
    measure how far each has moved from the first one: ``{name: [||theta - theta_first|| /
    ||theta_first|| at each checkpoint]}`` for every name but the first. ``checkpoints``:
    step counts, increasing."""
    names = list(make_optimizers)
    models = []
    for name in names:
        model, loss, train, *_ = digits()(seed)
        model.compile(optimizer=make_optimizers[name](model.parameters()), loss=loss)
        models.append(model)
    X, y = train
    rng = np.random.default_rng(seed)
    distances = {name: [] for name in names[1:]}
    step, pending = 0, sorted(checkpoints)
    with _one_blas_thread():
        while pending:
            order = rng.permutation(len(X))
            for start in range(0, len(X), batch_size):
                batch = order[start:start + batch_size]
                for model in models:
                    model.train_on_batch(X[batch], y[batch])
                step += 1
                if step == pending[0]:
                    flat = [np.concatenate([p.data.ravel() for p in m.parameters()])
                            for m in models]
                    for name, theta in zip(names[1:], flat[1:]):
                        distances[name].append(np.linalg.norm(theta - flat[0])
                                               / np.linalg.norm(flat[0]))
                    pending.pop(0)
                    if not pending:
                        break
    return distances


def epsilon_regimes(seed, epochs=1, eps=1e-7, learning_rate=1e-3):
    """Train the digits network with Keras's RMSprop (``KerasRMSprop``) for ``epochs`` and
    ask, for each weight, by how much its next step would grow if epsilon moved from inside
    the square root to outside: ``sqrt(v + eps) / (sqrt(v) + eps) - 1``. Returns shares (of
    all the weights, unless said otherwise):

    - ``"no gradient"``: v = 0, and ``"no gradient, constant pixel"``: the share of those
      that are first-layer weights of a pixel constant over the training images;
    - ``"over 1 %"``: the step changes by more than 1 %, ``"over 1 %, first layer"``: the
      share of those in the first layer, and ``"over 1 %, pixel activity"``: the largest
      share of training images in which the pixel of such a first-layer weight differs
      from its most common value;
    - ``"under 0.1 %"``: the step changes by less than 0.1 %.
    """
    from ..optim import KerasRMSprop

    model, loss, (X, y), *_ = digits()(seed)
    optimizer = KerasRMSprop(model.parameters(), learning_rate=learning_rate, epsilon=eps)
    model.compile(optimizer=optimizer, loss=loss)
    with _one_blas_thread():
        model.fit(X, y, epochs=epochs, batch_size=32, verbose=0, rng=seed)
    v = [optimizer.state[p]["velocity"] for p in model.parameters()]
    first = v[0]                                      # the first layer: pixels x units
    flat = np.concatenate([x.ravel() for x in v])
    with np.errstate(divide="ignore", invalid="ignore"):    # v = 0: no step either way
        change = np.sqrt(flat + eps) / (np.sqrt(flat) + eps) - 1
    moved = (flat > 0) & (change > 0.01)
    moved_pixels = moved[:first.size].reshape(first.shape).any(axis=1)
    activity = np.array([np.mean(column != _most_common(column)) for column in X.T])
    silent = first == 0
    return {"no gradient": np.mean(flat == 0),
            "no gradient, constant pixel": np.mean(
                np.broadcast_to(activity[:, None] == 0, first.shape)[silent]),
            "over 1 %": np.mean(moved),
            "over 1 %, first layer": moved[:first.size].sum() / max(moved.sum(), 1),
            "over 1 %, pixel activity": float(np.max(activity[moved_pixels], initial=0.0)),
            "under 0.1 %": np.mean((flat > 0) & (change < 1e-3))}


def _most_common(values):
    found, counts = np.unique(values, return_counts=True)
    return found[np.argmax(counts)]
