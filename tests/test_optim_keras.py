"""ddlopt's Keras optimizers against Keras 3 itself (keras on its torch backend, float64).

Every name ``keras.optimizers.get`` resolves resolves in ``ddlopt.optim.get`` to a class with
Keras's defaults, and follows Keras's trajectory over 600 steps of a noisy quadratic on four
parameters (a matrix, a vector, a 3-D array, a scalar) to 1e-10 relative, with Keras's own
options (legacy decay, decoupled weight decay, clipping) among the cases; the seeds' Keras
lines run as written with ``from ddlopt import optimizers, losses, metrics``.
"""

import numpy as np
import pytest

from keras_reference import (EveryStep, ddlopt_trajectory, keras, keras_options,
                             keras_trajectory, repaired)
from optim_harness import max_relative_error, resume_is_bit_identical

import ddlopt
from ddlopt import losses, metrics, optim, optimizers
from ddlopt.nn import Dense, Sequential

STEPS = 600
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")   # keras on NumPy 2
TOLERANCE = 1e-10   # float64; measured at most 6e-13 (the largest: Lion with weight decay)

CASES = [
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "decay": 0.01, "weight_decay": 0.01}),
    ("rmsprop", {}),
    ("rmsprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.9, "clipnorm": 0.5}),
    ("rmsprop", {"lr": 0.001, "rho": 0.9, "epsilon": None, "decay": 0.01}),   # a seed's line
    ("adam", {}),
    ("adam", {"learning_rate": 0.01, "amsgrad": True, "weight_decay": 0.01, "clipvalue": 0.2,
              "decay": 0.003}),
    ("adamw", {}),
    ("adamw", {"weight_decay": 0.1, "amsgrad": True, "global_clipnorm": 1.0}),
    ("adagrad", {}),
    ("adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.0, "epsilon": 1e-3}),
    ("adadelta", {}),
    ("adadelta", {"learning_rate": 1.0, "rho": 0.9}),
    ("adamax", {}),
    ("adamax", {"learning_rate": 0.01, "beta_2": 0.99}),
    ("nadam", {}),
    ("nadam", {"learning_rate": 0.01, "weight_decay": 0.01}),
    ("ftrl", {}),
    ("ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.01,
              "l2_regularization_strength": 0.01, "l2_shrinkage_regularization_strength": 0.01,
              "beta": 0.1}),
    ("ftrl", {"learning_rate": 0.1, "learning_rate_power": -1.0}),
    ("lion", {}),
    ("lion", {"beta_1": 0.95, "beta_2": 0.98, "weight_decay": 0.1}),
    ("adafactor", {}),
    ("adafactor", {"learning_rate": 0.01, "clip_threshold": 0.5, "weight_decay": 0.01}),
    ("muon", {}),
    ("muon", {"nesterov": False, "rms_rate": None, "momentum": 0.9, "learning_rate": 0.01}),
    ("schedulefreeadamw", {}),
    ("schedulefreeadamw", {"warmup_steps": 50, "weight_decay": 0.01}),
]


def keras_resolvable_names():
    """The names keras.optimizers.get resolves on its own (no configuration needed)."""
    from keras.src.optimizers import ALL_OBJECTS_DICT

    names = []
    for name in ALL_OBJECTS_DICT:
        try:
            keras.optimizers.get(name)
        except (ValueError, TypeError, KeyError):
            continue
        names.append(name)
    return sorted(names)


def test_every_name_keras_resolves_resolves_here_and_no_other():
    assert keras_resolvable_names() == sorted(optim.KERAS_NAMES)
    assert len(optim.KERAS_NAMES) == 13


@pytest.mark.parametrize("name", sorted(optim.KERAS_NAMES))
def test_get_gives_keras_class_and_defaults(name):
    ours, theirs = optim.get(name), keras.optimizers.get(name)
    assert type(ours).keras_name == type(theirs).__name__
    assert not ours.built
    config = theirs.get_config()
    checked = 0
    for key, value in ours.defaults.items():
        keras_key = "learning_rate" if key == "lr" else key
        if keras_key in config:
            assert value == config[keras_key], key
            checked += 1
    assert checked == len(ours.defaults) - 1   # all but Keras 2's decay, which Keras 3 lacks
    signature = set(keras.optimizers.get(name).__init__.__code__.co_varnames)
    assert {"learning_rate" if k == "lr" else k for k in ours.defaults} - {"decay"} <= signature


@pytest.mark.parametrize("name, options", CASES, ids=lambda x: x if isinstance(x, str) else
                         ",".join(f"{k}={v}" for k, v in x.items()) or "defaults")
