"""Shared pieces of the scenario schema: the strict base model, the error type, hourly values."""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator

__all__ = [
    "FIELD_PREFIX",
    "MAX_SEED",
    "MAX_UTILITY",
    "DataPath",
    "HourlyFloat",
    "NonNeg",
    "ScenarioError",
    "Strict",
    "dotted_location",
    "expand_hourly",
    "field_error",
    "increasing_from_zero",
]

NonNeg = Annotated[float, Field(ge=0.0)]

#: Largest magnitude of a utility or utility standard deviation ($ or $/h). Utilities are sampled in
#: float32 (largest 3.4e38) and summed along paths; 1e6 $/h leaves the sums exact to the cent's
#: order of magnitude and far from overflow.
MAX_UTILITY = 1e6

#: Largest seed (``seed``, ``platform.eva.seed``, ``platform.v2a.seed``): 2^63 - 1. numpy's
#: ``SeedSequence`` takes any integer >= 0, but the run's seed is written to every Parquet table as
#: an int64 column, and a larger one fails there, after the run.
MAX_SEED = 2**63 - 1

#: A validator message starting with this marker names a field below the validated model:
#: ``field_error("places[0].utility", "...")`` raised by ``[network]``'s validator is reported at
#: ``network.places[0].utility`` (see :func:`v2gsim.config.loading.format_errors`).
FIELD_PREFIX = "@"


def field_error(field: str, message: str) -> ValueError:
    """A validator error reported at ``field`` (relative to the model whose validator raises it)."""
    return ValueError(f"{FIELD_PREFIX}{field}: {message}")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _hourly_value(v: Any) -> float | list[float]:
    """Validate one hourly value: a finite number, or a list of finite numbers, each within
    ``±MAX_UTILITY`` (the list's length is checked against ``[network] hours`` by the network)."""
    allowed = f"give one finite number or a list of finite numbers in [-{MAX_UTILITY:g}, {MAX_UTILITY:g}]"
    items = v if isinstance(v, list | tuple) else [v]
    for k, x in enumerate(items):
        where = f"item {k} " if isinstance(v, list | tuple) else ""
        if not _is_number(x):
            raise ValueError(f"{where}is not a number (got {type(x).__name__}); {allowed}")
        if not math.isfinite(x) or abs(x) > MAX_UTILITY:
            raise ValueError(f"{where}is {x!r}; {allowed}")
    return [float(x) for x in v] if isinstance(v, list | tuple) else float(v)


#: One number for every hour, or one number per hour ($/h). Finite, at most ``MAX_UTILITY`` in
#: magnitude; TOML ``nan``/``inf`` are rejected.
HourlyFloat = Annotated[
    float | list[float], PlainValidator(_hourly_value, json_schema_input_type=float | list[float])
]


def _data_path(v: Any) -> str:
    """Validate a data-file path as written: a string without NUL whose ``~`` or ``~user`` expands
    on this machine (the file itself is checked by the data-file checks of ``validate``)."""
    if not isinstance(v, str):
        raise ValueError(f"must be a path (a string), got {type(v).__name__}")
    if "\x00" in v:
        raise ValueError("the path contains a NUL character")
    if v.startswith("~"):
        try:
            Path(v).expanduser()
        except RuntimeError:  # ~user of no such user, or no home directory
            user = v.split("/", 1)[0]
            raise ValueError(f"cannot expand {user[:60]!r} (no such user or home directory); "
                             "give the path without ~") from None
    return v


#: The path of a data file as written in a scenario (relative to the scenario file's folder).
DataPath = Annotated[str, PlainValidator(_data_path, json_schema_input_type=str)]


class ScenarioError(Exception):
    """A scenario file (or an override) is invalid.

    Attributes:
        problems: one line per problem, each ``FILE: dotted.field: message``.
    """

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class Strict(BaseModel):
    """Base of every schema section: unknown keys are errors, validated sections are immutable,
    numbers are finite (TOML ``nan``, ``inf`` are rejected, in lists and tuples too)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def dotted_location(loc: tuple[Any, ...], msg: str) -> tuple[str, str]:
    """``(dotted field, message)`` of one pydantic error location and message.

    List indices print as ``[k]`` (``network.places[0].utility``), keys that are not words as
    ``['a key']``, pydantic's validator tags (``function-after[...]``) are dropped and a
    :func:`field_error` message moves its field into the location. An empty location is
    ``(scenario)``.
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not re.fullmatch(r"[\w-]+", str(part)):  # a key TOML allows but a path does not show
            out += f"[{str(part)!r}]"[:80]
        elif not str(part).startswith(("function-", "json-or-python", "lax-or-strict")):
            out += f".{part}" if out else str(part)
    msg = msg.removeprefix("Value error, ")
    if msg.startswith(FIELD_PREFIX):
        sub, _, msg = msg[len(FIELD_PREFIX):].partition(": ")
        out = f"{out}{'' if sub.startswith('[') or not out else '.'}{sub}"
    return out or "(scenario)", msg


def expand_hourly(value: HourlyFloat, hours: int, name: str) -> list[float]:
    """Expand a scalar to ``hours`` values, or check a list has exactly ``hours`` values."""
    if isinstance(value, list):
        if len(value) != hours:
            raise ValueError(f"{name} has {len(value)} values; give one number or exactly {hours}")
        return [float(v) for v in value]
    return [float(value)] * hours



def increasing_from_zero(levels: list[float]) -> list[float]:
    """Check incentive levels: strictly increasing, the first 0 (no incentive).

    Raises:
        ValueError: the levels are empty, do not start at 0 or do not increase.
    """
    if not levels or levels[0] != 0.0 or any(b <= a for a, b in itertools.pairwise(levels)):
        raise ValueError(f"levels must be increasing and start at 0, got {levels}")
    return levels
