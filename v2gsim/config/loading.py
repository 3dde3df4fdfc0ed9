"""Loading scenarios: TOML with ``extends`` inheritance, ``--set`` overrides, validation messages.

A scenario is one TOML file. ``extends = "base.toml"`` (a path relative to the extending file)
deep-merges the extending file over its base: tables merge key by key, every other value (including
arrays) replaces. Every problem is reported as ``FILE: dotted.field: message`` naming what is
allowed. The shipped scenarios are package data (:func:`packaged_scenario`), so a plain
``pip install`` runs them from any working directory.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Iterable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from v2gsim.config.base import ScenarioError
from v2gsim.config.scenario import Scenario

__all__ = [
    "DEFAULT_SCENARIO",
    "SCENARIO_DIR",
    "apply_overrides",
    "load_raw",
    "load_scenario",
    "packaged_scenario",
    "packaged_scenarios",
    "parse_value",
    "resolve_scenario_path",
    "scenario_from_dict",
    "validate_file",
]

#: Folder of the shipped scenarios (package data ``v2gsim/scenarios``).
SCENARIO_DIR = Path(str(files("v2gsim").joinpath("scenarios")))
DEFAULT_SCENARIO = SCENARIO_DIR / "default.toml"


# ----------------------------------------------------------------------------- loading


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a TOML scenario and everything it ``extends`` into one merged dict.

    Raises:
        ScenarioError: file missing, TOML syntax error, or an ``extends`` cycle.
    """
    path = Path(path).resolve()
    if path in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, path))
        raise ScenarioError([f"{path}: extends: cycle in extends chain: {chain}"])
    if not path.is_file():
        raise ScenarioError([f"{path}: file not found"])
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"{path}: (toml): {exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError([f"{path}: (file): not UTF-8 text ({exc.reason})"]) from None
    parent = data.get("extends")
    if parent is not None:
        if not isinstance(parent, str):
            raise ScenarioError([f"{path}: extends: must be a file path string"])
        base = load_raw(path.parent / parent, (*_seen, path))
        data = _deep_merge(base, data)
        data["extends"] = parent
    return data


def parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict[str, Any], overrides: Iterable[str], origin: str) -> dict[str, Any]:
    """Apply ``dotted.key=value`` overrides (values parsed as TOML, else taken as strings).

    Raises:
        ScenarioError: an override is not of the form ``key=value``.
    """
    out = copy.deepcopy(data)
    problems = []
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(f"{origin}: --set {item!r}: expected dotted.key=value")
            continue
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = {}
                node[part] = nxt
            node = nxt
        node[parts[-1]] = parse_value(text.strip())
    if problems:
        raise ScenarioError(problems)
    return out


def _allowed_fields(loc: tuple[Any, ...]) -> list[str] | None:
    """Field names allowed at the parent of ``loc`` in the schema (for unknown-key messages)."""
    model: Any = Scenario
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        ann = field.annotation
        inner = getattr(ann, "__args__", None)
        candidates = [ann, *(inner or ())]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)),
                     None)
        if model is None:
            return None
    return sorted(getattr(model, "model_fields", {}))


def _format_errors(err: ValidationError, origin: str) -> list[str]:
    lines = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if p not in ("function-after", "function-before"))
        dotted = ".".join(str(p) for p in loc) or "(scenario)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            allowed = _allowed_fields(loc)
            msg = "unknown field" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
        elif e["type"] in ("missing",):
            msg = "required field is missing"
        if "input" in e and e["type"] not in ("extra_forbidden", "missing"):
            shown = repr(e["input"])
            if len(shown) <= 60:
                msg += f" (got {shown})"
        lines.append(f"{origin}: {dotted}: {msg}")
    return lines


def scenario_from_dict(data: Mapping[str, Any], origin: str = "<dict>") -> Scenario:
    """Validate a (merged) scenario dict, and check that the data files it names can be read.

    Raises:
        ScenarioError: with one ``origin: dotted.field: message`` line per problem.
    """
    try:
        scenario = Scenario.model_validate(dict(data))
    except ValidationError as err:
        raise ScenarioError(_format_errors(err, origin)) from None
    problems = [f"{origin}: {field}: {why}" for field, why in _missing_data(scenario)]
    if problems:
        raise ScenarioError(problems)
    return scenario


def _missing_data(scenario: Scenario) -> list[tuple[str, str]]:
    """``(field, problem)`` for every data file of the scenario that cannot be read."""
    out = []
    for field, text in scenario.data_files():
        path = scenario.resolve_path(text)
        where = " (relative paths are relative to the scenario file)" if not Path(text).is_absolute() else ""
        if not path.exists():
            out.append((field, f"file not found: {path}{where}"))
        elif not path.is_file() and not (field.endswith("tariff_file") and path.is_dir()):
            out.append((field, f"not a file: {path}"))
        elif not os.access(path, os.R_OK):
            out.append((field, f"file cannot be read: {path}"))
    return out


def load_scenario(
    path: str | Path | None = None, overrides: Iterable[str] = (), **updates: Any
) -> Scenario:
    """Load, merge (``extends``), override and validate a scenario file.

    Args:
        path: TOML file, or the name of a shipped scenario (``"tiny"``, see
            :func:`packaged_scenarios`) when no such file exists; ``None`` means the shipped
            ``default.toml``.
        overrides: ``dotted.key=value`` strings (CLI ``--set``), validated like the file.
        **updates: top-level fields to replace (e.g. ``days=5``, ``seed=3``).

    Raises:
        ScenarioError: every problem found, one line each.
    """
    path = resolve_scenario_path(path)
    data = load_raw(path)
    overrides = list(overrides)
    data = apply_overrides(data, overrides, str(path))
    data.update({k: v for k, v in updates.items() if v is not None})
    data["source"] = str(Path(path).resolve())
    data.setdefault("name", Path(path).stem)
    return scenario_from_dict(data, str(path))


def packaged_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package (``v2gsim/scenarios/*.toml``)."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def packaged_scenario(name: str) -> Path:
    """Path of the shipped scenario ``name`` (with or without ``.toml``).

    Raises:
        ScenarioError: no such shipped scenario (the message lists them).
    """
    path = SCENARIO_DIR / (name if name.endswith(".toml") else f"{name}.toml")
    if not path.is_file():
        raise ScenarioError([f"{name}: file not found (and not a shipped scenario; shipped: "
                             f"{', '.join(packaged_scenarios())})"])
    return path


def resolve_scenario_path(path: str | Path | None) -> Path:
    """The file a scenario argument names: ``None`` -> the shipped default; an existing file as
    it is; otherwise a bare name (no folder part) of a shipped scenario; else the path unchanged
    (loading it then reports that it is missing)."""
    if path is None:
        return DEFAULT_SCENARIO
    p = Path(path)
    if p.exists() or p.parent != Path("."):
        return p
    return packaged_scenario(str(p)) if (SCENARIO_DIR / p.with_suffix(".toml").name).is_file() else p


def validate_file(path: str | Path, overrides: Iterable[str] = ()) -> list[str]:
    """Return the list of problems of a scenario file (empty when it is valid)."""
    try:
        load_scenario(path, overrides)
    except ScenarioError as exc:
        return exc.problems
    return []
