"""The gradient checker against a held-out corpus of hand-written back-propagation.

tests/handwritten/cases.py lists implementations in nine coding styles (Nielsen's per-sample loop,
classes with forward/backward, Keras (in, out), Coursera columns, float32 with PyTorch's names,
CS231n class indices, einsum with summed losses, index loops, one line per layer), each checked
with only the options a user must give. Every correct one must pass, every buggy one must not,
and the diagnosis must name the mistake of (nearly) every buggy one.
"""

from __future__ import annotations

import copy
import types

import pytest
from handwritten.cases import BUGGY, CASES, CORRECT, STYLES, Case

from symbackprop.testing import CheckError, GradientReport, check_gradients

#: The share of buggy cases whose diagnosis must name the mistake.
NAMED_SHARE = 0.95

_reports: dict[str, GradientReport] = {}


def report_of(case: Case) -> GradientReport:
    """The check of ``case``, made once per test process (a buggy object or function may keep
    state across calls, as the accumulating ones do; it is checked on a fresh copy, once)."""
    if case.name not in _reports:
        target = case.target if isinstance(case.target, types.FunctionType) else copy.deepcopy(case.target)
        _reports[case.name] = check_gradients(case.network, target, **case.options)
    return _reports[case.name]


def diagnosis_text(report: GradientReport) -> str:
    """What the checker said of the code: every failing row's diagnosis, the findings, the
    summary line of the first failure and the notes, in lower case."""
    parts = [row.diagnosis for row in report.rows if not row.ok]
    parts += list(report.findings)
    first = report.first_failure
    if first is not None:
        parts.append(f"layer {first.layer}: {first.diagnosis}")
    parts += list(report.notes)
    return "\n".join(parts).lower()


def is_named(case: Case, report: GradientReport) -> bool:
    text = diagnosis_text(report)
    return any(name.lower() in text for name in case.names)


def test_the_corpus_is_well_formed():
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))
    assert {case.style for case in CORRECT} == set(STYLES) == {case.style for case in BUGGY}
    assert len(BUGGY) >= 35 and len(CORRECT) >= 15
    for case in CORRECT:
        assert case.layer is None and not case.names and not case.mistake, case.name
    for case in BUGGY:
        assert case.mistake and case.layer >= 1 and case.names, case.name
        assert all(name == name.lower() for name in case.names), case.name


@pytest.mark.parametrize("case", CORRECT, ids=[case.name for case in CORRECT])
def test_a_correct_implementation_passes(case):
    report = report_of(case)
    assert report.verdict == "pass", report.table()


@pytest.mark.parametrize("case", BUGGY, ids=[case.name for case in BUGGY])
def test_a_buggy_implementation_does_not_pass(case):
    report = report_of(case)
    assert report.verdict != "pass", f"{case.mistake} (layer {case.layer}) passed:\n{report.table()}"


def test_the_mistakes_are_named():
    unnamed = []
    for case in BUGGY:
        try:
            report = report_of(case)
        except CheckError as error:
            unnamed.append(f"{case.name} [{case.mistake}]: CheckError: {error}")
            continue
        if not is_named(case, report):
            said = " | ".join(dict.fromkeys(row.diagnosis for row in report.rows if not row.ok)) or report.verdict
            unnamed.append(f"{case.name} [{case.mistake}, layer {case.layer}]: {said}")
    share = 1 - len(unnamed) / len(BUGGY)
    print(f"named {len(BUGGY) - len(unnamed)} of {len(BUGGY)} buggy cases ({share:.0%}); unnamed:")
    print("\n".join(unnamed))
    assert share >= NAMED_SHARE, f"named {share:.0%} < {NAMED_SHARE:.0%}; unnamed:\n" + "\n".join(unnamed)
