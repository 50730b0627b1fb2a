"""The ddlopt.check package: every chapter's checkers re-exported, one verdict format, and
a skeleton (``raise NotImplementedError``) reported as "not written yet" by every checker."""

import numpy as np
import pytest

from ddlopt import check
from ddlopt.check import _shared


def my_function(*args, **kwargs):
    raise NotImplementedError("your code here")


def my_empty_function(*args, **kwargs):
    """A skeleton whose body is only a docstring: it returns None."""


# checker -> how a notebook calls it on a student's function; every public checker is here
CALLS = {
    "loss": lambda f: check.loss(f, "binary_crossentropy", from_logits=True),
    "class_weights": lambda f: check.class_weights(f),
    "optimizer_step": lambda f: check.optimizer_step(f, "adam", lr=0.01),
    "largest_curvature": lambda f: check.largest_curvature(f),
    "newton": lambda f: check.newton(f),
    "momentum_rate": lambda f: check.momentum_rate(f, nesterov=True),
    "keras_rmsprop_step": lambda f: check.keras_rmsprop_step(f),
    "full_adagrad_step": lambda f: check.full_adagrad_step(f),
    "schedule": lambda f: check.schedule(f, "CosineAnnealingLR", lr=0.1, T_max=30),
    "initializer": lambda f: check.initializer(f, "kaiming_normal", nonlinearity="relu"),
    "dropout": lambda f: check.dropout(f, p=0.3),
    "clip_grad_norm": lambda f: check.clip_grad_norm(f),
    "scaler_update": lambda f: check.scaler_update(f),
    "step_bytes": lambda f: check.step_bytes(f, "adamw", amsgrad=True),
    "shift_images": lambda f: check.shift_images(f),
    "max_norm": lambda f: check.max_norm(f),
    "zero_memory": lambda f: check.zero_memory(f),
    "block_table": lambda f: check.block_table(f),
    "chunked_sgd": lambda f: check.chunked_sgd(f),
    "newton_schulz": lambda f: check.newton_schulz(f),
    "batchnorm": lambda f: check.batchnorm(f),
}
# the checkers whose student function must return a value (optimizer_step's may update in place)
NEEDS_A_VALUE = ["loss", "class_weights", "largest_curvature", "newton", "momentum_rate",
                 "schedule", "initializer", "dropout", "clip_grad_norm", "scaler_update",
                 "step_bytes", "shift_images", "max_norm", "zero_memory", "block_table",
                 "newton_schulz", "batchnorm"]

NOT_WRITTEN = "✗ not written yet: fill in the body of my_function and run this cell again\n"


def test_every_chapter_checker_is_reexported_and_has_a_skeleton_test():
    assert sorted(check.__all__) == sorted(CALLS)
    for name in check.__all__:
        module = getattr(check, f"ch{check.__dict__[name].__module__[-2:]}")
        assert getattr(check, name) is getattr(module, name)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_skeleton_is_not_written_yet(capsys, name):
    assert CALLS[name](my_function) is False
    assert capsys.readouterr().out == NOT_WRITTEN


@pytest.mark.parametrize("name", NEEDS_A_VALUE)
def test_a_skeleton_returning_none_is_not_written_yet(capsys, name):
    assert CALLS[name](my_empty_function) is False
    out = " ".join(capsys.readouterr().out.split())
    assert out == ("✗ not written yet: my_empty_function returns None; fill in its body, end "
                   "it with return ..., and run this cell again")


def test_a_lambda_skeleton_is_your_function(capsys):
    assert not check.dropout(lambda x, p, rng: my_function(), p=0.5)
    assert "fill in the body of your function" in capsys.readouterr().out


@pytest.mark.parametrize("answer", [..., None])
def test_an_answer_left_as_dots_is_not_written_yet(capsys, answer):
    assert check.step_bytes(answer, "adam") is False
    assert capsys.readouterr().out.startswith("✗ not written yet: put your answer in place")


def test_the_verdicts_before_a_skeleton_stay(capsys):
    def my_bce(y, z):
        return np.mean(np.logaddexp(0, z) - y * z)

    assert not check.loss(my_bce, "binary_crossentropy", my_function, from_logits=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("✓ value matches") and lines[1].startswith("✓ stays finite")
    assert lines[2:] == NOT_WRITTEN.splitlines()


def test_a_written_function_that_raises_is_still_reported_as_before(capsys):
    assert not check.schedule(lambda t, lr, T_max: 1 / 0, "CosineAnnealingLR", T_max=30)
    assert capsys.readouterr().out.startswith("✗ it raised ZeroDivisionError")


def test_a_bad_argument_of_the_notebook_still_raises_for_a_skeleton():
    with pytest.raises(ValueError, match="unknown update rule"):
        check.optimizer_step(my_function, "shampoo", lr=0.1)


def test_the_verdict_helpers(capsys):
    assert _shared.say(True, "fine") is True and _shared.say(False, "word " * 30) is False
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "✓ fine" and out[1].startswith("✗ word")
    assert max(map(len, out)) <= 78 and all(line.startswith("  ") for line in out[2:])
    assert _shared.verdict(None, "all good") is True and _shared.verdict("a slip", "x") is False
    assert capsys.readouterr().out == "✓ all good\n✗ a slip\n"


def test_call_silences_numpy_warnings_and_result_of_rejects_none():
    assert _shared.call(lambda: np.float64(1.0) / 0.0) == np.inf  # no RuntimeWarning (-W error)
    with pytest.raises(_shared.NotWritten, match="returns None"):
        _shared.result_of(my_empty_function)
    with pytest.raises(TypeError, match="student_f must be a function, got 3"):
        _shared.require_function(3, "student_f")
