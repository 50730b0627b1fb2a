r"""A small neural network with hand-written backpropagation, and Keras's compile/fit.

A layer turns inputs into outputs (``forward``) and, given the gradient of the loss with
respect to its outputs, returns the gradient with respect to its inputs while adding the
gradients of its parameters to their ``.grad`` (``backward``). For a dense layer
:math:`z = xW + b`, :math:`a = \phi(z)`, with :math:`\delta = \partial L/\partial a`:

.. math::

    \frac{\partial L}{\partial z} = \delta \odot \phi'(z), \quad
    \frac{\partial L}{\partial W} = x^\top \frac{\partial L}{\partial z}, \quad
    \frac{\partial L}{\partial b} = \sum_{\text{rows}} \frac{\partial L}{\partial z}, \quad
    \frac{\partial L}{\partial x} = \frac{\partial L}{\partial z} W^\top.

``Dropout(p)`` zeroes a random fraction ``p`` of its inputs while training and is the
identity otherwise; ``fit`` trains in training mode, ``evaluate`` and ``predict`` run in
inference mode (``model.train()`` / ``model.eval()`` switch by hand, as in PyTorch).

``Sequential`` chains layers and adds Keras's workflow::

    model = Sequential([Dense(64, 32, "relu"), Dense(32, 10, "softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X, y, epochs=20, batch_size=32, validation_data=(X_val, y_val))
    history.history["val_accuracy"]

A sigmoid or softmax output trained with cross-entropy is *folded* into the loss: the
network trains on its logits with the ``from_logits=True`` loss (exact and stable, the
gradient is simply prediction minus target) while ``predict`` still returns probabilities.
"""

import numbers

import numpy as np

from . import _random, data, init as initializers, losses, metrics as metric_functions
from . import optim, regularization
from ._checks import check_count
from .params import Parameter

__all__ = ["Dense", "Dropout", "Sequential", "History", "Callback", "ACTIVATIONS"]


# ----------------------------------------------------------------------------------------
# Activations: the function, and its backward pass given z, a = phi(z) and dL/da
# ----------------------------------------------------------------------------------------
def _softmax_backward(z, a, grad_a):
    # the Jacobian of softmax is diag(a) - a a^T: multiply without forming it
    return a * (grad_a - np.sum(grad_a * a, axis=-1, keepdims=True))


ACTIVATIONS = {
    "linear": (lambda z: z, lambda z, a, g: g),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, a, g: g * (z > 0)),
    "tanh": (np.tanh, lambda z, a, g: g * (1.0 - a**2)),
    "sigmoid": (losses.sigmoid, lambda z, a, g: g * a * (1.0 - a)),
    "softmax": (losses.softmax, _softmax_backward),
}


