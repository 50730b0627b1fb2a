"""ddlopt.losses against torch.nn.functional (values) and torch autograd (gradients), float64."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ddlopt import losses

EPS = losses.EPSILON
RTOL = 1e-12


def close(actual, expected, rtol=RTOL):
    """Relative error (in the max norm) at most rtol."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape
    scale = max(np.max(np.abs(expected)), 1e-300)
    err = np.max(np.abs(actual - expected)) / scale
    assert err <= rtol, f"relative error {err:.3g} > {rtol:g}"


def torch_value_and_grad(fn, y_true, y_pred):
    p = torch.tensor(y_pred, dtype=torch.float64, requires_grad=True)
    t = torch.as_tensor(y_true)
    value = fn(t, p)
    value.backward()
    return value.item(), p.grad.numpy()


def logits(rng, shape, extreme):
    """Normal logits, with a quarter of them pushed to ±1000 when extreme."""
    z = rng.normal(0.0, 3.0, size=shape)
    if extreme:
        mask = rng.random(shape) < 0.25
        z[mask] = 1000.0 * np.sign(z[mask])
    return z


def bce_probs_torch(t, p):  # Keras clips the probabilities; torch's own clamp at -100 never acts then
    return F.binary_cross_entropy(p.clamp(EPS, 1 - EPS), t)


def cce_probs_torch(t, p):
    return -(t * torch.log(p.clamp(EPS, 1 - EPS))).sum(-1).mean()


