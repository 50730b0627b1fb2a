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

``Activation(name)`` applies an activation on its own (so that a normalization layer can
sit between a Dense layer's product and its nonlinearity); ``Dropout(p)`` zeroes a random
fraction ``p`` of its inputs while training and is the identity otherwise, as is
``RandomShift``, which moves each training image by a random pixel or so (data augmentation
as a layer); ``BatchNorm`` normalizes each feature by the batch's statistics while training
and by running averages of them otherwise; ``LayerNorm`` normalizes each row by its own.
``fit`` trains in training mode, ``evaluate`` and ``predict`` run in inference mode
(``model.train()`` / ``model.eval()`` switch by hand, as in PyTorch).

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

__all__ = ["Dense", "Activation", "Dropout", "RandomShift", "BatchNorm", "LayerNorm",
           "Sequential", "History", "Callback", "ACTIVATIONS"]


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
    ``backward``; ``Sequential`` adds its value to the loss. ``kernel_constraint`` (a
    function of ``W`` returning the array to put in its place, such as
    ``ddlopt.regularization.MaxNorm(3.0)``) is applied by ``constrain()``, which
    ``Sequential.train_on_batch`` calls after every optimizer step, as Keras does.
    """

    def __init__(self, in_features, out_features, activation=None, rng=None,
                 init="glorot_uniform", kernel_regularizer=None, kernel_constraint=None):
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
        if kernel_constraint is not None and not callable(kernel_constraint):
            raise TypeError(f"kernel_constraint must be a function of the weight (such as "
                            f"MaxNorm(3.0)) or None, got {kernel_constraint!r}")
        self.kernel_constraint = kernel_constraint
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

    def constrain(self):
        """Put ``kernel_constraint(W)`` in place of ``W`` (nothing without a constraint)."""
        if self.kernel_constraint is not None:
            constrained = np.asarray(self.kernel_constraint(self.W.data), dtype=np.float64)
            if constrained.shape != self.W.data.shape:
                raise ValueError(f"kernel_constraint returned shape {constrained.shape} for a "
                                 f"weight of shape {self.W.data.shape}")
            self.W.data[...] = constrained

    def regularization_loss(self):
        """The penalty's value on ``W`` (0 without a kernel_regularizer)."""
        return 0.0 if self.kernel_regularizer is None else self.kernel_regularizer(self.W.data)

    def __repr__(self):
        return f"Dense({self.in_features}, {self.out_features}, activation={self.activation!r})"


class Activation:
    """An activation as a layer of its own: ``phi(x)``, one of ``ACTIVATIONS``, with no
    parameters. Keras's ``Activation("relu")``; torch's ``nn.ReLU()``, ``nn.Tanh()``, ...

    What it is for: a normalization layer between a Dense layer's product and its
    nonlinearity, as Ioffe and Szegedy place it,
    ``Dense(n, m), BatchNorm(m), Activation("relu")`` (the Dense layer without activation).
    Like ``Dense``, a last ``Activation("softmax")`` or ``("sigmoid")`` is folded into the
    cross-entropy by ``compile``.
    """

    def __init__(self, activation):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; known: {', '.join(ACTIVATIONS)}")
        self.activation, self.training = activation, True

    def forward(self, x, apply_activation=True):
        x = np.asarray(x, dtype=np.float64)
        self._z, self._activated = x, apply_activation
        self._a = ACTIVATIONS[self.activation][0](x) if apply_activation else x
        return self._a

    def backward(self, grad_out):
        if grad_out.shape != self._z.shape:
            raise ValueError(f"{self} got grad_out of shape {grad_out.shape}; its last forward "
                             f"returned {self._z.shape}")
        if not self._activated:
            return grad_out
        return ACTIVATIONS[self.activation][1](self._z, self._a, grad_out)

    def parameters(self):
        return []

    def __repr__(self):
        return f"Activation({self.activation!r})"


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
        rng = _random.generator(self.rng)
        keep = rng.random(x.shape) >= self.p  # P(keep) = 1 - p
        # p = 1 drops everything (as torch does); otherwise scale the survivors up
        self._mask = keep / (1.0 - self.p) if self.p < 1 else np.zeros(x.shape)
        return x * self._mask

    def backward(self, grad_out):
        return grad_out if self._mask is None else grad_out * self._mask

    def parameters(self):
        return []

    def __repr__(self):
        return f"Dropout(p={self.p})"


class RandomShift:
    r"""Data augmentation as a layer, as Keras does it: while training, each image of the
    batch is moved by its own random offset, :math:`\Delta y` rows and :math:`\Delta x`
    columns, each drawn uniformly from :math:`\{-s, \dots, s\}` (``max_shift`` s), the
    pixels that come in set to 0 (``ddlopt.data.shift_images``); in inference mode it is
    the identity. Every epoch thus sees new versions of the training images.

    ``image_shape``: (height, width) of the images, which arrive as rows of height * width
    pixels. ``rng`` draws the offsets (default: ddlopt's generator). ``backward`` moves the
    gradient back by the opposite offsets (the transpose of a shift that fills with zeros).
    Keras's nearest relative is ``RandomTranslation(s / height, s / width,
    fill_mode="constant", interpolation="nearest")``; torchvision's is ``RandomAffine(0,
    translate=...)``.
    """

    def __init__(self, image_shape=(8, 8), max_shift=1, rng=None):
        if (not isinstance(image_shape, tuple) or len(image_shape) != 2
                or any(not isinstance(s, numbers.Integral) or isinstance(s, bool) or s < 1
                       for s in image_shape)):
            raise ValueError(f"image_shape must be (height, width), two positive integers; got "
                             f"{image_shape!r}")
        if isinstance(max_shift, bool) or not isinstance(max_shift, numbers.Integral) \
                or not 0 <= max_shift < min(image_shape):
            raise ValueError(f"max_shift must be an integer from 0 to {min(image_shape) - 1}, "
                             f"got {max_shift!r}")
        self.image_shape, self.max_shift = tuple(int(s) for s in image_shape), int(max_shift)
        self.rng = None if rng is None else _random.generator(rng)
        self.training, self._offsets = True, None

    # Sequential checks that neighbouring layers' widths agree with these
    @property
    def in_features(self):
        return self.image_shape[0] * self.image_shape[1]

    out_features = in_features

    def forward(self, x):
        if not self.training or self.max_shift == 0:
            self._offsets = None
            return x
        s, rng = self.max_shift, _random.generator(self.rng)
        self._offsets = rng.integers(-s, s + 1, size=(2, len(x)))  # (dy, dx) each
        return data.shift_images(x, *self._offsets, shape=self.image_shape)

    def backward(self, grad_out):
        if self._offsets is None:
            return grad_out
        return data.shift_images(grad_out, *-self._offsets, shape=self.image_shape)

    def parameters(self):
        return []

    def __repr__(self):
        return f"RandomShift(image_shape={self.image_shape}, max_shift={self.max_shift})"


# ----------------------------------------------------------------------------------------
# Normalization layers
# ----------------------------------------------------------------------------------------
def normalization_backward(grad_x_hat, x_hat, inv_std, axis):
    r"""dL/dx through :math:`\hat x = (x - \mu) / \sqrt{\sigma^2 + \epsilon}` where the mean
    :math:`\mu` and the (biased) variance :math:`\sigma^2` are taken over ``axis`` of x
    itself, so that every x moves every :math:`\hat x` of its group. With
    :math:`g = \partial L / \partial \hat x` and means over the group,

    .. math::

        \frac{\partial L}{\partial x} = \frac{1}{\sqrt{\sigma^2 + \epsilon}}
        \left( g - \operatorname{mean}(g) - \hat x \operatorname{mean}(g \hat x) \right):

    the gradient less its mean (the part that would move :math:`\mu`) and less its
    component along :math:`\hat x` (the part that would change :math:`\sigma`)."""
    return inv_std * (grad_x_hat - grad_x_hat.mean(axis=axis, keepdims=True)
                      - x_hat * (grad_x_hat * x_hat).mean(axis=axis, keepdims=True))


def _check_rows(layer, x):
    """x as a float array of shape (batch, features), or an error that names the layer."""
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise TypeError(f"{layer} expects an array of real numbers, got dtype {x.dtype}")
    if x.ndim != 2 or x.shape[1] != layer.num_features:
        raise ValueError(f"{layer} expects input of shape (batch, {layer.num_features}), got "
                         f"{x.shape}")
    return x.astype(np.float64, copy=False)


def _check_eps(eps):
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"eps must be a positive number, got {eps!r}")
    if not 0 < eps < np.inf:
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    return float(eps)


