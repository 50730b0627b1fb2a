"""Chapter 11's optimizers (ddlopt.optim and ddlopt.torch, both paths) against their
references: torch.optim's Adadelta, Adamax, RAdam, Adafactor and Muon, lion_pytorch.Lion and
schedulefree.AdamWScheduleFree. 1000 float64 steps for every flag combination and two
param groups; Muon in torch's own bfloat16 against torch.optim.Muon; state dicts, bad
hyperparameters, lr_scheduler and Keras names."""

import itertools
import pickle

import lion_pytorch
import numpy as np
import pytest
import schedulefree
import torch

import ddlopt
import ddlopt.torch
from ddlopt import optim
from optim_harness import (Problem, all_trajectories, groups, max_relative_error,
                           numpy_trajectory, resume_is_bit_identical, torch_trajectory,
                           twin_state_loads_into_reference)

STEPS = 1000
TOLERANCE = 1e-10
MATRICES = [(3, 4), (5, 2), (4, 4), (2, 6)]   # Muon's problem: a wide, a tall, a square matrix
CLASSES = {
    "Adadelta": (optim.Adadelta, ddlopt.torch.Adadelta, torch.optim.Adadelta),
    "Adamax": (optim.Adamax, ddlopt.torch.Adamax, torch.optim.Adamax),
    "RAdam": (optim.RAdam, ddlopt.torch.RAdam, torch.optim.RAdam),
    "Adafactor": (optim.Adafactor, ddlopt.torch.Adafactor, torch.optim.Adafactor),
    "Lion": (optim.Lion, ddlopt.torch.Lion, lion_pytorch.Lion),
    "AdamWScheduleFree": (optim.AdamWScheduleFree, ddlopt.torch.AdamWScheduleFree,
                          schedulefree.AdamWScheduleFree),
}
# the first group gets the case's flags, the second overrides some hyperparameters
SECOND_GROUP = {
    "Adadelta": {"lr": 0.5, "rho": 0.8},
    "Adamax": {"lr": 0.003, "betas": (0.8, 0.99)},
    "RAdam": {"lr": 0.003, "betas": (0.8, 0.99)},
    "Adafactor": {"lr": 0.003, "beta2_decay": -0.5, "d": 2.0},
    "Lion": {"lr": 3e-4, "betas": (0.8, 0.95)},
    "AdamWScheduleFree": {"lr": 0.003, "betas": (0.8, 0.99)},
}
FIRST_LR = {"Adadelta": 1.0, "Adamax": 0.01, "RAdam": 0.01, "Adafactor": 0.01, "Lion": 1e-3,
            "AdamWScheduleFree": 0.01}
CASES = (
    [("Adadelta", dict(weight_decay=w, maximize=x, eps=1e-4))
     for w, x in itertools.product([0.0, 0.01], [False, True])]
    + [("Adamax", dict(weight_decay=w, maximize=x))
       for w, x in itertools.product([0.0, 0.01], [False, True])]
    + [("RAdam", dict(weight_decay=w, decoupled_weight_decay=d, maximize=x))
       for w, d, x in itertools.product([0.0, 0.01], [False, True], [False, True])]
    + [("Adafactor", dict(weight_decay=w, maximize=x, eps=(e, 1e-3)))
       for w, x, e in itertools.product([0.0, 0.01], [False, True], [None, 0.1])]
    + [("Lion", dict(weight_decay=w)) for w in [0.0, 0.1]]
    + [("AdamWScheduleFree", dict(weight_decay=w, warmup_steps=k, r=r, weight_lr_power=p))
       for w, k, r, p in itertools.product([0.0, 0.01], [0, 50], [0.0, 1.0], [2.0, 0.0])]
)


def ids(case):
    return case[0] + "-" + "-".join(f"{k}={v}" for k, v in case[1].items())


def params_of(opt):
    return [np.array(p.data if isinstance(p, ddlopt.Parameter) else p.detach().numpy())
            for g in opt.param_groups for p in g["params"]]


def train_eval_switching(evaluated):
    """A hook for the Schedule-Free runs: train() before the first step, and every 50 steps
    eval() (recording the averaged point x, the one to evaluate) and back to train()."""
    def hook(opt, t):
        if t > 0 and t % 50 == 0:
            opt.eval()
            evaluated.append(params_of(opt))
        opt.train()
    return hook


