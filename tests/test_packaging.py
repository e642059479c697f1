"""The wheel ships what an installed symbackprop needs: every template, every subpackage, the
console script and the pytest plugin's entry point.

The test-suite itself imports symbackprop from the source tree, where the templates sit in the
top-level ``templates/`` folder, so only a built wheel shows whether ``pip install .`` (not
editable) can render anything.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    # Built from a copy, so that setuptools' build/ and egg-info folders stay out of the work tree.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPOSITORY / name, source / name)
    for name in ("symbackprop", "templates"):
        shutil.copytree(REPOSITORY / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    folder = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(folder), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"pip wheel failed:\n{result.stderr}"
    (built,) = folder.glob("symbackprop-*.whl")
    return zipfile.ZipFile(built)


@pytest.mark.slow
def test_the_wheel_holds_every_template(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    templates = sorted(path.name for path in (REPOSITORY / "templates").glob("*.j2"))
    assert templates, "templates/ holds no templates"
    missing = [name for name in templates if f"symbackprop/templates/{name}" not in names]
    assert not missing, f"the wheel lacks the templates {missing}"


@pytest.mark.slow
def test_the_wheel_holds_every_module_of_the_package(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    sources = sorted(path.relative_to(REPOSITORY).as_posix() for path in (REPOSITORY / "symbackprop").rglob("*.py"))
    missing = [source for source in sources if source not in names]
    assert not missing, f"the wheel lacks {missing} (is its package listed in pyproject.toml?)"
    assert "symbackprop/py.typed" in names


@pytest.mark.slow
def test_the_wheel_declares_the_command_and_the_pytest_plugin(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [name for name in wheel.namelist() if name.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.read_string(wheel.read(entry_points).decode("utf-8"))
    assert parser["console_scripts"]["symbackprop"] == "symbackprop.cli:main"
    assert parser["pytest11"]["symbackprop"] == "symbackprop.testing.plugin"
