"""The checker on code that misbehaves: NaN or infinite results, ``sys.exit``, a hang, gradients of
the wrong type, and modules that cannot be imported. Code that returns bad numbers, exits or hangs
fails (failing rows, and the reason as a finding); what the checker cannot read or import is one
clear CheckError line. Never a pass, never the end of the process; Ctrl-C still stops the check."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest
from handwritten import rows_dict

import symbackprop as sb
from symbackprop.testing import (
    CheckError,
    GradientMismatch,
    ObjectAdapter,
    assert_gradients,
    check_gradients,
    load_target,
)
from symbackprop.testing.reference import make_probe

NET = sb.Network([2, 3, 1], ["sigmoid", "sigmoid"], "sse")
#: Square layers: correct code runs under both weight layouts, with different gradients.
SQUARE_NET = sb.Network([2, 2, 2], ["sigmoid", "sigmoid"], "sse")
correct = rows_dict.make_grads(["sigmoid", "sigmoid"], "sse")
HERE = "test_check_robustness.py"


def with_gradient(name, change):
    """The correct gradients with ``change`` applied to the one of parameter ``name``."""

    def grads(params, X, Y):
        gradients = correct(params, X, Y)
        return {**gradients, f"d{name}": change(gradients[f"d{name}"])}

    return grads


def line_of(function, offset):
    return function.__code__.co_firstlineno + offset


def no_gradients(report, reason):
    """Whether ``report`` fails for code that returned no gradients, for ``reason`` alone, and
    renders in every format."""
    assert report.verdict == "fail" and not report.ok
    assert report.findings == (reason,)
    assert {(row.verdict, row.diagnosis) for row in report.rows} == {("fail", "no gradient returned")}
    for text in (report.table(), report.markdown(), report.latex()):
        assert "nan" not in text
    return True


# NaN and infinity


def test_nan_gradients_fail_row_by_row_naming_how_many_and_the_first():
    def first_nan(value):
        value = value.copy()
        value[1, 0] = np.nan
        value[2, 1] = np.inf
        return value

    report = check_gradients(NET, with_gradient("W1", first_nan))
    row = report.row("dW1")
    assert (row.verdict, row.worst_index) == ("fail", (1, 0))
    assert row.diagnosis == "dW1 holds NaN in 1 and infinity in 1 of its 6 elements, the first at [1, 0]"
    assert [other.verdict for other in report.rows if other.name != "dW1"] == ["pass"] * 3
    assert report.verdict == "fail"


def test_an_infinite_bias_gradient_of_one_element_is_named():
    report = check_gradients(NET, with_gradient("b2", lambda value: value + np.inf))
    assert report.row("db2").diagnosis == "db2 is inf (infinite)"
    assert report.verdict == "fail"


def test_nan_gradients_on_square_layers_fail_instead_of_asking_for_the_layout():
    report = check_gradients(SQUARE_NET, lambda params, X, Y: {k: v * np.nan for k, v in correct(params, X, Y).items()})
    assert report.verdict == "fail"
    assert report.row("dW1").diagnosis == "dW1 holds NaN in 4 of its 4 elements, the first at [0, 0]"


def test_partly_nan_gradients_that_differ_by_layout_fail_with_the_layout_called_a_guess():
    def one_nan(value):
        value = value.copy()
        value[0, 1] = np.nan
        return value

    report = check_gradients(SQUARE_NET, with_gradient("W2", one_nan))
    assert report.verdict == "fail"
    assert report.row("dW2").diagnosis.startswith("dW2 holds NaN in 1 of its 4 elements")
    assert any(
        note.startswith("the layout is a guess: the gradients of grads hold NaN or infinity") for note in report.notes
    )


def test_finite_gradients_under_one_layout_win_over_nan_under_another():
    given = make_probe(SQUARE_NET, seed=0, dtype=np.float64).params["W1"]

    def nan_when_transposed(params, X, Y):
        gradients = correct(params, X, Y)
        if np.array_equal(params["W1"], given.T):
            return {name: value * np.nan for name, value in gradients.items()}
        return gradients

    report = check_gradients(SQUARE_NET, nan_when_transposed)
    assert report.verdict == "pass"
    assert report.layout.startswith("samples as rows, W (out, in)")


def test_a_nan_loss_fails_its_row():
    report = check_gradients(NET, lambda params, X, Y: (float("nan"), correct(params, X, Y)))
    row = report.row("loss")
    assert row.verdict == "fail"
    assert row.diagnosis == "your loss is NaN on the batch of 7 samples (network's loss: sse)"
    assert row.relative_error == np.inf


class Model:
    """forward/backward on attributes W1, b1, W2, b2; ``nan_output`` makes forward return NaN."""

    def __init__(self, nan_output=False, exit_in_forward=False):
        self.W1, self.b1 = np.zeros((3, 2)), np.zeros(3)
        self.W2, self.b2 = np.zeros((1, 3)), np.zeros(1)
        self.nan_output, self.exit_in_forward = nan_output, exit_in_forward

    def params(self):
        return {"W1": self.W1, "b1": self.b1, "W2": self.W2, "b2": self.b2}

    def forward(self, X):
        if self.exit_in_forward:
            sys.exit(3)
        self.X = X
        hidden = 1 / (1 + np.exp(-(X @ self.W1.T + self.b1)))
        out = 1 / (1 + np.exp(-(hidden @ self.W2.T + self.b2)))
        return out * np.nan if self.nan_output else out

    def backward(self, Y):
        return correct(self.params(), self.X, Y)

    def loss(self, Y_hat, Y):
        return float("inf")


def test_a_nan_forward_pass_of_an_object_fails_its_row():
    report = check_gradients(NET, Model(nan_output=True))
    row = report.row("forward ŷ")
    assert row.verdict == "fail"
    assert row.diagnosis == "ŷ holds NaN in 7 of its 7 elements, the first at [0, 0]"


def test_an_infinite_loss_of_an_object_fails_its_row():
    report = check_gradients(NET, ObjectAdapter(Model(), loss="loss"))
    assert report.row("loss").diagnosis == "your loss is inf (infinite) on the batch of 7 samples (network's loss: sse)"


# sys.exit and Ctrl-C


def exits(params, X, Y):
    sys.exit(0)


EXITED = (
    f"exits called sys.exit(0) (at {HERE}:{line_of(exits, 1)}, in exits) while computing gradients, under every"
    " layout tried: the checker needs the gradients returned, not the process ended"
)


def test_code_that_exits_fails_naming_the_exit_and_the_line():
    report = check_gradients(NET, exits)
    assert no_gradients(report, EXITED)
    assert report.layout == "layout not settled (no gradients returned)"
    assert [(row.name, row.shape) for row in report.rows] == [
        ("dW1", (3, 2)),
        ("db1", (3,)),
        ("dW2", (1, 3)),
        ("db2", (1,)),
    ]
    assert (
        report.table().splitlines()[5]
        == "dW1        (3, 2)  -           -                             fail     no gradient returned"
    )


def test_assert_gradients_on_code_that_exits_is_a_test_failure_with_the_reason():
    with pytest.raises(GradientMismatch) as caught:
        assert_gradients(NET, exits)
    assert isinstance(caught.value, AssertionError)
    assert f"! {EXITED}" in str(caught.value)


def test_code_that_exits_differently_under_each_layout_fails_listing_them():
    def shaped(params, X, Y):
        sys.exit(f"X is {X.shape}")

    report = check_gradients(NET, shaped)
    assert report.verdict == "fail"
    assert report.findings[0].startswith(
        "shaped called sys.exit (samples as rows, W (out, in), b (n,): sys.exit('X is (7, 2)') (at "
    )
    assert report.findings[0].endswith(
        "while computing gradients, under every layout tried: the checker needs the gradients returned, not the"
        " process ended"
    )


def test_code_that_exits_under_some_layouts_and_raises_under_the_others_is_a_check_error():
    def mixed(params, X, Y):
        if X.shape[0] == 7:
            sys.exit(0)
        raise ValueError("columns")

    with pytest.raises(CheckError, match=r"(?s)^mixed raised under every layout tried:\n.*sys.exit\(0\).*ValueError"):
        check_gradients(NET, mixed)


def test_code_that_raises_under_every_layout_is_still_a_check_error():
    def broken(params, X, Y):
        raise ValueError("nope")

    with pytest.raises(CheckError, match=r"^broken raised ValueError: nope \(at .*\) under every layout tried$"):
        check_gradients(NET, broken)


def test_code_that_exits_only_under_a_layout_it_was_not_written_for_is_checked():
    def strict(params, X, Y):
        if X.shape[1] != 2:
            sys.exit("X must have 2 columns")
        return correct(params, X, Y)

    assert check_gradients(NET, strict).verdict == "pass"


def test_code_that_exits_on_the_second_batch_fails():
    def second(params, X, Y):
        if X.shape[0] != 7:
            raise SystemExit(1)
        return correct(params, X, Y)

    report = check_gradients(NET, second)
    assert no_gradients(
        report,
        f"second ran on the first batch but called sys.exit(1) (at {HERE}:{line_of(second, 2)}, in second) on the"
        " second (14 samples, samples as rows, W (out, in), b (n,)): the checker needs the gradients returned, not"
        " the process ended",
    )
    assert report.layout == "samples as rows, W (out, in), b (n,)"


def test_code_that_raises_on_the_second_batch_is_a_check_error():
    def second(params, X, Y):
        if X.shape[0] != 7:
            raise ValueError("only 7")
        return correct(params, X, Y)

    with pytest.raises(CheckError, match=r"^second ran on the first batch but raised on the second .*: ValueError"):
        check_gradients(NET, second)


def test_an_object_whose_forward_exits_fails():
    report = check_gradients(NET, Model(exit_in_forward=True))
    assert report.verdict == "fail"
    assert report.findings[0].startswith("Model called sys.exit(3) (at ")
    assert ", in forward) while computing gradients, under every layout tried" in report.findings[0]


def test_ctrl_c_in_the_code_stops_the_check():
    def interrupted(params, X, Y):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check_gradients(NET, interrupted)


# Hangs


def hangs(params, X, Y):
    while True:
        pass


def test_a_loop_that_never_ends_is_stopped_and_fails_naming_where():
    report = check_gradients(NET, hangs, timeout=0.5)
    # Stopped on the loop's test or on its body, whichever was running.
    reasons = [
        f"hangs did not return within 0.5 s (stopped at {HERE}:{line_of(hangs, offset)}, in hangs): does it loop"
        " forever, or wait for something? (timeout= or --timeout sets the limit in seconds; None, or none, lifts it)"
        for offset in (1, 2)
    ]
    assert report.findings[0] in reasons
    assert no_gradients(report, report.findings[0])


def test_a_hang_on_the_second_batch_fails_in_the_layout_settled():
    def slow_on_more(params, X, Y):
        while X.shape[0] != 7:
            pass
        return correct(params, X, Y)

    report = check_gradients(NET, slow_on_more, timeout=0.5)
    assert report.findings[0].startswith("slow_on_more did not return within 0.5 s (stopped at ")
    assert no_gradients(report, report.findings[0])
    assert report.layout == "samples as rows, W (out, in), b (n,)"


def test_a_loop_inside_except_exception_is_stopped_too():
    def stubborn(params, X, Y):
        while True:
            try:
                while True:
                    pass
            except Exception:
                continue

    assert check_gradients(NET, stubborn, timeout=0.5).findings[0].startswith("stubborn did not return within 0.5 s")


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="no interval timers (Windows)")
def test_the_alarm_handler_and_an_outer_timer_are_restored():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    signal.setitimer(signal.ITIMER_REAL, 1000.0)
    try:
        assert check_gradients(NET, hangs, timeout=0.5).verdict == "fail"
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < remaining <= 1000.0
        assert signal.getsignal(signal.SIGALRM) is not None and not fired
        assert check_gradients(NET, correct, timeout=0.5).verdict == "pass"
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= remaining
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_outside_the_main_thread_a_hang_is_detected_and_left_running():
    stop = threading.Event()

    def waits(params, X, Y):
        while not stop.is_set():
            pass

    reports = []
    worker = threading.Thread(target=lambda: reports.append(check_gradients(NET, waits, timeout=0.5)))
    worker.start()
    worker.join()
    stop.set()
    assert reports[0].verdict == "fail"
    assert (
        reports[0]
        .findings[0]
        .startswith(
            f"waits did not return within 0.5 s (still running at {HERE}:{line_of(waits, 1)}, in waits;"
            " it runs on in the background)"
        )
    )


def test_no_limit_and_a_main_thread_limit_both_pass_correct_code():
    assert check_gradients(NET, correct, timeout=None).verdict == "pass"
    assert check_gradients(NET, correct, timeout=np.float64(30)).verdict == "pass"


@pytest.mark.parametrize("timeout", [0, -1.0, float("inf"), float("nan"), "5", True])
def test_a_bad_timeout_is_refused(timeout):
    with pytest.raises(CheckError, match=r"^timeout: must be a positive number of seconds, or None for no limit"):
        check_gradients(NET, correct, timeout=timeout)


# Gradients of the wrong type


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "the gradient 'db1' from grads is a str ('abc'); expected an array of real numbers"),
        (None, "the gradient 'db1' from grads is None (was it never assigned, or not returned?)"),
        ([[1.0], [1.0, 2.0]], "the gradient 'db1' from grads is a list that is not an array of numbers"),
        (object(), "the gradient 'db1' from grads is an object of type object, not an array"),
        (np.zeros(3, dtype=complex), "is an array of complex128; expected real numbers; its imaginary part is zero"),
        (np.ones(3) * 1j, "the gradient 'db1' from grads is an array of complex128; expected real numbers"),
        (np.array(["a", 1.0, 2.0], dtype=object), "is an array of object whose items are not all numbers"),
    ],
)
def test_a_gradient_that_is_no_array_of_real_numbers_is_a_clear_error(value, message):
    with pytest.raises(CheckError) as caught:
        check_gradients(NET, with_gradient("b1", lambda _: value))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_array_of_python_numbers_is_read_as_float64():
    report = check_gradients(NET, with_gradient("W1", lambda value: value.astype(object)))
    assert report.verdict == "pass"


@pytest.mark.parametrize(
    ("dtype", "diagnosis"),
    [(np.int64, "db1 is an array of int64, not of real numbers"), (bool, "db1 is an array of bool")],
)
def test_integer_and_boolean_gradients_fail_naming_their_dtype(dtype, diagnosis):
    report = check_gradients(NET, with_gradient("b1", lambda value: value.astype(dtype)))
    assert report.row("db1").verdict == "fail"
    assert report.row("db1").diagnosis.startswith(diagnosis)


def test_a_list_of_gradients_instead_of_a_dict_is_a_clear_error():
    def listed(params, X, Y):
        return list(correct(params, X, Y).values())

    with pytest.raises(CheckError, match=r"^listed returned list; expected a dict of gradients"):
        check_gradients(NET, listed)


def test_gradients_of_parameters_the_network_lacks_get_a_note():
    def deeper(params, X, Y):
        return {**correct(params, X, Y), "dW3": np.zeros((1, 1)), "cache": object()}

    report = check_gradients(NET, deeper)
    assert report.verdict == "pass"
    assert report.notes == (
        "your code also returned dW3, which the checker did not read: this network's parameters are"
        " W1, b1, W2, b2 (is your network the one checked?)",
    )


# Modules that cannot be imported


@pytest.fixture
def modules(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    files = {
        "exits_at_import": "import sys\n\nsys.exit(0)\n",
        "raises_at_import": "x = 1\nraise ValueError('boom')\n",
        "bad_syntax": "def grads(params, X, Y)\n    return {}\n",
        "imports_missing": "import numpy\nimport no_such_package_here\n",
    }
    for name, text in files.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(text), encoding="utf-8")
    yield tmp_path
    for name in files:
        sys.modules.pop(name, None)


@pytest.mark.parametrize("form", ["exits_at_import:grads", "exits_at_import.py:grads"])
def test_a_module_that_exits_at_import_is_a_check_error(modules, form):
    module = form.partition(":")[0]
    with pytest.raises(CheckError) as caught:
        load_target(form)
    assert str(caught.value) == (
        f"{module} called sys.exit(0) (at exits_at_import.py:3, in <module>) at import: a module to check must not"
        ' exit when imported (put its script part under if __name__ == "__main__":)'
    )
    assert "exits_at_import" not in sys.modules


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (
            "raises_at_import.py:grads",
            "importing raises_at_import.py raised ValueError: boom (at raises_at_import.py:2,",
        ),
        ("bad_syntax:grads", "importing bad_syntax raised SyntaxError: expected ':' (at bad_syntax.py:1)"),
        ("bad_syntax.py:grads", "importing bad_syntax.py raised SyntaxError: expected ':' (at bad_syntax.py:1)"),
        (
            "imports_missing:grads",
            "importing imports_missing raised ModuleNotFoundError: No module named 'no_such_package_here'"
            " (at imports_missing.py:2, in <module>)",
        ),
    ],
)
def test_a_module_that_fails_to_import_is_one_line_naming_its_file_and_line(modules, form, message):
    with pytest.raises(CheckError) as caught:
        load_target(form)
    assert str(caught.value).startswith(message), caught.value
    assert "\n" not in str(caught.value) and "frozen" not in str(caught.value)


@pytest.mark.parametrize("form", ["loops_at_import:grads", "loops_at_import.py:grads"])
def test_a_module_that_hangs_at_import_is_stopped_and_a_check_error(modules, form):
    (modules / "loops_at_import.py").write_text("while True:\n    pass\n", encoding="utf-8")
    module = form.partition(":")[0]
    with pytest.raises(CheckError) as caught:
        load_target(form, timeout=0.5)
    assert str(caught.value).startswith(
        f"{module} did not finish importing within 0.5 s (stopped at loops_at_import.py:"
    )
    assert "loops_at_import" not in sys.modules


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: load_target(5),
            "load_target: expected 'module:attribute' as a string (like 'my_backprop:grads'), got 5",
        ),
        (lambda: load_target(None), "load_target: expected 'module:attribute' as a string"),
        (lambda: load_target("json:dumps", timeout=0), "timeout: must be a positive number of seconds"),
    ],
)
def test_load_target_refuses_arguments_of_the_wrong_kind(call, message):
    with pytest.raises(CheckError) as caught:
        call()
    assert str(caught.value).startswith(message)


# os._exit, warnings and parameters changed to NaN


def exits_now(params, X, Y):
    os._exit(0)


def test_code_that_calls_os_exit_fails_and_os_exit_is_restored():
    real = os._exit
    report = check_gradients(NET, exits_now)
    assert no_gradients(
        report,
        f"exits_now called os._exit(0) (at {HERE}:{line_of(exits_now, 1)}, in exits_now) while computing gradients,"
        " under every layout tried: the checker needs the gradients returned, not the process ended",
    )
    assert os._exit is real


def overflows(params, X, Y):
    np.exp(np.full(2, 1000.0))
    return correct(params, X, Y)


def test_warnings_of_the_code_are_a_note_and_nothing_is_printed(capsys):
    before = np.geterr()
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        report = check_gradients(NET, overflows)
    assert report.verdict == "pass"
    assert report.notes == (
        f"your code warned: RuntimeWarning: overflow encountered in exp (at {HERE}:{line_of(overflows, 1)},"
        " in overflows)",
    )
    assert escaped == [] and capsys.readouterr().err == ""
    assert np.geterr() == before


def test_a_warning_the_filters_make_an_error_is_raised_in_the_code():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(CheckError, match=r"^overflows raised RuntimeWarning: overflow encountered in exp"):
            check_gradients(NET, overflows)


def test_the_checkers_own_arithmetic_on_huge_gradients_prints_nothing(capsys):
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        report = check_gradients(NET, with_gradient("W1", lambda value: np.sign(value) * 1e308))
    assert escaped == [] and capsys.readouterr().err == ""
    assert report.row("dW1").diagnosis == (
        "dW1 has elements up to 1e+308, near the largest float64 (1.8e+308): an overflow?"
    )
    assert report.notes == ()


def test_code_that_sets_the_parameters_to_nan_after_correct_gradients_fails():
    def poisons(params, X, Y):
        gradients = correct(params, X, Y)
        params["b2"][...] = np.nan
        return gradients

    report = check_gradients(NET, poisons)
    assert all(row.verdict == "pass" for row in report.rows) and report.verdict == "fail"
    assert report.findings == (
        "your code changed b2 (setting elements to NaN) while computing the gradients: it must leave the"
        " parameters as they were (is there an update step inside, or an in-place operation?)",
    )


# Options of the wrong kind


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"names": 5}, "names: expected a dict like {'W1': 'w_hidden'}, got 5"),
        ({"names": "W1=a"}, "names: expected a dict like {'W1': 'w_hidden'}, got 'W1=a'"),
        ({"names": {"W1": 5}}, "names: expected a dict of strings like {'W1': 'w_hidden'}, got the entry 'W1': 5"),
        ({"grad_names": {"W1": 5}}, "grad_names: expected a dict of strings like {'W1': 'dw_hidden'}"),
        ({"params": 5}, "params: expected a dict of your parameters like {'W1': array, ...}, got 5"),
        ({"params": {"W1": "a"}}, "params['W1'] is a str ('a'); expected an array of real numbers"),
        ({"params": {1: np.zeros(2)}}, "params: the names of the parameters must be strings, got 1"),
        ({"forward": 5}, "forward: expected a function forward(params, X) or None, got 5"),
        ({"loss": "mse"}, "loss: expected a function loss(params, X, Y) or None, got 'mse'"),
        ({"samples": "x"}, "samples: 'x' is not one of rows, columns (or None: detected)"),
        ({"weight_layout": 5}, "weight_layout: 5 is not one of out_in, in_out (or None: detected)"),
        ({"bias_shape": "x"}, "bias_shape: 'x' is not one of flat, column, row"),
        ({"targets": ["one-hot"]}, "targets: ['one-hot'] is not one of one-hot, indices"),
        ({"reduction": "avg"}, "reduction: 'avg' is not one of mean, sum (or None: detected)"),
        ({"finite_differences": "yes"}, "finite_differences: expected True or False, got 'yes'"),
        (
            {"finite_differences": True, "finite_difference_elements": -1},
            "finite_difference_elements: expected a positive integer or None (every element), got -1",
        ),
        ({"finite_differences": True, "finite_difference_elements": "a"}, "finite_difference_elements: expected a"),
        ({"finite_differences": True, "finite_difference_elements": 0}, "finite_difference_elements: expected a"),
        ({"finite_difference_elements": 3}, "finite_difference_elements: given without finite_differences=True"),
        ({"seed": "x"}, "seed: must be a non-negative integer, got 'x'"),
        ({"seed": 1.5}, "seed: must be a non-negative integer, got 1.5"),
        ({"dtype": "float16"}, "dtype: 'float16' is not float32 or float64"),
        ({"dtype": "bogus"}, "dtype: 'bogus' is not float32 or float64"),
        ({"timeout": "x"}, "timeout: must be a positive number of seconds, or None for no limit; got 'x'"),
    ],
)
def test_options_of_the_wrong_kind_are_check_errors_naming_the_option(options, message):
    with pytest.raises(CheckError) as caught:
        check_gradients(NET, correct, **options)
    assert str(caught.value).startswith(message), caught.value


def test_names_that_rename_a_parameter_the_code_looks_up_as_ours_say_so():
    with pytest.raises(CheckError) as caught:
        check_gradients(NET, correct, names={"W1": "a"})
    assert str(caught.value).endswith(
        "under every layout tried; names (--names) hands W1 to the code as 'a', but the code looks up 'W1'"
        " (leave W1 out of names if the code calls it W1)"
    )
