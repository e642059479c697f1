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