# (keras name, kwargs, make (y_true, y_pred) from rng, torch reference)
CASES = {
    "mse": ("mse", {}, lambda r: (r.normal(size=(32, 3)), r.normal(size=(32, 3))),
            lambda t, p: F.mse_loss(p, t)),
    "mae": ("mae", {}, lambda r: (r.normal(size=(32, 3)), r.normal(size=(32, 3))),
            lambda t, p: F.l1_loss(p, t)),
    "huber": ("huber", {}, lambda r: (r.normal(size=(32, 3)), 2 * r.normal(size=(32, 3))),
              lambda t, p: F.huber_loss(p, t, delta=1.0)),
    "huber_delta": ("huber", {"delta": 0.3},
                    lambda r: (r.normal(size=(40,)), r.normal(size=(40,))),
                    lambda t, p: F.huber_loss(p, t, delta=0.3)),
    "bce_probs": ("binary_crossentropy", {},
                  lambda r: (r.random((50, 1)), r.uniform(EPS, 1 - EPS, (50, 1))),
                  bce_probs_torch),
    "bce_logits": ("binary_crossentropy", {"from_logits": True},
                   lambda r: (r.integers(0, 2, (50, 2)).astype(float), logits(r, (50, 2), False)),
                   lambda t, p: F.binary_cross_entropy_with_logits(p, t)),
    "bce_logits_extreme": ("binary_crossentropy", {"from_logits": True},
                           lambda r: (r.random((64,)), logits(r, (64,), True)),
                           lambda t, p: F.binary_cross_entropy_with_logits(p, t)),
    "cce_probs": ("categorical_crossentropy", {},
                  lambda r: (np.eye(5)[r.integers(0, 5, 30)], losses.softmax(logits(r, (30, 5), False))),
                  cce_probs_torch),
    "cce_probs_soft": ("categorical_crossentropy", {},
                       lambda r: (losses.softmax(r.normal(size=(30, 4))),
                                  losses.softmax(logits(r, (30, 4), False))),
                       cce_probs_torch),
    "cce_logits": ("categorical_crossentropy", {"from_logits": True},
                   lambda r: (np.eye(5)[r.integers(0, 5, 30)], logits(r, (30, 5), True)),
                   lambda t, p: F.cross_entropy(p, t)),
    "cce_logits_soft": ("categorical_crossentropy", {"from_logits": True},
                        lambda r: (losses.softmax(r.normal(size=(30, 4))), logits(r, (30, 4), True)),
                        lambda t, p: F.cross_entropy(p, t)),
    "cce_logits_3d": ("categorical_crossentropy", {"from_logits": True},
                      lambda r: (np.eye(3)[r.integers(0, 3, (4, 6))], logits(r, (4, 6, 3), True)),
                      lambda t, p: F.cross_entropy(p.reshape(-1, 3), t.reshape(-1, 3))),
    "sparse_probs": ("sparse_categorical_crossentropy", {},
                     lambda r: (r.integers(0, 10, 40), losses.softmax(logits(r, (40, 10), False))),
                     lambda t, p: F.nll_loss(torch.log(p.clamp(EPS, 1 - EPS)), t)),
    "sparse_logits": ("sparse_categorical_crossentropy", {"from_logits": True},
                      lambda r: (r.integers(0, 10, 40), logits(r, (40, 10), True)),
                      lambda t, p: F.cross_entropy(p, t)),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seed", range(5))
def test_value_and_gradient_match_torch(case, seed):
    matches_torch(CASES[case], seed)


def matches_torch(case, seed):
    """A loss's value and gradient against torch's on a case (name, options, data, torch's
    loss) drawn with the seed."""
    name, kwargs, make, reference = case
    y_true, y_pred = make(np.random.default_rng(seed))
    loss = losses.get(name, **kwargs)
    value, grad = torch_value_and_grad(reference, y_true, y_pred)
    close(loss(y_true, y_pred), value)
    close(loss.gradient(y_true, y_pred), grad)


@pytest.mark.parametrize("case", ["mse", "huber_delta", "bce_probs", "bce_logits", "cce_probs",
                                  "cce_logits_soft", "sparse_logits"])
def test_gradient_matches_central_differences(case):
    name, kwargs, make, _ = CASES[case]
    y_true, y_pred = make(np.random.default_rng(123))
    if kwargs.get("from_logits"):
        # at logits of ±1000 the loss is ~1000 and its roundoff/h swamps the difference quotient
        y_pred = np.clip(y_pred, -10.0, 10.0)
    loss = losses.get(name, **kwargs)
    probabilities = "crossentropy" in name and not kwargs.get("from_logits")
    grad = loss.gradient(y_true, y_pred)
    numeric = np.zeros_like(y_pred)
    for i in np.ndindex(y_pred.shape):
        # a probability of 1e-5 needs a step relative to it; a logit or a regression output not
        h = 1e-4 * y_pred[i] if probabilities else 1e-5
        up, down = y_pred.copy(), y_pred.copy()
        up[i] += h
        down[i] -= h
        numeric[i] = (loss(y_true, up) - loss(y_true, down)) / (2 * h)
    close(grad, numeric, rtol=1e-6)  # central differences are good to about h^2 and roundoff/h


def test_logits_of_1000_give_finite_loss_and_gradient():
    z = np.array([[1000.0, -1000.0, 0.0]])
    for loss, y in [(losses.get("categorical_crossentropy", from_logits=True), np.array([[0, 1, 0.0]])),
                    (losses.get("sparse_categorical_crossentropy", from_logits=True), np.array([1]))]:
        assert loss(y, z) == pytest.approx(2000.0)
        close(loss.gradient(y, z), [[1.0, -1.0, 0.0]])
    bce = losses.get("binary_crossentropy", from_logits=True)
    assert bce([1.0, 0.0], [-1000.0, 1000.0]) == pytest.approx(1000.0)
    close(bce.gradient([1.0, 0.0], [-1000.0, 1000.0]), [-0.5, 0.5])


def test_confident_correct_logits_keep_their_tiny_loss():
    # log(1 + e^-40) computed as written rounds to 0; log1p keeps it (torch's formula loses it too)
    z, y = np.array([40.0, 30.0, -35.0]), np.array([1.0, 1.0, 0.0])
    exact = np.mean([math.log1p(math.exp(-40.0)), math.log1p(math.exp(-30.0)), math.log1p(math.exp(-35.0))])
    assert losses.get("binary_crossentropy", from_logits=True)(y, z) == pytest.approx(exact, rel=1e-15, abs=0)


def test_probabilities_are_clipped_as_keras_clips_them():
    assert losses.EPSILON == 1e-7  # keras.backend.epsilon()
    bce = losses.get("binary_crossentropy")
    # log(1e-7) where torch would clamp the log at -100
    assert bce([1.0], [0.0]) == pytest.approx(-np.log(EPS), rel=1e-15)
    assert bce([0.0], [1.0]) == pytest.approx(-np.log1p(-(1 - EPS)), rel=1e-15)
    assert bce([1.0], [1.0]) == pytest.approx(-np.log(1 - EPS), rel=1e-15)
    # outside the clip the derivative of the clipped loss is 0, inside it is (p - y)/(p(1-p))/n
    close(bce.gradient([1.0, 1.0], [0.0, 0.5]), [0.0, -1.0])
    cce = losses.get("categorical_crossentropy")
    assert cce([[1.0, 0.0]], [[0.0, 1.0]]) == pytest.approx(-np.log(EPS), rel=1e-15)


def test_sparse_equals_categorical_on_one_hot_and_accepts_keras_column_labels():
    rng = np.random.default_rng(7)
    labels, z = rng.integers(0, 4, 12), rng.normal(size=(12, 4))
    sparse = losses.get("sparse_categorical_crossentropy", from_logits=True)
    dense = losses.get("categorical_crossentropy", from_logits=True)
    assert sparse(labels, z) == dense(np.eye(4)[labels], z)
    assert sparse(labels.reshape(-1, 1), z) == sparse(labels, z)
    assert sparse(labels.astype(float), z) == sparse(labels, z)


def test_registry_resolves_keras_and_class_names():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("mean_squared_error"), losses.MeanSquaredError)
    assert isinstance(losses.get("MeanAbsoluteError"), losses.MeanAbsoluteError)
    assert losses.get("huber", delta=2.0).delta == 2.0
    assert losses.get("binary_crossentropy", from_logits=True).from_logits
    loss = losses.get("categorical_crossentropy")
    assert losses.get(loss) is loss
    assert repr(losses.get("sparse_categorical_crossentropy", from_logits=True)) == \
        "SparseCategoricalCrossentropy(from_logits=True)"


