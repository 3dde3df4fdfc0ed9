"""Policy ``eva``: the seed-003 aggregator (charging discounts, discharging subsidies) in the daily loop.

RECONSTRUCTED (models.md §4.2): see :mod:`v2gsim.optimize.eva`. Each evening the policy solves the
revenue model (O) for the loop's own EVs and the fleet executes the plan (issue #32):

* **Forecast.** The plan's fleet is the home stays the loop's EVs made the day before (the
  platform's record of past sessions, read on the plan's noon-to-noon clock,
  :meth:`EvaPolicy._realized_fleet`) with the energy each EV stores that evening; day 0 has no
  history and plans the spec's sampled population (``spec.evs`` EVs, scaled to the fleet) without
  a schedule, as the seed does. The plan is re-solved every day.
* **Incentives reach the drivers.** With the announced levels, each EV draws its response from the
  willingness model (W) of its cluster (one uniform per EV and day, so an EV that answers a small
  incentive answers a larger one): in an hour with a discount (down-regulation) or a subsidy
  (up-regulation) only the responding EVs give their flexibility; the others keep their baseline.
  With ``drivers_see = "rebate"`` the incentives also reach the drivers' plug-in choice: the
  plan's incentive per EV at home in each hour (currency per EV-hour, times ``exchange_rate``) is
  the day's rebate per plugged EV-hour, which the drivers' paths see and the platform pays
  (``rebates_paid``); the realized incentives are then those rebates, not the per-kWh ones.
* **Disaggregation.** The plan's aggregate power ``c - d`` is split into per-EV schedules by the
  feasible rule of :mod:`v2gsim.optimize.eva.disaggregate` (the aggregate region is an outer
  approximation: what the EVs cannot take is the ``eva_disaggregation_gap_kwh``); the fleet
  executes them during each EV's forecast stay (outside it, baseline charging), within what its
  batteries and plug-in state allow. The capacity bids go into ``bid_kw`` as before.
* **Settlement from the batteries.** After the day the same revenue items are evaluated on the
  executed power (``realized_cost``) and on the disaggregated plan (``planned_cost``; both
  ``-revenue``): energy revenue ``R_up r_up + R_dn r_dn`` of the regulation actually delivered
  (``r_dn`` = aggregate charging above the forecast baseline in the plan's down hours, ``r_up`` =
  below it in its up hours), capacity revenue of the bids, purchase ``R_DA c``, the incentives paid
  on the delivered regulation, the peak-regulation cost and ``shortfall_price`` per kWh of a bid
  not delivered. ``eva_planned_revenue`` is the plan's own objective (O); ``departure_shortfall_kwh``
  is measured on the simulated batteries at the end of each realized home stay.

Clock: the model's slot 0 is 12:00; the loop's hour h is slot ``(h - 12) mod 24``. The plan is one
24-hour clock day, read cyclically: the policy refuses a day of other than 24 hours
(``network.hours``).

Bids: the day-0 plan's bids are bounded by its own fleet's regulation power (its prediction of the
plugged EVs); scaled to the run's fleet they are also capped by the whole fleet's ``ψ M``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from v2gsim.behavior.mobility.core import Sessions
from v2gsim.core.schedule import BaseSchedule
from v2gsim.optimize.eva.disaggregate import disaggregate
from v2gsim.optimize.eva.regions import EVSessions
from v2gsim.optimize.eva.spec import EvaSpec, instance_from_spec
from v2gsim.optimize.eva.willingness import ClusterWillingness
from v2gsim.policies.base import DayOutcome, Decision, Observation, PolicyInputs, require_clock_day

if TYPE_CHECKING:  # the MILP (scipy) is imported when the policy first decides
    from v2gsim.optimize.eva.revenue import Breakdown, RevenueInputs

__all__ = ["EvaPolicy", "make_eva"]

NOON = 12
_CLOCK = "seed 003: 24 hourly slots from 12:00, read cyclically"


@dataclass
class EvaPolicy:
    """Plan (O) for the loop's EVs each day; the fleet executes the disaggregated plan (docstring)."""

    spec: EvaSpec
    rng: np.random.Generator
    fleet: Any = None
    shortfall_price: float = 1.5
    name: str = "eva"
    schedules: bool = True
    daily_keys: tuple[str, ...] = (
        "planned_cost", "realized_cost", "eva_planned_revenue", "eva_realized_revenue",
        "eva_planned_share", "eva_realized_share", "eva_planned_energy_revenue",
        "eva_realized_energy_revenue", "eva_realized_evs", "eva_disaggregation_gap_kwh",
        "departure_shortfall_kwh")
    _plan: Breakdown | None = field(default=None, repr=False)
    _prior: Breakdown | None = field(default=None, repr=False)
    _scale: float = 1.0
    _labels: np.ndarray | None = field(default=None, repr=False)
    _forecast: tuple[np.ndarray, EVSessions, np.ndarray] | None = field(default=None, repr=False)
    _home_prev: np.ndarray | None = field(default=None, repr=False)
    _driven: np.ndarray | None = field(default=None, repr=False)  # (M,) yesterday's travel (kWh)
    _half: _Half | None = field(default=None, repr=False)  # yesterday's plan, 0:00-12:00 today
    _day: _Day | None = field(default=None, repr=False)  # what today's schedule executes

    def decide(self, obs: Observation) -> Decision:
        """Solve (O) for the forecast of the loop's EVs; the day's schedule joins yesterday's plan
        (0-12 h) and today's (12-24 h), each disaggregated per EV (module docstring)."""
        from v2gsim.optimize.eva.revenue import RevenueInfeasibleError, solve_revenue

        require_clock_day("eva", obs.hours, _CLOCK)
        if self._labels is None:  # each EV of the fleet belongs to one willingness cluster
            self._labels = self.spec.labels(obs.fleet_size, self.rng)
        status, today = "optimal", None
        if self._forecast is not None and self._forecast[0].size:
            idx, ev, at_home = self._forecast
            # energy at the evening arrival: that evening's energy less a day's driving (yesterday's)
            e_now = obs.energy_kwh[idx] if obs.energy_kwh is not None else ev.e0
            ev = _with_energy(ev, e_now - self._driven[idx] if self._driven is not None else e_now)
            x, _, _ = instance_from_spec(self.spec, ev=ev, labels=self._labels[idx])
            try:
                b = solve_revenue(x)
            except RevenueInfeasibleError as exc:
                status = f"fallback: {exc}"
            else:
                responds = self._responses(b, ev, self._labels[idx])
                conn = at_home & ev.connected()  # the hours the EV was plugged in at home
                dis = disaggregate(ev, b.plan["c_kw"] - b.plan["d_kw"], responds, conn)
                power = np.where(conn, dis.power_kw, np.nan)  # NaN: baseline charging
                today = _Half.of(b, x, idx, power, ev.e_req, responds & conn, dis.gap_kwh)
        elif self._forecast is not None:
            status = "no home stays"
        if today is None:  # no history (day 0) or a failed plan: the spec's sampled population
            if self._prior is None:
                self._prior = solve_revenue(instance_from_spec(self.spec)[0])
            self._plan, self._scale = self._prior, obs.fleet_size / self.spec.evs
        else:
            self._plan, self._scale = today.plan, 1.0
        b = self._plan
        bid = np.roll(b.plan["bid_kw"], NOON)[: obs.hours] * self._scale  # day 0: read cyclically
        if self._half is not None:
            bid[:NOON] = self._half.view["bid_kw"][NOON:]
        if today is not None:
            bid[NOON:] = today.view["bid_kw"][:NOON]
        bid = np.clip(bid, 0.0, obs.charger_kw * obs.fleet_size)  # never beyond the whole fleet
        self._day = _Day.join(self._half, today, obs.hours)
        self._half = today
        rebate = np.zeros(obs.hours)
        if self.spec.drivers_see == "rebate" and self._day is not None:  # the drivers see the incentive
            rebate = self.spec.exchange_rate * self._day.view["incentive"]
        return Decision(rebate=rebate, bid_kw=bid, status=status,
                        fallback_reason=status if status.startswith("fallback") else "",
                        predicted_profit=b.total_operating_revenue * self._scale,
                        info={"eva_plan": {k: np.asarray(v) for k, v in b.plan.items()},
                              "eva_items": b.items()},
                        schedule=self._day.schedule if self._day is not None else None)

    def _responses(self, b: Breakdown, ev: EVSessions, labels: np.ndarray) -> np.ndarray:
        """(M, T) whether each EV follows the aggregator in each hour: in an hour with a discount
        (down) or a subsidy (up) iff its draw is below its response probability at the level; in
        the other hours always (the aggregator schedules its charging)."""
        u = self.rng.random(ev.M)  # one draw per EV and day
        out = np.ones((ev.M, ev.T), dtype=bool)
        plan = b.plan
        for t in range(ev.T):
            if plan["r_down_kw"][t] > 1e-9:
                forms, delta = self.spec.discount_forms, float(plan["discount"][t])
            elif plan["r_up_kw"][t] > 1e-9:
                forms, delta = self.spec.subsidy_forms, float(plan["subsidy"][t])
            else:
                continue
            out[:, t] = u < ClusterWillingness(forms).prob(delta, labels)
        return out

    def _realized_fleet(self, outcome: DayOutcome) -> tuple[np.ndarray, EVSessions, np.ndarray]:
        """The home stays of the last noon-to-noon window, the fleet rows of their EVs and their
        (M, 24) home plug-in hours on the plan's clock.

        The window is yesterday's 12-24 h and today's 0-12 h (on day 0, today's hours read
        cyclically): its slot s is the loop's hour (s + 12) mod 24, so an EV at home from 18 h to
        8 h is one stay from slot 6 to slot 20. A stay runs from the first to the last home hour of
        the window; its arrival energy is the energy stored at the start of the day (the plan
        replaces it with the energy of the evening before less a day's driving) and its wanted
        energy the baseline charging's target ``soc_target`` x capacity (capped at what the stay
        can reach), as for the loop's other EVs.
        """
        now = np.asarray(outcome.plugged_at("home"), bool)
        prev = self._home_prev if self._home_prev is not None else now
        home = np.concatenate([prev[:, NOON:], now[:, :NOON]], axis=1)
        self._home_prev = now
        i = np.flatnonzero(home.any(axis=1))
        h = home[i]
        t_a = np.argmax(h, axis=1)
        t_d = h.shape[1] - np.argmax(h[:, ::-1], axis=1)
        e_start = np.asarray(outcome.energy_start_kwh, float)[i]
        f = self.fleet
        pop = self.spec.population
        n = i.size
        cap = np.asarray(f.capacity_kwh)[i] if f is not None else np.full(n, pop.capacity_kwh)
        target = (np.broadcast_to(np.asarray(f.soc_target, float), (f.capacity_kwh.size,))[i]
                  if f is not None else np.full(n, pop.soc_req))
        arrival = np.mod(t_a + NOON, 24).astype(float)  # the stays as sessions on the clock
        stays = Sessions(ev=i, day=np.full(n, outcome.day), arrival_h=arrival,
                         departure_h=arrival + t_d - t_a, energy_arrival_kwh=e_start,
                         energy_wanted_kwh=target * cap, place="home")
        ev = EVSessions.from_sessions(
            stays, e_min=(np.asarray(f.soc_min)[i] if f is not None else pop.soc_min) * cap,
            e_max=(np.asarray(f.soc_max)[i] if f is not None else pop.soc_max) * cap,
            p_c=np.asarray(f.charger_kw, float)[i] if f is not None else pop.p_c_kw,
            p_d=np.asarray(f.discharge_kw, float)[i] if f is not None else pop.p_d_kw,
            eta_c=pop.eta_c, eta_d=pop.eta_d, clock_start_h=NOON)
        return i, _with_energy(ev, e_start), h

    def settle(self, outcome: DayOutcome) -> Mapping[str, float]:
        """Planned vs realized revenue items of the day from the batteries; tomorrow's forecast."""
        plan = self._plan
        assert plan is not None, "settle() before decide()"
        home = np.asarray(outcome.plugged_at("home"), bool)
        idx, stays, at_home = self._realized_fleet(outcome)
        self._forecast = (idx, stays, at_home)
        self._driven = np.asarray(outcome.travel_kwh, float).sum(axis=1)
        out = dict.fromkeys(self.daily_keys, float("nan"))
        out.update(eva_planned_revenue=plan.total_operating_revenue * self._scale,
                   eva_planned_energy_revenue=plan.energy_revenue * self._scale,
                   eva_realized_evs=float(idx.size))
        day, ex = self._day, outcome.executed
        if day is None or ex is None:
            return out
        executed = np.nan_to_num(ex.executed_kw)
        planned = _revenue(np.nan_to_num(day.schedule.power_kw), day.view, self.spec, self.shortfall_price)
        paid = None  # drivers_see = "rebate": the rebates paid replace the per-kWh incentives
        if self.spec.drivers_see == "rebate" and "rebates_paid" in outcome.hourly:
            paid = float(np.sum(outcome.hourly["rebates_paid"])) / self.spec.exchange_rate
        realized = _revenue(executed, day.view, self.spec, self.shortfall_price, paid)
        out.update(planned_cost=-planned["revenue"], realized_cost=-realized["revenue"],
                   eva_realized_revenue=realized["revenue"],
                   eva_realized_energy_revenue=realized["energy_revenue"],
                   eva_planned_share=day.planned_share, eva_realized_share=day.realized_share,
                   eva_disaggregation_gap_kwh=day.gap_kwh)
        if outcome.stored_kwh is not None:
            out["departure_shortfall_kwh"] = day.shortfall(home, outcome.stored_kwh, ex.covered())
        return out


