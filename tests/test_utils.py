"""ddlopt.clip_grad_norm against torch.nn.utils.clip_grad_norm_: the returned norm and the
clipped gradients, on many random cases, every norm order, grads None, and bad arguments."""

import ast
import inspect
import math

import numpy as np
import pytest
import torch

import ddlopt
from ddlopt import Parameter, clip_grad_norm


def twins(rng, shapes, scale, missing=()):
    """The same gradients as ddlopt Parameters and as torch tensors (float64)."""
    ours, theirs = [], []
    for i, shape in enumerate(shapes):
        data = rng.normal(size=shape)
        p, t = Parameter(data), torch.tensor(data, requires_grad=True)
        if i not in missing:
            grad = scale * rng.normal(size=shape)
            p.grad, t.grad = grad.copy(), torch.tensor(grad)
        ours.append(p)
        theirs.append(t)
    return ours, theirs


def assert_same(ours, theirs, norm_ours, norm_theirs, rtol=1e-14):
    assert math.isclose(norm_ours, norm_theirs.item(), rel_tol=rtol), (norm_ours, norm_theirs.item())
    for p, t in zip(ours, theirs):
        if p.grad is None:
            assert t.grad is None
            continue
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=rtol, atol=0)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, math.inf, 2])
def test_matches_torch_on_random_cases(norm_type):
    rng = np.random.default_rng(0)
    clipped = 0
    for case in range(200):
        shapes = [tuple(rng.integers(1, 5, size=rng.integers(0, 3))) for _ in range(rng.integers(1, 5))]
        scale = 10.0 ** rng.uniform(-4, 3)
        max_norm = float(10.0 ** rng.uniform(-2, 2))
        missing = {i for i in range(len(shapes)) if rng.random() < 0.2}
        ours, theirs = twins(rng, shapes, scale, missing)
        norm = clip_grad_norm(ours, max_norm, norm_type=norm_type)
        expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
        assert isinstance(norm, float)
        assert_same(ours, theirs, norm, expected)
        clipped += norm > max_norm
    assert 40 < clipped < 160, "the cases should clip about half the time"


def test_clipped_gradients_have_the_norm_asked_for():
    rng = np.random.default_rng(1)
    ours, _ = twins(rng, [(3, 4), (4,)], scale=10.0)
    before = clip_grad_norm(ours, 1.0)
    after = math.sqrt(sum(np.sum(p.grad**2) for p in ours))
    assert before > 10 and after == pytest.approx(1.0 / (1 + 1e-6 / before), rel=1e-12)
    assert clip_grad_norm(ours, 5.0) == pytest.approx(after)  # below the limit: unchanged
    assert math.sqrt(sum(np.sum(p.grad**2) for p in ours)) == pytest.approx(after, rel=1e-15)


def test_one_parameter_float32_and_no_gradients():
    rng = np.random.default_rng(2)
    ours, theirs = twins(rng, [(5,)], scale=3.0)
    assert_same(ours, theirs, clip_grad_norm(ours[0], 1.0),
                torch.nn.utils.clip_grad_norm_(theirs[0], 1.0))
    p = Parameter(np.zeros(3, dtype=np.float32))
    t = torch.zeros(3, requires_grad=True)
    p.grad, t.grad = np.array([3.0, 4.0, 12.0], np.float32), torch.tensor([3.0, 4.0, 12.0])
    assert_same([p], [t], clip_grad_norm([p], 2.0), torch.nn.utils.clip_grad_norm_([t], 2.0), rtol=1e-6)
    assert p.grad.dtype == np.float32
    assert clip_grad_norm([Parameter(np.ones(2))], 1.0) == 0.0  # no grad anywhere
    assert clip_grad_norm([], 1.0) == 0.0
    assert torch.nn.utils.clip_grad_norm_([], 1.0).item() == 0.0


