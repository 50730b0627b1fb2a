r"""Chapter 2's experiments: gradient descent on quadratics (with and without a
preconditioner), a two-parameter network with a saddle, the sharpness of a network under
full-batch gradient descent (the edge of stability), SGD with decaying steps on least
squares, the time per example against the batch size, and a grid of batch sizes and
learning rates on the digits.

    steps_to_tolerance(np.diag([1.0, 100.0]), lr=2 / 101)        # 1037
    LinearNetwork()((0.5, 2.0))                                    # 0: on the valley ab = 1
    run = edge_of_stability(lr=1.5, seed=0, steps=1000)
    run["loss"], run["sharpness_steps"], run["sharpness"]
    grid = batch_size_grid([8, 32], [0.03, 0.1, 0.3], seeds=[0, 1, 2])
    grid[8, 0.1]["val_loss"]                                      # an OverSeeds

Everything runs in float64 with NumPy (``ddlopt.nn`` for the networks); the seed draws the
initial weights and the order of the examples.
"""

import math
import timeit

import numpy as np

from .. import data, losses
from .._checks import check_count
from ..nn import Dense, Sequential
from ..optim import SGD
from ..study import OverSeeds, _one_blas_thread
from ..surfaces import Surface

__all__ = ["preconditioned_descent", "steps_to_tolerance", "LinearNetwork", "power_iteration",
           "hessian_vector_product", "edge_of_stability", "least_squares_sgd",
           "time_per_example", "batch_size_grid"]


# ----------------------------------------------------------------------------------------
# Quadratics: plain and preconditioned gradient descent
# ----------------------------------------------------------------------------------------
def _square_matrix(matrix, name):
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {matrix.shape}")
    return matrix


def preconditioned_descent(hessian, start, lr, steps, preconditioner=None):
    r"""Gradient descent on the quadratic :math:`\mathcal{L}(\theta) = \tfrac12 \theta^\top
    H \theta` with the step :math:`\theta_t = \theta_{t-1} - \eta P^{-1} g_t`, where
    :math:`g_t = H\theta_{t-1}`; ``preconditioner`` is :math:`P` (None: the identity, plain
    gradient descent). Returns the path, an array of shape (steps + 1, dimension)."""
    hessian = _square_matrix(hessian, "hessian")
    check_count(steps, "steps", low=0)
    theta = np.array(start, dtype=np.float64)
    if theta.shape != hessian.shape[:1]:
        raise ValueError(f"start has shape {theta.shape}, the Hessian {hessian.shape}")
    P = np.eye(len(theta)) if preconditioner is None else _square_matrix(
        preconditioner, "preconditioner")
    points = [theta.copy()]
    for _ in range(steps):
        theta = theta - lr * np.linalg.solve(P, hessian @ theta)
        points.append(theta)
    return np.array(points)


def steps_to_tolerance(hessian, lr, delta=1e-9, start=None, preconditioner=None,
                       limit=100_000):
    r"""How many steps :func:`preconditioned_descent` takes on :math:`\tfrac12\theta^\top H
    \theta` until the loss is at most ``delta`` times its value at ``start`` (default: all
    ones); None if it has not within ``limit`` steps."""
    hessian = _square_matrix(hessian, "hessian")
    if not 0 < delta < 1:
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")
    theta = np.ones(len(hessian)) if start is None else np.array(start, float)
    # with a preconditioner P, the step -lr P^-1 g is -lr g with P^-1 H for H
    step_matrix = hessian if preconditioner is None else np.linalg.solve(
        _square_matrix(preconditioner, "preconditioner"), hessian)
    f0 = 0.5 * theta @ hessian @ theta
    for step in range(1, limit + 1):
        theta = theta - lr * (step_matrix @ theta)
        if 0.5 * theta @ hessian @ theta <= delta * f0:
            return step
    return None