@dataclass(frozen=True)
class _Half:
    """One plan of (O) for a noon-to-noon window, per EV and slot of the plan's clock (noon = 0)."""

    plan: Breakdown
    idx: np.ndarray
    power: np.ndarray
    e_req: np.ndarray
    view: dict[str, np.ndarray]
    share: tuple[np.ndarray, np.ndarray]
    gap_kwh: float

    @classmethod
    def of(cls, b: Breakdown, x: RevenueInputs, idx: np.ndarray, power: np.ndarray, e_req: np.ndarray,
           respond: np.ndarray, gap_kwh: float) -> _Half:
        """The plan's arrays the settlement needs, on the plan's clock."""
        view = {k: np.asarray(b.plan[k], float) for k in ("r_down_kw", "r_up_kw", "bid_kw", "discount",
                                                           "subsidy")}
        view["p_base"] = np.asarray(x.p_base, float)
        inc = (view["r_down_kw"] > 1e-9) | (view["r_up_kw"] > 1e-9)
        pi = np.where(view["r_down_kw"] > 1e-9, b.plan["pi_discount"], b.plan["pi_subsidy"])
        # per hour with an incentive: expected share (plan) and the drawn share of the EVs at home
        conn = ~np.isnan(power)  # at home in the plan's slot
        n_at = conn.sum(axis=0)
        # the incentive the plan pays per EV at home (currency per EV-hour; drivers_see = "rebate")
        view["incentive"] = ((view["discount"] * view["r_down_kw"] + view["subsidy"] * view["r_up_kw"])
                             / np.maximum(n_at, 1))
        drawn = np.where(n_at > 0, (respond & conn).sum(axis=0) / np.maximum(n_at, 1), np.nan)
        return cls(b, idx, power, e_req, view, (np.where(inc, pi, np.nan), np.where(inc, drawn, np.nan)),
                   gap_kwh)


