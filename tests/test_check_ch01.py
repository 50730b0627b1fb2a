"""ddlopt.check.loss (chapter 1) names each usual mistake in a student's loss, and passes a
correct one."""

import numpy as np
import pytest

from ddlopt import check, losses


def run(capsys, *args, **kwargs):
    ok = check.loss(*args, **kwargs)
    return ok, capsys.readouterr().out


def good_bce(y, z):
    return np.mean(np.logaddexp(0, z) - y * z)


def good_bce_grad(y, z):
    return (losses.sigmoid(z) - y) / z.size


def test_a_correct_loss_and_gradient_pass(capsys):
    ok, out = run(capsys, good_bce, "binary_crossentropy", good_bce_grad, from_logits=True)
    assert ok and out.count("✓") == 3 and "✗" not in out
    ok, out = run(capsys, lambda y, p: np.mean((y - p) ** 2), "mse", lambda y, p: 2 * (p - y) / p.size)
    assert ok and "✗" not in out


@pytest.mark.parametrize("student, message", [
    (lambda y, z: -good_bce(y, z), "the value has the wrong sign"),
    (lambda y, z: np.sum(np.logaddexp(0, z) - y * z), "the value is 8 times too large"),
    (lambda y, z: np.logaddexp(0, z) - y * z, "it returns an array of shape (8, 1); a loss is one number"),
    (lambda y, z: np.mean(np.log1p(np.exp(z)) - y * z), "unstable on extreme inputs: gives inf; exp(1000) overflows"),
    (lambda y, z: 1 / 0, "it raised ZeroDivisionError"),
    (lambda y, z: np.mean(z), "the value differs: yours"),
])
def test_each_mistake_in_the_value_is_named(capsys, student, message):
    ok, out = run(capsys, student, "binary_crossentropy", from_logits=True)
    assert not ok and message in " ".join(out.split())


@pytest.mark.parametrize("gradient, message", [
    (lambda y, z: -good_bce_grad(y, z), "the gradient has the wrong sign"),
    (lambda y, z: losses.sigmoid(z) - y, "the gradient is 8 times too large"),
    (lambda y, z: good_bce_grad(y, z).ravel(), "the gradient has shape (8,) but y_pred has shape (8, 1)"),
    (lambda y, z: y - losses.sigmoid(z), "the gradient has the wrong sign: it must point uphill, towards "
                                          "larger loss (prediction minus target), and is 8 times too large"),
    (lambda y, z: np.zeros_like(z) + 0.1, "the gradient differs"),
])
def test_each_mistake_in_the_gradient_is_named(capsys, gradient, message):
    ok, out = run(capsys, good_bce, "binary_crossentropy", gradient, from_logits=True)
    assert not ok and message in " ".join(out.split())


def test_probability_losses_must_clip(capsys):
    def unclipped(y, p):
        return -np.mean(np.sum(y * np.log(p), axis=-1))
    ok, out = run(capsys, unclipped, "categorical_crossentropy")
    assert not ok and "log(0) is -inf: clip the probabilities to [1e-07, 1 - 1e-07]" in " ".join(out.split())
    clipped = lambda y, p: unclipped(y, np.clip(p, 1e-7, 1 - 1e-7))  # noqa: E731
    assert run(capsys, clipped, "categorical_crossentropy")[0]


def test_regression_mean_over_samples_only_is_named(capsys):
    ok, out = run(capsys, lambda y, p: np.mean(np.sum((y - p) ** 2, axis=-1)), "mse")
    assert not ok and "3 times too large: the loss is a mean over the last axis" in " ".join(out.split())


def test_bad_arguments_raise():
    with pytest.raises(TypeError, match="student_loss must be a function"):
        check.loss(3, "mse")
    with pytest.raises(TypeError, match="gradient must be a function or None"):
        check.loss(good_bce, "mse", gradient="grad")
    with pytest.raises(ValueError, match="unknown loss"):
        check.loss(good_bce, "crossentropy")


def test_the_advice_for_a_gradient_too_large_is_about_the_gradient(capsys):
    """A summed gradient is not fixed by np.mean: the checker says to divide every entry."""
    ok, out = run(capsys, good_bce, "binary_crossentropy",
                  lambda y, z: losses.sigmoid(z) - y, from_logits=True)
    out = " ".join(out.split())
    assert not ok and ("the gradient is 8 times too large: the loss is a mean over the "
                       "samples, so the derivative of each term carries the factor 1/8: "
                       "divide every entry of the gradient by 8 (len(y_pred))") in out
    assert "np.mean" not in out
    # the value's advice is still about the value
    ok, out = run(capsys, lambda y, z: np.sum(np.logaddexp(0, z) - y * z),
                  "binary_crossentropy", from_logits=True)
    assert "so divide the sum by 8 (or use np.mean)" in " ".join(out.split())


def smoothed_ce(alpha, spread):
    def value(y, z):
        k = y.shape[-1]
        target = spread(y, alpha, k)
        return np.mean(-np.sum(target * losses.log_softmax(z), axis=-1))

    def gradient(y, z):
        k = y.shape[-1]
        return (losses.softmax(z) - spread(y, alpha, k)) / len(z)
    return value, gradient


KERAS = lambda y, a, k: y * (1 - a) + a / k           # noqa: E731
NONE = lambda y, a, k: y                              # noqa: E731
OTHERS = lambda y, a, k: y * (1 - a) + a * (1 - y) / (k - 1)   # noqa: E731


def smoothing_verdict(capsys, spread):
    value, gradient = smoothed_ce(0.1, spread)
    return run(capsys, value, "categorical_crossentropy", gradient, from_logits=True,
               label_smoothing=0.1)


def test_label_smoothing_right_and_its_usual_slips(capsys):
    ok, out = smoothing_verdict(capsys, KERAS)
    assert ok and out.count("✓") == 3
    ok, out = smoothing_verdict(capsys, NONE)
    out = " ".join(out.split())
    assert not ok and "the value is that of the loss without label smoothing" in out
    assert "the gradient is that of the loss without label smoothing" in out
    ok, out = smoothing_verdict(capsys, OTHERS)
    out = " ".join(out.split())
    assert not ok and "the value spreads alpha = 0.1 over the K - 1 other classes" in out
    assert "the gradient spreads alpha" in out


def good_weights(labels, n_classes):
    return len(labels) / (n_classes * np.bincount(labels, minlength=n_classes))


@pytest.mark.parametrize("student, message", [
    (lambda y, k: 1 / np.bincount(y, minlength=k), "proportional to the balanced ones but"),
    (lambda y, k: np.bincount(y, minlength=k) / len(y), "your weights grow with the class's size"),
    (lambda y, k: np.ones(k), "the weights differ"),
    (lambda y, k: good_weights(y, k)[:, None], "return one weight a class, shape (2,)"),
    (lambda y, k: np.bincount(y) / 0, "some weights are inf or NaN"),
    (lambda y, k: y.undefined, "it raised AttributeError"),
])
def test_class_weights_names_each_mistake(capsys, student, message):
    ok = check.class_weights(student)
    out = " ".join(capsys.readouterr().out.split())
    assert not ok and message in out and out.startswith("✗")


def test_class_weights_passes_the_balanced_weights(capsys):
    assert check.class_weights(good_weights)
    assert capsys.readouterr().out.startswith("✓ balanced weights n / (K n_k)")
    with pytest.raises(TypeError, match="student_weights must be a function"):
        check.class_weights("balanced")
