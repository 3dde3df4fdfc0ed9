"""One session type (issue 32 item 2): the place travels with the sessions, and each optimizer
builds its instance from them (robust: fleet_day_from_sessions; eva: EVSessions.from_sessions)."""

from __future__ import annotations

import numpy as np
import pytest

from v2gsim import load_scenario
from v2gsim.behavior.mobility import Sessions
from v2gsim.optimize.eva.regions import EVSessions
from v2gsim.sim.model import V2GMarketModel


def _s(place: str = "home", **kw) -> Sessions:
    base = dict(ev=[0, 1], day=[0, 0], arrival_h=[18.0, 13.0], departure_h=[31.0, 15.0],
                energy_arrival_kwh=[10.0, 20.0], energy_wanted_kwh=[45.0, 21.0], place=place)
    return Sessions(**(base | kw))


def test_the_place_survives_take_regrid_and_concat():
    s = _s()
    assert s.take([1]).place == "home" and s.regrid(15).place == "home"
    assert Sessions.concat([s, s.take([0])]).place == "home"
    assert Sessions.concat([s, _s("work")]).place == ""  # mixed places: not one place


def test_the_sessions_of_a_run_know_their_place():
    model = V2GMarketModel(load_scenario("bianchi2023_parking", days=1))
    model.step()
    assert model.session_loop.today.sessions.place == "work"
    assert len(model.session_loop.sessions_at("work")) == 10
    paths = V2GMarketModel(load_scenario("tiny", days=1))
    paths.step()
    assert paths.population.sessions("home", paths.fleet.energy_kwh).place == "home"


def test_eva_instance_from_sessions_on_the_noon_clock():
    """18 h -> 7 h (+1): noon slots 6..18 (13 h); 13 h -> 15 h: slots 1..2. Wanted energy capped at
    what 7 kW x 0.9 reaches (EV 0: 10 + 6.3 x 13 > 45: kept; EV 1: 20 + 12.6 >= 21: kept); an
    arrival below the window is lifted to it."""
    ev = EVSessions.from_sessions(_s(), e_min=[12.0, 5.0], e_max=50.0, p_c=7.0, p_d=7.0, eta_c=0.9,
                                  eta_d=0.9)
    assert ev.t_a.tolist() == [6, 1] and ev.t_d.tolist() == [19, 3] and ev.T == 24
    np.testing.assert_allclose(ev.e0, [12.0, 20.0])
    np.testing.assert_allclose(ev.e_req, [45.0, 21.0])
    short = EVSessions.from_sessions(_s(energy_wanted_kwh=[45.0, 49.0]), e_min=5.0, e_max=50.0, p_c=7.0,
                                     p_d=7.0, eta_c=0.9, eta_d=0.9)
    assert short.e_req[1] == pytest.approx(20.0 + 0.9 * 7.0 * 2)  # 2 slots: capped at the reach
