"""The pytest plugin of symbackprop, registered by the ``pytest11`` entry point ``symbackprop``.

Contract
--------
* The ``gradcheck`` fixture is :func:`~symbackprop.testing.assert_gradients` (same arguments, same
  ``GradientMismatch`` on failure) that also records each report under the test's node id.
* ``--gradcheck-report`` prints every recorded report at the end of the session;
  ``--gradcheck-report=PATH`` writes them to PATH instead (atomically), pass or fail alike.
The checker is imported when the fixture is first used, not when pytest starts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..files import write_atomic

if TYPE_CHECKING:
    from .report import GradientReport

_REPORTS = pytest.StashKey[list[tuple[str, "GradientReport"]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("symbackprop", "symbackprop gradient checks")
    group.addoption(
        "--gradcheck-report",
        nargs="?",
        const="-",
        default=None,
        metavar="PATH",
        help="print the report of every gradcheck at the end of the session, or write them to PATH",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_REPORTS] = []
    target = config.getoption("--gradcheck-report")
    # Refused now, not after the whole session has run and its reports would be lost.
    if target not in (None, "-") and not Path(target).resolve().parent.is_dir():
        raise pytest.UsageError(f"--gradcheck-report: the folder of {target} does not exist")


@pytest.fixture
def gradcheck(request: pytest.FixtureRequest) -> Callable[..., GradientReport]:
    """``gradcheck(network, code, **options)``: assert the code's gradients, recording the report."""
    reports = request.config.stash[_REPORTS]
    test = request.node.nodeid

    def check(network: Any, code: Any, **options: Any) -> GradientReport:
        __tracebackhide__ = True  # a failure shows the user's test line, not this function
        from .check import check_gradients
        from .report import GradientMismatch

        report = check_gradients(network, code, **options)
        reports.append((test, report))
        if not report.ok:
            raise GradientMismatch(report)
        return report

    return check


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    target = config.getoption("--gradcheck-report")
    if target is None:
        return
    reports = config.stash.get(_REPORTS, [])
    text = "\n\n".join(f"{test}\n{report.table()}" for test, report in reports) or "no gradient checks ran"
    if target == "-":
        terminalreporter.write_sep("=", f"gradient checks ({len(reports)})")
        terminalreporter.write_line(text)
        return

    write_atomic(target, text + "\n")
    terminalreporter.write_line(f"gradient check reports ({len(reports)}) written to {target}")