def compare(name, combo, steps, seed=0):
    options = [{"lr": FIRST_LR[name], **combo}, SECOND_GROUP[name]]
    extra, evaluated, hook = None, [], None
    if name == "Lion":
        extra = {}                      # lion_pytorch takes no foreach
    if name == "AdamWScheduleFree":
        hook = train_eval_switching(evaluated)
    problem, reference, trajectories = all_trajectories(
        *CLASSES[name], options, steps, seed=seed, maximize=combo.get("maximize", False),
        hook=hook, reference_extra=extra)
    return problem, reference, trajectories, evaluated


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_numpy_and_torch_twins_follow_their_reference_for_1000_steps(case):
    problem, reference, trajectories, evaluated = compare(*case, STEPS)
    for path, trajectory in trajectories.items():
        error = max_relative_error(trajectory, reference)
        assert error <= TOLERANCE, f"{path}: relative error {error:.2e}"
    moved = np.linalg.norm(reference[-1][0] - problem.initial[0]) / np.linalg.norm(problem.initial[0])
    assert moved > 0.1
    if evaluated:   # Schedule-Free: the eval() points (x) agree too, four runs of 19
        runs = [evaluated[19 * k:19 * (k + 1)] for k in range(4)]
        assert len(evaluated) == 4 * 19
        for run in runs[1:]:
            assert max_relative_error(run, runs[0]) <= TOLERANCE
        assert max_relative_error([runs[0][-1]], [reference[-1]]) > 1e-3   # x is not y


def test_schedule_free_step_in_eval_mode_raises():
    for cls in (optim.AdamWScheduleFree, ddlopt.torch.AdamWScheduleFree):
        p = ddlopt.Parameter([1.0]) if cls is optim.AdamWScheduleFree else torch.ones(1, requires_grad=True)
        opt = cls([p])
        p.grad = np.ones(1) if cls is optim.AdamWScheduleFree else torch.ones(1)
        with pytest.raises(RuntimeError, match=r"call optimizer.train\(\)"):
            opt.step()


def test_schedule_free_eval_then_train_returns_to_y():
    p = ddlopt.Parameter([1.0, -2.0])
    opt = optim.AdamWScheduleFree([p], lr=0.1)
    opt.train()
    for _ in range(5):
        p.grad = np.array([0.3, -0.1]) + p.data
        opt.step()
    y = p.data.copy()
    opt.eval()
    assert not np.allclose(p.data, y)
    opt.train()
    assert np.allclose(p.data, y, rtol=1e-14, atol=1e-15)


# ---- Muon ---------------------------------------------------------------------------------
MUON_CASES = [dict(nesterov=n, adjust_lr_fn=a, weight_decay=w)
              for n, a, w in itertools.product([True, False], [None, "match_rms_adamw"], [0.0, 0.1])]


@pytest.mark.parametrize("combo", MUON_CASES, ids=str)
def test_numpy_muon_follows_the_torch_twin_in_float64_for_1000_steps(combo):
    """NumPy has no bfloat16: the link NumPy <-> ddlopt.torch.Muon is proven in float64.

    The learning rates are small on purpose. Muon's step never shrinks, so at a constant
    rate the iterate rattles around the minimum, and orthogonalization magnifies the small
    singular directions of the momentum: the dynamics become chaotic. With lr=0.02 on the
    4x4 matrix, the two implementations agree to 5e-15 for 100 steps, then part by a factor
    of ten every ~30 steps (1e-1 by step 700); that is the problem's sensitivity, which any
    two correct float64 codes share, not a difference in the method."""
    options = [{"lr": 0.01, **combo}, {"lr": 0.005, "momentum": 0.9, "ns_steps": 4}]
    problem = Problem(STEPS, shapes=MATRICES)
    reference = torch_trajectory(ddlopt.torch.Muon, problem, options, ns_dtype=torch.float64,
                                 foreach=False)
    foreach = torch_trajectory(ddlopt.torch.Muon, problem, options, ns_dtype=torch.float64,
                               foreach=True)
    ours = numpy_trajectory(optim.Muon, problem, options)[0]
    assert max_relative_error(ours, reference) <= TOLERANCE
    assert max_relative_error(foreach, reference) <= TOLERANCE
    moved = np.linalg.norm(reference[-1][0] - problem.initial[0]) / np.linalg.norm(problem.initial[0])
    assert moved > 0.1


