"""Schema of the activity network (``[network]``) and of driver clusters (``[[drivers.clusters]]``)."""

from __future__ import annotations

from pydantic import Field, model_validator

from v2gsim.config.base import MAX_UTILITY, HourlyFloat, Strict, field_error

__all__ = ["ClusterConfig", "NetworkConfig", "PlaceConfig", "PlaceOverride", "TravelConfig"]


class PlaceConfig(Strict):
    """One place of the activity network (a node row of the time-space DAG)."""

    name: str = Field(description="Place name, e.g. home, work, other (unique).", min_length=1)
    window: tuple[int, int] = Field(
        default=(0, 24),
        description="[arrival, departure] clock hours (h) between which a driver may be at this "
        "place; departure must be after arrival. Default: the whole day, [0, network.hours].",
    )
    charger: bool = Field(default=False, description="Whether plug-in arcs exist at this place.")
    utility: HourlyFloat = Field(
        default=0.0,
        description="Mean utility mu_a of staying one hour ($/h): one number or one per hour.",
    )
    sigma: HourlyFloat = Field(
        default=1.0, description="Standard deviation sigma_a of a stay arc's utility ($/h)."
    )
    plug_utility: HourlyFloat = Field(
        default=-0.5,
        description="Mean utility of a plugged-in hour relative to staying unplugged ($/h); "
        "negative = inconvenience. The platform's rebate is added to it.",
    )
    plug_sigma: HourlyFloat = Field(
        default=1.0, description="Standard deviation of a plug-in arc's utility ($/h)."
    )

    @model_validator(mode="after")
    def _check_window(self) -> PlaceConfig:
        arrive, depart = self.window
        if arrive < 0:
            raise field_error("window", f"window arrival {arrive} h must be >= 0")
        if depart <= arrive:
            raise field_error(
                "window", f"window departure ({depart} h) must be after arrival ({arrive} h)"
            )
        for name in ("sigma", "plug_sigma"):
            vals = getattr(self, name)
            vals = vals if isinstance(vals, list) else [vals]
            if any(v < 0 for v in vals):
                raise field_error(name, "must be >= 0 $/h")
        return self


class TravelConfig(Strict):
    """Travel arcs between every pair of distinct places."""

    hours: int = Field(default=1, ge=1, le=6, description="Duration of one trip (h).")
    utility: float = Field(default=-1.0, ge=-MAX_UTILITY, le=MAX_UTILITY,
                           description="Mean utility of one trip ($), usually < 0.")
    sigma: float = Field(default=0.5, ge=0.0, le=MAX_UTILITY,
                         description="Standard deviation of a trip's utility ($).")
    energy_kwh: float = Field(
        default=4.0, ge=0.0, le=1e4, description="Battery energy one trip consumes (kWh)."
    )


class NetworkConfig(Strict):
    """Declarative template of the time-space activity network (see :mod:`v2gsim.core.network`)."""

    hours: int = Field(default=24, ge=2, le=48, description="Hourly slots in one day (h).")
    start_place: str = Field(
        default="home", description="Place where every day starts (source) and ends (sink)."
    )
    places: list[PlaceConfig] = Field(
        default_factory=lambda: [PlaceConfig(name="home", charger=True)],
        description="Places of the network.",
        min_length=1,
    )
    travel: TravelConfig = Field(default_factory=TravelConfig, description="Travel arcs.")

    @model_validator(mode="before")
    @classmethod
    def _whole_day_windows(cls, data: object) -> object:
        """A place without a ``window`` is open the whole day, ``[0, hours]`` (not ``[0, 24]``)."""
        if not isinstance(data, dict):
            return data
        hours = data.get("hours", 24)
        if not isinstance(hours, int) or isinstance(hours, bool):
            return data  # the field's own check reports it
        places = data.get("places")
        if places is None:
            return {**data, "places": [{"name": "home", "charger": True, "window": (0, hours)}]}
        if isinstance(places, list):
            places = [{**p, "window": (0, hours)} if isinstance(p, dict) and "window" not in p else p
                      for p in places]
            return {**data, "places": places}
        return data

    @model_validator(mode="after")
    def _check(self) -> NetworkConfig:
        names = [p.name for p in self.places]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise field_error("places", f"place names must be unique; repeated: {dup}")
        if self.start_place not in names:
            raise field_error("start_place",
                              f"{self.start_place!r} is not a place; allowed: {names}")
        for i, p in enumerate(self.places):
            if p.window[1] > self.hours:
                raise field_error(f"places[{i}].window", f"departure {p.window[1]} h of place "
                                  f"{p.name!r} exceeds hours = {self.hours}")
            for fname in ("utility", "sigma", "plug_utility", "plug_sigma"):
                value = getattr(p, fname)
                if isinstance(value, list) and len(value) != self.hours:
                    raise field_error(f"places[{i}].{fname}", f"has {len(value)} values; give one "
                                      f"number or exactly {self.hours} (one per hour)")
        i = names.index(self.start_place)
        if self.places[i].window != (0, self.hours):
            raise field_error(f"places[{i}].window", f"the start_place {self.start_place!r} must be "
                              f"open all day: window [0, {self.hours}]")
        return self

    def place(self, name: str) -> PlaceConfig:
        """Return the place called ``name``."""
        return next(p for p in self.places if p.name == name)


class PlaceOverride(Strict):
    """Fields of one place that a driver cluster changes (others are inherited)."""

    name: str = Field(description="Name of an existing place of [network].")
    window: tuple[int, int] | None = Field(default=None, description="[arrival, departure] (h).")
    charger: bool | None = Field(default=None, description="Whether plug-in arcs exist here.")
    utility: HourlyFloat | None = Field(default=None, description="Mean stay utility ($/h).")
    sigma: HourlyFloat | None = Field(default=None, description="Stay utility std ($/h).")
    plug_utility: HourlyFloat | None = Field(default=None, description="Plug-in extra utility ($/h).")
    plug_sigma: HourlyFloat | None = Field(default=None, description="Plug-in utility std ($/h).")


class ClusterConfig(Strict):
    """A class of drivers with its own utilities (its own activity network, models.md E1)."""

    name: str = Field(min_length=1, description="Cluster name (unique).")
    share: float = Field(gt=0, le=1, description="Population share of the cluster (-).")
    places: list[PlaceOverride] = Field(
        default_factory=list, description="Per-place changes relative to [network]."
    )


