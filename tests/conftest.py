"""Shared pytest fixtures.

Tests that read real public data under ``../shared/data`` use :func:`shared_data`. When the file is
missing they are skipped on a developer machine, but when the ``CI`` environment variable is set they
*fail*: CI always has ``../shared`` beside the clone, so a missing file there is a defect.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import settings

# Under CI the property tests draw the same examples every run (a failure there is reproducible);
# on a developer machine they explore new examples each run.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def require_shared(relpath: str) -> Path:
    """Return ``../shared/data/<relpath>``; fail under CI, skip elsewhere, when it is missing."""
    path = SHARED_DATA / relpath
    if not path.exists():
        msg = f"shared data file missing: {path}"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def load_script(relpath: str) -> ModuleType:
    """Import the script ``<repo>/<relpath>`` (e.g. ``analysis/benchmarks/bench_scale.py``) as a module."""
    path = REPO / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def shared_data():
    """Fixture form of :func:`require_shared`: ``shared_data("pjm_regd_2s_2020-07/x.csv")``."""
    return require_shared