def test_value_is_a_float_and_gradient_has_the_prediction_shape():
    loss = losses.get("mse")
    y, p = np.zeros((5, 2), dtype=np.float32), np.ones((5, 2), dtype=np.int64)
    assert type(loss(y, p)) is float
    g = loss.gradient(y, p)
    assert g.shape == (5, 2) and g.dtype == np.float64


def test_stable_helpers():
    x = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    close(losses.sigmoid(x), torch.sigmoid(torch.tensor(x)).numpy())
    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    close(losses.log_softmax(z), torch.log_softmax(torch.tensor(z), -1).numpy())
    close(losses.softmax(z), torch.softmax(torch.tensor(z), -1).numpy())


# ---- bad input: a clear error naming the argument and what is allowed -------------------
BAD_INPUTS = [
    ("mse", {}, np.zeros(3), np.zeros((3, 1)), ValueError, r"y_true has shape \(3,\) but y_pred has shape \(3, 1\)"),
    ("mse", {}, np.zeros(3), [1.0, np.nan, 0.0], ValueError, "y_pred contains NaN"),
    ("mse", {}, [np.inf, 0.0], [0.0, 0.0], ValueError, "y_true contains inf"),
    ("mse", {}, [], [], ValueError, "y_true is empty"),
    ("mse", {}, ["a", "b"], [0.0, 1.0], TypeError, "y_true must be an array of numbers"),
    ("mae", {}, [[1.0], [1.0, 2.0]], [0.0, 1.0], TypeError, "y_true must be an array of numbers"),
    ("binary_crossentropy", {}, [0.0, 1.0], [0.5, 1.5], ValueError, r"y_pred must hold probabilities in \[0, 1\], found 1.5; pass from_logits=True if these are logits"),
    ("binary_crossentropy", {}, [0.0, 2.0], [0.5, 0.5], ValueError, r"y_true must hold labels in \[0, 1\], found 2"),
    ("binary_crossentropy", {"from_logits": True}, [0.0, -1.0], [3.0, -3.0], ValueError, "y_true must hold labels"),
    ("categorical_crossentropy", {}, [[0.0, 1.0]], [[2.0, 0.5]], ValueError, "y_pred must hold probabilities"),
    ("categorical_crossentropy", {}, [[0.0, 1.0]], [[0.5, 0.7]], ValueError, "must hold probabilities that sum to 1, found a row summing to 1.2"),
    ("categorical_crossentropy", {"from_logits": True}, [[0.0, 1.0]], [[2.0, 0.5, 1.0]], ValueError, "y_true has shape"),
    ("sparse_categorical_crossentropy", {"from_logits": True}, [0, 3], [[0.0, 1.0, 2.0]] * 2, ValueError, r"integer class labels in 0..2, found 3"),
    ("sparse_categorical_crossentropy", {"from_logits": True}, [0, -1], [[0.0, 1.0, 2.0]] * 2, ValueError, "found -1"),
    ("sparse_categorical_crossentropy", {"from_logits": True}, [0.5, 1], [[0.0, 1.0, 2.0]] * 2, ValueError, "found 0.5"),
    ("sparse_categorical_crossentropy", {"from_logits": True}, [[0, 1]], [[0.0, 1.0, 2.0]] * 2, ValueError, r"one class label per row of y_pred, shape \(2,\)"),
    ("sparse_categorical_crossentropy", {"from_logits": True}, 1, 2.0, ValueError, "must have a last axis of classes"),
]


