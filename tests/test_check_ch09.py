"""ddlopt.check.clip_grad_norm (chapter 9): passes right clipping, names each usual mistake."""

import numpy as np
import pytest

from ddlopt import check


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


# ------------------------------------------------------------------ check.scaler_update

def good_update(scale, tracker, found_inf, growth_interval):
    if found_inf:
        return scale * 0.5, 0
    tracker += 1
    return (scale * 2.0, 0) if tracker == growth_interval else (scale, tracker)


def grows_every_step(scale, tracker, found_inf, growth_interval):
    return (scale * 0.5, 0) if found_inf else (scale * 2.0, 0)


def keeps_count_after_overflow(scale, tracker, found_inf, growth_interval):
    if found_inf:
        return scale * 0.5, tracker
    tracker += 1
    return (scale * 2.0, 0) if tracker == growth_interval else (scale, tracker)


def skeleton_update(scale, tracker, found_inf, growth_interval):
    raise NotImplementedError("your code here")


def test_scaler_update_passes_the_right_rule_and_the_reference(capsys):
    from ddlopt.experiments.ch09 import scaler_update

    for student in (good_update, lambda s, t, f, i: scaler_update(s, t, f, growth_interval=i)):
        assert check.scaler_update(student)
        assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("student, expected", [
    (grows_every_step, "not every step"),
    (keeps_count_after_overflow, "start again at 0"),
    (skeleton_update, "not written yet"),
    (lambda s, t, f, i: s, "return a pair"),
])
def test_scaler_update_names_the_mistake(capsys, student, expected):
    assert not check.scaler_update(student)
    out = " ".join(capsys.readouterr().out.split())
    assert "✗" in out and expected in out
