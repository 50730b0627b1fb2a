"""ddlopt.floor: the bytes an optimizer step must move."""

import pytest

from ddlopt.floor import arrays_moved, step_bytes


@pytest.mark.parametrize("optimizer, flags, expected", [
    ("sgd", {}, 12), ("sgd", dict(momentum=0.9), 20),
    ("adam", {}, 28), ("AdamW", {}, 28), ("adam", dict(amsgrad=True), 36),
    ("rmsprop", {}, 20), ("rmsprop", dict(centered=True, momentum=0.5), 36),
    ("adagrad", {}, 20),
])
def test_step_bytes(optimizer, flags, expected):
    assert step_bytes(optimizer, **flags) == expected


def test_the_gradient_is_read_and_never_written():
    read, written = arrays_moved("adam")
    assert (read, written) == (4, 3)
    assert step_bytes("adam", itemsize=8) == 56


def test_unknown_optimizer():
    with pytest.raises(ValueError, match="unknown optimizer 'lion'"):
        step_bytes("lion")
