"""The Triton kernels behind ``fused=True``: one launch updates every tensor of a group.

Imported only by :mod:`ddlopt.torch.fused`, and only when a fused step runs, so ddlopt works
without Triton. Each kernel is written to be read line by line (chapter 10 shows them).

How one launch reaches many tensors (the *pointer table*): the parameters, gradients and
states of a group stay where they are, as separate tensors. The host writes a small int64
table ``addresses[role, i]``, the address of tensor ``i`` in each role (param, grad,
exp_avg, ...), and cuts every tensor into blocks of ``BLOCK`` elements: block ``b`` of the
launch works on tensor ``block_tensor[b]`` from element ``block_start[b]`` on. A program
(one block) reads its tensor's addresses from the table, turns them into typed pointers and
streams its ``BLOCK`` elements through the update: each byte of state is read once and
written once, the least the step can move (the *floor*). This is PyTorch's
``multi_tensor_apply`` (from NVIDIA's Apex; torch's foreach and fused kernels use it) written
in Triton.

Two compile-time flags let a GPU move those bytes 16 at a time (one ``ld.global.v4``
instead of four 4-byte loads): ``EVEN``, a launch whose blocks are all full, so that no
element needs a mask (the host launches a group's ragged last blocks separately, masked),
and ``ALIGN = 16``, every tensor starting on a 16-byte boundary (the host checks), which
the compiler cannot know of an address read from a table. Neither changes a number.
"""

import triton
import triton.language as tl

FLOAT_PTR = tl.constexpr(tl.pointer_type(tl.float32))  # what an address in the table points to


# Every kernel begins with the same lines, written out in each rather than called
# (a call to a jitted helper costs milliseconds in Triton's interpreter, which the tests use):
#   program = tl.program_id(0)                    which block of the launch this is
#   tensor = tl.load(block_tensor + program)      the table says which tensor ...
#   offsets = start + tl.arange(0, BLOCK)         ... and which of its elements (a block
#                                                 starts at a multiple of BLOCK: hinted)
#   mask = None if EVEN else offsets < numel      only a tensor's last block is ragged
#   tl.load(addresses + role * n_tensors + tensor).to(tl.pointer_type(tl.float32))
#                                                 an int64 address becomes a float32*,
#                                                 hinted to be a multiple of ALIGN bytes


@triton.jit
def power(base, exponent):
    """``base ** exponent`` for a float64 base and an integer exponent, by squaring: the
    multiplications of ``ddlopt.torch.fused.power``, in its order (the same bits)."""
    result = base * 0.0 + 1.0                                  # 1.0, a float64 like base
    while exponent > 0:
        if exponent % 2 == 1:
            result = result * base
        base = base * base
        exponent = exponent // 2
    return result


@triton.jit
def bias_corrections(t, lr_bits, beta1_bits, beta2_bits):
    """``(lr / (1 - beta1^t), sqrt(1 - beta2^t))`` in float64, rounded once to float32: the
    arithmetic of ``ddlopt.torch.fused.adam_scalars``, on the device."""
    lr = lr_bits.to(tl.int64).to(tl.float64, bitcast=True)     # the float64s, from their bits
    beta1 = beta1_bits.to(tl.int64).to(tl.float64, bitcast=True)
    beta2 = beta2_bits.to(tl.int64).to(tl.float64, bitcast=True)
    step_size = lr / (1.0 - power(beta1, t))                   # float64 / and sqrt round
    bias_correction2_sqrt = tl.sqrt(1.0 - power(beta2, t))     # correctly, as Python's do
    return step_size.to(tl.float32), bias_correction2_sqrt.to(tl.float32)


