"""The shipped EV model catalog (package data ``v2gsim/data/ev_models.csv``, standard library only).

Each row is a common EV model with its public specifications: usable capacity (kWh), AC and DC
charging power (kW) and whether it is sold with bidirectional charging. The sources and the date
the values refer to are in ``v2gsim/data/EV_MODELS.md``. ``[[drivers.models]]`` entries refer to a
row by ``catalog = "<name>"`` (:mod:`v2gsim.config.drivers`).

Example::

    from v2gsim.config.catalog import ev_catalog
    leaf = ev_catalog()["nissan_leaf_40"]
    leaf.usable_kwh, leaf.ac_kw, leaf.bidirectional   # (39.0, 6.6, True)
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType

__all__ = [
    "CATALOG_COLUMNS", "CatalogEV", "CatalogError", "catalog_text", "ev_catalog", "parse_catalog",
    "read_catalog",
]

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
