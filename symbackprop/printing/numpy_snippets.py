"""NumPy source that is not printed from an expression: the support helpers stable printouts call,
the clip of predictions into a loss's domain, how a kind of targets turns outputs into classes, and
which targets it takes.

Contract: each function takes the registry's data (a prediction domain, a
:class:`~symbackprop.kinds.TargetKind`) and returns source for the NumPy target's template; a
domain or kind it cannot write raises ``NotImplementedError`` naming it.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

from .. import naming
from ..kinds import TargetKind

#: Source of the helpers that stable printouts call, defined once in each generated module.
SUPPORT_SOURCE: Mapping[str, str] = {
    "_logsumexp": '''def _logsumexp(U: Array) -> Array:
    """log Σⱼ exp(uⱼ) of each row, shifted by the row's maximum so that exp cannot overflow."""
    shift = numpy.max(U, axis=1, keepdims=True)
    total: Array = shift + numpy.log(numpy.sum(numpy.exp(U - shift), axis=1, keepdims=True))
    return total
''',
}


def prediction_clip(domain: sp.Set) -> str:
    """The statement clipping the predictions into a loss's open domain, "" when it takes any real."""
    if domain == sp.Reals:
        return ""
    if not isinstance(domain, sp.Interval) or (domain.start, domain.end) != (0, 1):
        raise NotImplementedError(f"no clip is known for the prediction domain {domain}")
    predictions = naming.PREDICTIONS
    return (
        f"{predictions} = numpy.clip({predictions}, numpy.finfo({predictions}.dtype).tiny,"
        f" 1 - numpy.finfo({predictions}.dtype).epsneg)"
    )


def classify_source(kind: TargetKind, predictions: str) -> str:
    """The class of each prediction of ``predictions`` (source of an array), by the kind's rule."""
    if kind.by_largest:
        return f"numpy.argmax({predictions}, axis=1)"
    if kind.threshold is not None:
        return f"({predictions} > {float(kind.threshold)!r}).astype(numpy.int64)"
    raise NotImplementedError(f"targets of kind '{kind.name}' are no classes")


def target_classes_source(kind: TargetKind, targets: str, rows: str) -> str:
    """The class of each target of ``targets`` (source of an array with ``rows`` rows)."""
    if kind.by_largest:
        return f"numpy.argmax({targets}, axis=1)"
    if kind.threshold is not None:
        return f"numpy.asarray({targets}).reshape({rows}, -1)"
    raise NotImplementedError(f"targets of kind '{kind.name}' are no classes")


def target_rows_check(kind: TargetKind, targets: str) -> tuple[str, str]:
    """Source of a boolean per row of ``targets``, true where the row holds targets of this kind,
    and the rule in words; ``("", "")`` for a kind that takes any real targets."""
    if kind.by_largest:
        # One-hot rows, or class probabilities; a float32 row of probabilities sums to 1 within 1e-5.
        return (
            f"numpy.all({targets} >= 0, axis=1) & (numpy.abs(numpy.sum({targets}, axis=1) - 1) <= 1e-5)",
            "each row of Y is one-hot (or probabilities summing to 1)",
        )
    if kind.threshold is not None:
        return f"numpy.all(({targets} >= 0) & ({targets} <= 1), axis=1)", "the targets are labels between 0 and 1"
    return "", ""


#: Source of train()'s optimizers and learning-rate schedules, defined once in each generated NumPy
#: module. Their math is the optimizer's, not the network's: it is written here, once, as torch.optim
#: writes it, and the template only inserts it.
OPTIMIZER_SOURCE = '''#: The optimizers of train(), as torch.optim defines them, and the buffers of their state.
OPTIMIZERS: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("momentum_buffer",),
    "nesterov": ("momentum_buffer",),
    "adam": ("exp_avg", "exp_avg_sq"),
    "adamw": ("exp_avg", "exp_avg_sq"),
}
#: The learning-rate schedules of train(), as torch.optim.lr_scheduler's StepLR and CosineAnnealingLR.
SCHEDULES = ("step", "cosine")


