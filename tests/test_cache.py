"""What symbackprop keeps in the user's cache folder: the checker's reference across processes
(symbackprop.testing.reference_cache: hits, misses, corrupt entries rebuilt, the switch, concurrent
writers) and the compiled templates; and the imports that stay light."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy
import pytest

from symbackprop import Network, cachedir
from symbackprop.cachedir import CACHE_DIR_VARIABLE, CACHE_SWITCH_VARIABLE
from symbackprop.testing import reference_cache
from symbackprop.testing.reference import printed_reference
from symbackprop.testing.reference_cache import ReferenceCode, cached_reference, entry_paths

NETWORK = Network([3, 4, 2], ["tanh", "sigmoid"], "bce")


class CountingBuilder:
    """printed_reference, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, network: Network) -> tuple[str, ReferenceCode]:
        self.calls += 1
        return printed_reference(network)


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_DIR_VARIABLE, str(folder))
    monkeypatch.delenv(CACHE_SWITCH_VARIABLE, raising=False)
    return folder


def _gradient(module) -> dict[str, numpy.ndarray]:
    rng = numpy.random.default_rng(0)
    X, Y = rng.normal(size=(5, 3)), rng.integers(0, 2, size=(5, 2)).astype(float)
    return module.loss_and_grads(module.init_params(1), X, Y)[1]


def test_a_second_lookup_builds_nothing_and_gives_the_same_reference(cache_dir: Path) -> None:
    build = CountingBuilder()
    first_module, first_code = cached_reference(NETWORK, build)
    second_module, second_code = cached_reference(NETWORK, build)
    assert build.calls == 1
    assert second_code == first_code == printed_reference(NETWORK)[1]
    assert second_module.__file__ == str(entry_paths(NETWORK)[1])
    for name, value in _gradient(first_module).items():
        numpy.testing.assert_array_equal(_gradient(second_module)[name], value)


def test_the_entry_is_compiled_even_where_python_writes_no_bytecode(cache_dir: Path) -> None:
    cached_reference(NETWORK, CountingBuilder())
    module_path = entry_paths(NETWORK)[1]
    assert Path(importlib.util.cache_from_source(str(module_path))).is_file()


def test_networks_that_differ_in_anything_have_different_entries() -> None:
    variants = [
        NETWORK,
        Network([3, 4, 2], ["tanh", "sigmoid"], "sse"),
        Network([3, 5, 2], ["tanh", "sigmoid"], "bce"),
        Network([3, 4, 2], ["leaky_relu(0.01)", "sigmoid"], "bce"),
        Network([3, 4, 2], ["leaky_relu(0.02)", "sigmoid"], "bce"),
        Network([3, 4, 2], ["mine", "sigmoid"], "bce", custom_activations={"mine": "x/(1+abs(x))"}),
        Network([3, 4, 2], ["mine", "sigmoid"], "bce", custom_activations={"mine": "x/(2+abs(x))"}),
    ]
    keys = {reference_cache.entry_key(network) for network in variants}
    assert len(keys) == len(variants)
    assert reference_cache.entry_key(Network([3, 4, 2], ["tanh", "sigmoid"], "bce")) == reference_cache.entry_key(
        NETWORK
    )


CORRUPTIONS = {
    "steps not JSON": lambda steps, module: steps.write_text("{not json"),
    "steps truncated": lambda steps, module: steps.write_text(steps.read_text()[:40]),
    "steps of another format": lambda steps, module: steps.write_text(json.dumps({"format": -1})),
    "steps missing a field": lambda steps, module: steps.write_text(
        json.dumps({k: v for k, v in json.loads(steps.read_text()).items() if k != "delta"})
    ),
    "steps not text": lambda steps, module: steps.write_bytes(b"\xff\xfe\x00garbage"),
    "steps nested deeply": lambda steps, module: steps.write_text("[" * 100_000),
    "module missing": lambda steps, module: module.unlink(),
    "module not Python": lambda steps, module: _replace_module(module, "def (:\n"),
    "module failing": lambda steps, module: _replace_module(module, "raise RuntimeError('broken')\n"),
}


def _replace_module(module: Path, text: str) -> None:
    module.write_text(text)
    Path(importlib.util.cache_from_source(str(module))).unlink(missing_ok=True)


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_corrupt_entry_is_rebuilt_and_replaced(cache_dir: Path, corruption: str) -> None:
    cached_reference(NETWORK, CountingBuilder())
    steps, module = entry_paths(NETWORK)
    CORRUPTIONS[corruption](steps, module)
    build = CountingBuilder()
    rebuilt_module, code = cached_reference(NETWORK, build)
    assert build.calls == 1
    assert code == printed_reference(NETWORK)[1]
    assert set(_gradient(rebuilt_module)) == {"W1", "b1", "W2", "b2"}
    # Replaced: the next lookup is a hit again.
    again = CountingBuilder()
    cached_reference(NETWORK, again)
    assert again.calls == 0