# The bits of lr and the betas change with each value: compiled once, not once per value.
@triton.jit(do_not_specialize=["lr_bits", "beta1_bits", "beta2_bits"])
def adam_kernel(addresses, n_tensors, block_tensor, block_start, numels,
                scalars, step_size, bias_correction2_sqrt, lr_bits,
                beta1_bits, beta2_bits, beta2, one_minus_beta1,
                one_minus_beta2, eps, weight_decay, decay_factor,
                BLOCK: tl.constexpr, EVEN: tl.constexpr, ALIGN: tl.constexpr,
                AMSGRAD: tl.constexpr, MAXIMIZE: tl.constexpr,
                DECOUPLED: tl.constexpr, PER_TENSOR: tl.constexpr,
                DEVICE_STEPS: tl.constexpr):
    """Adam (AdamW with DECOUPLED, AMSGrad with AMSGRAD) on one block of one tensor.

    ``step_size = lr / (1 - beta1^t)`` and ``bias_correction2_sqrt = sqrt(1 - beta2^t)``:
    the bias corrections, computed in float64 and rounded once to float32, in one of three
    places. On the host, passed as two numbers, when every tensor has the same step count t
    (the usual case); on the host, as a float32 table ``scalars[tensor]`` (PER_TENSOR),
    where the counts differ; or here (DEVICE_STEPS, capturable=True), from each tensor's
    step count read on the device (its address is the last role of the table), so that
    nothing waits for the host and a CUDA graph can replay the step. Here ``lr`` and the
    betas arrive as the bits of Python's float64 (a kernel's float arguments are float32),
    and ``bias_corrections`` does the host's arithmetic operation for operation: the same
    bits. The other scalars come computed in float64 too (``1 - beta2``, ``decay_factor =
    1 - lr * weight_decay``), as torch computes them: ``1 - beta2`` taken in float32 would
    be off by 1e-5 relative. (Lines kept within 80 columns: chapter 10 prints this code.)
    """
    program = tl.program_id(0)
    tensor = tl.load(block_tensor + program)
    offsets = (tl.multiple_of(tl.load(block_start + program), BLOCK)
               + tl.arange(0, BLOCK))
    mask = None if EVEN else offsets < tl.load(numels + tensor)
    base = addresses + tensor                  # role r at base + r * n_tensors
    param_ptr = tl.multiple_of(tl.load(base).to(FLOAT_PTR), ALIGN) + offsets
    exp_avg_ptr = tl.multiple_of(
        tl.load(base + 2 * n_tensors).to(FLOAT_PTR), ALIGN) + offsets
    exp_avg_sq_ptr = tl.multiple_of(
        tl.load(base + 3 * n_tensors).to(FLOAT_PTR), ALIGN) + offsets
    param = tl.load(param_ptr, mask=mask)      # read: 4 bytes each ...
    grad_ptr = tl.multiple_of(
        tl.load(base + n_tensors).to(FLOAT_PTR), ALIGN) + offsets
    grad = tl.load(grad_ptr, mask=mask)
    exp_avg = tl.load(exp_avg_ptr, mask=mask)
    exp_avg_sq = tl.load(exp_avg_sq_ptr, mask=mask)
    if PER_TENSOR:                             # else: the arguments
        step_size = tl.load(scalars + 2 * tensor)  # lr / bias_correction1
        bias_correction2_sqrt = tl.load(scalars + 2 * tensor + 1)
    if DEVICE_STEPS:                           # the step count t, on the device
        step_ptr = tl.load(
            base + (5 if AMSGRAD else 4) * n_tensors).to(FLOAT_PTR)
        step_size, bias_correction2_sqrt = bias_corrections(
            tl.load(step_ptr).to(tl.int64), lr_bits, beta1_bits, beta2_bits)

    if MAXIMIZE:                               # constexpr: compiled away
        grad = -grad
    if DECOUPLED:                              # AdamW: shrink the weights
        param = param * decay_factor
    else:                                      # Adam: L2 in the gradient
        grad = grad + weight_decay * param
    exp_avg = tl.where(                        # m = b1 m + (1 - b1) g, in
        one_minus_beta1 < 0.5,                 # torch.lerp's two forms
        exp_avg + one_minus_beta1 * (grad - exp_avg),
        grad - (grad - exp_avg) * (1.0 - one_minus_beta1))
    # v = b2 v + (1 - b2) g^2
    exp_avg_sq = exp_avg_sq * beta2 + one_minus_beta2 * grad * grad
    second = exp_avg_sq
    if AMSGRAD:                                # v_max = max(v_max, v)
        max_ptr = tl.multiple_of(
            tl.load(base + 4 * n_tensors).to(FLOAT_PTR), ALIGN) + offsets
        second = tl.maximum(tl.load(max_ptr, mask=mask), exp_avg_sq)
        tl.store(max_ptr, second, mask=mask)
    denom = tl.sqrt(second) / bias_correction2_sqrt + eps
    param = param - step_size * exp_avg / denom  # torch's addcdiv order

    tl.store(param_ptr, param, mask=mask)      # ... written: 4 bytes each
    tl.store(exp_avg_ptr, exp_avg, mask=mask)
    tl.store(exp_avg_sq_ptr, exp_avg_sq, mask=mask)