def _check_flag(value, name):
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


class _Normalization:
    """What BatchNorm and LayerNorm share: the affine parameters gamma (ones) and beta
    (zeros), one per feature, and the backward pass through :math:`y = \\gamma \\hat x +
    \\beta`. ``forward`` of a subclass stores ``_x_hat``, ``_inv_std`` and ``_axis``, the
    axis its statistics were taken over (None: they were constants, BatchNorm in
    inference mode)."""

    def __init__(self, num_features, eps, affine):
        check_count(num_features, "num_features")
        self.num_features, self.eps = num_features, _check_eps(eps)
        self.affine = _check_flag(affine, "affine")
        self.gamma = Parameter(np.ones(num_features)) if affine else None   # torch: weight
        self.beta = Parameter(np.zeros(num_features)) if affine else None   # torch: bias
        self.training = True

    # Sequential checks that neighbouring layers' widths agree with these
    @property
    def in_features(self):
        return self.num_features

    out_features = in_features

    def _scale_and_shift(self, x_hat):
        return x_hat * self.gamma.data + self.beta.data if self.affine else x_hat

    def backward(self, grad_out):
        if grad_out.shape != self._x_hat.shape:
            raise ValueError(f"{self} got grad_out of shape {grad_out.shape}; its last forward "
                             f"returned {self._x_hat.shape}")
        grad_x_hat = grad_out
        if self.affine:
            self.gamma.accumulate((grad_out * self._x_hat).sum(axis=0))
            self.beta.accumulate(grad_out.sum(axis=0))
            grad_x_hat = grad_out * self.gamma.data
        if self._axis is None:   # fixed statistics: a per-feature scaling, nothing more
            return grad_x_hat * self._inv_std
        return normalization_backward(grad_x_hat, self._x_hat, self._inv_std, self._axis)

    def parameters(self):
        return [self.gamma, self.beta] if self.affine else []