@dataclass(frozen=True)
class _Day:
    """What a loop day executes: yesterday's plan from 0 to 12 h, today's from 12 to 24 h."""

    schedule: BaseSchedule
    view: dict[str, np.ndarray]
    e_req: np.ndarray
    planned_share: float
    realized_share: float
    gap_kwh: float

    @classmethod
    def join(cls, half: _Half | None, today: _Half | None, hours: int) -> _Day | None:
        """The loop day's schedule and plan view (loop clock), None when neither plan exists."""
        parts = [(h, sl_plan, sl_loop) for h, sl_plan, sl_loop in
                 ((half, slice(NOON, 24), slice(0, NOON)), (today, slice(0, NOON), slice(NOON, 24)))
                 if h is not None]
        if not parts:
            return None
        ev = np.unique(np.concatenate([h.idx for h, _, _ in parts]))
        power = np.full((ev.size, hours), np.nan)
        e_req = np.full(ev.size, np.nan)
        view = {k: np.zeros(hours)
                for k in ("r_down_kw", "r_up_kw", "bid_kw", "discount", "subsidy", "p_base", "incentive")}
        shares: list[tuple[np.ndarray, np.ndarray]] = []
        gap = 0.0
        for h, sl_plan, sl_loop in parts:
            rows = np.searchsorted(ev, h.idx)
            power[rows, sl_loop] = h.power[:, sl_plan]
            e_req[rows] = h.e_req
            for k in view:
                view[k][sl_loop] = h.view[k][sl_plan]
            shares.append((h.share[0][sl_plan], h.share[1][sl_plan]))
            gap += h.gap_kwh / 2  # half of each plan's day runs in this loop day
        planned = np.concatenate([s[0] for s in shares])
        drawn = np.concatenate([s[1] for s in shares])
        return cls(BaseSchedule(ev=ev, power_kw=power, slot_minutes=60), view, e_req,
                   float(np.nanmean(planned)) if np.isfinite(planned).any() else 0.0,
                   float(np.nanmean(drawn)) if np.isfinite(drawn).any() else 0.0, gap)

    def shortfall(self, home: np.ndarray, stored_kwh: np.ndarray, covered: np.ndarray) -> float:
        """Sum over the planned EVs leaving home today in a planned hour of max(0, wanted - stored
        at the end of that hour) (kWh)."""
        ev = self.schedule.ev
        at = home[ev]
        leave = at[:, :-1] & ~at[:, 1:] & covered[:, :-1]
        rows, hour = np.nonzero(leave)
        return float(np.maximum(self.e_req[rows] - stored_kwh[ev[rows], hour], 0.0).sum())