# ----------------------------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------------------------
class Dense:
    """A fully connected layer, ``activation(x @ W + b)``.

    ``W`` (in_features, out_features) starts as ``init`` draws it: by default Glorot-uniform,
    Keras's default, :math:`U(-\\sqrt{6/(n_\\text{in} + n_\\text{out})}, +\\sqrt{\\cdot})`; or
    another name of ``ddlopt.init.DENSE`` (``"he_normal"``, ``"lecun_normal"``,
    ``"orthogonal"``, ...) or a callable ``init(in_features, out_features, rng)`` returning
    the (in_features, out_features) array. ``b`` starts at zero. ``activation`` is one of
    ``ACTIVATIONS`` or None (linear). ``rng`` draws the initial weights (default: ddlopt's
    generator, which ``ddlopt.set_seed`` seeds). ``kernel_regularizer`` (a
    ``ddlopt.regularization`` penalty such as ``L2(1e-4)``) adds its gradient to ``W``'s in
    ``backward``; ``Sequential`` adds its value to the loss.
    """

    def __init__(self, in_features, out_features, activation=None, rng=None,
                 init="glorot_uniform", kernel_regularizer=None):
        check_count(in_features, "in_features")
        check_count(out_features, "out_features")
        activation = "linear" if activation is None else activation
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; known: {', '.join(ACTIVATIONS)}")
        self.in_features, self.out_features, self.activation = in_features, out_features, activation
        W = np.asarray(initializers.get(init)(in_features, out_features, _random.generator(rng)),
                       dtype=np.float64)
        if W.shape != (in_features, out_features):
            raise ValueError(f"init must return an array of shape ({in_features}, {out_features}) "
                             f"(in_features, out_features), got {W.shape}")
        self.W = Parameter(W)
        self.kernel_regularizer = regularization.get(kernel_regularizer)
        self.b = Parameter(np.zeros(out_features))

    def forward(self, x, apply_activation=True):
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"Dense({self.in_features}, {self.out_features}) expects input of "
                             f"shape (batch, {self.in_features}), got {x.shape}")
        self._x, self._activated = x, apply_activation
        self._z = x @ self.W.data + self.b.data
        self._a = ACTIVATIONS[self.activation][0](self._z) if apply_activation else self._z
        return self._a

    def backward(self, grad_out):
        grad_z = ACTIVATIONS[self.activation][1](self._z, self._a, grad_out) \
            if self._activated else grad_out
        self.W.accumulate(self._x.T @ grad_z)
        if self.kernel_regularizer is not None:
            self.W.accumulate(self.kernel_regularizer.gradient(self.W.data))
        self.b.accumulate(grad_z.sum(axis=0))
        return grad_z @ self.W.data.T

    def parameters(self):
        return [self.W, self.b]

    def regularization_loss(self):
        """The penalty's value on ``W`` (0 without a kernel_regularizer)."""
        return 0.0 if self.kernel_regularizer is None else self.kernel_regularizer(self.W.data)

    def __repr__(self):
        return f"Dense({self.in_features}, {self.out_features}, activation={self.activation!r})"


class Dropout:
    r"""Inverted dropout (Srivastava et al. 2014): while training, each input is kept with
    probability :math:`1 - p` and scaled by :math:`1/(1 - p)`, else zeroed,

    .. math:: y = \frac{m \odot x}{1 - p}, \qquad m_i \sim \text{Bernoulli}(1 - p),

    so that :math:`E[y] = x`; in inference mode it is the identity. The mask is drawn from
    ``rng`` (default: ddlopt's generator) at every forward pass in training mode and reused by
    ``backward``. ``training`` starts True, as a torch module does; ``Sequential.fit`` and
    ``evaluate`` set it. PyTorch's twin is ``torch.nn.Dropout(p)`` itself.
    """

    def __init__(self, p=0.5, rng=None):
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(f"dropout probability p must be between 0 and 1, got {p!r}")
        # a seed becomes one generator now, or every forward pass would redraw the same mask;
        # None stays None: ddlopt's generator at each call, whatever set_seed did since
        self.rng = None if rng is None else _random.generator(rng)
        self.p, self.training = float(p), True

    def forward(self, x):
        if not self.training or self.p == 0:
            self._mask = None
            return x
        keep = _random.generator(self.rng).random(x.shape) >= self.p  # P(keep) = 1 - p
        # p = 1 drops everything (as torch does); otherwise scale the survivors up
        self._mask = keep / (1.0 - self.p) if self.p < 1 else np.zeros(x.shape)
        return x * self._mask

    def backward(self, grad_out):
        return grad_out if self._mask is None else grad_out * self._mask

    def parameters(self):
        return []

    def __repr__(self):
        return f"Dropout(p={self.p})"


