"""The generated train()'s optimizers, schedules, validation split, early stopping and resumable
state: trajectories against torch.optim (skipped without torch), resumed runs against whole ones,
and the refusals of every new argument."""

from __future__ import annotations

import numpy as np
import pytest

from symbackprop import Network
from symbackprop.codegen import generate_module, load_module

#: Each optimizer with train()'s options, and torch.optim's class and options for the same update.
CASES = [
    ("sgd", {}, "SGD", {}),
    ("sgd", {"weight_decay": 0.05}, "SGD", {"weight_decay": 0.05}),
    ("momentum", {}, "SGD", {"momentum": 0.9}),
    ("momentum", {"momentum": 0.5, "weight_decay": 0.05}, "SGD", {"momentum": 0.5, "weight_decay": 0.05}),
    ("nesterov", {}, "SGD", {"momentum": 0.9, "nesterov": True}),
    ("nesterov", {"weight_decay": 0.05}, "SGD", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.05}),
    ("adam", {}, "Adam", {}),
    (
        "adam",
        {"betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05},
        "Adam",
        {"betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05},
    ),
    ("adamw", {}, "AdamW", {}),
    ("adamw", {"weight_decay": 0.2, "betas": (0.5, 0.9)}, "AdamW", {"weight_decay": 0.2, "betas": (0.5, 0.9)}),
]


@pytest.fixture(scope="module")
def mlp():  # type: ignore[no-untyped-def]
    return load_module(generate_module(Network([3, 4, 2, 2], ["tanh", "relu", "sigmoid"], "sse")))


@pytest.fixture(scope="module")
def softmax():  # type: ignore[no-untyped-def]
    return load_module(generate_module(Network([2, 5, 3], ["tanh", "softmax"], "cce")))


def regression(rows: int = 40):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    return rng.normal(size=(rows, 3)), rng.uniform(size=(rows, 2))


def classes(rows: int = 60):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(4)
    X = rng.normal(size=(rows, 2))
    return X, np.eye(3)[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]


def torch_trajectory(module, start, X, Y, batches, steps, name, options, lrs):  # type: ignore[no-untyped-def]
    """The parameters after ``steps`` steps of torch.optim's ``name`` on the module's own gradients
    of the batches taken in order (``lrs``: the learning rate of each epoch of len(batches) steps)."""
    torch = pytest.importorskip("torch")
    tensors = {key: torch.tensor(value.copy(), dtype=torch.float64) for key, value in start.items()}
    optimizer = getattr(torch.optim, name)(list(tensors.values()), lr=lrs[0], **options)
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lrs[step // len(batches)]
        rows = batches[step % len(batches)]
        _, grads = module.loss_and_grads({key: t.numpy() for key, t in tensors.items()}, X[rows], Y[rows])
        for key, tensor in tensors.items():
            tensor.grad = torch.tensor(grads[key])
        optimizer.step()
    return {key: tensor.numpy() for key, tensor in tensors.items()}


def relative_error(mine, theirs) -> float:  # type: ignore[no-untyped-def]
    """The largest difference of a parameter over the largest parameter."""
    scale = max(float(np.max(np.abs(theirs[k]))) for k in theirs)
    return max(float(np.max(np.abs(mine[k] - theirs[k]))) for k in theirs) / scale


@pytest.mark.parametrize(("optimizer", "options", "torch_name", "torch_options"), CASES)
def test_each_optimizer_follows_torch_optim_for_100_steps(mlp, optimizer, options, torch_name, torch_options):
    X, Y = regression()
    start = mlp.init_params(1)
    # 20 epochs of 5 mini-batches of 8 rows, in order: 100 steps.
    params, _ = mlp.train(
        X, Y, epochs=20, lr=0.05, batch_size=8, shuffle=False, params=start, optimizer=optimizer, **options
    )
    batches = [np.arange(s, s + 8) for s in range(0, 40, 8)]
    theirs = torch_trajectory(mlp, start, X, Y, batches, 100, torch_name, torch_options, [0.05] * 20)
    assert relative_error(params, theirs) < 1e-10
    assert relative_error(params, start) > 1e-3  # the parameters moved


@pytest.mark.parametrize(
    ("schedule", "options", "torch_scheduler"),
    [
        ("step", {"step_size": 7, "gamma": 0.5}, ("StepLR", {"step_size": 7, "gamma": 0.5})),
        ("cosine", {}, ("CosineAnnealingLR", {"T_max": 25})),
    ],
)
def test_schedules_follow_torch_lr_scheduler(mlp, schedule, options, torch_scheduler):
    torch = pytest.importorskip("torch")
    X, Y = regression()
    start = mlp.init_params(2)
    params, history = mlp.train(
        X,
        Y,
        epochs=25,
        lr=0.1,
        batch_size=10,
        shuffle=False,
        params=start,
        optimizer="momentum",
        schedule=schedule,
        **options,
    )
    probe = torch.optim.SGD([torch.zeros(1)], lr=0.1)
    scheduler = getattr(torch.optim.lr_scheduler, torch_scheduler[0])(probe, **torch_scheduler[1])
    lrs = []
    for _ in range(25):
        lrs.append(probe.param_groups[0]["lr"])
        probe.step()
        scheduler.step()
    np.testing.assert_allclose(history["lr"], lrs, rtol=1e-12, atol=0)
    batches = [np.arange(s, s + 10) for s in range(0, 40, 10)]
    theirs = torch_trajectory(mlp, start, X, Y, batches, 100, "SGD", {"momentum": 0.9}, lrs)
    assert relative_error(params, theirs) < 1e-10


@pytest.mark.parametrize(
    ("optimizer", "extra"),
    [
        ("sgd", {}),
        ("nesterov", {"schedule": "cosine", "t_max": 100}),
        ("adam", {"validation": 0.25}),
        ("adamw", {"schedule": "step", "step_size": 30}),
    ],
)
def test_50_then_50_resumed_epochs_equal_100(mlp, tmp_path, optimizer, extra):
    X, Y = regression()
    common = {"lr": 0.02, "batch_size": 6, "seed": 5, "optimizer": optimizer, **extra}
    whole, whole_history = mlp.train(X, Y, epochs=100, **common)
    state: dict = {}
    half, first = mlp.train(X, Y, epochs=50, state=state, **common)
    steps_per_epoch = -(-(30 if "validation" in extra else 40) // 6)
    assert state["optimizer"] == optimizer and state["epoch"] == 50 and state["step"] == 50 * steps_per_epoch
    mlp.save(tmp_path / "half.npz", half, state=state)
    loaded, loaded_state = mlp.load(tmp_path / "half.npz", with_state=True)
    assert loaded_state.keys() == state.keys()
    resumed, second = mlp.train(X, Y, epochs=50, params=loaded, state=loaded_state, **common)
    assert loaded_state["epoch"] == 100
    assert relative_error(resumed, whole) < 1e-13
    assert second["epoch"] == whole_history["epoch"][50:]
    np.testing.assert_allclose(first["loss"] + second["loss"], whole_history["loss"], rtol=1e-12)


def test_state_buffers_are_those_of_torch(mlp):
    """The saved buffers are torch's exp_avg and exp_avg_sq of each parameter, and its step."""
    torch = pytest.importorskip("torch")
    X, Y = regression()
    start = mlp.init_params(1)
    state: dict = {}
    mlp.train(X, Y, epochs=3, lr=0.01, params=start, optimizer="adam", state=state)
    tensors = {key: torch.tensor(value.copy()) for key, value in start.items()}
    adam = torch.optim.Adam(list(tensors.values()), lr=0.01)
    for _ in range(3):
        _, grads = mlp.loss_and_grads({k: t.numpy() for k, t in tensors.items()}, X, Y)
        for key, tensor in tensors.items():
            tensor.grad = torch.tensor(grads[key])
        adam.step()
    for key, tensor in tensors.items():
        theirs = adam.state[tensor]
        assert state["step"] == int(theirs["step"]) == 3
        np.testing.assert_allclose(state["exp_avg"][key], theirs["exp_avg"].numpy(), rtol=1e-12)
        np.testing.assert_allclose(state["exp_avg_sq"][key], theirs["exp_avg_sq"].numpy(), rtol=1e-12)


def test_plain_sgd_keeps_its_folded_step(mlp):
    """sgd without weight decay or schedule gives what make_train_step's step gives."""
    X, Y = regression()
    start = mlp.init_params(0)
    step, stepped = mlp.make_train_step(start, 40, 0.1)
    for _ in range(5):
        step(X, Y)
    params, _ = mlp.train(X, Y, epochs=5, lr=0.1, params=start, optimizer="sgd")
    for key in start:
        np.testing.assert_array_equal(params[key], stepped[key])


def test_validation_split_history_and_accuracy(softmax):
    X, Y = classes()
    kept, held = softmax.validation_split(60, 0.25, seed=3)
    assert len(held) == 15 and sorted([*kept, *held]) == list(range(60))
    assert np.array_equal(held, softmax.validation_split(60, 0.25, seed=3)[1])
    assert not np.array_equal(held, softmax.validation_split(60, 0.25, seed=4)[1])
    params, history = softmax.train(X, Y, epochs=30, lr=0.05, batch_size=8, seed=3, optimizer="adam", validation=0.25)
    assert set(history) == {"epoch", "loss", "val_loss", "val_accuracy"}
    assert len(history["val_loss"]) == len(history["val_accuracy"]) == 30
    assert history["val_loss"][-1] == pytest.approx(softmax.loss_and_grads(params, X[held], Y[held])[0], rel=1e-12)
    assert history["val_accuracy"][-1] == softmax.accuracy(params, X[held], Y[held])
    assert history["val_loss"][-1] < 0.5 * history["val_loss"][0]
    # The held-out rows take no part in the steps: changing them changes no training loss.
    spoiled = Y.copy()
    spoiled[held] = np.eye(3)[0]
    _, other = softmax.train(X, spoiled, epochs=30, lr=0.05, batch_size=8, seed=3, optimizer="adam", validation=0.25)
    assert other["loss"] == history["loss"] and other["val_loss"] != history["val_loss"]


def test_patience_stops_and_restores_the_best_weights(mlp):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    Y = rng.uniform(size=(30, 2))  # noise: the validation loss soon stops improving
    seen = {}

    def keep(epoch, loss, params):  # type: ignore[no-untyped-def]
        seen[epoch] = {key: value.copy() for key, value in params.items()}

    params, history = mlp.train(
        X, Y, epochs=500, lr=0.05, batch_size=4, optimizer="adam", validation=0.3, patience=5, callback=keep
    )
    last = int(history["epoch"][-1])
    best = int(history["epoch"][int(np.argmin(history["val_loss"]))])
    assert last < 500 and last == best + 5
    assert history["best"] == [float(epoch == best) for epoch in range(1, last + 1)]
    for key in params:
        np.testing.assert_array_equal(params[key], seen[best][key])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"optimizer": "rmsprop"}, "optimizer must be one of sgd, momentum, nesterov, adam, adamw"),
        ({"optimizer": "adam", "momentum": 0.9}, "momentum applies to the optimizer 'momentum' or 'nesterov'"),
        ({"optimizer": "sgd", "betas": (0.9, 0.99)}, "betas applies to the optimizer 'adam' or 'adamw'"),
        ({"optimizer": "momentum", "eps": 1e-8}, "eps applies to the optimizer 'adam' or 'adamw'"),
        ({"optimizer": "momentum", "momentum": 1.0}, "momentum must be a finite number above 0 and below 1"),
        ({"optimizer": "adam", "betas": (0.9,)}, "betas must be a pair of numbers"),
        ({"optimizer": "adam", "betas": (0.9, 1.0)}, "betas[1] must be a finite number at least 0 and below 1"),
        ({"optimizer": "adam", "eps": 0.0}, "eps must be a finite number above 0"),
        ({"weight_decay": -0.1}, "weight_decay must be a finite number at least 0"),
        ({"weight_decay": float("nan")}, "weight_decay must be a finite number"),
        ({"schedule": "linear"}, "schedule must be None or one of step, cosine"),
        ({"schedule": "step"}, "schedule='step' needs step_size"),
        ({"schedule": "step", "step_size": 0}, "step_size must be an integer of at least 1"),
        ({"schedule": "cosine", "gamma": 0.5}, "gamma applies to schedule='step'"),
        ({"t_max": 10}, "t_max applies to schedule='cosine'"),
        ({"schedule": "step", "step_size": 2, "gamma": 0}, "gamma must be a finite number above 0"),
        ({"validation": 1.0}, "validation must be a finite number above 0 and below 1"),
        ({"validation": "0.2"}, "validation must be a finite number"),
        ({"patience": 3}, "patience needs validation=FRACTION"),
        ({"validation": 0.2, "patience": 0}, "patience must be None or an integer of at least 1"),
        (
            {"validation": 0.5, "batch_size": 30},
            "batch_size must be None (full batch) or an integer from 1 to the 20 rows",
        ),
        ({"state": []}, "state must be a dict"),
        (
            {"state": {"optimizer": "sgd", "epoch": 1, "step": 1}, "optimizer": "adam"},
            "state is the state of optimizer 'sgd', not 'adam'",
        ),
        ({"state": {"optimizer": "sgd", "epoch": -1, "step": 1}}, "state['epoch'] must be an integer of at least 0"),
        (
            {"state": {"optimizer": "momentum", "epoch": 1, "step": 1}, "optimizer": "momentum"},
            "state['momentum_buffer']: params: expected a dict",
        ),
        (
            {"state": {"optimizer": "sgd", "epoch": 1, "step": 1, "exp_avg": {}}},
            "state has keys exp_avg that sgd does not keep",
        ),
    ],
)
def test_train_names_the_optimizer_argument_it_refuses(mlp, arguments, message):
    X, Y = regression()
    with pytest.raises(mlp.DataError) as raised:
        mlp.train(X, Y, **{"epochs": 1, "lr": 0.1, **arguments})
    assert message in str(raised.value)