@pytest.mark.parametrize("name, kwargs, y_true, y_pred, error, message", BAD_INPUTS)
@pytest.mark.parametrize("method", ["value", "gradient"])
def test_bad_input_raises_a_clear_error(name, kwargs, y_true, y_pred, error, message, method):
    loss = losses.get(name, **kwargs)
    call = loss if method == "value" else loss.gradient
    with pytest.raises(error, match=message):
        call(y_true, y_pred)


@pytest.mark.parametrize("args, kwargs, error, message", [
    (("cross_entropy",), {}, ValueError, "unknown loss 'cross_entropy'; known names: binary_crossentropy"),
    ((42,), {}, TypeError, "identifier must be the name of a loss"),
    (("mse",), {"from_logits": True}, TypeError, r"'mse' takes no arguments, got \['from_logits'\]"),
    (("huber",), {"delta": 0.0}, ValueError, "delta must be a positive finite number, got 0.0"),
    (("huber",), {"delta": "1"}, TypeError, "delta must be a positive number"),
    (("binary_crossentropy",), {"from_logits": "yes"}, TypeError, "from_logits must be True or False"),
    ((losses.MeanSquaredError(),), {"reduction": "sum"}, ValueError, "got a Loss object"),
])
def test_bad_configuration_raises_a_clear_error(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        losses.get(*args, **kwargs)


# ---- label smoothing and sample weights (Keras's options), against torch ---------------
def smoothed_bce_torch(alpha):
    return lambda t, p: F.binary_cross_entropy_with_logits(p, t * (1 - alpha) + alpha / 2)


SMOOTHED = {
    "bce_logits": ("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.2},
                   lambda r: (r.integers(0, 2, (40, 1)).astype(float), logits(r, (40, 1), True)),
                   smoothed_bce_torch(0.2)),
    "bce_probs": ("binary_crossentropy", {"label_smoothing": 0.1},
                  lambda r: (r.integers(0, 2, (40, 2)).astype(float), r.uniform(0.01, 0.99, (40, 2))),
                  lambda t, p: F.binary_cross_entropy(p, t * 0.9 + 0.05)),
    "cce_logits": ("categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.1},
                   lambda r: (np.eye(6)[r.integers(0, 6, 30)], logits(r, (30, 6), True)),
                   lambda t, p: F.cross_entropy(p, t, label_smoothing=0.1)),
    "cce_probs": ("categorical_crossentropy", {"label_smoothing": 0.3},
                  lambda r: (np.eye(4)[r.integers(0, 4, 30)], losses.softmax(logits(r, (30, 4), False))),
                  lambda t, p: cce_probs_torch(t * 0.7 + 0.3 / 4, p)),
    "sparse_logits": ("sparse_categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.25},
                      lambda r: (r.integers(0, 10, 40), logits(r, (40, 10), True)),
                      lambda t, p: F.cross_entropy(p, t, label_smoothing=0.25)),
}


@pytest.mark.parametrize("case", sorted(SMOOTHED))
@pytest.mark.parametrize("seed", range(3))
def test_label_smoothing_matches_torch(case, seed):
    matches_torch(SMOOTHED[case], seed)


def test_no_label_smoothing_is_the_plain_loss_and_keeps_its_repr():
    rng = np.random.default_rng(4)
    labels, z = rng.integers(0, 3, 20), rng.normal(size=(20, 3))
    plain = losses.get("sparse_categorical_crossentropy", from_logits=True)
    zero = losses.get("sparse_categorical_crossentropy", from_logits=True, label_smoothing=0.0)
    assert zero(labels, z) == plain(labels, z) and repr(zero) == repr(plain)
    assert repr(losses.get("binary_crossentropy", label_smoothing=0.1)) == \
        "BinaryCrossentropy(from_logits=False, label_smoothing=0.1)"
    # the Keras functions take it too
    y = np.eye(3)[labels]
    close(losses.categorical_crossentropy(y, z, from_logits=True, label_smoothing=0.2),
          -np.sum((0.8 * y + 0.2 / 3) * losses.log_softmax(z), axis=-1))


WEIGHTED = {
    "mse_2d": ("mse", {}, lambda r: (r.normal(size=(30, 3)), r.normal(size=(30, 3))),
               lambda t, p, w: (w[:, None] * (p - t) ** 2).mean()),
    "huber_1d": ("huber", {"delta": 0.5}, lambda r: (r.normal(size=30), 2 * r.normal(size=30)),
                 lambda t, p, w: (w * F.huber_loss(p, t, delta=0.5, reduction="none")).mean()),
    "bce_logits": ("binary_crossentropy", {"from_logits": True},
                   lambda r: (r.integers(0, 2, (30, 1)).astype(float), logits(r, (30, 1), True)),
                   lambda t, p, w: F.binary_cross_entropy_with_logits(p, t, weight=w[:, None])),
    "cce_logits": ("categorical_crossentropy", {"from_logits": True},
                   lambda r: (np.eye(5)[r.integers(0, 5, 30)], logits(r, (30, 5), True)),
                   lambda t, p, w: (w * F.cross_entropy(p, t, reduction="none")).mean()),
    "sparse_probs_smoothed": ("sparse_categorical_crossentropy", {"label_smoothing": 0.1},
                              lambda r: (r.integers(0, 5, 30), losses.softmax(logits(r, (30, 5), False))),
                              lambda t, p, w: (w * -(F.one_hot(t, 5).double() * 0.9 + 0.02).mul(
                                  torch.log(p.clamp(EPS, 1 - EPS))).sum(-1)).mean()),
}


@pytest.mark.parametrize("case", sorted(WEIGHTED))
def test_sample_weight_matches_torch_and_divides_by_the_number_of_samples(case):
    name, kwargs, make, reference = WEIGHTED[case]
    rng = np.random.default_rng(11)
    y_true, y_pred = make(rng)
    weight = rng.uniform(0.0, 3.0, size=len(y_pred))
    loss = losses.get(name, **kwargs)
    value, grad = torch_value_and_grad(lambda t, p: reference(t, p, torch.tensor(weight)),
                                       y_true, y_pred)
    close(loss(y_true, y_pred, sample_weight=weight), value)
    close(loss.gradient(y_true, y_pred, sample_weight=weight), grad)
    ones = np.ones(len(y_pred))    # weights of 1 are the unweighted loss
    close(loss(y_true, y_pred, sample_weight=ones), loss(y_true, y_pred))
    close(loss.gradient(y_true, y_pred, sample_weight=ones), loss.gradient(y_true, y_pred))


def test_class_weights_differ_from_torchs_weighted_mean_by_the_sum_of_the_weights():
    rng = np.random.default_rng(5)
    labels, z = rng.integers(0, 3, 50), rng.normal(size=(50, 3))
    class_weight = np.array([0.5, 2.0, 4.0])
    w = class_weight[labels]
    ours = losses.get("sparse_categorical_crossentropy", from_logits=True)(labels, z, sample_weight=w)
    torchs = F.cross_entropy(torch.tensor(z), torch.tensor(labels),
                             weight=torch.tensor(class_weight)).item()
    close(ours, torchs * w.sum() / len(w))


@pytest.mark.parametrize("kwargs, weight, error, message", [
    ({}, np.ones((6, 1)), ValueError, r"sample_weight has shape \(6, 1\) but there are \(6,\) samples"),
    ({}, -np.ones(6), ValueError, "sample_weight must be non-negative, found -1"),
    ({}, [1.0, np.nan, 1, 1, 1, 1], ValueError, "sample_weight contains NaN"),
    ({}, "heavy", TypeError, "sample_weight must be an array of numbers"),
])
@pytest.mark.parametrize("method", ["value", "gradient"])
def test_bad_sample_weight_raises_a_clear_error(kwargs, weight, error, message, method):
    loss = losses.get("binary_crossentropy", from_logits=True, **kwargs)
    call = loss if method == "value" else loss.gradient
    with pytest.raises(error, match=message):
        call(np.ones((6, 1)), np.zeros((6, 1)), sample_weight=weight)


@pytest.mark.parametrize("value, error, message", [
    (1.5, ValueError, r"label_smoothing must be in \[0, 1\], got 1.5"),
    (-0.1, ValueError, "label_smoothing must be in"),
    (True, TypeError, "label_smoothing must be a number"),
    ("0.1", TypeError, "label_smoothing must be a number"),
])
@pytest.mark.parametrize("name", ["binary_crossentropy", "categorical_crossentropy",
                                  "sparse_categorical_crossentropy"])
def test_bad_label_smoothing_raises_a_clear_error(name, value, error, message):
    with pytest.raises(error, match=message):
        losses.get(name, label_smoothing=value)


def test_a_folded_softmax_output_keeps_its_label_smoothing():
    from ddlopt.nn import Dense, Sequential

    X = np.random.default_rng(0).normal(size=(8, 3))
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    model = Sequential([Dense(3, 3, "softmax", rng=0)])
    model.compile("sgd", losses.SparseCategoricalCrossentropy(label_smoothing=0.2))
    logits = X @ model.layers[0].W.data + model.layers[0].b.data
    expected = losses.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.2)
    assert model.evaluate(X, y) == pytest.approx(expected(y, logits), rel=1e-14)