def test_trajectory_follows_keras(name, options):
    problem = EveryStep(STEPS, seed=1)
    reference = keras_trajectory(name, options, problem)
    ours = ddlopt_trajectory(optim.get(name, **options), problem)
    assert max_relative_error(ours, reference) <= TOLERANCE
    assert max_relative_error([ours[-1]], [problem.initial]) > 1e-4   # it did move


@pytest.mark.parametrize("name, options", [
    ("rmsprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.9, "clipnorm": 0.5}),
    ("adamw", {"weight_decay": 0.1, "amsgrad": True, "global_clipnorm": 1.0}),
    ("adafactor", {}),
    ("muon", {"nesterov": False, "rms_rate": None, "momentum": 0.9, "learning_rate": 0.01}),
])
def test_keras_as_shipped_rounds_some_scalars_to_float32(name, options):
    """Keras's type promotion maps float64 to float32 on torch (see keras_reference), in
    the clipping norms, Adafactor's min/max and Muon's norm: as shipped it parts from
    float64 arithmetic at about 1e-8 (measured 2e-8 .. 5e-7 over 600 steps), and only that
    far: the repaired Keras agrees to 1e-10 above."""
    from keras.src.backend.common import dtypes

    assert dtypes.result_type("float64", float) == "float32"
    with repaired():
        assert dtypes.result_type("float64", float) == "float64"
    problem = EveryStep(STEPS, seed=1)
    ours = ddlopt_trajectory(optim.get(name, **options), problem)
    error = max_relative_error(ours, keras_trajectory(name, options, problem, as_shipped=True))
    assert 1e-10 < error < 1e-6


def aliased_schedule_free_update(param, grad, state, *, learning_rate, beta_1=0.9,
                                 beta_2=0.999, epsilon=1e-8, warmup_steps=0):
    """What Keras 3.15's ScheduleFreeAdamW computes on torch: x_old from the *new* z."""
    state["step"] += 1
    t = state["step"]
    if warmup_steps > 0:
        learning_rate = learning_rate * min(t / warmup_steps, 1.0)
    z, v = state["z"], state["v"]
    v += (grad * grad - v) * (1 - beta_2)
    z -= learning_rate * grad / (np.sqrt(v / (1 - beta_2**t)) + epsilon)
    x = (param - (1 - beta_1) * z) / beta_1
    param[...] = (1 - beta_1) * z + beta_1 * ((1 - 1 / t) * x + (1 / t) * z)


def test_keras_schedule_free_on_torch_reads_the_new_momentum():
    """ddlopt computes what Keras's code says (and JAX runs); Keras on torch, as shipped,
    is that formula with x_old taken from the updated z, and a different trajectory."""
    problem = EveryStep(STEPS, seed=1)
    shipped = keras_trajectory("schedulefreeadamw", {}, problem, as_shipped=True)
    ours = ddlopt_trajectory(optim.get("schedulefreeadamw"), problem)
    assert max_relative_error(ours, shipped) > 0.1
    aliased = optim.get("schedulefreeadamw")
    aliased.update = aliased_schedule_free_update
    assert max_relative_error(ddlopt_trajectory(aliased, problem), shipped) <= TOLERANCE


# ---- Keras 2's spellings, the legacy decay --------------------------------------------------
def test_keras_2_spellings():
    adam = optimizers.Adam(lr=0.002, beta_1=0.9, beta_2=0.999, epsilon=None, decay=0.0,
                           amsgrad=False)
    assert (adam.defaults["lr"], adam.defaults["epsilon"]) == (0.002, 1e-7)
    assert adam.learning_rate == 0.002
    with pytest.raises(ValueError, match="lr is the old name of learning_rate"):
        optimizers.Adam(learning_rate=0.01, lr=0.02)
    assert optimizers.SGD(lr=0.5, learning_rate=0.5).defaults["lr"] == 0.5


def test_legacy_decay_is_inverse_time_per_step():
    p = ddlopt.Parameter(np.zeros(1))
    opt = optimizers.SGD(lr=0.1, decay=0.5).build([p])
    for k in range(4):
        assert opt.learning_rate == pytest.approx(0.1 / (1 + 0.5 * k), rel=1e-15)
        p.grad = np.ones(1)
        opt.step()
    assert p.data[0] == pytest.approx(-sum(0.1 / (1 + 0.5 * k) for k in range(4)), rel=1e-15)


def test_keras_sgd_velocity_holds_the_step_so_it_parts_from_torch_when_lr_changes():
    """At a constant learning rate Keras's SGD with momentum is torch's; under the legacy
    decay it is not: Keras's velocity keeps the earlier, larger steps, torch's buffer holds
    gradients and takes the new learning rate whole."""
    problem = EveryStep(200, seed=2)

    def torch_sgd(decay):
        params = [ddlopt.Parameter(x) for x in problem.initial]
        opt, trajectory = optim.SGD(params, lr=0.05, momentum=0.9), []
        for t in range(problem.steps):
            opt.param_groups[0]["lr"] = 0.05 / (1 + decay * t)
            for i, p in enumerate(params):
                p.grad = problem.gradient(i, p.data, t)
            opt.step()
            trajectory.append([p.data.copy() for p in params])
        return trajectory

    for decay, parted in [(0.0, False), (0.05, True)]:
        keras_sgd = ddlopt_trajectory(optimizers.SGD(0.05, momentum=0.9, decay=decay), problem)
        error = max_relative_error(keras_sgd, torch_sgd(decay))
        assert error > 1e-3 if parted else error < TOLERANCE


# ---- binding at compile ---------------------------------------------------------------------
def tiny_binary_problem(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(float)


def tiny_model(seed=0):
    return Sequential([Dense(4, 8, "relu", rng=seed), Dense(8, 1, "sigmoid", rng=seed + 1)])


SEED_OPTIMIZERS = {
    "RMSprop(lr=0.001)": lambda: optimizers.RMSprop(lr=0.001),
    "SGD(lr=0.01, momentum=0.0, decay=0.0, nesterov=False)":
        lambda: optimizers.SGD(lr=0.01, momentum=0.0, decay=0.0, nesterov=False),
    "Adam(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=None, decay=0.0, amsgrad=False)":
        lambda: optimizers.Adam(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=None, decay=0.0,
                                amsgrad=False),
    "RMSprop(lr=0.001, rho=0.9, epsilon=None, decay=0.0)":
        lambda: optimizers.RMSprop(lr=0.001, rho=0.9, epsilon=None, decay=0.0),
}


@pytest.mark.parametrize("line", SEED_OPTIMIZERS)
def test_the_seeds_keras_lines_run_as_written(line):
    """model.compile(optimizer=optimizers.X(...), loss=losses.binary_crossentropy,
    metrics=[metrics.binary_accuracy]), then one epoch of fit, as the seeds write it."""
    X, y = tiny_binary_problem()
    model = tiny_model()
    before = model.get_weights()
    model.compile(optimizer=SEED_OPTIMIZERS[line](), loss=losses.binary_crossentropy,
                  metrics=[metrics.binary_accuracy])
    history = model.fit(X, y, epochs=1, batch_size=16, verbose=0)
    assert set(history.history) == {"loss", "binary_accuracy", "lr"}
    assert np.isfinite(history.history["loss"][0])
    assert 0 <= history.history["binary_accuracy"][0] <= 1
    assert all(np.any(a != b) for a, b in zip(model.get_weights(), before))
    bound = {id(p) for g in model.optimizer.param_groups for p in g["params"]}
    assert bound == {id(p) for p in model.parameters()}


def test_seed_compile_line_matches_keras_fit():
    """The seeds' compile line in Keras and in ddlopt, same weights, shuffle=False: the
    History to Keras's float32 metric precision, the weights to 1e-10 after 3 epochs."""
    X, y = tiny_binary_problem()
    ours = tiny_model()
    ours.compile(optimizer=optimizers.RMSprop(lr=0.001), loss=losses.binary_crossentropy,
                 metrics=[metrics.binary_accuracy])
    theirs = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                               keras.layers.Dense(1, activation="sigmoid")])
    theirs.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.001),
                   loss=keras.losses.binary_crossentropy,
                   metrics=[keras.metrics.binary_accuracy])
    theirs.set_weights(ours.get_weights())
    history = ours.fit(X, y, epochs=3, batch_size=16, shuffle=False, verbose=0).history
    with repaired():   # as shipped Keras clips the probabilities in float32: 1e-8 apart
        reference = theirs.fit(X, y, epochs=3, batch_size=16, shuffle=False, verbose=0).history
    for key in ("loss", "binary_accuracy"):
        np.testing.assert_allclose(history[key], reference[key], rtol=1e-7)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_compile_binds_a_keras_optimizer_once():
    opt = optimizers.Adam()
    with pytest.raises(RuntimeError, match="has no parameters yet: compile a model with it"):
        opt.step()
    first, second = tiny_model(), tiny_model(seed=5)
    first.compile(optimizer=opt, loss="binary_crossentropy")
    assert opt.built and first.optimizer is opt
    with pytest.raises(ValueError, match="new for each model"):
        second.compile(optimizer=opt, loss="binary_crossentropy")
    with pytest.raises(ValueError, match="already bound to its parameters"):
        opt.build(second.parameters())
    named = tiny_model()
    named.compile(optimizer="nadam", loss="binary_crossentropy")
    assert isinstance(named.optimizer, optim.KerasNadam) and named.optimizer.built


