"""Loading scenarios: TOML with ``extends`` inheritance, ``--set`` overrides, validation messages.

A scenario is one TOML file. ``extends = "base.toml"`` (a path relative to the extending file)
deep-merges the extending file over its base: tables merge key by key, every other value (including
arrays) replaces. Every problem is reported as ``FILE: dotted.field: message`` naming what is
allowed; an unknown field that only a ``--set`` override wrote (a typo) is reported as
``--set: dotted.field: unknown field; allowed: ...``. The shipped scenarios are package data
(:mod:`v2gsim.config.catalog`), so a plain ``pip install`` runs them from any working directory;
which file a scenario argument (a path or a shipped name) means is
:func:`~v2gsim.config.catalog.resolve_scenario_path`'s rule.
"""

from __future__ import annotations

import copy
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from v2gsim.config.base import ScenarioError, dotted_location
from v2gsim.config.catalog import (
    DEFAULT_SCENARIO,
    SCENARIO_DIR,
    packaged_scenario,
    packaged_scenarios,
    resolve_scenario_path,
)
from v2gsim.config.resources import memory_problems
from v2gsim.config.scenario import REMOVED_FIELDS, Scenario, safe_name

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

#: Largest scenario file read (bytes): a scenario is a few kB; this keeps ``extends = "/dev/zero"``
#: style mistakes (or a huge file) from filling the memory.
MAX_SCENARIO_BYTES = 1_000_000

#: Deepest nesting of tables and arrays in a scenario (the schema needs 6 levels).
MAX_NESTING = 32


def _where(path: Path | str, by: Path | None) -> str:
    """Who is blamed for a problem of reading ``path``: the extending file's ``extends``, or the
    file itself."""
    return f"{by}: extends" if by is not None else f"{path}: (file)"


def _read_text(path: Path, where: str) -> str:
    """The text of a regular file of at most :data:`MAX_SCENARIO_BYTES` bytes.

    The file is opened without blocking and checked on the open descriptor, so a FIFO, a device
    (``/dev/zero``), a socket or a directory is refused before anything is read, also when it was
    swapped in after a check by name.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ScenarioError([f"{where}: file not found: {path}"]) from None
    except IsADirectoryError:
        raise ScenarioError([f"{where}: is a directory, not a TOML file: {path}"]) from None
    except (OSError, ValueError) as exc:  # permissions, name too long, NUL in the path, a loop
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScenarioError([f"{where}: cannot be read ({reason}): {path}"]) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ScenarioError([f"{where}: is a directory, not a TOML file: {path}"])
        if not stat.S_ISREG(mode):
            raise ScenarioError([f"{where}: not a regular file (a FIFO, device or socket); a "
                                 f"scenario is a TOML file: {path}"])
        with os.fdopen(fd, "rb") as fh:
            fd = -1  # closed by fh
            data = fh.read(MAX_SCENARIO_BYTES + 1)
    except OSError as exc:  # an I/O error while reading
        raise ScenarioError([f"{where}: cannot be read ({exc.strerror or exc}): {path}"]) from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > MAX_SCENARIO_BYTES:
        raise ScenarioError([f"{where}: larger than {MAX_SCENARIO_BYTES:,} bytes; allowed: a "
                             f"scenario file of at most {MAX_SCENARIO_BYTES // 1_000_000} MB: {path}"])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError([f"{where}: not a TOML text file (not UTF-8: {exc.reason} at byte "
                             f"{exc.start}): {path}"]) from None


def _too_deep(data: Any, limit: int = MAX_NESTING) -> tuple[Any, ...] | None:
    """The location of a value nested in more than ``limit`` tables and arrays, or None."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    while stack:
        value, loc = stack.pop()
        if len(loc) > limit:
            return loc
        if isinstance(value, dict):
            stack.extend((v, (*loc, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*loc, k)) for k, v in enumerate(value))
    return None


def _check_nesting(data: dict[str, Any], origin: str) -> None:
    """Raise when ``data`` nests tables and arrays deeper than :data:`MAX_NESTING` levels."""
    loc = _too_deep(data)
    if loc is not None:
        field, _ = dotted_location(loc[:3], "")
        raise ScenarioError([f"{origin}: {field}: tables and arrays nested more than "
                             f"{MAX_NESTING} levels deep; allowed: at most {MAX_NESTING}"])


