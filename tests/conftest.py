"""Shared pytest helpers and fixtures.

* :func:`require_shared` / :func:`shared_data`: tests that read real public data under
  ``../shared/data``. When the file is missing they are skipped on a developer machine, but when the
  ``CI`` environment variable is set they *fail*: CI always has ``../shared`` beside the clone, so a
  missing file there is a defect.
* :func:`load_script`: import an analysis script (``analysis/...py``) as a module, the one loader of
  the suite.
* :func:`step_model`: build a :class:`~v2gsim.sim.model.V2GMarketModel` from a scenario (shipped
  name, path or :class:`~v2gsim.config.scenario.Scenario`) and step it day by day.
* Hypothesis profiles: the property tests draw the same examples on every run (see below).
"""

from __future__ import annotations

import os

# One OpenBLAS thread, as ``import v2gsim`` sets it, also when a test module imports numpy first:
# the calibration's small SVDs otherwise spin-wait against the other process on a loaded 2-core machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import settings

if TYPE_CHECKING:
    from v2gsim.config.scenario import Scenario
    from v2gsim.sim.model import V2GMarketModel

# The README's test command gives the same result on every run, with or without CI: examples are
# derived from a hash of each test (derandomize), no example database is read or written (a failure
# found once cannot haunt later runs from .hypothesis/), and no deadline (a loaded machine does not
# fail a test). To hunt for new counterexamples instead, run
# ``pytest --hypothesis-profile=explore`` (or HYPOTHESIS_PROFILE=explore): random examples, failing
# ones kept in .hypothesis/ and replayed first.
settings.register_profile("deterministic", derandomize=True, database=None, deadline=None,
                          print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

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
    """Import the script ``<repo>/<relpath>`` (e.g. ``analysis/benchmarks/bench_scale.py``) as a module.

    The module is named after the file (``bench_scale``) and not registered in ``sys.modules``, so
    every call executes the script afresh.
    """
    path = REPO / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None, f"not an importable script: {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def step_model(scenario: Scenario | str | Path, overrides: Sequence[str] = (), *, days: int | None = None,
               steps: int | None = None, **model_kwargs: Any) -> V2GMarketModel:
    """Build a :class:`~v2gsim.sim.model.V2GMarketModel` and step it.

    Args:
        scenario: a validated :class:`~v2gsim.config.scenario.Scenario`, or a shipped scenario name
            or a path, loaded with ``overrides`` (``--set`` style) and ``days``.
        overrides: ``dotted.key=value`` overrides (only with a name or path).
        days: the scenario's horizon (only with a name or path; default: the file's).
        steps: days to simulate; default every day of the horizon (until ``model.running`` is False).
        **model_kwargs: passed to the model (``policy=``, ``signals=``, ``replication=``, ...).

    Returns:
        The model after its last step; its ``daily_table()``, ``hourly_table()`` and
        ``fleet_table()`` hold the simulated days.
    """
    from v2gsim.config import load_scenario
    from v2gsim.sim.model import V2GMarketModel

    if isinstance(scenario, (str, Path)):
        scenario = load_scenario(scenario, list(overrides), days=days)
    elif overrides or days is not None:
        raise TypeError("overrides and days apply to a scenario name or path, not to a Scenario")
    model = V2GMarketModel(scenario, **model_kwargs)
    n = scenario.days if steps is None else steps
    for _ in range(n):
        model.step()
    return model


def record_observations(model: V2GMarketModel) -> list[Any]:
    """Wrap the model's policy so that every :class:`~v2gsim.policies.base.Observation` it is given
    is appended to the returned list (in day order) before the policy decides."""
    seen: list[Any] = []
    decide = model.platform.policy.decide

    def spy(obs: Any) -> Any:
        seen.append(obs)
        return decide(obs)

    model.platform.policy.decide = spy
    return seen


@pytest.fixture
def shared_data():
    """Fixture form of :func:`require_shared`: ``shared_data("pjm_regd_2s_2020-07/x.csv")``."""
    return require_shared