@triton.jit
def sgd_kernel(addresses, n_tensors, block_tensor, block_start, numels,
               lr, momentum, one_minus_dampening, weight_decay,
               BLOCK: tl.constexpr, EVEN: tl.constexpr, ALIGN: tl.constexpr,
               MOMENTUM: tl.constexpr, FIRST_STEP: tl.constexpr,
               NESTEROV: tl.constexpr, MAXIMIZE: tl.constexpr):
    """SGD with momentum (torch.optim.SGD's form) on one block of one tensor.

    Roles: 0 param, 1 grad, 2 momentum buffer. FIRST_STEP: the buffer starts as the
    gradient (b_1 = g_1), as in torch, not as (1 - dampening) g_1.
    """
    program = tl.program_id(0)
    tensor = tl.load(block_tensor + program)
    offsets = tl.multiple_of(tl.load(block_start + program), BLOCK) + tl.arange(0, BLOCK)
    mask = None if EVEN else offsets < tl.load(numels + tensor)
    base = addresses + tensor                                  # role r at base + r * n_tensors
    param_ptr = tl.multiple_of(tl.load(base).to(FLOAT_PTR), ALIGN) + offsets
    param = tl.load(param_ptr, mask=mask)
    grad_ptr = tl.multiple_of(tl.load(base + n_tensors).to(FLOAT_PTR), ALIGN) + offsets
    grad = tl.load(grad_ptr, mask=mask)
    if MAXIMIZE:
        grad = -grad
    grad = grad + weight_decay * param
    if MOMENTUM:
        buffer_ptr = tl.multiple_of(tl.load(base + 2 * n_tensors).to(FLOAT_PTR), ALIGN) + offsets
        if FIRST_STEP:
            buffer = grad
        else:
            buffer = tl.load(buffer_ptr, mask=mask) * momentum + one_minus_dampening * grad
        tl.store(buffer_ptr, buffer, mask=mask)
        if NESTEROV:
            grad = grad + momentum * buffer
        else:
            grad = buffer
    tl.store(param_ptr, param - lr * grad, mask=mask)


@triton.jit
def rmsprop_kernel(addresses, n_tensors, block_tensor, block_start, numels,
                   lr, alpha, one_minus_alpha, eps, weight_decay, momentum,
                   BLOCK: tl.constexpr, EVEN: tl.constexpr, ALIGN: tl.constexpr,
                   CENTERED: tl.constexpr, MOMENTUM: tl.constexpr,
                   MAXIMIZE: tl.constexpr):
    """RMSprop (torch.optim.RMSprop's form) on one block of one tensor.

    Roles: 0 param, 1 grad, 2 square_avg, 3 grad_avg (CENTERED), 4 momentum buffer.
    """
    program = tl.program_id(0)
    tensor = tl.load(block_tensor + program)
    offsets = tl.multiple_of(tl.load(block_start + program), BLOCK) + tl.arange(0, BLOCK)
    mask = None if EVEN else offsets < tl.load(numels + tensor)
    base = addresses + tensor                                  # role r at base + r * n_tensors
    param_ptr = tl.multiple_of(tl.load(base).to(FLOAT_PTR), ALIGN) + offsets
    square_avg_ptr = tl.multiple_of(tl.load(base + 2 * n_tensors).to(FLOAT_PTR), ALIGN) + offsets
    param = tl.load(param_ptr, mask=mask)
    grad_ptr = tl.multiple_of(tl.load(base + n_tensors).to(FLOAT_PTR), ALIGN) + offsets
    grad = tl.load(grad_ptr, mask=mask)
    if MAXIMIZE:
        grad = -grad
    grad = grad + weight_decay * param
    square_avg = tl.load(square_avg_ptr, mask=mask) * alpha + one_minus_alpha * grad * grad
    tl.store(square_avg_ptr, square_avg, mask=mask)
    if CENTERED:                                               # subtract the mean's square
        grad_avg_ptr = tl.multiple_of(tl.load(base + 3 * n_tensors).to(FLOAT_PTR), ALIGN) + offsets
        grad_avg = tl.load(grad_avg_ptr, mask=mask)
        grad_avg = tl.where(one_minus_alpha < 0.5,             # torch.lerp's two forms
                            grad_avg + one_minus_alpha * (grad - grad_avg),
                            grad - (grad - grad_avg) * (1.0 - one_minus_alpha))
        tl.store(grad_avg_ptr, grad_avg, mask=mask)
        avg = tl.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        avg = tl.sqrt(square_avg) + eps
    if MOMENTUM:
        buffer_ptr = tl.multiple_of(tl.load(base + 4 * n_tensors).to(FLOAT_PTR), ALIGN) + offsets
        buffer = tl.load(buffer_ptr, mask=mask) * momentum + grad / avg
        tl.store(buffer_ptr, buffer, mask=mask)
        param = param - lr * buffer
    else:
        param = param - lr * grad / avg
    tl.store(param_ptr, param, mask=mask)