def _read_toml(path: Path, by: Path | None) -> dict[str, Any]:
    """Parse one TOML file; every problem names the file that asked for it (``by``: the extending
    file, whose field ``extends`` pointed here), never a traceback."""
    text = _read_text(path, _where(path, by))
    if "\x00" in text:
        raise ScenarioError([f"{_where(path, by)}: not a TOML text file (it contains NUL bytes): "
                             f"{path}"])
    extended = f" (extended by {by})" if by is not None else ""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"{path}: (toml): {exc}{extended}"]) from None
    except RecursionError:
        raise ScenarioError([f"{path}: (toml): tables and arrays nested too deeply to parse; "
                             f"allowed: at most {MAX_NESTING} levels{extended}"]) from None
    _check_nesting(data, str(path))
    return data


def _resolve(path: str | Path, by: Path | None) -> Path:
    """``path`` made absolute with its symbolic links resolved; a problem names ``by``."""
    try:
        return Path(path).resolve()
    except RuntimeError as exc:  # Python < 3.13: a symbolic link loop
        why = "a loop of symbolic links" if "loop" in str(exc).lower() else str(exc)
        raise ScenarioError([f"{_where(path, by)}: cannot be read ({why}): {path}"]) from None
    except (OSError, ValueError) as exc:
        raise ScenarioError([f"{_where(path, by)}: not a usable path ({exc}): "
                             f"{str(path)!r}"[:300]]) from None


def _extends_target(path: Path, parent: Any) -> Path:
    """The file named by ``extends = parent`` in ``path`` (relative to its folder, ``~`` expanded)."""
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError([f"{path}: extends: must be the path of a TOML file (a non-empty "
                             f"string), got {parent!r}"[:300]])
    if "\x00" in parent:
        raise ScenarioError([f"{path}: extends: the path contains a NUL character"])
    try:
        target = Path(parent).expanduser()
    except RuntimeError:  # ~user of no such user, or no home directory
        user = parent.split("/", 1)[0]
        raise ScenarioError([f"{path}: extends: cannot expand {user!r} (no such user or home "
                             f"directory); give the path without ~: {parent!r}"[:300]]) from None
    return path.parent / target