# ----------------------------------------------------------------------------------------
# A saddle: the smallest network
# ----------------------------------------------------------------------------------------
class LinearNetwork(Surface):
    r"""The smallest deep network: one linear unit feeding another, weights ``a`` and ``b``,
    fitted to the target 1 from the input 1, :math:`\mathcal{L}(a, b) = \tfrac12(ab - 1)^2`.

    Every point of the hyperbola :math:`ab = 1` is a minimum (loss 0); the origin is a
    saddle: the gradient vanishes there and the Hessian :math:`\begin{pmatrix}0 & -1\\ -1 &
    0\end{pmatrix}` has the curvatures +1 (along :math:`a = -b`) and -1 (along
    :math:`a = b`). Started near it, gradient descent sits on a plateau before it escapes
    (Saxe et al. 2014)."""

    min_value = 0.0
    bounds = ((-1.6, 1.6), (-1.6, 1.6))
    start = np.array([1e-3, 2e-4])

    def _value(self, a, b):
        return 0.5 * (a * b - 1.0) ** 2

    def _gradient(self, a, b):
        residual = a * b - 1.0
        return residual * b, residual * a

    def hessian(self, x):
        """The Hessian at the point ``x = (a, b)``: [[b², 2ab − 1], [2ab − 1, a²]]."""
        a, b = np.asarray(x, dtype=np.float64)
        return np.array([[b * b, 2 * a * b - 1], [2 * a * b - 1, a * a]])


# ----------------------------------------------------------------------------------------
# Sharpness: the largest curvature, from Hessian-vector products
# ----------------------------------------------------------------------------------------
def power_iteration(matvec, v, iterations=20):
    """The eigenvalue of largest magnitude of a symmetric matrix known only through
    ``matvec(v)`` (its product with a vector), by power iteration from ``v``. Returns the
    eigenvalue (the Rayleigh quotient of the last iterate) and its unit eigenvector."""
    check_count(iterations, "iterations")
    v = np.asarray(v, dtype=np.float64)
    v = v / np.linalg.norm(v)
    for _ in range(iterations):
        w = matvec(v)
        eigenvalue = float(v @ w)
        v = w / np.linalg.norm(w)
    return eigenvalue, v


def hessian_vector_product(gradient, theta, eps=1e-5):
    r"""The function :math:`v \mapsto Hv` at ``theta``, from two gradients: the central
    difference :math:`(\nabla\mathcal{L}(\theta + \epsilon v) - \nabla\mathcal{L}(\theta -
    \epsilon v)) / 2\epsilon` of ``gradient`` (a function of the flat parameter vector);
    exact on a quadratic, off by :math:`O(\epsilon^2)` otherwise."""
    theta = np.asarray(theta, dtype=np.float64)

    def matvec(v):
        scale = eps / max(np.linalg.norm(v), 1e-300)
        return (gradient(theta + scale * v) - gradient(theta - scale * v)) / (2 * scale)

    return matvec


def _digits_regression(n):
    """The first ``n`` training digits, standardized, with one-hot targets."""
    (X, y), _, _ = data.splits("digits", seed=0)
    return X[:n], np.eye(10)[y[:n]]