@pytest.mark.parametrize("name", sorted(optim.KERAS_NAMES))
def test_resuming_a_keras_optimizer_is_bit_identical(name):
    """The state dict carries Keras's iteration count, which the legacy decay reads."""
    cls = type(optim.get(name))
    options = [{"lr": 0.01, "decay": 0.01}, {"lr": 0.02, "weight_decay": 0.1}]
    assert resume_is_bit_identical(cls, options, shapes=[(3, 4), (4,), (2, 3), ()])


# ---- bad arguments ------------------------------------------------------------------------
BAD = [
    ("SGD", dict(momentum=1.5), ValueError, "Invalid momentum value: 1.5"),
    ("SGD", dict(learning_rate="0.1"), TypeError, "learning_rate must be a real number"),
    ("SGD", dict(lr=-1.0), ValueError, "Invalid learning rate: -1.0"),
    ("SGD", dict(nesterov="yes"), TypeError, "nesterov must be True or False"),
    ("SGD", dict(decay=-0.1), ValueError, "Invalid decay value: -0.1"),
    ("SGD", dict(weight_decay=-0.1), ValueError, "Invalid weight_decay value: -0.1"),
    ("SGD", dict(clipnorm=-1.0), ValueError, "Invalid clipnorm value: -1.0"),
    ("SGD", dict(clipnorm=1.0, clipvalue=1.0), ValueError, "only one of clipnorm, clipvalue"),
    ("SGD", dict(use_ema=True), ValueError, "use_ema=True is not implemented in ddlopt"),
    ("SGD", dict(gradient_accumulation_steps=4), ValueError, "gradient_accumulation_steps=4"),
    ("SGD", dict(foo=1), TypeError, "SGD\\(\\) got an unexpected keyword argument 'foo'"),
    ("Nadam", dict(schedule_decay=0.004), TypeError, "unexpected keyword argument 'schedule_d"),
    ("RMSprop", dict(rho=1.5), ValueError, "Invalid rho value: 1.5"),
    ("RMSprop", dict(centered=1), TypeError, "centered must be True or False"),
    ("Adam", dict(beta_1=1.0), ValueError, "Invalid beta_1 value: 1.0"),
    ("Adam", dict(epsilon=-1.0), ValueError, "Invalid epsilon value: -1.0"),
    ("AdamW", dict(weight_decay=None), ValueError, "AdamW needs a weight_decay"),
    ("Adagrad", dict(initial_accumulator_value=-0.1), ValueError,
     "Invalid initial_accumulator_value value: -0.1"),
    ("Adadelta", dict(rho=2.0), ValueError, "Invalid rho value: 2.0"),
    ("Adamax", dict(beta_2=1.5), ValueError, "Invalid beta_2 value: 1.5"),
    ("Nadam", dict(beta_1=-0.1), ValueError, "Invalid beta_1 value: -0.1"),
    ("Ftrl", dict(learning_rate_power=0.5), ValueError, "Invalid learning_rate_power value: 0.5"),
    ("Ftrl", dict(l1_regularization_strength=-1.0), ValueError,
     "Invalid l1_regularization_strength value: -1.0"),
    ("Ftrl", dict(learning_rate=0.0), ValueError, "Invalid learning rate: 0 \\(FTRL divides"),
    ("Lion", dict(beta_1=0.0), ValueError, "Invalid beta_1 value: 0"),
    ("Adafactor", dict(beta_2_decay=0.5), ValueError, "Invalid beta_2_decay value: 0.5"),
    ("Adafactor", dict(clip_threshold=0.0), ValueError, "Invalid clip_threshold value: 0"),
    ("Muon", dict(ns_steps=2.5), ValueError, "ns_steps must be a non-negative integer"),
    ("Muon", dict(exclude_layers=["dense"]), ValueError, "exclude_layers matches Keras's"),
    ("ScheduleFreeAdamW", dict(warmup_steps=1.5), TypeError, "warmup_steps must be an integer"),
    ("ScheduleFreeAdamW", dict(beta_1=0.0), ValueError, "Invalid beta_1 value: 0"),
]


