"""Chapter 10 (fast optimizers): ``check.step_bytes``, a count of the bytes a step moves;
``check.zero_memory``, ZeRO's memory per process; ``check.block_table``, the table of a
fused launch; ``check.chunked_sgd``, SGD with momentum in cache-sized chunks."""

import tracemalloc

import numpy as np

from .. import optim as _optim
from ..floor import arrays_moved
from ..floor import zero_bytes as _zero_bytes
from ._shared import (NotWritten, answer_of, call, checker, close, require_function,
                      result_of, say, verdict)

__all__ = ["step_bytes", "zero_memory", "block_table", "chunked_sgd"]


@checker
def step_bytes(answer, optimizer, **flags):
    """Check a count of the bytes per parameter that one float32 step of ``optimizer``
    (``"sgd"``, ``"adam"``, ``"adamw"``, ``"rmsprop"``, ``"adagrad"``, with flags such as
    ``momentum=0.9``, ``amsgrad=True``, ``centered=True``) must move. Prints what is right
    or the likely slip; returns True if right. ``answer``: a number, or a function of no
    arguments returning it."""
    read, written = arrays_moved(optimizer, **flags)
    answer = answer_of(answer)
    expected = 4 * (read + written)
    what = f"{optimizer} with {flags}" if flags else optimizer
    if answer == expected:
        problem = None
    elif answer == 4 * read:
        problem = "that counts the reads only: each array the step changes is written back too"
    elif answer == 4 * (read + written + 1):
        problem = "the gradient is read but not written: the step leaves it as it is"
    elif answer == 4 * (read + written - 1):
        problem = ("one array is missing: the parameter and the gradient are read, and each "
                   "state array is read and written back")
    elif answer == read + written:
        problem = "that counts arrays: each float32 value is 4 bytes"
    elif answer == 8 * (read + written):
        problem = "that is float64: the question is about float32 (4 bytes a value)"
    else:
        problem = (f"not {answer}: count the arrays read (parameter, gradient, each state) and "
                   "those written (parameter, each state), 4 bytes a value")
    message = problem or f"{what}: {expected} bytes per parameter ({read} arrays read, " \
                         f"{written} written)"
    return say(problem is None, message)


# ---- ZeRO: the memory each process holds --------------------------------------------------

def _zero_slip(answers):
    """The likely mistake behind a student's wrong ``{(stage, processes): bytes}``."""
    if close(answers[0, 8], 12):
        return ("12 bytes per parameter at stage 0: the float32 master copy of the weights "
                "(4 bytes) is part of the optimizer state, with m and v (4 bytes each)")
    if close(answers[1, 8], 2 + 2 + 12 / 8) and close(answers[2, 8], 2 + 12 + 2 / 8):
        return ("stage 2 shards the gradients and keeps sharding the optimizer state: each "
                "stage shards what the one before did, and one thing more")
    if close(answers[1, 8], 16 / 8):
        return ("stage 1 shards the optimizer state only: every process still holds all the "
                "16-bit parameters and gradients (2 + 2 bytes)")
    for (stage, processes), got in answers.items():
        expected = _zero_bytes(stage, processes)
        if not close(got, expected):
            plural = "process" if processes == 1 else "processes"
            return (f"at stage {stage} with {processes} {plural} your function gives {got:g} "
                    "bytes per parameter: add what each process keeps whole (2-byte "
                    "parameters, 2-byte gradients, 12 bytes of state) and 1/processes of what "
                    "the stage shards")
    return None


@checker
def zero_memory(student_fn):
    """Check ``student_fn(stage, processes)``: the bytes per parameter that each of
    ``processes`` data-parallel processes holds for mixed-precision Adam under ZeRO
    ``stage`` (0 to 3), against :func:`ddlopt.floor.zero_bytes`."""
    require_function(student_fn, "student_fn")
    cases = [(stage, processes) for stage in range(4) for processes in (1, 2, 8, 64)]
    try:
        answers = {case: float(result_of(student_fn, *case)) for case in cases}
    except Exception as error:  # noqa: BLE001 -- the student's error becomes the verdict
        return say(False, f"it raised {type(error).__name__}: {error}")
    return verdict(_zero_slip(answers), "the bytes per process of ZeRO stages 0 to 3, for 1, "
                   "2, 8 and 64 processes, match ZeRO's count (16 bytes a parameter, sharded)")


# ---- The block table of a fused launch ----------------------------------------------------