def edge_of_stability(lr, seed=0, steps=1000, every=20, n=256, width=32, iterations=4):
    r"""Full-batch gradient descent at learning rate ``lr`` on a tanh network (64 inputs,
    ``width`` tanh units, 10 linear outputs) fitting the one-hot labels of ``n`` training
    digits with the mean squared error, as Cohen et al. (2021) do on CIFAR-10. Every
    ``every`` steps the sharpness (the largest eigenvalue of the Hessian of the training
    loss) is estimated by :func:`power_iteration` on :func:`hessian_vector_product`, warm
    started from the previous estimate's vector (``iterations`` products; 20 the first time).

    Returns ``{"loss": the loss before each step, "sharpness_steps", "sharpness",
    "diverged"}``: ``diverged`` is True (and the arrays end early) if the gradient stopped
    being finite.
    """
    check_count(steps, "steps")
    check_count(every, "every")
    X, Y = _digits_regression(n)
    rng = np.random.default_rng(seed)
    model = Sequential([Dense(64, width, "tanh", rng=rng), Dense(width, 10, rng=rng)])
    params = model.parameters()
    mse = losses.get("mse")
    sizes = [p.data.size for p in params]

    def loss_and_gradient(theta):
        for p, piece in zip(params, np.split(theta, np.cumsum(sizes)[:-1])):
            p.data[...] = piece.reshape(p.data.shape)
            p.grad = None
        out = model.forward(X)
        if not np.all(np.isfinite(out)):                # diverged: no finite gradient
            return np.inf, np.full(theta.size, np.nan)
        model.backward(mse.gradient(Y, out))
        return mse(Y, out), np.concatenate([p.grad.ravel() for p in params])

    theta = np.concatenate([p.data.ravel() for p in params])
    v = rng.standard_normal(theta.size)
    loss, marks, sharpness = [], [], []
    with np.errstate(over="ignore", invalid="ignore"), _one_blas_thread():
        for t in range(steps):
            value, grad = loss_and_gradient(theta)
            if not np.all(np.isfinite(grad)):
                break                                   # diverged
            loss.append(value)
            if t % every == 0:
                matvec = hessian_vector_product(lambda w: loss_and_gradient(w)[1], theta)
                estimate, v = power_iteration(matvec, v, iterations if t else 20)
                marks.append(t)
                sharpness.append(estimate)
            theta = theta - lr * grad
    return {"diverged": len(loss) < steps, "loss": np.array(loss),
            "sharpness_steps": np.array(marks), "sharpness": np.array(sharpness)}