def muon_float32_run(cls, steps, foreach=None, options=None, scheduler=False):
    problem = Problem(steps, shapes=MATRICES)
    params = [torch.tensor(x, dtype=torch.float32, requires_grad=True) for x in problem.initial]
    extra = {} if foreach is None else {"foreach": foreach}
    opt = cls(groups(params, [{**o, **extra} for o in (options or [{}, {"lr": 0.02}])]))
    schedule = torch.optim.lr_scheduler.StepLR(opt, 30, 0.5) if scheduler else None
    trajectory = []
    for t in range(steps):
        for i, p in enumerate(params):
            p.grad = (torch.from_numpy(problem.gradient(i, p.detach().double().numpy(), t)).float()
                      if problem.has_grad(i, t) else None)
        opt.step()
        if schedule is not None:
            schedule.step()
        trajectory.append([p.detach().clone() for p in params])
    return trajectory


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("scheduler", [False, True])
def test_torch_muon_with_its_defaults_is_torch_optim_muon_to_the_bit(foreach, scheduler):
    """float32 parameters, torch's bfloat16 Newton–Schulz, 100 steps: bit-identical."""
    ours = muon_float32_run(ddlopt.torch.Muon, 100, foreach=foreach, scheduler=scheduler)
    theirs = muon_float32_run(torch.optim.Muon, 100, scheduler=scheduler)
    assert all(torch.equal(a, b) for x, y in zip(ours, theirs) for a, b in zip(x, y))
    assert not torch.equal(ours[-1][0], ours[0][0])


def test_newton_schulz_orthogonalizes():
    """Five steps bring singular values spread over a factor 60 into [0.6, 1.2] (Jordan's
    coefficients trade exactness for speed: not 1, but near it), in NumPy and in torch."""
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(8, 5)) @ np.diag([10.0, 5.0, 1.0, 0.5, 0.1])
    before = np.linalg.svd(matrix, compute_uv=False)
    assert before.max() / before.min() > 50
    for result in (optim.newton_schulz(matrix),
                   ddlopt.torch.newton_schulz(torch.from_numpy(matrix), dtype=torch.float64).numpy()):
        singular = np.linalg.svd(result, compute_uv=False)
        assert result.shape == (8, 5) and singular.min() > 0.6 and singular.max() < 1.2
    # and the two agree: the same iteration
    torch_result = ddlopt.torch.newton_schulz(torch.from_numpy(matrix), dtype=torch.float64)
    assert np.allclose(optim.newton_schulz(matrix), torch_result.numpy(), rtol=0, atol=1e-13)


def test_muon_takes_matrices_only():
    with pytest.raises(ValueError, match=r"Muon only supports 2D parameters .* \(4,\)"):
        optim.Muon([ddlopt.Parameter(np.zeros(4))])
    with pytest.raises(ValueError, match=r"Muon only supports 2D parameters .* \(2, 3, 4\)"):
        ddlopt.torch.Muon([torch.zeros(2, 3, 4, requires_grad=True)])


def test_split_for_muon_gives_hidden_matrices_to_muon_and_the_rest_to_adamw():
    model = torch.nn.Sequential(torch.nn.Embedding(10, 8), torch.nn.Linear(8, 16),
                                torch.nn.LayerNorm(16), torch.nn.Linear(16, 16),
                                torch.nn.Conv1d(16, 4, 3), torch.nn.Linear(4, 3))
    hidden, others = ddlopt.torch.split_for_muon(model)
    assert [tuple(p.shape) for p in hidden] == [(16, 8), (16, 16)]
    assert len(hidden) + len(others) == len(list(model.parameters()))
    assert {id(p) for p in others} >= {id(model[0].weight), id(model[5].weight), id(model[4].weight)}
    hidden, _ = ddlopt.torch.split_for_muon(model, output_layer=model[3])
    assert [tuple(p.shape) for p in hidden] == [(16, 8), (3, 4)]
    ddlopt.torch.Muon(hidden)   # all matrices


