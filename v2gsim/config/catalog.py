"""What the package ships: its scenarios, found by name, and the EV model catalog (package data,
read with :mod:`importlib.resources`; standard library only, besides the schema's error type).

**Scenarios** (``v2gsim/scenarios/*.toml``): :func:`packaged_scenarios` lists them,
:func:`packaged_scenario` finds one by name and :func:`resolve_scenario_path` says which file a
scenario argument (a path or a name) means, the rule every command and :func:`v2gsim.load_scenario`
follow. A name that is neither a file nor a shipped scenario is refused with the shipped names and
the closest one (``did you mean tang_mak2024?``).

**EV models** (``v2gsim/data/ev_models.csv``): each row is a common EV model with its public
specifications: usable capacity (kWh), AC and DC charging power (kW) and whether it is sold with
bidirectional charging. The sources and the date the values refer to are in
``v2gsim/data/EV_MODELS.md``. ``[[drivers.models]]`` entries refer to a row by
``catalog = "<name>"`` (:mod:`v2gsim.config.drivers`).

Example::

    from v2gsim.config.catalog import ev_catalog, resolve_scenario_path
    leaf = ev_catalog()["nissan_leaf_40"]
    print(leaf.usable_kwh, leaf.ac_kw, leaf.bidirectional)   # 39.0 6.6 True
    print(resolve_scenario_path("tiny").name)                # tiny.toml (the shipped file)
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType

from v2gsim.config.base import ScenarioError

__all__ = [
    "CATALOG_COLUMNS", "DEFAULT_SCENARIO", "REPO_SCENARIOS", "SCENARIO_DIR", "CatalogEV", "CatalogError",
    "catalog_text", "ev_catalog", "packaged_scenario", "packaged_scenarios", "parse_catalog",
    "read_catalog", "resolve_scenario_path",
]

# ----------------------------------------------------------------------------- scenarios

#: Folder of the shipped scenarios (package data ``v2gsim/scenarios``).
SCENARIO_DIR = Path(str(files("v2gsim").joinpath("scenarios")))
DEFAULT_SCENARIO = SCENARIO_DIR / "default.toml"


def packaged_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package (``v2gsim/scenarios/*.toml``)."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def packaged_scenario(name: str) -> Path:
    """Path of the shipped scenario ``name`` (with or without ``.toml``).

    Raises:
        ScenarioError: no such shipped scenario (the message lists them and the closest name).
    """
    path = SCENARIO_DIR / (name if name.endswith(".toml") else f"{name}.toml")
    if not path.is_file():
        raise _not_found(name)
    return path


#: The folder of the repository that holds the shipped scenarios (``scenarios/`` beside the
#: package): ``scenarios/NAME.toml`` names the shipped ``NAME`` where no such file exists.
REPO_SCENARIOS = Path("scenarios")


def _shipped_stem(p: Path) -> str | None:
    """The shipped scenario a missing path may name: ``NAME`` of a bare ``NAME`` or ``NAME.toml``,
    or of ``scenarios/NAME.toml``; None for any other path."""
    if p.parent == Path("."):
        return p.name.removesuffix(".toml")
    if p.parent == REPO_SCENARIOS and p.suffix == ".toml":
        return p.stem
    return None


def _not_found(given: str | Path) -> ScenarioError:
    """A file that does not exist and is not the name of a shipped scenario, with the shipped
    names and the closest of them (``did you mean tang_mak2024?``)."""
    names = packaged_scenarios()
    stem = Path(given).name.removesuffix(".toml")
    close = difflib.get_close_matches(stem, names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    return ScenarioError([f"{given}: (file): file not found: {Path(given).absolute()}, and not the name "
                          f"of a shipped scenario{hint} (shipped: {', '.join(names)})"])


def resolve_scenario_path(path: str | Path | None) -> Path:
    """The file a scenario argument names.

    The rule: ``None`` is the shipped ``default.toml``; a path to an existing file (relative to the
    working directory) is that file; otherwise a bare name (``tiny``, ``tiny.toml``) or a path
    ``scenarios/NAME.toml`` (the repository's folder of the shipped scenarios, so that examples
    written in the repository work from any folder) is the shipped scenario ``NAME``; any other path
    is returned unchanged (loading it reports that it is missing).

    Raises:
        ScenarioError: a bare name or ``scenarios/NAME.toml`` that is neither a file nor a shipped
            scenario (the message lists the shipped ones and the closest name).
    """
    if path is None:
        return DEFAULT_SCENARIO
    p = Path(path)
    try:
        stem = None if p.exists() else _shipped_stem(p)
        shipped = stem is not None and (SCENARIO_DIR / f"{stem}.toml").is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL character, ...
        return p  # loading it reports the problem with the path
    if stem is None:
        return p
    if not shipped:
        raise _not_found(path)
    return SCENARIO_DIR / f"{stem}.toml"


# ----------------------------------------------------------------------------- EV models


#: Columns of the catalog file, in order.
CATALOG_COLUMNS = ("name", "make", "model", "model_years", "usable_kwh", "gross_kwh", "ac_kw",
                   "dc_kw", "bidirectional")
_NUMERIC = ("usable_kwh", "gross_kwh", "ac_kw", "dc_kw")
_BOOL = {"true": True, "false": False}


class CatalogError(ValueError):
    """An EV catalog file is unreadable (missing columns, malformed or duplicate rows)."""


@dataclass(frozen=True)
class CatalogEV:
    """One EV model of the catalog (public specifications, see ``EV_MODELS.md``).

    Attributes:
        name: identifier used by ``catalog = "..."``.
        make: manufacturer.
        model: model and variant.
        model_years: model years the values refer to.
        usable_kwh: usable (net) battery capacity (kWh).
        gross_kwh: nominal battery capacity (kWh), for reference.
        ac_kw: maximum AC charging power of the on-board charger (kW).
        dc_kw: rated maximum DC fast-charging power (kW), for reference.
        bidirectional: sold with bidirectional (V2G/V2H) charging.
    """

    name: str
    make: str
    model: str
    model_years: str
    usable_kwh: float
    gross_kwh: float
    ac_kw: float
    dc_kw: float
    bidirectional: bool


def _row(raw: dict[str, str], where: str) -> CatalogEV:
    values: dict[str, object] = {k: raw[k].strip() for k in CATALOG_COLUMNS}
    for k in _NUMERIC:
        try:
            x = float(values[k])  # type: ignore[arg-type]
        except ValueError:
            raise CatalogError(f"{where}: {k} must be a number, got {raw[k]!r}") from None
        if not x > 0:
            raise CatalogError(f"{where}: {k} must be > 0, got {x}")
        values[k] = x
    flag = str(values["bidirectional"]).lower()
    if flag not in _BOOL:
        raise CatalogError(f"{where}: bidirectional must be true or false, got {raw['bidirectional']!r}")
    values["bidirectional"] = _BOOL[flag]
    if not values["name"]:
        raise CatalogError(f"{where}: name is empty")
    ev = CatalogEV(**values)  # type: ignore[arg-type]
    if ev.usable_kwh > ev.gross_kwh:
        raise CatalogError(f"{where}: usable_kwh {ev.usable_kwh} exceeds gross_kwh {ev.gross_kwh}")
    return ev


def parse_catalog(text: str, origin: str) -> dict[str, CatalogEV]:
    """Parse catalog CSV text (``origin`` names the file in error messages).

    Raises:
        CatalogError: missing columns, a malformed row or a duplicate name (message names the file
            and the line).
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CATALOG_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise CatalogError(f"{origin}: missing columns {missing}; expected {list(CATALOG_COLUMNS)}")
    out: dict[str, CatalogEV] = {}
    for line, raw in enumerate(reader, start=2):
        where = f"{origin}: line {line}"
        if None in raw or any(raw[c] is None for c in CATALOG_COLUMNS):
            raise CatalogError(f"{where}: expected {len(reader.fieldnames or ())} fields")
        ev = _row(raw, where)
        if ev.name in out:
            raise CatalogError(f"{where}: duplicate name {ev.name!r}")
        out[ev.name] = ev
    if not out:
        raise CatalogError(f"{origin}: no rows")
    return out


def catalog_text() -> str:
    """Text of the shipped catalog (read with :mod:`importlib.resources`)."""
    return files("v2gsim").joinpath("data", "ev_models.csv").read_text(encoding="utf-8")


def read_catalog(path: str | Path) -> dict[str, CatalogEV]:
    """Read a catalog file of the shipped format (name -> row).

    Raises:
        CatalogError: the file is missing or unreadable.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{p}: cannot read the EV catalog ({exc})") from None
    return parse_catalog(text, str(p))


@functools.cache
def ev_catalog() -> Mapping[str, CatalogEV]:
    """The shipped catalog, name -> :class:`CatalogEV` (read once; read-only)."""
    return MappingProxyType(parse_catalog(catalog_text(), "v2gsim/data/ev_models.csv"))
