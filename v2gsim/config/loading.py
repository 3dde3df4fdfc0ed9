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

from v2gsim.config.base import ScenarioError, dotted_location
from v2gsim.config.resources import memory_problems
from v2gsim.config.scenario import Scenario, safe_name

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


#: Longest ``extends`` chain (files) followed before the chain is reported as too deep.
MAX_EXTENDS_DEPTH = 32


def _read_toml(path: Path, by: Path | None) -> dict[str, Any]:
    """Parse one TOML file; every problem names the file that asked for it (``by``: the extending
    file, whose field ``extends`` pointed here), never a traceback."""
    where = f"{by}: extends" if by is not None else f"{path}: (file)"
    try:
        if not path.exists():
            raise ScenarioError([f"{where}: file not found: {path}"])
        if path.is_dir():
            raise ScenarioError([f"{where}: is a directory, not a TOML file: {path}"])
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError([f"{where}: not a TOML text file (not UTF-8: {exc.reason} at byte "
                             f"{exc.start}): {path}"]) from None
    except (OSError, ValueError) as exc:  # permissions, name too long, NUL in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScenarioError([f"{where}: cannot be read ({reason}): {path}"]) from None
    if "\x00" in text:
        raise ScenarioError([f"{where}: not a TOML text file (it contains NUL bytes): {path}"])
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        extended = f" (extended by {by})" if by is not None else ""
        raise ScenarioError([f"{path}: (toml): {exc}{extended}"]) from None


def load_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a TOML scenario and everything it ``extends`` into one merged dict.

    Problems of an extended file name the extending file and its field ``extends``
    (``/a/x.toml: extends: file not found: /nonexistent/base.toml``); a cycle (a file extending
    itself, or ``a -> b -> a``) is reported with the chain of files.

    Raises:
        ScenarioError: file missing, a directory, not UTF-8 text, TOML syntax error, an
            ``extends`` cycle or a chain deeper than :data:`MAX_EXTENDS_DEPTH` files.
    """
    by = _seen[-1] if _seen else None
    try:
        path = Path(path).resolve()
    except (OSError, ValueError) as exc:
        where = f"{by}: extends" if by is not None else f"{path}: (file)"
        raise ScenarioError([f"{where}: not a usable path ({exc}): {str(path)!r}"]) from None
    if path in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, path))
        what = "extends itself" if path == by else "cycle in extends chain"
        raise ScenarioError([f"{by}: extends: {what}: {chain}"])
    if len(_seen) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError([f"{by}: extends: chain of more than {MAX_EXTENDS_DEPTH} files"])
    data = _read_toml(path, by)
    parent = data.get("extends")
    if parent is not None:
        if not isinstance(parent, str) or not parent.strip():
            raise ScenarioError([f"{path}: extends: must be the path of a TOML file (a non-empty "
                                 f"string), got {parent!r}"[:300]])
        if "\x00" in parent:
            raise ScenarioError([f"{path}: extends: the path contains a NUL character"])
        base = load_raw(path.parent / Path(parent).expanduser(), (*_seen, path))
        data = _deep_merge(base, data)
        data["extends"] = parent
    return data


#: First characters of a TOML value that is meant as an array, table, string or number: a
#: ``--set`` value starting with one of them must parse as TOML (it is not taken as a bare string).
_STRUCTURED = tuple('[{"\'+-0123456789')


def parse_value(text: str) -> Any:
    """A ``--set`` value: TOML (``500``, ``0.5``, ``"naive"``, ``[1, 2]``, ``true``), else a bare
    string (``--set platform.policy=chance``).

    Raises:
        ValueError: the value looks like a TOML array, table, quoted string or number but does not
            parse (``[1,``), or it spans several lines.
    """
    if "\n" in text or "\r" in text:
        raise ValueError("a --set value must be on one line")
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError as exc:
        if text.startswith(_STRUCTURED) or text in ("true", "false"):
            raise ValueError(f"{text!r} is not a valid TOML value ({exc})") from None
        return text


def _set_path(data: dict[str, Any], key: str, value: Any) -> str | None:
    """Put ``value`` at dotted ``key`` of ``data`` (tables created as needed; ``places.0`` indexes
    a list). Returns a problem, or None."""
    parts = key.split(".")
    if any(not p.strip() for p in parts):
        return "empty part in the dotted key"
    node: Any = data
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return (f"{'.'.join(parts[:k])} is a list of {len(node)}; index it with 0.."
                        f"{len(node) - 1}")
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
            continue
        if last:
            node[part] = value
        else:
            if not isinstance(node.get(part), dict | list):
                node[part] = {}
            node = node[part]
        if not isinstance(node, dict | list):
            return f"{'.'.join(parts[:k + 1])} is not a table"
    return None


def apply_overrides(data: dict[str, Any], overrides: Iterable[str], origin: str) -> dict[str, Any]:
    """Apply ``dotted.key=value`` overrides (values parsed as TOML, else taken as strings).

    Raises:
        ScenarioError: an override is not of the form ``key=value``, its value is malformed TOML
            (reported at its key), or its key goes through a value that is not a table.
    """
    out = copy.deepcopy(data)
    problems = []
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(f"{origin}: (--set): expected dotted.key=value, got {item!r}")
            continue
        try:
            value = parse_value(text.strip())
        except ValueError as exc:
            problems.append(f"{origin}: {key}: --set value {exc}")
            continue
        problem = _set_path(out, key, value)
        if problem is not None:
            problems.append(f"{origin}: {key}: --set: {problem}")
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


def format_errors(err: ValidationError, origin: str) -> list[str]:
    """One ``origin: dotted.field: message (got ...)`` line per pydantic error."""
    lines = []
    for e in err.errors():
        dotted, msg = dotted_location(tuple(e["loc"]), e["msg"])
        if e["type"] == "extra_forbidden":
            allowed = _allowed_fields(tuple(e["loc"]))
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
    """Validate a (merged) scenario dict, check that the data files it names can be read and that
    a run fits in this machine's memory (:func:`v2gsim.config.resources.memory_problems`).

    Raises:
        ScenarioError: with one ``origin: dotted.field: message`` line per problem.
    """
    try:
        scenario = Scenario.model_validate(dict(data))
    except ValidationError as err:
        raise ScenarioError(format_errors(err, origin)) from None
    problems = [f"{origin}: {field}: {why}"
                for field, why in (*_missing_data(scenario), *memory_problems(scenario))]
    if problems:
        raise ScenarioError(problems)
    return scenario


def _missing_data(scenario: Scenario) -> list[tuple[str, str]]:
    """``(field, problem)`` for every data file of the scenario that cannot be read (missing, a
    directory, unreadable, empty; what is inside is checked by the readers when the run reads it)."""
    out = []
    for field, text in scenario.data_files():
        try:
            path = scenario.resolve_path(text)
            where = (" (relative paths are relative to the scenario file)"
                     if not Path(text).is_absolute() else "")
            if not path.exists():
                out.append((field, f"file not found: {path}{where}"))
            elif not path.is_file() and not (field.endswith("tariff_file") and path.is_dir()):
                out.append((field, f"not a file: {path}"))
            elif not os.access(path, os.R_OK):
                out.append((field, f"file cannot be read: {path}"))
            elif path.stat().st_size == 0:
                out.append((field, f"file is empty: {path}"))
        except (OSError, ValueError, RuntimeError) as exc:  # NUL in the path, unknown ~user, ...
            out.append((field, f"not a usable path ({exc}): {text!r}"[:300]))
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
    data.setdefault("name", safe_name(Path(path).stem))
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