def _with_energy(ev: EVSessions, e0: np.ndarray) -> EVSessions:
    """The sessions with energy ``e0`` at arrival (clipped to the window) and the wanted energy
    capped at what the stay can reach charging at full power."""
    e0 = np.clip(np.asarray(e0, float), ev.e_min, ev.e_max)
    reach = np.minimum(e0 + ev.eta_c * ev.p_c * ev.dt * (ev.t_d - ev.t_a), ev.e_max)
    return replace(ev, e0=e0, e_req=np.clip(ev.e_req, ev.e_min, reach))


def _revenue(p_ev: np.ndarray, view: dict[str, np.ndarray], spec: EvaSpec,
             shortfall_price: float, paid: float | None = None) -> dict[str, float]:
    """The revenue items of per-EV power ``p_ev`` (M, 24) kW on the loop's clock (docstring).

    ``view`` holds the plans' hourly arrays on the loop's clock (bids, regulation, levels, the
    forecast baseline ``p_base``). The regulation delivered is the aggregate's departure from
    ``p_base`` in the plan's down (charging above it) and up (below it) hours; the incentives are
    paid on it at the plan's levels (or ``paid``, the rebates the drivers received, in the prices'
    currency); a bid not delivered costs ``shortfall_price`` per kWh.
    """
    day = spec.day
    price = {k: np.roll(np.asarray(getattr(day, k), float), NOON) for k in ("r_up", "r_down", "r_cap",
                                                                             "r_da", "c_reg")}
    c = np.maximum(p_ev, 0.0).sum(axis=0)
    net = p_ev.sum(axis=0)
    down, up = view["r_down_kw"] > 1e-9, view["r_up_kw"] > 1e-9
    r_dn = np.where(down, np.maximum(net - view["p_base"], 0.0), 0.0)
    r_up = np.where(up, np.maximum(view["p_base"] - net, 0.0), 0.0)
    short = np.maximum(view["bid_kw"] - r_up - r_dn, 0.0)
    energy = float(np.sum(price["r_up"] * r_up + price["r_down"] * r_dn))
    capacity = float(np.sum(price["r_cap"] * view["bid_kw"]))
    purchase = float(np.sum(price["r_da"] * c))
    incentives = (float(np.sum(view["discount"] * r_dn + view["subsidy"] * r_up)) if paid is None
                  else paid)
    regulation = float(np.sum(price["c_reg"] * (r_up + r_dn)) + shortfall_price * short.sum())
    return {"revenue": energy + capacity - purchase - incentives - regulation, "energy_revenue": energy}


def make_eva(spec: EvaSpec, inputs: PolicyInputs) -> EvaPolicy:
    """Build ``eva`` from its spec, the run's policy generator and the fleet copy.

    Raises:
        ValueError: the run's day is not 24 hours (the plan is one noon-to-noon clock day).
    """
    require_clock_day("eva", inputs.hours, _CLOCK)
    return EvaPolicy(spec=spec, rng=inputs.rng, fleet=inputs.fleet)
