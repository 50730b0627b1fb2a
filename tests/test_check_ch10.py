"""Chapter 10's checkers (ddlopt/check/ch10.py): each with a right answer, its typical wrong
ones, and the skeleton (tests/test_check.py checks every checker's skeleton too)."""

import math

import numpy as np
import pytest

from ddlopt import check


def skeleton(*args):
    raise NotImplementedError("your code here")


def printed(capsys):
    """What the checker printed, its wrapped lines joined again."""
    return " ".join(capsys.readouterr().out.split())


# ---- step_bytes ----------------------------------------------------------------------------

@pytest.mark.parametrize("answer, passes, says", [
    (28, True, "28 bytes per parameter"),
    (16, False, "reads only"),
    (32, False, "gradient is read but not written"),
    (24, False, "one array is missing"),
    (7, False, "counts arrays"),
    (56, False, "float64"),
    (30, False, "not 30"),
])
def test_checker_names_the_slip(capsys, answer, passes, says):
    assert check.step_bytes(answer, "adam") is passes
    assert says in capsys.readouterr().out


# ---- zero_memory ---------------------------------------------------------------------------

def zero_right(stage, processes):
    held = [12, 2, 2]                       # state, gradients, parameters: sharded in turn
    return sum(held[stage:]) + sum(held[:stage]) / processes


def zero_no_master(stage, processes):      # Adam's m and v, but no float32 master weights
    held = [8, 2, 2]
    return sum(held[stage:]) + sum(held[:stage]) / processes


def zero_stage_two_only_grads(stage, processes):
    if stage == 2:
        return 2 + 12 + 2 / processes
    return zero_right(stage, processes)


def zero_stage_one_shards_all(stage, processes):
    return 16 if stage == 0 else 16 / processes


@pytest.mark.parametrize("fn, passes, says", [
    (zero_right, True, "match ZeRO's count"),
    (zero_no_master, False, "master copy of the weights"),
    (zero_stage_two_only_grads, False, "keeps sharding the optimizer state"),
    (zero_stage_one_shards_all, False, "stage 1 shards the optimizer state only"),
    (lambda stage, processes: 16 - stage, False, "at stage 1 with 1 process your"),
    (lambda stage, processes: 1 / 0, False, "raised ZeroDivisionError"),
    (skeleton, False, "not written yet"),
])
def test_zero_memory(capsys, fn, passes, says):
    assert check.zero_memory(fn) is passes
    assert says in printed(capsys)


# ---- block_table ---------------------------------------------------------------------------

def blocks_right(numels, block):
    tensors, starts = [], []
    for i, n in enumerate(numels):
        for b in range(math.ceil(n / block)):
            tensors.append(i)
            starts.append(b * block)
    return tensors, starts


def blocks_floor(numels, block):              # drops each ragged last block
    tensors = [i for i, n in enumerate(numels) for _ in range(n // block)]
    return tensors, [b * block for n in numels for b in range(n // block)]


def blocks_counted(numels, block):            # starts in blocks, not elements
    tensors, starts = blocks_right(numels, block)
    return tensors, [s // block for s in starts]


def blocks_global(numels, block):             # starts counted over all tensors
    tensors, starts = blocks_right(numels, block)
    first = np.cumsum([0] + [math.ceil(n / block) for n in numels])
    return tensors, [s + int(first[t]) * block for s, t in zip(starts, tensors)]


def blocks_numpy(numels, block):             # arrays are fine too
    tensors, starts = blocks_right(numels, block)
    return np.array(tensors, np.int32), np.array(starts, np.int64)


@pytest.mark.parametrize("fn, passes, says", [
    (blocks_right, True, "ragged last blocks included"),
    (blocks_numpy, True, "ragged last blocks included"),
    (blocks_floor, False, "round the number of blocks up"),
    (blocks_counted, False, "multiply by block"),
    (blocks_global, False, "starts again at 0 for every tensor"),
    (lambda numels, block: 3, False, "raised TypeError"),
    (skeleton, False, "not written yet"),
])
def test_block_table(capsys, fn, passes, says):
    assert check.block_table(fn) is passes
    assert says in printed(capsys)


# ---- chunked_sgd ---------------------------------------------------------------------------

def chunked_right(param, grad, buffer, lr, momentum, chunk):
    for start in range(0, param.size, chunk):
        p, g, b = (a[start:start + chunk] for a in (param, grad, buffer))
        b *= momentum
        b += g
        p -= lr * b


def chunked_ragged_dropped(param, grad, buffer, lr, momentum, chunk):
    for start in range(0, param.size - chunk + 1, chunk):
        p, g, b = (a[start:start + chunk] for a in (param, grad, buffer))
        b *= momentum
        b += g
        p -= lr * b


def chunked_rebinds(param, grad, buffer, lr, momentum, chunk):
    for start in range(0, param.size, chunk):
        p, g, b = (a[start:start + chunk] for a in (param, grad, buffer))
        b = momentum * b + g          # a new array: the buffer is never written
        p = p - lr * b
    return param


def chunked_wrong_order(param, grad, buffer, lr, momentum, chunk):
    for start in range(0, param.size, chunk):
        p, g, b = (a[start:start + chunk] for a in (param, grad, buffer))
        p -= lr * b                   # the step before the buffer is updated
        b *= momentum
        b += g


def whole_arrays(param, grad, buffer, lr, momentum, chunk):
    buffer *= momentum
    buffer += grad
    param -= lr * buffer              # a temporary of the whole array


@pytest.mark.parametrize("fn, passes, says", [
    (chunked_right, True, "no temporary larger than a chunk"),
    (chunked_ragged_dropped, False, "the last 1808 values were not updated"),
    (chunked_rebinds, False, "update them in place"),
    (chunked_wrong_order, False, "the numbers differ"),
    (whole_arrays, False, "a temporary of the whole array"),
    (lambda *args: [][1], False, "raised IndexError"),
    (skeleton, False, "not written yet"),
])
def test_chunked_sgd(capsys, fn, passes, says):
    assert check.chunked_sgd(fn) is passes
    assert says in printed(capsys)


@pytest.mark.parametrize("checker", [check.zero_memory, check.block_table, check.chunked_sgd])
def test_a_checker_wants_a_function(checker):
    with pytest.raises(TypeError, match="student_fn must be a function"):
        checker(42)
