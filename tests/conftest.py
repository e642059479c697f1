"""Shared by every test file: under pytest-xdist, one folder of generated sources for the run; the
checker's reference cache in the run's temporary folder, never the user's; and the slow tests
scheduled first."""

from __future__ import annotations

import os

import covering
import pytest

from symbackprop.cachedir import CACHE_DIR_VARIABLE, CACHE_SWITCH_VARIABLE


@pytest.fixture(scope="session", autouse=True)
def _generated_sources_shared_by_the_workers(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The workers' temporary folders (popen-gw0, popen-gw1, ...) sit in one folder per run; the
    generated sources go beside them, so that each network is generated once per run."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return
    folder = tmp_path_factory.getbasetemp().parent / "generated-sources"
    folder.mkdir(exist_ok=True)
    covering.SHARED_SOURCES = folder


@pytest.fixture(scope="session", autouse=True)
def _cache_folder_of_the_run(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One cache folder per run (shared by its workers, and by the commands tests run), so that a
    run starts cold and leaves nothing in the user's cache folder."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "symbackprop-cache"
    os.environ[CACHE_DIR_VARIABLE] = str(folder)
    os.environ.pop(CACHE_SWITCH_VARIABLE, None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first, so that under pytest-xdist the workers share the rest around them
    instead of one worker finishing a long test while the other idles at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
