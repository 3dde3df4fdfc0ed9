"""The data files a scenario names, opened and checked before anything runs (issue #30).

The schema (:mod:`v2gsim.config`) checks that a data path exists and is a non-empty regular file;
what is inside is checked here, by the same readers, with the same checks, that a run uses
(:mod:`v2gsim.core.datafiles` opens every file): ``v2gsim validate`` reports every problem, and
``v2gsim run`` stops with them before it creates a run directory. So a scenario that validates does
not fail later on a data file.

What is read, per scenario field:

* ``market.agc_files[k]`` (``agc = "pjm_regd"``): each RegD file, which must hold the samples of
  one simulated day (``network.hours`` hours of 2-s samples), as the TSO replays it;
* ``market.price_file`` (``prices = "pjm"``): the regulation price table of one day (at least
  ``network.hours`` hours with both prices, a mileage file's sibling price file joined);
* ``market.energy.price_file`` / ``balancing_file`` / ``tariff_file`` (``[market.energy]`` with a
  file source): the run's hourly energy price table, replayed from ``start_date``
  (``market.energy.start_date`` when that day is not in the file);
* ``sessions.file`` (``[sessions]`` enabled, ``model = "empirical"``): the session pool.

Every problem is one line ``SCENARIO: field: DATAFILE: reason``, the form of every scenario
problem; the reason says what was expected and never shows the file's contents. The readers are
imported only when the scenario names a data file, so validating a scenario without data files
loads neither pandas nor the models.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from v2gsim.config.base import ScenarioError

if TYPE_CHECKING:
    from v2gsim.config.scenario import Scenario

__all__ = ["MAX_CHECK_DAYS", "check_data_files", "data_file_problems", "named_data_files"]

#: Most calendar days of energy prices the check computes (a year covers every season and weekday
#: of a tariff; a file's replay is cyclic).
MAX_CHECK_DAYS = 366


def named_data_files(scenario: Scenario) -> list[tuple[str, str]]:
    """``(dotted field, path as written)`` of every data file the scenario names (the schema's
    :meth:`~v2gsim.config.scenario.Scenario.data_files` and an empirical session file)."""
    out = list(scenario.data_files())
    s = scenario.sessions
    if s.enabled and s.model == "empirical" and s.file:
        out.append(("sessions.file", s.file))
    return out


Check = tuple[str, "Path | None", Callable[[], object], tuple[str, ...]]


def _checks(scenario: Scenario) -> list[Check]:
    """``(field, path, check, unless)`` per data file; ``check()`` reads it as a run would, and is
    skipped when a field of ``unless`` already has a problem."""
    import numpy as np

    from v2gsim.market.energy_sources import energy_price_table
    from v2gsim.market.prices.gme import read_gme_msd, read_gme_pun
    from v2gsim.market.sources import CLOCK_HOURS, FileSignals, regulation_price_table
    from v2gsim.specs.build import market_spec, sessions_spec

    market = market_spec(scenario)
    hours, out = scenario.network.hours, []
    if market.agc == "pjm_regd":
        for k, path in enumerate(market.agc_paths):
            out.append((f"market.agc_files[{k}]", path,
                        lambda p=path: FileSignals((p,), min(hours, CLOCK_HOURS)).day_signal(0), ()))
    if market.prices == "pjm":
        out.append(("market.price_file", market.price_path,
                    lambda: regulation_price_table(market, np.random.default_rng(0), 1, CLOCK_HOURS), ()))
    e = market.energy
    if e is not None and e.source != "synthetic":
        files = ("market.energy.price_file", "market.energy.balancing_file")
        if e.source == "gme":  # each file on its own first, so that both are reported
            out.append((files[0], e.price_path, lambda: read_gme_pun(e.price_path), ()))
            if e.balancing_path is not None:
                out.append((files[1], e.balancing_path, lambda: read_gme_msd(e.balancing_path), ()))
        field = "market.energy.tariff_file" if e.source == "tou" else files[0]
        days = min(scenario.days, MAX_CHECK_DAYS)
        out.append((field, e.tariff_path if e.source == "tou" else e.price_path,
                    lambda: energy_price_table(e, np.random.default_rng(0), days, hours), files))
    s = scenario.sessions
    if s.enabled and s.model == "empirical":
        spec = sessions_spec(scenario)
        out.append(("sessions.file", Path(spec.path), spec.load_pool, ()))  # type: ignore[union-attr]
    return out


def _field_of(exc: Exception, field: str, path: Path | None, scenario: Scenario) -> str:
    """The scenario field to blame: the check's ``field`` when the error is about its file ``path``,
    else the field naming the file the error is about (a GME check reads the balancing file too)."""
    from v2gsim.core.datafiles import DataFileError

    if not isinstance(exc, DataFileError):
        return field
    if exc.reason.startswith("start_date "):
        return "market.energy.start_date"
    try:
        target = exc.path.resolve()
        if path is None or target == path.resolve():
            return field
        for f, text in named_data_files(scenario):
            named = scenario.resolve_path(text).resolve()
            if target == named or (f.endswith("tariff_file") and named in target.parents):
                return f
    except (OSError, RuntimeError):  # a symlink loop: keep the field of the check
        pass
    return field


def data_file_problems(scenario: Scenario) -> list[str]:
    """Every problem of the data files ``scenario`` names, one ``SCENARIO: field: message`` line
    each (empty when they can all be used, or when it names none).

    Raises:
        ScenarioError: the ``[sessions]`` section does not make a valid spec (as the adapter says).
    """
    if not named_data_files(scenario):
        return []  # nothing to read: import no reader
    from v2gsim.core.datafiles import DataFileError

    origin = scenario.source or scenario.name
    problems = []
    failed: set[str] = set()
    for field, path, check, unless in _checks(scenario):
        if failed.intersection(unless):
            continue
        try:
            check()
        except DataFileError as exc:
            blamed = _field_of(exc, field, path, scenario)
            failed.add(blamed)
            problems.append(f"{origin}: {blamed}: {exc}")
        except ValueError as exc:  # e.g. an empty session pool after its filters
            failed.add(field)
            msg = " ".join(str(exc).split()) or type(exc).__name__
            problems.append(f"{origin}: {field}: {path}: {msg}")
    return problems


def check_data_files(scenario: Scenario) -> None:
    """Raise :class:`~v2gsim.config.ScenarioError` listing :func:`data_file_problems`, if any."""
    problems = data_file_problems(scenario)
    if problems:
        raise ScenarioError(problems)