# ----------------------------------------------------------------------------------------
# SGD on least squares, one example a step
# ----------------------------------------------------------------------------------------
def least_squares_sgd(X, y, schedules, steps, seeds, checkpoints):
    r"""SGD with one example a step (drawn with replacement) on the least-squares loss
    :math:`\mathcal{L}(w) = \frac1n\lVert Xw - y\rVert^2`, from :math:`w = 0`, for each
    learning-rate schedule and seed at once.

    ``schedules`` maps a name to a function of the step :math:`t = 1, 2, \dots` giving
    :math:`\eta_t`. The seed draws the examples (the same for every schedule). Returns
    ``{name: array (seeds, checkpoints)}`` of :math:`\mathcal{L}(w_t) - \mathcal{L}^*` at
    each step ``t`` in ``checkpoints``, :math:`\mathcal{L}^*` the least-squares optimum.
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    check_count(steps, "steps")
    seeds, names = list(seeds), list(schedules)
    checkpoints = sorted(set(int(t) for t in checkpoints))
    if not checkpoints or checkpoints[0] < 1 or checkpoints[-1] > steps:
        raise ValueError(f"checkpoints must lie in 1..{steps}, got {checkpoints}")
    n = len(y)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    best = np.mean((X @ w_star - y) ** 2)
    runs = len(names) * len(seeds)              # one row a (schedule, seed) pair
    draws = np.array([np.random.default_rng(s).integers(0, n, steps) for s in seeds])
    examples = np.tile(draws, (len(names), 1))  # rows: every seed, schedule after schedule
    W, found = np.zeros((runs, X.shape[1])), []
    for t in range(1, steps + 1):
        lr = np.repeat([schedules[name](t) for name in names], len(seeds))
        x, target = X[examples[:, t - 1]], y[examples[:, t - 1]]
        residual = np.einsum("ij,ij->i", x, W) - target
        W -= (2 * lr * residual)[:, None] * x    # the gradient of (x w - y)^2
        if len(found) < len(checkpoints) and t == checkpoints[len(found)]:
            found.append(np.mean((X @ W.T - y[:, None]) ** 2, axis=0) - best)
    gaps = np.array(found).T.reshape(len(names), len(seeds), len(checkpoints))
    return {name: gaps[i] for i, name in enumerate(names)}


# ----------------------------------------------------------------------------------------
# Time per example against the batch size
# ----------------------------------------------------------------------------------------
def time_per_example(batch_sizes, hidden=256, repeats=5, examples_per_timing=2048, seed=0):
    """Seconds per example of one forward and backward pass of a NumPy MLP (64 inputs,
    ``hidden`` ReLU units, 10 logits, cross-entropy) on batches of each size, in one BLAS
    thread: the best of ``repeats`` timings, each over about ``examples_per_timing``
    examples. A wall-clock measurement: it differs from machine to machine and run to run."""
    rng = np.random.default_rng(seed)
    model = Sequential([Dense(64, hidden, "relu", rng=rng), Dense(hidden, 10, rng=rng)])
    loss = losses.get("sparse_categorical_crossentropy", from_logits=True)
    largest = max(batch_sizes)
    X, y = rng.standard_normal((largest, 64)), rng.integers(0, 10, largest)

    def step(batch):
        out = model.forward(X[:batch])
        model.backward(loss.gradient(y[:batch], out))

    seconds = []
    with _one_blas_thread():
        for batch in batch_sizes:
            check_count(batch, "batch size")
            number = max(1, examples_per_timing // batch)
            best = min(timeit.repeat(lambda: step(batch), number=number, repeat=repeats))
            seconds.append(best / number / batch)
    return np.array(seconds)


# ----------------------------------------------------------------------------------------
# Batch size and learning rate on the digits
# ----------------------------------------------------------------------------------------
def _digits_run(batch_size, lr, seed, epochs, parts):
    """One run; its final validation loss and accuracy and its test accuracy, or None if
    it diverged."""
    (X_train, y_train), val, (X_test, y_test) = parts
    rng = np.random.default_rng(seed)
    model = Sequential([Dense(64, 64, "relu", rng=rng), Dense(64, 10, "softmax", rng=rng)])
    model.compile(optimizer=SGD(model.parameters(), lr=lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            history = model.fit(X_train, y_train, epochs=epochs, batch_size=batch_size,
                                validation_data=val, verbose=0, rng=seed)
            test_accuracy = model.evaluate(X_test, y_test)[1]
    except FloatingPointError:
        return None
    return {"val_loss": history.history["val_loss"][-1],
            "val_accuracy": history.history["val_accuracy"][-1],
            "test_accuracy": test_accuracy}


def batch_size_grid(batch_sizes, lrs, seeds=(0, 1, 2), epochs=10):
    r"""Train the digits MLP (64 pixels, 64 ReLU units, 10 softmax outputs) with SGD for
    ``epochs`` epochs at every batch size and learning rate, over ``seeds``, on
    ``data.splits("digits")`` (training, validation and test parts, 60/20/20).

    Returns ``{(batch_size, lr): result}``, each result a dict: ``"unstable"`` (True when a
    seed diverged or ended with a validation loss above :math:`\ln 10`, the loss of a
    uniform guess) and, for a stable setting, ``"val_loss"``, ``"val_accuracy"`` and
    ``"test_accuracy"`` as :class:`ddlopt.study.OverSeeds`."""
    parts = data.splits("digits", seed=0)
    seeds = list(seeds)
    grid = {}
    with _one_blas_thread():
        for batch_size in batch_sizes:
            for lr in lrs:
                runs = [_digits_run(batch_size, lr, seed, epochs, parts) for seed in seeds]
                unstable = any(r is None or not r["val_loss"] <= math.log(10) for r in runs)
                result = {"unstable": unstable}
                if not unstable:
                    result.update({key: OverSeeds([r[key] for r in runs], seeds)
                                   for key in ("val_loss", "val_accuracy", "test_accuracy")})
                grid[batch_size, lr] = result
    return grid