def load_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a TOML scenario and everything it ``extends`` into one merged dict.

    Problems of an extended file name the extending file and its field ``extends``
    (``/a/x.toml: extends: file not found: /nonexistent/base.toml``); a cycle (a file extending
    itself, or ``a -> b -> a``) is reported with the chain of files. Only regular files of at most
    :data:`MAX_SCENARIO_BYTES` bytes are read (no FIFO, device or directory).

    Raises:
        ScenarioError: file missing, a directory or another file that is not a regular file, too
            large, not UTF-8 text, TOML syntax error, tables nested deeper than
            :data:`MAX_NESTING`, an ``extends`` path that cannot be expanded or resolved (unknown
            ``~user``, a symbolic-link loop), a cycle or a chain deeper than
            :data:`MAX_EXTENDS_DEPTH` files.
    """
    by = _seen[-1] if _seen else None
    path = _resolve(path, by)
    if path in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, path))
        what = "extends itself" if path == by else "cycle in extends chain"
        raise ScenarioError([f"{by}: extends: {what}: {chain}"])
    if len(_seen) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError([f"{by}: extends: chain of more than {MAX_EXTENDS_DEPTH} files"])
    data = _read_toml(path, by)
    parent = data.get("extends")
    if parent is not None:
        base = load_raw(_extends_target(path, parent), (*_seen, path))
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
    except RecursionError:
        raise ValueError(f"is nested too deeply; allowed: at most {MAX_NESTING} levels") from None
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


def format_errors(err: ValidationError, origin: str, overrides: Iterable[str] = ()) -> list[str]:
    """One ``origin: dotted.field: message (got ...)`` line per pydantic error.

    An unknown field that a ``--set`` override wrote (a typo on the command line: the file does
    not have it) is reported as ``--set: dotted.field: unknown field; allowed: ...``, not against
    the scenario the override was applied to.

    Args:
        err: the validation error.
        origin: how problems name the scenario (its file or name as given).
        overrides: the ``dotted.key=value`` overrides applied to the validated dict.
    """
    keys = [item.partition("=")[0].strip() for item in overrides]
    lines = []
    for e in err.errors():
        dotted, msg = dotted_location(tuple(e["loc"]), e["msg"])
        where = origin
        if e["type"] == "extra_forbidden":
            allowed = _allowed_fields(tuple(e["loc"]))
            msg = "unknown field" + (f": {REMOVED_FIELDS[dotted]}" if dotted in REMOVED_FIELDS else "")
            msg += f"; allowed: {', '.join(allowed)}" if allowed else ""
            where = "--set" if _written_by(dotted, keys) else origin
        elif e["type"] in ("missing",):
            msg = "required field is missing"
        if "input" in e and e["type"] not in ("extra_forbidden", "missing"):
            shown = repr(e["input"])
            if len(shown) <= 60:
                msg += f" (got {shown})"
        lines.append(f"{where}: {dotted}: {msg}")
    return lines


def _written_by(field: str, keys: Iterable[str]) -> bool:
    """Whether the dotted ``field`` (``network.places[0].utility``) is, holds or lies below the
    key of an override (``network.places.0.utility``, ``platfrom`` of ``platfrom.policy``)."""
    plain = re.sub(r"\[(\d+)\]", r".\1", field)
    return any(plain == key or key.startswith(f"{plain}.") or plain.startswith(f"{key}.") for key in keys)


def scenario_from_dict(data: Mapping[str, Any], origin: str = "<dict>",
                       overrides: Iterable[str] = ()) -> Scenario:
    """Validate a (merged) scenario dict, check that the data files it names can be read and that
    a run fits in this machine's memory (:func:`v2gsim.config.resources.memory_problems`).

    Args:
        data: the merged scenario.
        origin: how problems name the scenario (its file or name as given).
        overrides: the ``--set`` overrides applied to ``data``: an unknown field one of them wrote
            is reported as ``--set: dotted.field: ...`` (:func:`format_errors`).

    Raises:
        ScenarioError: with one ``origin: dotted.field: message`` line per problem.
    """
    try:
        scenario = Scenario.model_validate(dict(data))
    except ValidationError as err:
        raise ScenarioError(format_errors(err, origin, overrides)) from None
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

    Problems name the scenario as the caller gave it (a path as written, the name of a shipped
    scenario, ``default`` for none), never the copy inside the installed package; an unknown field
    an override wrote (a typo on the command line) is named after the override: ``--set:
    drivers.cont: unknown field; allowed: ...``.

    Args:
        path: TOML file, or the name of a shipped scenario (``"tiny"``, see
            :func:`packaged_scenarios`); ``None`` means the shipped ``default.toml``. Which file a
            name or path means is :func:`resolve_scenario_path`'s rule (``"scenarios/tiny.toml"``
            is the shipped ``tiny`` wherever no such file exists).
        overrides: ``dotted.key=value`` strings (CLI ``--set``), validated like the file.
        **updates: top-level fields to replace (e.g. ``days=5``, ``seed=3``).

    Raises:
        ScenarioError: every problem found, one line each (a missing file or unknown name lists
            the shipped scenarios and the closest one).
    """
    resolved = resolve_scenario_path(path)
    origin = _origin(path, resolved)
    data = load_raw(resolved)
    overrides = list(overrides)
    data = apply_overrides(data, overrides, origin)
    _check_nesting(data, origin)
    data.update({k: v for k, v in updates.items() if v is not None})
    data["source"] = str(_resolve(resolved, None))
    data.setdefault("name", safe_name(Path(resolved).stem))
    return scenario_from_dict(data, origin, overrides)


def _origin(given: str | Path | None, resolved: Path) -> str:
    """How problems name the scenario: as the caller gave it (``default`` for none)."""
    if given is None:
        return "default"
    return str(given) if str(given) else str(resolved)


def validate_file(path: str | Path | None, overrides: Iterable[str] = ()) -> list[str]:
    """Return the list of problems of a scenario file (empty when it is valid).

    Args:
        path: as for :func:`load_scenario` (a file, a shipped name, ``None`` for the default).
        overrides: ``dotted.key=value`` overrides, validated like the file.
    """
    try:
        load_scenario(path, overrides)
    except ScenarioError as exc:
        return exc.problems
    return []