def test_split_for_muon_gives_the_input_layer_of_a_model_without_embeddings_to_adamw():
    # an MLP: the first Linear reads the raw input, the last gives the class scores
    mlp = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8),
                              torch.nn.ReLU(), torch.nn.Linear(8, 8), torch.nn.Linear(8, 3))
    hidden, others = ddlopt.torch.split_for_muon(mlp)
    assert [id(p) for p in hidden] == [id(mlp[2].weight), id(mlp[4].weight)]
    assert {id(mlp[0].weight), id(mlp[5].weight)} <= {id(p) for p in others}
    # None: the first Linear goes to Muon (the behaviour before input_layer existed)
    hidden, _ = ddlopt.torch.split_for_muon(mlp, input_layer=None)
    assert [id(p) for p in hidden] == [id(mlp[0].weight), id(mlp[2].weight), id(mlp[4].weight)]
    hidden, _ = ddlopt.torch.split_for_muon(mlp, input_layer=mlp[2], output_layer=None)
    assert [id(p) for p in hidden] == [id(mlp[0].weight), id(mlp[4].weight), id(mlp[5].weight)]
    # a frozen layer is nobody's
    mlp[2].weight.requires_grad_(False)
    hidden, others = ddlopt.torch.split_for_muon(mlp)
    assert [id(p) for p in hidden] == [id(mlp[4].weight)]
    assert id(mlp[2].weight) not in {id(p) for p in others}


def test_split_for_muon_rejects_a_layer_that_is_not_the_models():
    mlp = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Linear(8, 3))
    with pytest.raises(ValueError, match="input_layer must be a module of the model"):
        ddlopt.torch.split_for_muon(mlp, input_layer=torch.nn.Linear(5, 8))
    with pytest.raises(TypeError, match="output_layer must be 'auto', a module of the model"):
        ddlopt.torch.split_for_muon(mlp, output_layer="last")


# ---- state dicts ----------------------------------------------------------------------------
RESUME = [
    (optim.Adadelta, {}, None), (optim.Adamax, {}, None),
    (optim.RAdam, {"decoupled_weight_decay": True, "weight_decay": 0.01}, None),
    (optim.Adafactor, {"weight_decay": 0.01}, None), (optim.Lion, {"lr": 1e-3}, None),
    (optim.AdamWScheduleFree, {"warmup_steps": 150}, "switching"),
    (optim.Muon, {"lr": 0.01}, "matrices"),
]


@pytest.mark.parametrize("cls, first, special", RESUME, ids=lambda x: getattr(x, "__name__", None))
def test_resuming_from_a_state_dict_is_bit_identical(cls, first, special):
    hook = train_eval_switching([]) if special == "switching" else None
    shapes = MATRICES if special == "matrices" else Problem.__init__.__defaults__[-1]
    assert resume_is_bit_identical(cls, [first, {"lr": 0.003}], shapes=shapes, hook=hook)


TWINS = [
    (ddlopt.torch.Adadelta, {}), (ddlopt.torch.Adamax, {}), (ddlopt.torch.RAdam, {}),
    (ddlopt.torch.Adafactor, {}), (ddlopt.torch.Lion, {"lr": 1e-3}),
    (ddlopt.torch.AdamWScheduleFree, {"warmup_steps": 150}),
    (ddlopt.torch.Muon, {"lr": 0.01}),
]


def twin_run(cls, kwargs, start, stop, params, opt=None):
    problem = Problem(300, shapes=MATRICES)
    opt = opt or cls(params, **kwargs)
    for t in range(start, stop):
        if hasattr(opt, "train"):
            opt.train()
        for i, p in enumerate(params):
            p.grad = torch.from_numpy(problem.gradient(i, p.detach().numpy(), t))
        opt.step()
        if hasattr(opt, "eval") and t % 50 == 0:
            opt.eval()
    return opt


@pytest.mark.parametrize("cls, kwargs", TWINS, ids=lambda x: getattr(x, "__name__", None))
def test_torch_twins_resume_bit_identically(cls, kwargs):
    initial = Problem(300, shapes=MATRICES).initial
    straight = [torch.tensor(x, requires_grad=True) for x in initial]
    twin_run(cls, kwargs, 0, 300, straight)
    first = [torch.tensor(x, requires_grad=True) for x in initial]
    saved = pickle.loads(pickle.dumps(twin_run(cls, kwargs, 0, 120, first).state_dict()))
    resumed = [p.detach().clone().requires_grad_() for p in first]
    opt = cls(resumed, **kwargs)
    opt.load_state_dict(saved)
    twin_run(cls, kwargs, 120, 300, resumed, opt)
    assert all(torch.equal(a, b) for a, b in zip(resumed, straight))