# ----------------------------------------------------------------------------------------
# Training: History, callbacks, Sequential
# ----------------------------------------------------------------------------------------
class History:
    """What ``fit`` returns: ``history`` maps Keras's keys (``loss``, ``accuracy``,
    ``val_loss``, ``val_accuracy``, ``lr``) to one value per epoch; ``epoch`` lists them."""

    def __init__(self):
        self.history, self.epoch = {}, []

    def append(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class Callback:
    """Keras's callback protocol: override any hook; set ``self.model.stop_training = True``
    to end ``fit`` after the current epoch."""

    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass


def begin_training(model, callbacks, epochs, verbose):
    """What every ``fit`` (this one and ``ddlopt.torch.fit``) does first: hand each callback
    the model, tell it training begins, and return the epochs to loop over, as a progress bar
    (tqdm, on stderr) when ``verbose``."""
    for cb in callbacks:
        cb.set_model(model)
        cb.on_train_begin()
    if not verbose:
        return range(epochs)
    from tqdm.auto import tqdm
    return tqdm(range(epochs), desc="fit", unit="epoch")


_FOLDED = {"sigmoid": losses.BinaryCrossentropy, "softmax": losses.CategoricalCrossentropy}
# the History keys of the metric names ddlopt has always recorded short
_SHORT = {"acc": "accuracy", "mean_squared_error": "mse", "mean_absolute_error": "mae"}


def _accuracy_for(loss):
    """What Keras's ``metrics=["accuracy"]`` means for ``loss``."""
    for cls, metric in [(losses.SparseCategoricalCrossentropy,
                         metric_functions.sparse_categorical_accuracy),
                        (losses.CategoricalCrossentropy, metric_functions.categorical_accuracy),
                        (losses.BinaryCrossentropy, metric_functions.binary_accuracy)]:
        if isinstance(loss, cls):
            return metric
    raise ValueError(f"'accuracy' needs a classification loss, got {loss.name}")


class Sequential:
    """Layers applied in order, with ``forward``/``backward``/``parameters`` and Keras's
    ``compile``, ``fit``, ``evaluate`` and ``predict``."""

    def __init__(self, layers):
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("Sequential needs at least one layer")
        # a layer without in_features/out_features (Dropout) keeps the shape it is given
        previous = None
        for layer in self.layers:
            if previous is not None and hasattr(layer, "in_features") \
                    and previous.out_features != layer.in_features:
                raise ValueError(f"{previous} gives {previous.out_features} features but {layer} "
                                 f"expects {layer.in_features}")
            previous = layer if hasattr(layer, "out_features") else previous
        self.optimizer = self.loss = None
        self.train()
        self.stop_training = False

    # -- the network ----------------------------------------------------------------------
    def forward(self, X, fold=False):
        """Outputs for inputs X; with ``fold``, the last layer's logits (no activation)."""
        X = np.asarray(X, dtype=np.float64)
        for i, layer in enumerate(self.layers):
            last = i == len(self.layers) - 1
            X = layer.forward(X, apply_activation=False) if fold and last else layer.forward(X)
        return X

    __call__ = forward

    def backward(self, grad_output):
        """Backpropagate dL/d(output of the last forward); fills every parameter's .grad and
        returns dL/d(input)."""
        for layer in reversed(self.layers):
            grad_output = layer.backward(grad_output)
        return grad_output

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def train(self, mode=True):
        """Training mode (Dropout drops) or, with ``mode=False``, inference mode."""
        self.training = bool(mode)
        for layer in self.layers:
            layer.training = self.training
        return self

    def eval(self):
        """Inference mode: Dropout is the identity."""
        return self.train(False)

    def regularization_loss(self):
        """The sum of the layers' weight penalties (``kernel_regularizer``)."""
        return sum(layer.regularization_loss() for layer in self.layers
                   if hasattr(layer, "regularization_loss"))

    def get_weights(self):
        """Copies of every parameter's array, in ``parameters()`` order (Keras's name)."""
        return [p.data.copy() for p in self.parameters()]

    def set_weights(self, weights):
        """Copy ``weights`` (as ``get_weights`` returns them) into the parameters, in place."""
        params = self.parameters()
        if len(weights) != len(params):
            raise ValueError(f"weights must hold {len(params)} arrays, got {len(weights)}")
        for p, w in zip(params, weights):
            if np.shape(w) != p.data.shape:
                raise ValueError(f"weights: expected an array of shape {p.data.shape}, got "
                                 f"{np.shape(w)}")
        for p, w in zip(params, weights):
            p.data[...] = w

    # -- Keras's workflow -------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None):
        """Choose the optimizer, the loss and the metrics, as Keras's ``compile`` does.

        ``optimizer``: a Keras name (``"rmsprop"``: Keras's RMSprop, see
        ``ddlopt.optim.get``), a Keras optimizer made without parameters
        (``ddlopt.optimizers.RMSprop(lr=0.001)``), bound here to ``self.parameters()``, or
        any Optimizer already over them (``SGD(model.parameters(), lr=0.1)``).
        ``loss``: a Keras name, a ``ddlopt.losses`` function (``losses.binary_crossentropy``)
        or a Loss. ``metrics``: names (``"accuracy"``, which fits the loss, ``"mse"``,
        ``"binary_accuracy"``, ...) or functions (``metrics.binary_accuracy``), recorded in
        the History under the name or the function's ``__name__``."""
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='sparse_categorical_crossentropy'")
        self.loss = losses.get(loss)
        if isinstance(optimizer, optim.KerasOptimizer) and not optimizer.built:
            optimizer.build(self.parameters())   # made before the model: bind it now
        if isinstance(optimizer, optim.Optimizer):
            ours = {id(p) for p in self.parameters()}
            theirs = {id(p) for g in optimizer.param_groups for p in g["params"]}
            if ours != theirs:
                raise ValueError("the optimizer must be built over this model's parameters: "
                                 "SGD(model.parameters(), ...), or a Keras optimizer made "
                                 "without them (ddlopt.optimizers.SGD(...)), new for each model")
            self.optimizer = optimizer
        else:
            self.optimizer = optim.get(optimizer, self.parameters())
        self.metrics = []   # (History key, function(y_true, y_pred) -> array of values)
        for m in metrics or []:
            if m in ("accuracy", "acc"):
                self.metrics.append(("accuracy", _accuracy_for(self.loss)))
            else:
                function = metric_functions.get(m)
                key = _SHORT.get(m, m) if isinstance(m, str) else getattr(
                    function, "__name__", repr(m))
                self.metrics.append((key, function))
        # fold a sigmoid/softmax output into the cross-entropy: train on logits, exactly
        last = getattr(self.layers[-1], "activation", None)
        from_logits = getattr(self.loss, "from_logits", False)
        if from_logits and last in _FOLDED:
            raise ValueError(f"the loss has from_logits=True but the last layer applies "
                             f"{last!r}: use a linear last layer, or from_logits=False")
        self._fold = last in _FOLDED and isinstance(self.loss, _FOLDED[last]) and not from_logits
        self._train_loss = type(self.loss)(from_logits=True) if self._fold else self.loss
        return self

    def _targets(self, y, outputs):
        """Keras accepts y of shape (n,) for an (n, 1) output; make it (n, 1)."""
        y = np.asarray(y)
        if y.ndim == 1 and outputs.ndim == 2 and outputs.shape[1] == 1 \
                and not isinstance(self.loss, losses.SparseCategoricalCrossentropy):
            y = y[:, None]
        return y

    def train_on_batch(self, X, y):
        """One optimizer step on one batch; returns the batch's loss and its outputs."""
        self._require_compiled()
        # overflow is reported as one clear error below, not as NumPy warnings
        with np.errstate(over="ignore", invalid="ignore"):
            out = self.forward(X, fold=self._fold)
            y = self._targets(y, out)
            value = self._train_loss(y, out) + self.regularization_loss() \
                if np.all(np.isfinite(out)) else np.inf
            if not np.isfinite(value):
                raise FloatingPointError("training diverged: the loss is no longer finite "
                                         "(inf or NaN); lower the learning rate")
            self.optimizer.zero_grad()
            self.backward(self._train_loss.gradient(y, out))
            self.optimizer.step()
        return value, out

    def _metric_values(self, y, out):
        """Each metric's mean over the samples. Metrics see probabilities: logits (a folded
        output, or a ``from_logits`` loss) pass through the sigmoid or softmax first."""
        if not self.metrics:
            return {}
        if self._fold or getattr(self.loss, "from_logits", False):
            binary = isinstance(self.loss, losses.BinaryCrossentropy)
            out = losses.sigmoid(out) if binary else losses.softmax(out)
        return {key: float(np.mean(function(y, out))) for key, function in self.metrics}

    def fit(self, X, y, epochs=1, batch_size=32, validation_data=None, shuffle=True,
            callbacks=None, verbose=1, rng=None):
        """Train for ``epochs`` passes over (X, y) in mini-batches; returns a History.

        Per epoch it records the mean training loss and metrics over the batches (weighted
        by batch size, as Keras does), the validation loss and metrics after the epoch, and
        the learning rate of the first param group. ``verbose=1`` shows a progress bar
        (tqdm, on stderr); ``verbose=0`` is silent. ``rng`` orders the batches (default:
        ddlopt's generator, which ``ddlopt.set_seed`` seeds).
        """
        self._require_compiled()
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}; they must match")
        check_count(epochs, "epochs")
        check_count(batch_size, "batch_size")
        rng = _random.generator(rng)
        callbacks = list(callbacks or [])
        self.train()
        history = History()
        self.stop_training = False
        epoch_range = begin_training(self, callbacks, epochs, verbose)
        for epoch in epoch_range:
            for cb in callbacks:
                cb.on_epoch_begin(epoch)
            sums, seen = dict.fromkeys(["loss"] + [key for key, _ in self.metrics], 0.0), 0
            for X_batch, y_batch in data.batches(X, y, batch_size, shuffle, rng):
                value, out = self.train_on_batch(X_batch, y_batch)
                sums["loss"] += value * len(X_batch)
                for key, metric in self._metric_values(self._targets(y_batch, out), out).items():
                    sums[key] += metric * len(X_batch)
                seen += len(X_batch)
            logs = {k: v / seen for k, v in sums.items()}
            if validation_data is not None:
                results = self.evaluate(*validation_data, return_dict=True)
                logs.update({f"val_{k}": v for k, v in results.items()})
            logs["lr"] = self.optimizer.param_groups[0]["lr"]
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            history.append(epoch, logs)
            if verbose:
                epoch_range.set_postfix({k: f"{v:.4f}" for k, v in logs.items() if k != "lr"})
            if self.stop_training:
                break
        for cb in callbacks:
            cb.on_train_end()
        return history

    def evaluate(self, X, y, return_dict=False):
        """The loss and metrics on (X, y): ``[loss, *metrics]`` (just the loss if there are no
        metrics), or a dict with ``return_dict=True``."""
        self._require_compiled()
        out = self._infer(X, fold=self._fold)
        if not np.all(np.isfinite(out)):
            raise FloatingPointError("the network's outputs are not finite (inf or NaN): "
                                     "training diverged; lower the learning rate")
        y = self._targets(y, out)
        results = {"loss": self._train_loss(y, out) + self.regularization_loss()}
        results.update(self._metric_values(y, out))
        if return_dict:
            return results
        return list(results.values()) if self.metrics else results["loss"]

    def predict(self, X):
        """Outputs for X: probabilities for a sigmoid or softmax output."""
        return self._infer(X)

    def _infer(self, X, fold=False):
        """forward in inference mode, then back to the mode the model was in."""
        was_training = self.training
        self.eval()
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                return self.forward(X, fold=fold)
        finally:
            self.train(was_training)

    def _require_compiled(self):
        if self.loss is None:
            raise RuntimeError("call model.compile(optimizer=..., loss=...) before training")

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n  {inner}\n])"
