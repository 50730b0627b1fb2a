"""ddlopt.check.dropout (chapter 8): passes inverted dropout, names the usual mistakes."""

import numpy as np
import pytest

from ddlopt import check


def run(capsys, checker, *args, **kwargs):
    ok = checker(*args, **kwargs)
    return ok, " ".join(capsys.readouterr().out.split())


def good_dropout(x, p, rng):
    return x * (rng.random(x.shape) >= p) / (1 - p)


def test_right_dropout_passes(capsys):
    for p in (0.2, 0.5, 0.9):
        ok, out = run(capsys, check.dropout, good_dropout, p)
        assert ok and out.startswith("✓"), out


FIXED = np.random.default_rng(9).random((500, 500))


@pytest.mark.parametrize("student, message", [
    (lambda x, p, rng: x * (rng.random(x.shape) >= p), "the kept entries are not scaled"),
    (lambda x, p, rng: x * (rng.random(x.shape) < p) / (1 - p), "keep it with 1 - p"),
    (lambda x, p, rng: x * (rng.random(x.shape) >= p) * (1 - p), "multiplied by 1 - p"),
    (lambda x, p, rng: x * (rng.random(x.shape) >= p) / p / 3, "scaled by"),
    (lambda x, p, rng: x * (FIXED >= p) / (1 - p), "draw a new mask"),
    (lambda x, p, rng: x[:10] / (1 - p), "it returns shape"),
])
def test_each_dropout_mistake_is_named(capsys, student, message):
    ok, out = run(capsys, check.dropout, student, 0.3)
    assert not ok and message in out, out


def test_bad_arguments():
    with pytest.raises(ValueError, match="p must be strictly between 0 and 1"):
        check.dropout(good_dropout, 1.0)
    with pytest.raises(TypeError, match="student_dropout must be a function"):
        check.dropout("dropout")
