"""Shared pieces of the scenario schema: the strict base model, the error type, hourly values."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["HourlyFloat", "NonNeg", "ScenarioError", "Strict", "expand_hourly"]

NonNeg = Annotated[float, Field(ge=0.0)]
HourlyFloat = float | list[float]


class ScenarioError(Exception):
    """A scenario file (or an override) is invalid.

    Attributes:
        problems: one line per problem, each ``FILE: dotted.field: message``.
    """

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class Strict(BaseModel):
    """Base of every schema section: unknown keys are errors, validated sections are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def expand_hourly(value: HourlyFloat, hours: int, name: str) -> list[float]:
    """Expand a scalar to ``hours`` values, or check a list has exactly ``hours`` values."""
    if isinstance(value, list):
        if len(value) != hours:
            raise ValueError(f"{name} has {len(value)} values; give one number or exactly {hours}")
        return [float(v) for v in value]
    return [float(value)] * hours

