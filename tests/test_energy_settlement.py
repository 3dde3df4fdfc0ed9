"""Energy settlement (pure), the [market.energy] schema and adapter, and energy in the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import require_shared

from v2gsim.config import ScenarioError, load_scenario
from v2gsim.experiments.runner import run_scenario
from v2gsim.market.energy_settlement import settle_energy
from v2gsim.market.energy_sources import EnergySpec, energy_price_table
from v2gsim.reporting.figures import run_figures
from v2gsim.sim.model import DAILY_REPORTERS, HOURLY_COLUMNS, V2GMarketModel
from v2gsim.specs.build import energy_spec, market_spec

SCEN = Path(__file__).resolve().parents[1] / "scenarios"
TAGS = ["scenario", "replication", "seed"]
ENERGY_HOURLY = ["energy_price", "energy_sell_price", "energy_bought_kwh", "energy_sold_kwh",
                 "energy_cost"]
ENERGY_DAILY = ["energy_bought_kwh", "energy_sold_kwh", "energy_cost", "profit_net_energy"]
PUN = "italy_gme_pun_msd_nord_2019-08_10/pun_2019-08_10.csv"
TOU = "us_utility_tou_tariffs_acnportal"


# ---------------------------------------------------------------- settlement, by hand
def test_three_slot_settlement_by_hand():
    imp, exp = [10.0, 2.0, 0.0], [0.0, 5.0, 3.0]
    buy, sell = [0.10, 0.20, 0.30], [0.05, 0.15, 0.25]
    net = settle_energy(imp, exp, buy, sell, "net")
    # net flow 10, -3, -3 kWh: bought 10, 0, 0; sold 0, 3, 3
    assert net.bought_kwh.tolist() == [10.0, 0.0, 0.0] and net.sold_kwh.tolist() == [0.0, 3.0, 3.0]
    np.testing.assert_allclose(net.cost, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(net.revenue, [0.0, 0.45, 0.75])
    np.testing.assert_allclose(net.net_cost, [1.0, -0.45, -0.75])
    assert net.totals()["net_cost"] == pytest.approx(-0.2)
    gross = settle_energy(imp, exp, buy, sell, "gross")
    # both flows priced: cost 1.0 + 0.4, revenue 0.75 + 0.75
    np.testing.assert_allclose(gross.net_cost, [1.0, -0.35, -0.75])
    assert gross.totals() == pytest.approx({"bought_kwh": 12.0, "sold_kwh": 8.0, "cost": 1.4,
                                            "revenue": 1.5, "net_cost": -0.1})
    # with equal buy and sell prices the two rules cost the same
    same = [settle_energy(imp, exp, buy, buy, m).net_cost.sum() for m in ("net", "gross")]
    assert same[0] == pytest.approx(same[1])


@pytest.mark.parametrize("args, match", [
    (([-1.0], [0.0], [0.1], [0.1]), "import_kwh must be finite and >= 0"),
    (([1.0], [np.nan], [0.1], [0.1]), "export_kwh"),
    (([1.0], [0.0], [np.inf], [0.1]), "buy_price must be finite"),
    (([1.0, 2.0], [0.0, 1.0, 2.0], [0.1], [0.1]), "broadcast"),
])
def test_settlement_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        settle_energy(*args)
    with pytest.raises(ValueError, match="unknown metering"):
        settle_energy([1.0], [0.0], [0.1], [0.1], "both")


# ---------------------------------------------------------------- schema and adapter
def _tiny(*overrides: str):
    return load_scenario(SCEN / "tiny.toml", list(overrides))


@pytest.mark.parametrize("overrides, match", [
    (['market.energy.source="gme"'], "needs price_file"),
    (['market.energy.source="gme"', 'market.energy.price_file="x.csv"'], "give exchange_rate"),
    (['market.energy.source="tou"', 'market.energy.tariff_file="t.json"'], "needs tariff_file"),
    (['market.energy.source="tou"', 'market.energy.tariff_file="t.json"',
      'market.energy.start_date="2019-07-17"', 'market.energy.sell="spot"'], "a tou tariff has none"),
    (['market.energy.source="synthetic"', 'market.energy.price_file="x.csv"'],
     "price_file is read by source gme or pjm_lmp only"),
    (['market.energy.source="synthetic"', "market.energy.exchange_rate=1.1"], "does not apply"),
    (['market.energy.source="synthetic"', 'market.energy.start_date="17/07/2019"'], "YYYY-MM-DD"),
    (["market.energy.slot_minutes=20"], "slot_minutes"),
    (['market.energy.source="coal"'], "source"),
    (["market.energy.sell_fraction=-0.5"], "sell_fraction"),
])
def test_schema_errors_name_the_field(overrides, match):
    with pytest.raises(ScenarioError, match=match):
        _tiny(*overrides)


def test_adapter_off_by_default_and_paths_relative_to_the_scenario():
    assert market_spec(_tiny()).energy is None
    sets = ['market.energy.source="pjm_lmp"', 'market.energy.sell="spot"',
            "market.energy.buy_adder=0.02"]
    # a missing file is named with the path resolved against the scenario's folder
    with pytest.raises(ScenarioError, match=r"market\.energy\.price_file: file not found") as err:
        _tiny(*sets, 'market.energy.price_file="../data/lmp.csv"')
    assert str((SCEN / "../data/lmp.csv").resolve()) in str(err.value)
    lmp = require_shared("pjm_reg_market_2016/da_hrl_lmps_pjm-rto_2016.csv")
    rel = Path("../../shared/data/pjm_reg_market_2016/da_hrl_lmps_pjm-rto_2016.csv")
    sc = _tiny(*sets, f'market.energy.price_file="{rel}"')
    e = energy_spec(sc)
    assert isinstance(e, EnergySpec) and e.source == "pjm_lmp" and e.sell == "spot"
    assert e.price_path == lmp.resolve() and e.buy_adder == 0.02
    assert market_spec(sc).energy == e


def test_schema_default_mean_is_the_pjm2016_constant():
    from v2gsim.market.prices.energy_synthetic import PJM2016_MEAN_PER_KWH

    assert _tiny().market.energy.mean_price == pytest.approx(PJM2016_MEAN_PER_KWH, abs=1e-12)


def test_price_table_of_files_replays_from_start_date():
    spec = EnergySpec(source="gme", price_path=require_shared(PUN), start_date="2019-10-30",
                      exchange_rate=1.1, sell="fraction", sell_fraction=0.5)
    t = energy_price_table(spec, np.random.default_rng(0), days=3, hours=24)
    # day 0 = 2019-10-30, day 1 = 2019-10-31 (last day of the file), day 2 wraps to 2019-08-01:
    # pun_2019-08_10.csv line 2 "20190801,1,58.08853" -> hour 0 of day 2
    row = t[(t.day == 2) & (t.hour == 0)]
    assert row["energy_price"].item() == pytest.approx(58.08853 / 1000 * 1.1, rel=1e-12)
    assert row["energy_sell_price"].item() == pytest.approx(0.5 * 58.08853 / 1000 * 1.1, rel=1e-12)
    with pytest.raises(ValueError, match="give exchange_rate"):
        energy_price_table(EnergySpec(source="gme", price_path=require_shared(PUN)),
                           np.random.default_rng(0), 1, 24)
    with pytest.raises(ValueError, match="start_date 2019-12-01 is not in"):
        energy_price_table(EnergySpec(source="gme", price_path=require_shared(PUN), exchange_rate=1.1,
                                      start_date="2019-12-01"), np.random.default_rng(0), 1, 24)


def test_price_table_hours_are_clock_hours_from_day_start():
    spec = EnergySpec(source="tou", tariff_path=require_shared(f"{TOU}/sce_tou_ev_4_march_2019.json"),
                      start_date="2019-09-30")  # a Monday, the last day of the summer season
    t = energy_price_table(spec, np.random.default_rng(0), days=2, hours=30).set_index(["day", "hour"])
    assert len(t) == 60
    assert t.loc[(0, 14), "energy_price"] == 0.26668  # Mon 30 Sep 14:00, summer on-peak
    assert t.loc[(0, 1), "energy_price"] == 0.05623  # Mon 30 Sep 01:00, summer off-peak
    assert t.loc[(0, 25), "energy_price"] == 0.06087  # hour 25 of day 0 = Tue 1 Oct 01:00, winter
    assert t.loc[(1, 14), "energy_price"] == 0.0869  # day 1 starts at Tue 1 Oct 00:00


# ---------------------------------------------------------------- in the model
class _Recorder:
    """Wraps a fleet's drive() to record the travel energy actually taken from the batteries."""

    def __init__(self, fleet):
        self.drive, self.used = fleet.drive, 0.0

    def __call__(self, energy_kwh):
        unmet = self.drive(energy_kwh)
        self.used += float(np.sum(energy_kwh) - np.sum(unmet))
        return unmet