class BatchNorm(_Normalization):
    r"""Batch normalization (Ioffe & Szegedy 2015) of (batch, features) inputs.

    In training mode each feature is normalized by the mean :math:`\mu_B` and the biased
    variance :math:`\sigma_B^2` of the batch (m rows), then scaled and shifted:

    .. math::

        \hat x = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \qquad
        y = \gamma \odot \hat x + \beta,

    and the running statistics move towards the batch's, by torch's convention (the
    running variance averages the unbiased variance):

    .. math::

        \text{running\_mean} \leftarrow (1 - \text{momentum})\, \text{running\_mean}
            + \text{momentum}\, \mu_B, \quad
        \text{running\_var} \leftarrow (1 - \text{momentum})\, \text{running\_var}
            + \text{momentum}\, \tfrac{m}{m - 1} \sigma_B^2.

    ``momentum=None`` takes the plain average of all batches so far (1 / the number of
    batches seen, ``num_batches_tracked``), as torch does. In inference mode the running
    statistics (starting at 0 and 1) take the batch's place, so a row's output depends on
    that row alone. ``gamma`` (ones) and ``beta`` (zeros) are Parameters that the optimizer
    updates (torch calls them ``weight`` and ``bias``); ``affine=False`` leaves them out.
    ``running_mean`` and ``running_var`` are arrays, updated in place;
    ``Sequential.get_weights`` carries them after the layer's parameters, as Keras does
    (not ``num_batches_tracked``, which only ``momentum=None`` reads).

    A batch of one row cannot be normalized in training mode (its variance is 0, the
    unbiased one undefined): ValueError, as in torch. PyTorch's twin is
    ``torch.nn.BatchNorm1d(num_features, eps, momentum, affine)`` itself. Keras's
    ``BatchNormalization(momentum=0.99, epsilon=1e-3)`` counts momentum the other way (the
    old value's weight: its 0.99 is 0.01 here) and averages the biased variance.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True):
        if momentum is not None:
            if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real):
                raise TypeError(f"momentum must be a number between 0 and 1 or None, got "
                                f"{momentum!r}")
            if not 0 <= momentum <= 1:
                raise ValueError(f"momentum must be between 0 and 1 (or None), got {momentum!r}")
            momentum = float(momentum)
        super().__init__(num_features, eps, affine)
        self.momentum = momentum
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)
        self.num_batches_tracked = 0

    def forward(self, x):
        x = _check_rows(self, x)
        if not self.training:
            mean, var, self._axis = self.running_mean, self.running_var, None
        else:
            m = x.shape[0]
            if m < 2:
                raise ValueError(f"{self} needs a batch of at least 2 rows in training mode "
                                 f"(got {m}): one row has no variance to normalize by; use "
                                 "eval mode for single rows")
            mean, var, self._axis = x.mean(axis=0), x.var(axis=0), 0
            self._update_running_statistics(mean, var * m / (m - 1))
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        self._x_hat = (x - mean) * self._inv_std
        return self._scale_and_shift(self._x_hat)

    def _update_running_statistics(self, mean, unbiased_var):
        self.num_batches_tracked += 1
        weight = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        self.running_mean *= 1 - weight
        self.running_mean += weight * mean
        self.running_var *= 1 - weight
        self.running_var += weight * unbiased_var

    def buffers(self):
        """The running statistics (torch's name): state that training changes but no
        optimizer does."""
        return [self.running_mean, self.running_var]

    def __repr__(self):
        affine = "" if self.affine else ", affine=False"
        return f"BatchNorm({self.num_features}, eps={self.eps}, momentum={self.momentum}{affine})"


class LayerNorm(_Normalization):
    r"""Layer normalization (Ba, Kiros & Hinton 2016) of (batch, features) inputs: each row
    is normalized by its own mean and biased variance over its features,

    .. math::

        \hat x = \frac{x - \mu_\text{row}}{\sqrt{\sigma_\text{row}^2 + \epsilon}}, \qquad
        y = \gamma \odot \hat x + \beta,

    the same in training and inference mode (no running statistics, any batch size).
    ``gamma`` (ones) and ``beta`` (zeros), one per feature, are Parameters (torch's
    ``weight`` and ``bias``); ``elementwise_affine=False`` leaves them out. ``normalized_shape``
    is the number of features (an int, or a tuple of one). PyTorch's twin is
    ``torch.nn.LayerNorm(normalized_shape, eps, elementwise_affine)`` itself; Keras's
    ``LayerNormalization`` defaults to ``epsilon=1e-3``.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True):
        if isinstance(normalized_shape, (tuple, list)):
            if len(normalized_shape) != 1:
                raise ValueError(f"normalized_shape must be the number of features (an int, or "
                                 f"a tuple of one): ddlopt's LayerNorm normalizes the last axis "
                                 f"of (batch, features) inputs, got {normalized_shape!r}")
            normalized_shape, = normalized_shape
        check_count(normalized_shape, "normalized_shape")
        super().__init__(normalized_shape, eps, _check_flag(elementwise_affine,
                                                             "elementwise_affine"))

    def forward(self, x):
        x = _check_rows(self, x)
        mean, var, self._axis = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True), 1
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        self._x_hat = (x - mean) * self._inv_std
        return self._scale_and_shift(self._x_hat)

    def __repr__(self):
        affine = "" if self.affine else ", elementwise_affine=False"
        return f"LayerNorm({self.num_features}, eps={self.eps}{affine})"


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
        """Training mode (Dropout drops, BatchNorm uses and updates batch statistics) or,
        with ``mode=False``, inference mode."""
        self.training = bool(mode)
        for layer in self.layers:
            layer.training = self.training
        return self

    def eval(self):
        """Inference mode: Dropout is the identity, BatchNorm uses its running statistics."""
        return self.train(False)

    def regularization_loss(self):
        """The sum of the layers' weight penalties (``kernel_regularizer``)."""
        return sum(layer.regularization_loss() for layer in self.layers
                   if hasattr(layer, "regularization_loss"))

    def _weight_arrays(self):
        """Layer by layer, its parameters' arrays, then its running statistics (BatchNorm's
        ``buffers()``), as Keras orders a layer's weights."""
        return [array for layer in self.layers
                for array in [p.data for p in layer.parameters()]
                + list(getattr(layer, "buffers", list)())]

    def get_weights(self):
        """Copies of every parameter's array, in ``parameters()`` order, each layer's running
        statistics after its parameters (Keras's name and order)."""
        return [array.copy() for array in self._weight_arrays()]

    def set_weights(self, weights):
        """Copy ``weights`` (as ``get_weights`` returns them) into the parameters and running
        statistics, in place."""
        arrays = self._weight_arrays()
        if len(weights) != len(arrays):
            raise ValueError(f"weights must hold {len(arrays)} arrays, got {len(weights)}")
        for array, w in zip(arrays, weights):
            if np.shape(w) != array.shape:
                raise ValueError(f"weights: expected an array of shape {array.shape}, got "
                                 f"{np.shape(w)}")
        for array, w in zip(arrays, weights):
            array[...] = w

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
        self._train_loss = type(self.loss)(**{**self.loss._config(), "from_logits": True}) \
            if self._fold else self.loss
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
            for layer in self.layers:  # constraints act after the step (Keras's order)
                if hasattr(layer, "constrain"):
                    layer.constrain()
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