def test_all_zero_gradients_and_a_zero_limit_match_torch():
    for max_norm, grad in [(1.0, [0.0, 0.0]), (0.0, [3.0, 4.0]), (0.0, [0.0, 0.0])]:
        p, t = Parameter(np.zeros(2)), torch.zeros(2, dtype=torch.float64, requires_grad=True)
        p.grad, t.grad = np.array(grad), torch.tensor(grad, dtype=torch.float64)
        assert_same([p], [t], clip_grad_norm([p], max_norm), torch.nn.utils.clip_grad_norm_([t], max_norm))


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_nonfinite_gradients_like_torch(bad):
    grad = [1.0, bad, 2.0]
    p, t = Parameter(np.zeros(3)), torch.zeros(3, dtype=torch.float64, requires_grad=True)
    p.grad, t.grad = np.array(grad), torch.tensor(grad, dtype=torch.float64)
    with np.errstate(invalid="ignore"):
        norm = clip_grad_norm([p], 1.0)
    expected = torch.nn.utils.clip_grad_norm_([t], 1.0)
    assert (math.isnan(norm) and expected.isnan()) or norm == expected.item()
    np.testing.assert_array_equal(p.grad, t.grad.numpy())  # NaN where torch has NaN, 0 where 0
    p.grad, t.grad = np.array(grad), torch.tensor(grad, dtype=torch.float64)
    message = "The total norm of order 2.0 for gradients from `parameters` is non-finite"
    with pytest.raises(RuntimeError, match=message):
        clip_grad_norm([p], 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match=message):
        torch.nn.utils.clip_grad_norm_([t], 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(p.grad, np.array(grad))  # the error leaves them as they were


def test_bad_arguments_are_named():
    p = Parameter(np.zeros(2))
    p.grad = np.ones(2)
    with pytest.raises(ValueError, match="max_norm must be a non-negative number, got -1.0"):
        clip_grad_norm([p], -1.0)
    with pytest.raises(ValueError, match="max_norm must be a non-negative number, got nan"):
        clip_grad_norm([p], math.nan)
    with pytest.raises(TypeError, match="max_norm must be a real number, got str '1'"):
        clip_grad_norm([p], "1")
    for norm_type in (0, -1.0, -math.inf):
        with pytest.raises(ValueError, match="norm_type must be positive or inf"):
            clip_grad_norm([p], 1.0, norm_type=norm_type)
    with pytest.raises(TypeError, match="norm_type must be a real number, got bool"):
        clip_grad_norm([p], 1.0, norm_type=True)
    with pytest.raises(TypeError, match="must hold ddlopt.Parameter objects, got Tensor"):
        clip_grad_norm([torch.zeros(2)], 1.0)
    with pytest.raises(TypeError, match="must be a Parameter or an iterable of Parameters, got float"):
        clip_grad_norm(1.0, 1.0)
    np.testing.assert_array_equal(p.grad, np.ones(2))  # nothing was touched


def test_exported_at_the_top_level():
    assert ddlopt.clip_grad_norm is clip_grad_norm


# ---------------------------------------------------------------- show_source

def _documented(x, y=2):
    """A docstring of
    two lines."""

    # a comment stays
    total = x + y  # so does this one
    return total


class _Documented:
    r'''A class docstring.'''

    scale = 3

    @staticmethod
    def method(x):
        "One line."
        text = """not a docstring"""
        return x * len(text)

    def only_a_docstring(self):
        """The body's only statement: it stays, or the code would not parse."""


def _undocumented(x):
    return x  # nothing to drop


def test_show_source_prints_a_function_without_its_docstring(capsys):
    assert ddlopt.utils.show_source(_documented) is None
    assert capsys.readouterr().out == (
        "def _documented(x, y=2):\n"
        "    # a comment stays\n"
        "    total = x + y  # so does this one\n"
        "    return total\n")


def test_show_source_dedents_a_method_and_keeps_its_decorator(capsys):
    ddlopt.utils.show_source(_Documented.method)
    assert capsys.readouterr().out == (
        "@staticmethod\n"
        "def method(x):\n"
        '    text = """not a docstring"""\n'
        "    return x * len(text)\n")


def test_show_source_prints_a_class_without_any_docstring_that_can_go(capsys):
    ddlopt.utils.show_source(_Documented)
    out = capsys.readouterr().out
    assert out.startswith("class _Documented:\n    scale = 3\n\n    @staticmethod\n")
    assert "A class docstring" not in out and "One line" not in out
    assert '"""not a docstring"""' in out
    assert '"""The body\'s only statement: it stays' in out
    ast.parse(out)  # still Python


def test_show_source_leaves_code_without_a_docstring_as_it_is(capsys):
    ddlopt.utils.show_source(_undocumented)
    assert capsys.readouterr().out == "def _undocumented(x):\n    return x  # nothing to drop\n"


def test_show_source_on_the_library_code_the_book_shows(capsys):
    from ddlopt.optim import adam_update
    from ddlopt.schedules import CosineAnnealingLR

    for obj in (adam_update, CosineAnnealingLR.get_lr, CosineAnnealingLR):
        ddlopt.utils.show_source(obj)
        out = capsys.readouterr().out
        tree = ast.parse(out)
        assert ast.get_docstring(tree.body[0]) is None, out[:200]
        assert out.splitlines()[0].startswith(("def ", "class ")), out[:80]
        dropped = inspect.getsource(obj).count("\n") - out.count("\n")
        assert dropped > 0 if obj.__doc__ else dropped == 0, obj