@pytest.fixture(scope="module")
def synthetic_run():
    sc = _tiny('market.energy.source="synthetic"', 'market.energy.metering="gross"')
    model = V2GMarketModel(sc)
    recorder = _Recorder(model.fleet)
    model.fleet.drive = recorder
    e0 = float(model.fleet.energy_kwh.sum())
    for _ in range(sc.days):
        model.step()
    return model, recorder, e0


def test_synthetic_energy_cost_is_the_hand_sum_over_the_hourly_table(synthetic_run):
    model, _, _ = synthetic_run
    h, d = model.hourly_table(), model.daily_table()
    assert list(h.columns) == TAGS + HOURLY_COLUMNS + ENERGY_HOURLY
    assert list(d.columns) == TAGS + list(DAILY_REPORTERS) + ENERGY_DAILY
    hand = h["energy_bought_kwh"] * h["energy_price"] - h["energy_sold_kwh"] * h["energy_sell_price"]
    np.testing.assert_allclose(h["energy_cost"], hand, rtol=1e-12, atol=1e-12)
    by_day = hand.groupby(h["day"]).sum().to_numpy()
    np.testing.assert_allclose(d["energy_cost"], by_day, rtol=1e-12)
    np.testing.assert_allclose(d["profit_net_energy"], d["profit"] - by_day, rtol=1e-12)
    assert (h["energy_sell_price"] == h["energy_price"]).all()  # sell_fraction 1
    assert (h["energy_price"] > 0).all() and h["energy_bought_kwh"].sum() > 0
    # gross metering of each EV's charger (the fleet's per-EV account): an EV exports only the part
    # of its regulation discharge its own baseline charging does not cover, so sold <= the hour's
    # net regulation discharge, and bought >= the extra charging
    assert (h["energy_sold_kwh"] <= h["net_discharge_kwh"].clip(lower=0) + 1e-12).all()
    assert (h["energy_sold_kwh"] > 0).any()
    assert (h["energy_bought_kwh"] >= -h["net_discharge_kwh"].clip(upper=0) - 1e-12).all()