def test_validation_needs_two_rows(mlp):
    with pytest.raises(mlp.DataError, match="validation needs at least 2 rows"):
        mlp.train(np.zeros((1, 3)), np.zeros((1, 2)), epochs=1, lr=0.1, validation=0.5)


def test_saved_state_is_checked_on_save_and_load(mlp, tmp_path):
    X, Y = regression()
    state: dict = {}
    params, _ = mlp.train(X, Y, epochs=2, lr=0.01, optimizer="momentum", state=state)
    with pytest.raises(mlp.WeightsFileError, match=r"save: state\['optimizer'\] must be one of sgd, .*, got 'rmsprop'"):
        mlp.save(tmp_path / "w.npz", params, state={**state, "optimizer": "rmsprop"})
    mlp.save(tmp_path / "plain.npz", params)
    assert mlp.load(tmp_path / "plain.npz", with_state=True)[1] == {}
    path = tmp_path / "w.npz"
    mlp.save(path, params, state=state)
    assert all(isinstance(value, np.ndarray) for value in mlp.load(path).values())  # without with_state: params alone
    with np.load(path) as archive:
        arrays = dict(archive)
    for change, message in [
        ({"state.optimizer": np.array("rmsprop")}, "state.optimizer is 'rmsprop'"),
        ({"state.step": np.array(-3)}, "state.step is -3, below 0"),
        ({"state.epoch": np.array(1.5)}, "state.epoch is not an integer"),
        ({"state.momentum_buffer.W2": np.full((2, 4), np.nan)}, "state.momentum_buffer.W2 holds NaN"),
    ]:
        np.savez(tmp_path / "bad.npz", **{**arrays, **change})
        with pytest.raises(mlp.WeightsFileError, match=message.replace("(", r"\(").replace("[", r"\[")):
            mlp.load(tmp_path / "bad.npz", with_state=True)
    del arrays["state.momentum_buffer.b1"]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(mlp.WeightsFileError, match="the state of momentum has no momentum_buffer.b1"):
        mlp.load(tmp_path / "bad.npz", with_state=True)


def test_validation_loss_of_a_regularised_network_includes_its_l2_term():
    module = load_module(generate_module(Network([3, 4, 2], ["tanh", "identity"], "mse", l2=0.3)))
    X, Y = regression()
    params, history = module.train(X, Y, epochs=3, lr=0.05, optimizer="adamw", validation=0.25)
    _, held = module.validation_split(40, 0.25, 0)
    assert history["val_loss"][-1] == module.loss_and_grads(params, X[held], Y[held])[0]
    assert module.l2_penalty(params) > 0.01 * history["val_loss"][-1]