@pytest.mark.parametrize("twin, reference, kwargs", [
    (ddlopt.torch.Adadelta, torch.optim.Adadelta, {"lr": 0.5}),
    (ddlopt.torch.Adamax, torch.optim.Adamax, {"lr": 0.01}),
    (ddlopt.torch.RAdam, torch.optim.RAdam, {"lr": 0.01, "decoupled_weight_decay": True}),
    (ddlopt.torch.Adafactor, torch.optim.Adafactor, {"lr": 0.01}),
    (ddlopt.torch.Lion, lion_pytorch.Lion, {"lr": 0.01}),
])
def test_torch_twin_state_dict_loads_into_the_reference(twin, reference, kwargs):
    assert twin_state_loads_into_reference(twin, reference, kwargs)


def test_numpy_adafactor_rejects_factors_of_the_wrong_shape():
    p = ddlopt.Parameter(np.ones((3, 4)))
    opt = optim.Adafactor([p])
    p.grad = np.ones((3, 4))
    opt.step()
    saved = opt.state_dict()
    saved["state"][0]["row_var"] = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"'row_var' has shape \(3, 4\), expected \(3, 1\)"):
        optim.Adafactor([ddlopt.Parameter(np.ones((3, 4)))]).load_state_dict(saved)


# ---- under a torch lr_scheduler ----------------------------------------------------------
@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "RAdam", "Adafactor", "Lion",
                                  "AdamWScheduleFree"])
def test_twins_follow_their_reference_under_an_lr_scheduler(name):
    _, twin, reference = CLASSES[name]
    schedulers = {}

    def hook(opt, t):
        if hasattr(opt, "train"):
            opt.train()
        if t == 0:
            schedulers[id(opt)] = torch.optim.lr_scheduler.StepLR(opt, step_size=100, gamma=0.5)
        else:
            schedulers[id(opt)].step()

    problem = Problem(300)
    options = [{"lr": FIRST_LR[name]}, SECOND_GROUP[name]]
    theirs = torch_trajectory(reference, problem, options, hook=hook)
    for foreach in (False, True):
        ours = torch_trajectory(twin, problem, options, hook=hook, foreach=foreach)
        assert max_relative_error(ours, theirs) <= TOLERANCE
    last = [s for s in schedulers.values()][-1]
    assert last.get_last_lr()[0] == pytest.approx(FIRST_LR[name] / 4)