def _number(name: str, value: object, low: float, high: float = math.inf, low_open: bool = False) -> float:
    """value as a float, refused with a DataError naming ``name`` unless it is a real number in the range."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not (low < value if low_open else low <= value) or not value < high:  # type: ignore[operator]
        bounds = f"{'above' if low_open else 'at least'} {low:g}" + (f" and below {high:g}" if high < math.inf else "")
        raise DataError(f"{name} must be a finite number {bounds}, got {value!r:.40}")
    return float(value)  # type: ignore[arg-type]


def _optimizer_settings(
    optimizer: str, lr: float, momentum: float | None, betas: Any, eps: float | None, weight_decay: float | None
) -> dict[str, Any]:
    """The optimizer's settings, PyTorch's defaults filled in: momentum 0.9 (momentum, nesterov),
    betas (0.9, 0.999) and eps 1e-8 (adam, adamw), weight_decay 0 (0.01 for adamw). An option the
    optimizer does not take is refused, as is any value out of range; each error names its argument."""
    if optimizer not in OPTIMIZERS:
        raise DataError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r:.40}")
    heavy_ball, adaptive = optimizer in ("momentum", "nesterov"), optimizer in ("adam", "adamw")
    for name, value, applies, where in (
        ("momentum", momentum, heavy_ball, "'momentum' or 'nesterov'"),
        ("betas", betas, adaptive, "'adam' or 'adamw'"),
        ("eps", eps, adaptive, "'adam' or 'adamw'"),
    ):
        if value is not None and not applies:
            raise DataError(f"{name} applies to the optimizer {where}, not to {optimizer!r}")
    if betas is None:
        betas = (0.9, 0.999)
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise DataError(f"betas must be a pair of numbers (beta1, beta2), got {betas!r:.40}")
    return {
        "optimizer": optimizer,
        "lr": lr,
        "momentum": _number("momentum", 0.9 if momentum is None else momentum, 0.0, 1.0, low_open=True),
        "beta1": _number("betas[0]", betas[0], 0.0, 1.0),
        "beta2": _number("betas[1]", betas[1], 0.0, 1.0),
        "eps": _number("eps", 1e-8 if eps is None else eps, 0.0, low_open=True),
        "weight_decay": _number(
            "weight_decay", (0.01 if optimizer == "adamw" else 0.0) if weight_decay is None else weight_decay, 0.0
        ),
        "step": 0,
    }


def _optimizer(flat: Array, buffers: dict[str, Array], settings: dict[str, Any]) -> Callable[[Array], None]:
    """update(g): one step of settings["optimizer"] on the parameters p (``flat``) from their mean
    gradient g, which it overwrites, as torch.optim defines it (SGD with dampening 0; Adam and AdamW
    without amsgrad). lr = settings["lr"] is read at each call, since a schedule sets it per epoch;
    t = settings["step"] counts the steps. wd is weight_decay and, as in torch, decays every
    parameter, biases included (a network's l2 term regularises the weights alone):

    - sgd (torch.optim.SGD): g <- g + wd p;  p <- p - lr g
    - momentum (SGD(momentum=mu)): g <- g + wd p;  buf <- mu buf + g (buf = g at the first step);
      p <- p - lr buf
    - nesterov (SGD(momentum=mu, nesterov=True)): as momentum, but p <- p - lr (g + mu buf)
    - adam (torch.optim.Adam): g <- g + wd p;  m <- m + (1 - b1)(g - m);  v <- b2 v + (1 - b2) g^2;
      p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    - adamw (torch.optim.AdamW): p <- p (1 - lr wd), then adam's update without the g + wd p term

    Each operation writes into ``buffers`` (the state's, updated in place) or one scratch array."""
    name, mu, wd, eps = settings["optimizer"], settings["momentum"], settings["weight_decay"], settings["eps"]
    beta1, beta2 = settings["beta1"], settings["beta2"]
    scratch = numpy.empty_like(flat)

    def decay(g: Array) -> None:
        numpy.multiply(flat, wd, out=scratch)
        numpy.add(g, scratch, out=g)

    def sgd(g: Array) -> None:
        if wd:
            decay(g)
        numpy.multiply(g, settings["lr"], out=g)
        numpy.subtract(flat, g, out=flat)

    def heavy_ball(g: Array) -> None:
        buf = buffers["momentum_buffer"]
        if wd:
            decay(g)
        numpy.multiply(buf, mu, out=buf)
        numpy.add(buf, g, out=buf)
        if name == "nesterov":
            numpy.multiply(buf, mu, out=scratch)
            numpy.add(g, scratch, out=scratch)
        else:
            numpy.copyto(scratch, buf)
        numpy.multiply(scratch, settings["lr"], out=scratch)
        numpy.subtract(flat, scratch, out=flat)

    def adam(g: Array) -> None:
        m, v = buffers["exp_avg"], buffers["exp_avg_sq"]
        lr = settings["lr"]
        settings["step"] = t = settings["step"] + 1
        if name == "adamw":
            numpy.multiply(flat, 1 - lr * wd, out=flat)
        elif wd:
            decay(g)
        numpy.subtract(g, m, out=scratch)
        numpy.multiply(scratch, 1 - beta1, out=scratch)
        numpy.add(m, scratch, out=m)
        numpy.multiply(v, beta2, out=v)
        numpy.multiply(g, g, out=g)
        numpy.multiply(g, 1 - beta2, out=g)
        numpy.add(v, g, out=v)
        numpy.sqrt(v, out=scratch)
        numpy.divide(scratch, math.sqrt(1 - beta2**t), out=scratch)
        numpy.add(scratch, eps, out=scratch)
        numpy.divide(m, scratch, out=scratch)
        numpy.multiply(scratch, lr / (1 - beta1**t), out=scratch)
        numpy.subtract(flat, scratch, out=flat)

    return {"sgd": sgd, "momentum": heavy_ball, "nesterov": heavy_ball}.get(name, adam)


def _schedule(schedule: str | None, step_size: int | None, gamma: float | None, t_max: int | None) -> dict[str, Any]:
    """The schedule's settings, checked (each error names its argument); gamma defaults to 0.1."""
    if schedule is not None and schedule not in SCHEDULES:
        raise DataError(f"schedule must be None or one of {', '.join(SCHEDULES)}, got {schedule!r:.40}")
    for name, value, owner in (("step_size", step_size, "step"), ("gamma", gamma, "step"), ("t_max", t_max, "cosine")):
        if value is not None and schedule != owner:
            raise DataError(f"{name} applies to schedule='{owner}', not to schedule={schedule!r}")
        if name != "gamma" and value is not None and (not _is_integer(value) or value < 1):
            raise DataError(f"{name} must be an integer of at least 1, got {value!r:.40}")
    if schedule == "step" and step_size is None:
        raise DataError("schedule='step' needs step_size, the epochs between two multiplications by gamma")
    return {
        "schedule": schedule,
        "step_size": step_size,
        "gamma": _number("gamma", 0.1 if gamma is None else gamma, 0.0, low_open=True),
        "t_max": t_max,
    }


def _scheduled_lr(lr: float, schedule: dict[str, Any], epoch: int) -> float:
    """The learning rate of epoch ``epoch`` (counting from 1) as torch.optim.lr_scheduler sets it
    when stepped once after each epoch: StepLR(step_size, gamma) gives lr gamma^floor((epoch - 1) /
    step_size); CosineAnnealingLR(T_max=t_max, eta_min=0) gives lr (1 + cos(pi (epoch - 1) / t_max)) / 2."""
    if schedule["schedule"] == "step":
        return float(lr * schedule["gamma"] ** ((epoch - 1) // schedule["step_size"]))
    return lr * (1 + math.cos(math.pi * (epoch - 1) / schedule["t_max"])) / 2
'''