def test_grid_energy_balances_the_batteries(synthetic_run):
    """No efficiencies: energy bought - sold = change of stored energy + travel energy used."""
    model, recorder, e0 = synthetic_run
    h = model.hourly_table()
    grid = float((h["energy_bought_kwh"] - h["energy_sold_kwh"]).sum())
    stored = float(model.fleet.energy_kwh.sum()) - e0
    assert grid == pytest.approx(stored + recorder.used, rel=1e-9, abs=1e-6)
    assert recorder.used > 0


def test_energy_market_leaves_the_rest_of_the_run_unchanged(synthetic_run):
    model, _, _ = synthetic_run
    off = run_scenario(_tiny(), progress=False)
    assert list(off.hourly.columns) == TAGS + HOURLY_COLUMNS
    assert not any(c.startswith("energy") for c in off.daily.columns)
    assert not any("energy" in k for k in off.summary)
    assert "energy_price_and_load.png" not in run_figures(off.hourly, off.daily, off.fleet)
    on_h, on_d = model.hourly_table(), model.daily_table()
    assert on_h[off.hourly.columns].equals(off.hourly)
    assert on_d[off.daily.columns].equals(off.daily)


def test_summary_and_figure_when_on():
    sc = _tiny('market.energy.source="synthetic"', "market.energy.sell_fraction=0.5")
    r = run_scenario(sc, progress=False)
    s, h = r.summary, r.hourly
    assert s["energy_source"] == "synthetic"
    assert s["energy_cost"] == pytest.approx(float(r.daily["energy_cost"].sum()))
    assert s["profit_net_energy"] == pytest.approx(s["profit"] - s["energy_cost"])
    np.testing.assert_allclose(h["energy_sell_price"], 0.5 * h["energy_price"], rtol=1e-15)
    # net metering: an hour either buys or sells
    assert ((h["energy_bought_kwh"] == 0) | (h["energy_sold_kwh"] == 0)).all()
    figs = run_figures(h, r.daily, r.fleet)
    fig = figs["energy_price_and_load.png"]
    top, bottom = fig.axes
    assert top.get_ylabel() == "energy price ($/kWh)" and bottom.get_ylabel() == "net grid load (kW)"
    load = (h["energy_bought_kwh"] - h["energy_sold_kwh"]).groupby(h["hour"]).mean()
    np.testing.assert_allclose(bottom.lines[0].get_ydata(), load.to_numpy())


def test_gme_prices_in_the_model():
    sc = _tiny('market.energy.source="gme"', f'market.energy.price_file="{require_shared(PUN)}"',
               'market.energy.start_date="2019-08-15"', "market.energy.exchange_rate=1.1")
    h = run_scenario(sc, progress=False).hourly
    # pun_2019-08_10.csv line 357: 2019-08-15 hour 20 (19:00-20:00) 48.39935 EUR/MWh at 1.1 USD/EUR
    p = h.loc[(h.day == 0) & (h.hour == 19), "energy_price"].item()
    assert p == pytest.approx(48.39935 / 1000 * 1.1, rel=1e-12)


def test_tou_tariff_in_the_model_with_15_min_slots():
    sc = _tiny('market.energy.source="tou"', f'market.energy.tariff_file="{require_shared(TOU)}"',
               'market.energy.tariff="PGE A-10 TOU"', 'market.energy.start_date="2019-08-01"',
               "market.energy.slot_minutes=15", "market.energy.sell_fraction=0")
    with pytest.warns(UserWarning, match="never applies"):
        h = run_scenario(sc, progress=False).hourly
    at = h.set_index(["day", "hour"])["energy_price"]
    # 2019-08-01 is a Thursday: Summer-Weekday, 08:30 starts 0.1771 $/kWh; hour 8-9 = mean of slots
    assert at[(0, 7)] == 0.14903 and at[(0, 13)] == 0.23223
    assert at[(0, 8)] == pytest.approx((2 * 0.14903 + 2 * 0.1771) / 4, rel=1e-12)
    assert at[(2, 13)] == 0.14903  # 2019-08-03, a Saturday: Summer-Weekend
    assert (h["energy_sell_price"] == 0).all()
    assert h["energy_cost"].sum() == pytest.approx((h["energy_bought_kwh"] * h["energy_price"]).sum())