@pytest.mark.parametrize("name, kwargs, error, message", BAD)
def test_bad_arguments_raise_naming_the_argument(name, kwargs, error, message):
    with pytest.raises(error, match=message):
        getattr(optimizers, name)(**kwargs)
    if message.startswith("Invalid") and set(kwargs) <= {
            "momentum", "lr", "rho", "beta_1", "beta_2", "epsilon", "decay", "weight_decay"}:
        params = [ddlopt.Parameter(np.zeros(2))]   # a param group's own value is checked too
        with pytest.raises(error, match=message):
            getattr(optimizers, name)().build([{"params": params, **kwargs}])


def test_unknown_names():
    with pytest.raises(ValueError, match="unknown optimizer 'lamb': .* fails in Keras too"):
        optimizers.get("lamb")
    with pytest.raises(ValueError, match="known names: adadelta, adafactor, adagrad"):
        optimizers.get("adamz")


# ---- losses and metrics, Keras's functions ----------------------------------------------------
def test_loss_and_metric_functions_match_keras():
    rng = np.random.default_rng(3)
    labels = (rng.random((6, 3)) > 0.5).astype(float)
    probabilities = rng.uniform(0.01, 0.99, size=(6, 3))
    logits = rng.normal(size=(6, 3))
    one_hot = np.eye(3)[rng.integers(0, 3, 6)]
    softmax = losses.softmax(logits)
    cases = [
        (losses.mean_squared_error, keras.losses.mean_squared_error, (labels, probabilities)),
        (losses.mae, keras.losses.mean_absolute_error, (labels, probabilities)),
        (losses.huber, keras.losses.huber, (labels, 3 * logits)),
        (losses.binary_crossentropy, keras.losses.binary_crossentropy, (labels, probabilities)),
        (losses.categorical_crossentropy, keras.losses.categorical_crossentropy,
         (one_hot, softmax)),
        (losses.sparse_categorical_crossentropy, keras.losses.sparse_categorical_crossentropy,
         (one_hot.argmax(-1), softmax)),
        (metrics.binary_accuracy, keras.metrics.binary_accuracy, (labels, probabilities)),
        (metrics.categorical_accuracy, keras.metrics.categorical_accuracy, (one_hot, softmax)),
        (metrics.sparse_categorical_accuracy, keras.metrics.sparse_categorical_accuracy,
         (one_hot.argmax(-1), softmax)),
    ]
    for ours, theirs, args in cases:
        expected = keras.ops.convert_to_numpy(theirs(*args))
        assert ours(*args).shape == expected.shape, ours.__name__
        np.testing.assert_allclose(ours(*args), expected, rtol=1e-6, err_msg=ours.__name__)
    for ours, cls in [(losses.binary_crossentropy, losses.BinaryCrossentropy),
                      (losses.mse, losses.MeanSquaredError)]:
        assert type(losses.get(ours)) is cls   # what compile trains with
    with pytest.raises(TypeError, match="a function ddlopt cannot differentiate"):
        losses.get(lambda y_true, y_pred: 0.0)