def test_garbage_bytecode_is_compiled_again_from_the_entrys_source(cache_dir: Path) -> None:
    cached_reference(NETWORK, CountingBuilder())
    module_path = entry_paths(NETWORK)[1]
    Path(importlib.util.cache_from_source(str(module_path))).write_bytes(b"garbage")
    build = CountingBuilder()
    module, _ = cached_reference(NETWORK, build)
    assert build.calls == 0
    assert set(_gradient(module)) == {"W1", "b1", "W2", "b2"}


@pytest.mark.parametrize("value", ["0", "off", "False", "no"])
def test_the_switch_turns_the_cache_off(cache_dir: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(CACHE_SWITCH_VARIABLE, value)
    build = CountingBuilder()
    cached_reference(NETWORK, build)
    cached_reference(NETWORK, build)
    assert build.calls == 2
    assert not cache_dir.exists()


def test_a_folder_that_cannot_be_written_costs_time_not_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(CACHE_DIR_VARIABLE, str(blocker / "cache"))
    build = CountingBuilder()
    module, _ = cached_reference(NETWORK, build)
    cached_reference(NETWORK, build)
    assert build.calls == 2
    assert set(_gradient(module)) == {"W1", "b1", "W2", "b2"}


def test_the_default_folder_is_the_users_cache_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(CACHE_DIR_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert cachedir.cache_folder() == tmp_path / "symbackprop"


def test_rendering_keeps_the_compiled_templates_unless_caching_is_off(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from symbackprop import templating

    code = (
        "from symbackprop import Network; from symbackprop.codegen import generate_module;"
        " generate_module(Network([2, 1], 'sigmoid', 'sse'))"
    )
    monkeypatch.setenv(CACHE_SWITCH_VARIABLE, "off")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert not cache_dir.exists()
    monkeypatch.delenv(CACHE_SWITCH_VARIABLE)
    subprocess.run([sys.executable, "-c", code], check=True)
    assert list((cache_dir / "templates").iterdir())
    assert templating.template_folder().is_dir()


def _lookup_in_a_fresh_process(folder: str) -> list[str]:
    os.environ[CACHE_DIR_VARIABLE] = folder
    _, code = cached_reference(NETWORK, printed_reference)
    return list(code.delta)


@pytest.mark.slow
def test_workers_racing_on_an_empty_cache_all_get_the_entry(cache_dir: Path) -> None:
    steps, module = entry_paths(NETWORK)
    with ProcessPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(_lookup_in_a_fresh_process, [str(cache_dir)] * 8))
    assert all(result == results[0] for result in results)
    assert ReferenceCode.from_json(steps.read_text()) == printed_reference(NETWORK)[1]
    assert sorted(path.name for path in steps.parent.iterdir()) == sorted(["__pycache__", steps.name, module.name])


def _modules_after(statement: str) -> set[str]:
    probe = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=environment
    ).stdout
    return set(output.split())


HEAVY = {"sympy", "numpy", "jinja2", "scipy", "matplotlib"}


@pytest.mark.parametrize(
    "statement",
    [
        "import symbackprop",
        "import symbackprop.testing.plugin",
        "import symbackprop.testing",
        "import symbackprop.codegen",
    ],
)
def test_light_imports_import_nothing_heavy(statement: str) -> None:
    assert _modules_after(statement) & HEAVY == set()


def test_the_checker_with_a_warm_cache_imports_no_printer_and_no_template_engine(cache_dir: Path) -> None:
    warm = (
        "from symbackprop import Network; from symbackprop.testing.reference import reference_for;"
        " reference_for(Network([3, 4, 2], ['tanh', 'sigmoid'], 'bce'))"
    )
    _modules_after(warm)  # fills the cache
    loaded = _modules_after(warm)
    assert "jinja2" not in loaded
    assert not loaded & {"symbackprop.derive", "symbackprop.printing.numpy", "symbackprop.codegen.numpy_module"}


def test_a_cache_folder_others_may_write_in_is_not_used(cache_dir: Path) -> None:
    folder = cache_dir / reference_cache.REFERENCES
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    build = CountingBuilder()
    cached_reference(NETWORK, build)
    cached_reference(NETWORK, build)
    assert build.calls == 2
    assert list(folder.iterdir()) == []
