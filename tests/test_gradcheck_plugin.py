"""The pytest plugin: the gradcheck fixture and --gradcheck-report, run in a fresh pytest."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = """
import numpy as np
import symbackprop as sb

NET = sb.Network([3, 5, 2], ["tanh", "sigmoid"], "bce")


def grads(params, X, Y, forget_mean=False):
    m = X.shape[0]
    A1 = np.tanh(X @ params["W1"].T + params["b1"])
    A2 = 1 / (1 + np.exp(-(A1 @ params["W2"].T + params["b2"])))
    D2 = (A2 - Y) if forget_mean else (A2 - Y) / m
    D1 = (D2 @ params["W2"]) * (1 - A1**2)
    return {"dW1": D1.T @ X, "db1": D1.sum(0), "dW2": D2.T @ A1, "db2": D2.sum(0)}


def test_correct(gradcheck):
    assert gradcheck(NET, grads).ok


def test_buggy(gradcheck):
    gradcheck(NET, lambda p, X, Y: grads(p, X, Y, forget_mean=True))


def test_buggy_asserted(gradcheck):
    from symbackprop.testing import assert_gradients

    assert_gradients(NET, lambda p, X, Y: grads(p, X, Y, forget_mean=True))
"""


def test_the_plugin_is_registered_by_its_entry_point():
    plugins = {entry.name: entry.value for entry in entry_points(group="pytest11")}
    assert plugins["symbackprop"] == "symbackprop.testing.plugin"


def test_the_fixture_passes_correct_code_and_fails_with_the_table(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*GradientMismatch*", "*dW2*m times too large: the batch mean (1/m) is missing*"])
    # The failure points at the user's test line, not into the checker.
    result.stdout.no_fnmatch_line("*symbackprop/testing/*")
    result.stdout.fnmatch_lines(["test_user.py:*: GradientMismatch"])


def test_the_report_option_prints_every_check(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-q", "--gradcheck-report")
    result.stdout.fnmatch_lines(
        [
            "*gradient checks (2)*",
            "test_user.py::test_correct",
            "*verdict: pass",
            "test_user.py::test_buggy",
            "*verdict: fail",
        ]
    )


def test_the_report_option_writes_a_file(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-q", "--gradcheck-report=checks.txt")
    result.stdout.fnmatch_lines(["*gradient check reports (2) written to checks.txt*"])
    text = (pytester.path / "checks.txt").read_text(encoding="utf-8")
    assert text.count("gradient check of 3 -> 5 tanh -> 2 sigmoid : bce") == 2


def test_a_report_path_in_a_missing_folder_is_refused_before_the_tests_run(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-q", "--gradcheck-report=nowhere/checks.txt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--gradcheck-report: the folder of nowhere/checks.txt does not exist*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