def _blocks(numels, block):
    """The reference table: for each block, its tensor and its first element in the tensor."""
    tensors = [i for i, n in enumerate(numels) for _ in range(-(-n // block))]
    starts = [b * block for n in numels for b in range(-(-n // block))]
    return tensors, starts


def _block_slip(numels, block, tensors, starts):
    expected_tensors, expected_starts = _blocks(numels, block)
    if (tensors, starts) == (expected_tensors, expected_starts):
        return None
    floor_tensors = [i for i, n in enumerate(numels) for _ in range(n // block)]
    if tensors == floor_tensors:
        return ("a tensor's last block is missing where its size is not a multiple of "
                "block: round the number of blocks up, -(-n // block) or math.ceil(n / block)")
    if tensors != expected_tensors:
        return (f"for numels={numels}, block={block} the blocks belong to tensors {tensors}; "
                f"each tensor of n values needs ceil(n / block) blocks, in order")
    if starts == [b for n in numels for b in range(-(-n // block))]:
        return "block_start counts elements, not blocks: multiply by block"
    offsets = [sum(-(-n // block) for n in numels[:i]) * block for i in range(len(numels))]
    if starts == [s + offsets[t] for s, t in zip(expected_starts, expected_tensors)]:
        return ("block_start is counted from the start of the block's own tensor (each tensor "
                "lies elsewhere in memory): it starts again at 0 for every tensor")
    return (f"for numels={numels}, block={block} the starts are {starts}: block b of a "
            "tensor starts at element b * block of that tensor")


@checker
def block_table(student_fn):
    """Check ``student_fn(numels, block)`` -> ``(block_tensor, block_start)``: for every
    block of a fused launch over tensors of ``numels`` values, the tensor it updates and
    the element it starts at (``ddlopt.torch.fused.block_table``'s table)."""
    require_function(student_fn, "student_fn")
    cases = [([5000, 300, 2048, 1], 1024), ([4096], 1024), ([7, 0, 3000], 1000),
             ([2500, 2500], 2048)]
    for numels, block in cases:
        try:
            tensors, starts = result_of(student_fn, list(numels), block)
            tensors, starts = [int(x) for x in tensors], [int(x) for x in starts]
        except NotWritten:
            raise
        except Exception as error:  # noqa: BLE001
            return say(False, f"it raised {type(error).__name__}: {error} (return two "
                       "sequences of whole numbers: block_tensor, block_start)")
        problem = _block_slip(numels, block, tensors, starts)
        if problem:
            return say(False, problem)
    return say(True, "every block names its tensor and its first element, ragged last blocks "
               "included, for the 4 launches tried")


# ---- SGD with momentum, in cache-sized chunks ---------------------------------------------

def _chunked_run(student_fn, n, chunk, steps, rng):
    """The student's chunked step and ddlopt's sgd_update from the same start; returns
    (student's param, reference param, student's buffer, reference buffer, returned)."""
    lr, momentum = 0.1, 0.9
    param = rng.standard_normal(n).astype(np.float32)
    reference, state = param.copy(), {"momentum_buffer": np.zeros(n, np.float32)}
    buffer, returned = np.zeros(n, np.float32), None
    for _ in range(steps):
        grad = rng.standard_normal(n).astype(np.float32)
        returned = call(student_fn, param, grad, buffer, lr, momentum, chunk)
        _optim.sgd_update(reference, grad, state, lr=lr, momentum=momentum)
    return param, reference, buffer, state["momentum_buffer"], returned


def _peak_bytes(student_fn, n, chunk):
    """The most memory one call of the student's function allocates (NumPy reports its
    arrays to tracemalloc)."""
    param, grad, buffer = (np.ones(n, np.float32) for _ in range(3))
    tracemalloc.start()
    try:
        call(student_fn, param, grad, buffer, 0.1, 0.9, chunk)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@checker
def chunked_sgd(student_fn):
    """Check ``student_fn(param, grad, buffer, lr, momentum, chunk)``: one step of SGD with
    momentum (torch's form, the buffer starting at zero) on float32 arrays, updating
    ``param`` and ``buffer`` in place chunk by chunk, allocating nothing of the arrays' size."""
    require_function(student_fn, "student_fn")
    rng = np.random.default_rng(0)
    n, chunk = 10_000, 4096                      # two whole chunks and a ragged one
    try:
        param, reference, buffer, ref_buffer, returned = _chunked_run(student_fn, n, chunk,
                                                                      3, rng)
        peak = _peak_bytes(student_fn, 1 << 20, 4096)
    except NotWritten:
        raise
    except Exception as error:  # noqa: BLE001
        return say(False, f"it raised {type(error).__name__}: {error}")
    start = np.zeros(n, np.float32)
    if np.array_equal(buffer, start) and np.array_equal(param, _chunked_run(
            lambda *a: None, n, chunk, 3, np.random.default_rng(0))[0]):
        hint = " (it returns an array: the caller never sees it)" if returned is not None \
            else ""
        return say(False, "param and buffer are unchanged: update them in place (p -= ..., "
                   "b *= ...) on slices, which are views into the arrays" + hint)
    tail = slice((n // chunk) * chunk, n)
    if np.array_equal(buffer[tail], start[tail]):
        return say(False, f"the last {n % chunk} values were not updated: the last chunk is "
                   "shorter than chunk; range(0, n, chunk) with a[i:i + chunk] covers it")
    if not np.allclose(param, reference, rtol=1e-6, atol=1e-7) or \
            not np.allclose(buffer, ref_buffer, rtol=1e-6, atol=1e-7):
        return say(False, "the numbers differ from SGD with momentum: b = momentum * b + g, "
                   "then param -= lr * b, on every chunk")
    array_bytes = 4 << 20
    if peak > array_bytes // 4:
        return say(False, f"one call allocates {peak / 2**20:.1f} MB for arrays of 4 MB: a "
                   "temporary of the whole array; compute on each chunk (out= or in place)")
    return say(True, "SGD with momentum, chunk by chunk, in place: the numbers of "
               "ddlopt.optim.sgd_update, with no temporary larger than a chunk")
