"""check.schedule: a reader's schedule function against ddlopt.schedules, with the usual
mistakes named."""

import math
import re

import numpy as np
import pytest

from ddlopt import check


def run(capsys, *args, **kwargs):
    ok = check.schedule(*args, **kwargs)
    return ok, capsys.readouterr().out


def cosine(t, lr, T_max, eta_min=0.0):
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2


def step_decay(t, lr, step_size, gamma=0.1):
    return lr * gamma ** (t // step_size)


@pytest.mark.parametrize("student, reference, kwargs", [
    (cosine, "CosineAnnealingLR", dict(T_max=40, eta_min=1e-3)),
    (step_decay, "StepLR", dict(step_size=7, gamma=0.5)),
    (lambda t, lr, gamma: lr * gamma**t, "ExponentialLR", dict(gamma=0.97)),
    (lambda t, lr, decay_steps, decay_rate: lr / (1 + decay_rate * t / decay_steps),
     "InverseTimeDecay", dict(decay_steps=10, decay_rate=0.5)),
])
def test_a_correct_schedule_passes(capsys, student, reference, kwargs):
    ok, out = run(capsys, student, reference, lr=0.1, steps=120, **kwargs)
    assert ok and out.startswith(f"✓ 120 steps match {reference} with lr=0.1")


@pytest.mark.parametrize("student, message", [
    (lambda t, lr, T_max: cosine(t + 1, lr, T_max), "off by one: your step t is the reference's step t \\+ 1"),
    (lambda t, lr, T_max: cosine(t - 1, lr, T_max), "off by one: your step t is the reference's step t - 1"),
    (lambda t, lr, T_max: cosine(t, 1.0, T_max), "yours is the factor, not the learning rate"),
    (lambda t, lr, T_max: cosine(t, 2 * lr, T_max), "yours is 2 times the reference at every step"),
    (lambda t, lr, T_max: (1 + math.cos(math.pi * t / T_max)) / 2 * lr / np.float64(t),
     "step 0 gives (inf|nan): a division by zero"),
    (lambda t, lr, T_max: lr * (1 + math.cos(math.pi * t / (2 * T_max))) / 2,
     "the first 1 step\\(s\\) match but step 1 differs"),
    (lambda t, lr, T_max: [lr, lr], "it returns arrays of shape \\(2,\\)"),
    (lambda t, lr: lr, "it raised TypeError"),
])
def test_each_mistake_is_named(capsys, student, message):
    ok, out = run(capsys, student, "CosineAnnealingLR", lr=0.1, T_max=50)
    assert not ok and out.startswith("✗ ")
    assert re.search(message, out.replace("\n  ", " ")), out


def test_step_decay_without_floor_is_explained(capsys):
    ok, out = run(capsys, lambda t, lr, step_size: lr * 0.1 ** (t / step_size), "StepLR",
                  step_size=10)
    assert not ok and "round t / step_size down" in out.replace("\n  ", " ")


def test_bad_arguments_raise():
    with pytest.raises(TypeError, match="student_schedule must be a function"):
        check.schedule(0.1)
    with pytest.raises(ValueError, match="unknown schedule 'Cosine'; known: StepLR"):
        check.schedule(cosine, "Cosine")
    with pytest.raises(ValueError, match="steps must be an integer >= 3, got 1"):
        check.schedule(cosine, "CosineAnnealingLR", steps=1, T_max=10)
