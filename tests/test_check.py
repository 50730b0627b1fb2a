"""ddlopt.check.loss names each usual mistake in a student's loss, and passes a correct one."""

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


# ---- check.optimizer_step ----------------------------------------------------------------
def sgd_wd(p, g, state, lr, weight_decay=0.0):
    p -= lr * (g + weight_decay * p)


@pytest.mark.parametrize("student", [
    sgd_wd,
    lambda p, g, state, lr, weight_decay=0.0: p - lr * (g + weight_decay * p),  # returns instead
])
def test_a_correct_update_passes(capsys, student):
    ok, out = run_step(capsys, student, lr=0.1, weight_decay=0.01)
    assert ok and out.startswith("✓ 5 steps match sgd")


def run_step(capsys, *args, **kwargs):
    ok = check.optimizer_step(*args, **kwargs)
    return ok, " ".join(capsys.readouterr().out.split())


def momentum_without_state(p, g, state, lr, momentum=0.0):
    p -= lr * g


def momentum_with_state(p, g, state, lr, momentum=0.0):
    buf = state.get("momentum_buffer")
    state["momentum_buffer"] = buf = g.copy() if buf is None else momentum * buf + g
    p -= lr * buf


@pytest.mark.parametrize("student, hyper, message", [
    (lambda p, g, s, lr, weight_decay=0.0: p.__iadd__(lr * g), {}, "the first step goes uphill"),
    (lambda p, g, s, lr, weight_decay=0.0: p.__isub__(g), {}, "1/lr times too large"),
    (lambda p, g, s, lr, weight_decay=0.0: p.__isub__(lr * lr * g), {}, "lr times too small"),
    (lambda p, g, s, lr, weight_decay=0.0: p.__isub__(lr * g), {"weight_decay": 0.1}, "weight decay is missing"),
    (lambda p, g, s, lr, weight_decay=0.0: None, {}, "the parameter did not change"),
    (lambda p, g, s, lr, weight_decay=0.0: p.__isub__(0.5 * lr * g), {}, "the first step differs"),
    (lambda p, g, s, lr: 1 / 0, {}, "it raised ZeroDivisionError"),
    (momentum_without_state, {"momentum": 0.9}, "step 2 differs: is what must carry over"),
])
def test_each_mistake_in_an_update_is_named(capsys, student, hyper, message):
    ok, out = run_step(capsys, student, lr=0.1, **hyper)
    assert not ok and message in out


def test_momentum_with_state_passes(capsys):
    assert run_step(capsys, momentum_with_state, lr=0.1, momentum=0.9)[0]


def test_optimizer_step_bad_arguments():
    with pytest.raises(TypeError, match="student_update must be a function"):
        check.optimizer_step(None, lr=0.1)
    with pytest.raises(ValueError, match="unknown update rule 'shampoo'; known: sgd, adagrad, rmsprop"):
        check.optimizer_step(sgd_wd, "shampoo", lr=0.1)
    with pytest.raises(ValueError, match="pass the learning rate"):
        check.optimizer_step(sgd_wd, "sgd")


# ---- check.optimizer_step on Adam: the usual mistakes are named -------------------------
def student_adam(correct_bias=True, eps_inside=False, average_m=True, square=True):
    def update(p, g, s, lr, betas=(0.9, 0.999), eps=1e-8):
        b1, b2 = betas
        s["t"] = t = s.get("t", 0) + 1
        s["m"] = m = b1 * s.get("m", 0.0) + ((1 - b1) if average_m else 1.0) * g
        s["v"] = v = b2 * s.get("v", 0.0) + (1 - b2) * (g * g if square else g)
        if correct_bias:
            m, v = m / (1 - b1**t), v / (1 - b2**t)
        with np.errstate(invalid="ignore"):
            p -= lr * m / (np.sqrt(v + eps) if eps_inside else np.sqrt(v) + eps)
    return update


@pytest.mark.parametrize("kwargs, message", [
    ({}, "✓ 5 steps match adam"),
    ({"correct_bias": False}, "✗ the bias correction is missing"),
    ({"eps_inside": True}, "✗ epsilon is inside the square root"),
    ({"average_m": False}, "✗ the first moment is not an average"),
    ({"square": False}, "✗ the parameters became NaN or inf"),
])
def test_adam_mistakes_are_pinpointed(capsys, kwargs, message):
    ok, out = run_step(capsys, student_adam(**kwargs), "adam", lr=0.01, eps=1e-3)
    assert ok == (not kwargs) and out.startswith(message)


# ----------------------------------------------------------------------------------------
# check.clip_grad_norm (chapter 9)
# ----------------------------------------------------------------------------------------
def good_clip(params, max_norm):
    grads = [p.grad for p in params if p.grad is not None]
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    for g in grads:
        g *= min(1.0, max_norm / (norm + 1e-6))
    return norm


def clip_run(capsys, student):
    ok = check.clip_grad_norm(student)
    return ok, " ".join(capsys.readouterr().out.split())


def test_a_correct_clipping_passes_and_so_does_ddlopts(capsys):
    import ddlopt

    for student in (good_clip, ddlopt.clip_grad_norm):
        ok, out = clip_run(capsys, student)
        assert ok and out.count("✓") == 3 and "✗" not in out


def per_parameter(params, max_norm):
    norm = good_clip(params, np.inf)
    for p in params:
        if p.grad is not None:
            p.grad *= min(1.0, max_norm / (np.sqrt(np.sum(p.grad**2)) + 1e-6))
    return norm


def no_min(params, max_norm):
    grads = [p.grad for p in params if p.grad is not None]
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    for g in grads:
        g *= max_norm / (norm + 1e-6)
    return norm


def no_epsilon(params, max_norm):
    grads = [p.grad for p in params if p.grad is not None]
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    for g in grads:
        g *= min(1.0, max_norm / norm)
    return norm


def after(params, max_norm):
    good_clip(params, max_norm)
    return np.sqrt(sum(np.sum(p.grad**2) for p in params if p.grad is not None))


def crashes_on_none(params, max_norm):
    norm = np.sqrt(sum(np.sum(p.grad**2) for p in params))
    return good_clip(params, max_norm) if norm else norm


@pytest.mark.parametrize("student, message, failures", [
    (per_parameter, "each gradient is clipped on its own: clip by the global norm", 2),
    (no_min, "small gradients are scaled up: the factor is min(1, max_norm / (norm + 1e-6))", 1),
    (no_epsilon, "almost: torch divides by total_norm + 1e-6", 2),
    (after, "it returns the norm after clipping: return the norm before it", 2),
    (lambda params, max_norm: good_clip(params, max_norm) ** 2, "it returns the squared norm", 3),
    (lambda params, max_norm: [good_clip(params, max_norm)], None, 0),  # a 1-element list is a number
    (lambda params, max_norm: good_clip(params, max_norm) and None, "it returns None: return the total norm", 3),
    (crashes_on_none, "it raised TypeError", 1),
    (lambda params, max_norm: 1.0, "the clipped gradients differ", 3),
])
def test_each_mistake_in_clipping_is_named(capsys, student, message, failures):
    ok, out = clip_run(capsys, student)
    assert out.count("✗") == failures and ok == (failures == 0)
    if message:
        assert message in out
    if student is crashes_on_none:
        assert "(skip parameters whose grad is None)" in out


def test_clip_checker_rejects_a_non_function():
    with pytest.raises(TypeError, match="student_clip must be a function"):
        check.clip_grad_norm("clip")