def test_label_smoothing_and_sample_weight_match_keras_loss_objects():
    rng = np.random.default_rng(8)
    labels = rng.integers(0, 4, 12)
    one_hot, logits = np.eye(4)[labels], 2 * rng.normal(size=(12, 4))
    binary, binary_logits = (labels[:, None] > 1).astype(float), logits[:, :1]
    weight = rng.uniform(0.0, 3.0, size=12)
    cases = [
        (losses.get("binary_crossentropy", from_logits=True, label_smoothing=0.2),
         keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2),
         binary, binary_logits),
        (losses.get("binary_crossentropy", label_smoothing=0.1),
         keras.losses.BinaryCrossentropy(label_smoothing=0.1), binary,
         losses.sigmoid(binary_logits)),
        (losses.get("categorical_crossentropy", from_logits=True, label_smoothing=0.1),
         keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
         one_hot, logits),
        (losses.get("categorical_crossentropy", label_smoothing=0.3),
         keras.losses.CategoricalCrossentropy(label_smoothing=0.3), one_hot,
         losses.softmax(logits)),
        (losses.get("sparse_categorical_crossentropy", from_logits=True),
         keras.losses.SparseCategoricalCrossentropy(from_logits=True), labels, logits),
        (losses.get("mse"), keras.losses.MeanSquaredError(), one_hot, logits),
    ]
    for ours, theirs, y_true, y_pred in cases:
        expected = float(keras.ops.convert_to_numpy(theirs(y_true, y_pred)))
        assert ours(y_true, y_pred) == pytest.approx(expected, rel=1e-6), repr(ours)
        weighted = float(keras.ops.convert_to_numpy(theirs(y_true, y_pred, sample_weight=weight)))
        assert ours(y_true, y_pred, sample_weight=weight) == pytest.approx(weighted, rel=1e-6), \
            repr(ours)