# ---- bad hyperparameters -------------------------------------------------------------------
BAD = [
    ("Adadelta", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
    ("Adadelta", dict(eps=-1e-6), "Invalid epsilon value: -1e-06"),
    ("Adadelta", dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    ("Adamax", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("Adamax", dict(eps=-1.0), "Invalid epsilon value: -1.0"),
    ("Adamax", dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    ("Adamax", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    ("Adamax", dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    ("RAdam", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("RAdam", dict(eps=-1.0), "Invalid epsilon value: -1.0"),
    ("RAdam", dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    ("RAdam", dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    ("Adafactor", dict(lr=-1.0), "Learning rate should be >= 0 but is: -1.0"),
    ("Adafactor", dict(beta2_decay=0.5), "beta2_decay should be <= 0 but is: 0.5"),
    ("Adafactor", dict(eps=(-1.0, 1e-3)), "epsilon1 should be >= 0 but is: -1.0"),
    ("Adafactor", dict(eps=(None, -1.0)), "epsilon2 should be >= 0 but is: -1.0"),
    ("Adafactor", dict(d=0.5), "Clipping threshold d should be >= 1 but is: 0.5"),
    ("Adafactor", dict(weight_decay=-0.1), "weight_decay should be >= 0 but is: -0.1"),
    ("Lion", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("Lion", dict(betas=(1.5, 0.99)), "Invalid beta parameter at index 0: 1.5"),
    ("Lion", dict(betas=(0.9, -0.5)), "Invalid beta parameter at index 1: -0.5"),
    ("Lion", dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    ("AdamWScheduleFree", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("AdamWScheduleFree", dict(betas=(0.0, 0.999)), "Invalid beta parameter at index 0: 0.0"),
    ("AdamWScheduleFree", dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    ("AdamWScheduleFree", dict(eps=-1.0), "Invalid epsilon value: -1.0"),
    ("AdamWScheduleFree", dict(weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
    ("AdamWScheduleFree", dict(warmup_steps=-5), "Invalid warmup_steps value: -5"),
    ("AdamWScheduleFree", dict(r=-1.0), "Invalid r value: -1.0"),
    ("AdamWScheduleFree", dict(weight_lr_power=-1.0), "Invalid weight_lr_power value: -1.0"),
    ("Muon", dict(lr=-1.0), "Learning rate should be >= 0 but is: -1.0"),
    ("Muon", dict(momentum=-0.5), "momentum should be >= 0 but is: -0.5"),
    ("Muon", dict(weight_decay=-0.1), "weight decay should be >= 0 but is: -0.1"),
    ("Muon", dict(eps=-1.0), "eps should be >= 0 but is: -1.0"),
    ("Muon", dict(adjust_lr_fn="fast"), "Adjust learning rate function fast is not supported"),
    ("Muon", dict(ns_steps=100), r"ns_steps must be an integer in \[0, 100\), got 100"),
    ("Muon", dict(ns_coefficients=(1.0, 2.0)), r"ns_coefficients must be three numbers"),
]
MUON = (optim.Muon, ddlopt.torch.Muon)


@pytest.mark.parametrize("name, kwargs, message", BAD, ids=lambda x: str(x))
@pytest.mark.parametrize("which", ["numpy", "torch"])
def test_bad_hyperparameters_raise_a_value_error_naming_them(name, kwargs, message, which):
    numpy_cls, twin_cls = MUON if name == "Muon" else CLASSES[name][:2]
    cls, param = ((numpy_cls, ddlopt.Parameter(np.zeros((2, 2)))) if which == "numpy"
                  else (twin_cls, torch.zeros(2, 2, requires_grad=True)))
    with pytest.raises(ValueError, match=message):
        cls([param], **kwargs)
    with pytest.raises(ValueError, match=message):
        cls([{"params": [param], **kwargs}])


def test_bad_types_raise_type_errors():
    with pytest.raises(TypeError, match="maximize must be True or False"):
        optim.Adadelta([ddlopt.Parameter([0.0])], maximize="yes")
    with pytest.raises(TypeError, match="eps must be a pair"):
        optim.Adafactor([ddlopt.Parameter([0.0])], eps=1e-3)
    with pytest.raises(TypeError, match="warmup_steps must be an integer"):
        optim.AdamWScheduleFree([ddlopt.Parameter([0.0])], warmup_steps=2.5)
    with pytest.raises(TypeError, match="ns_dtype must be a floating torch.dtype"):
        ddlopt.torch.Muon([torch.zeros(2, 2, requires_grad=True)], ns_dtype="bf16")


# ---- Keras names ------------------------------------------------------------------------------
@pytest.mark.parametrize("name, cls, expected", [
    ("adadelta", optim.KerasAdadelta, {"lr": 0.001, "rho": 0.95, "epsilon": 1e-7}),
    ("adamax", optim.KerasAdamax, {"lr": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
    ("adafactor", optim.KerasAdafactor, {"lr": 0.001, "beta_2_decay": -0.8, "epsilon_1": 1e-30,
                                         "epsilon_2": 1e-3, "clip_threshold": 1.0}),
    ("lion", optim.KerasLion, {"lr": 0.001, "beta_1": 0.9, "beta_2": 0.99}),
])
def test_get_gives_keras_defaults(name, cls, expected):
    opt = optim.get(name, [ddlopt.Parameter([0.0])])
    assert type(opt) is cls
    assert {k: opt.param_groups[0][k] for k in expected} == expected
    renamed = optim.get(name.upper(), [ddlopt.Parameter([0.0])], learning_rate=0.05)
    assert renamed.param_groups[0]["lr"] == 0.05


# ---- the reference packages stay test-only ---------------------------------------------------
def test_neither_ddlopt_nor_the_chapter_uses_the_reference_packages():
    import json
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, ddlopt, ddlopt.torch, ddlopt.optim, ddlopt.check; "
            "print(sorted(m for m in sys.modules if m.startswith(('lion_pytorch', 'schedulefree'))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
    chapter = Path(__file__).resolve().parent.parent / "book" / "11_after_adam.ipynb"
    sources = "".join("".join(c["source"]) for c in json.loads(chapter.read_text())["cells"]
                      if c["cell_type"] == "code")
    assert "lion_pytorch" not in sources and "import schedulefree" not in sources
