"""ddlopt.floor: the bytes an optimizer step must move."""

import pytest

from ddlopt.floor import arrays_moved, step_bytes, zero_bytes


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


def test_zero_bytes_reproduce_the_zero_papers_figure_1():
    # Rajbhandari et al. (2020), Figure 1: 7.5B parameters, 64 GPUs, mixed-precision Adam
    gigabytes = [round(zero_bytes(stage, 64) * 7.5, 1) for stage in range(4)]
    assert gigabytes == [120.0, 31.4, 16.6, 1.9]


def test_zero_bytes_shard_state_then_gradients_then_parameters():
    assert zero_bytes(0, 8) == 16
    assert zero_bytes(1, 8) == 2 + 2 + 12 / 8
    assert zero_bytes(2, 8) == 2 + (2 + 12) / 8
    assert zero_bytes(3, 8) == 16 / 8
    assert all(zero_bytes(stage, 1) == 16 for stage in range(4))  # one process: no sharding
    # float32 Adam: 4-byte parameters and gradients, 8 bytes of moments, also 16 in all
    assert zero_bytes(0, 1, param_bytes=4, grad_bytes=4, state_bytes=8) == 16


@pytest.mark.parametrize("stage, processes, message", [
    (4, 8, "stage must be 0, 1, 2 or 3"), (1, 0, "at least 1"), (1, 2.5, "whole number"),
    (1, True, "whole number"),
])
def test_zero_bytes_rejects_bad_input(stage, processes, message):
    with pytest.raises(ValueError, match=message):
        zero_bytes(stage, processes)


def test_zero_bytes_rejects_negative_sizes():
    with pytest.raises(ValueError, match="state_bytes must be at least 0"):
        zero_bytes(1, 2, state_bytes=-1)
