"""Energy price series: the EnergyPrices type, GME / PJM LMP / TOU readers, the synthetic generator."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest
from conftest import require_shared

from v2gsim.market.prices.energy import (
    EnergyPriceFileError,
    EnergyPrices,
    apply_sell_rule,
    per_mwh_to_per_kwh,
)
from v2gsim.market.prices.energy_synthetic import (
    PJM2016_MEAN_PER_KWH,
    log_sigma,
    synthetic_energy_prices,
)
from v2gsim.market.prices.gme import gme_energy_prices, read_gme_msd, read_gme_pun
from v2gsim.market.prices.lmp import (
    PJM2016_DA_LMP,
    energy_price_statistics,
    pjm_da_energy_prices,
    read_pjm_da_lmp,
)
from v2gsim.market.prices.tou import find_tou_tariff, read_tou_tariff

GME = "italy_gme_pun_msd_nord_2019-08_10"
PUN = f"{GME}/pun_2019-08_10.csv"
MSD = f"{GME}/msd_nord_avg_prices_2019-08_10.csv"
TOU = "us_utility_tou_tariffs_acnportal"
LMP = "pjm_reg_market_2016/da_hrl_lmps_pjm-rto_2016.csv"


# ---------------------------------------------------------------- the series type
def _flat(days=2, slot=60, price=0.1):
    buy = np.full((days, 1440 // slot), price)
    return EnergyPrices(buy=buy, sell=buy, slot_minutes=slot, currency="USD")


def test_slots_repeat_and_average_back():
    buy = np.arange(48, dtype=float).reshape(2, 24) / 100
    p = EnergyPrices(buy=buy, sell=buy / 2, slot_minutes=60, currency="EUR", spot=buy)
    q = p.to_slots(15)
    assert q.slots_per_day == 96 and q.buy[1, 4 * 7 + 3] == buy[1, 7]
    back = q.hourly()
    np.testing.assert_allclose(back.buy, buy, rtol=1e-15)
    np.testing.assert_allclose(back.sell, buy / 2, rtol=1e-15)
    # 30-min slots of a 15-min series: mean of pairs (hand: slots 0 and 1 of hour 0 are equal)
    half = EnergyPrices(buy=np.tile([1.0, 3.0], (1, 48)), sell=np.zeros((1, 96)), slot_minutes=15,
                        currency="USD").to_slots(30)
    assert half.buy.shape == (1, 48) and np.all(half.buy == 2.0)


def test_cycled_and_dates():
    buy = np.arange(3, dtype=float)[:, None] * np.ones((3, 24))
    p = EnergyPrices(buy=buy, sell=buy, slot_minutes=60, currency="USD",
                     dates=("2019-01-01", "2019-01-02", "2019-01-03"))
    c = p.cycled(5, start=1)
    assert c.buy[:, 0].tolist() == [1, 2, 0, 1, 2]
    assert c.dates == ("2019-01-02", "2019-01-03", "2019-01-01", "2019-01-02", "2019-01-03")


def test_currency_is_data_and_converts_only_explicitly():
    p = EnergyPrices(buy=np.full((1, 24), 0.05), sell=np.full((1, 24), 0.04), slot_minutes=60,
                     currency="EUR", up=np.full((1, 24), 0.07))
    q = p.converted(1.1, "USD")
    assert q.currency == "USD" and math.isclose(q.buy[0, 0], 0.055) and math.isclose(q.up[0, 5], 0.077)
    assert p.currency == "EUR" and p.buy[0, 0] == 0.05  # unchanged
    with pytest.raises(ValueError, match="already in EUR"):
        p.converted(1.1, "EUR")
    with pytest.raises(ValueError, match="ISO 4217"):
        EnergyPrices(buy=np.ones((1, 24)), sell=np.ones((1, 24)), slot_minutes=60, currency="$")
    assert per_mwh_to_per_kwh(51.18) == pytest.approx(0.05118)


def test_sell_rules():
    spot = np.full((1, 24), 0.03)
    p = EnergyPrices(buy=spot + 0.02, sell=spot, slot_minutes=60, currency="USD", spot=spot)
    assert np.all(apply_sell_rule(p, "fraction", 0.5).sell == 0.025)
    assert np.all(apply_sell_rule(p, "spot").sell == 0.03)
    with pytest.raises(ValueError, match="needs a wholesale price"):
        apply_sell_rule(_flat(), "spot")
    with pytest.raises(ValueError, match="unknown sell rule"):
        apply_sell_rule(p, "bogus")


@pytest.mark.parametrize("kwargs, match", [
    ({"slot_minutes": 20}, "slot_minutes"),
    ({"buy": np.ones((1, 23))}, "shape"),
    ({"sell": np.full((1, 24), np.nan)}, "non-finite"),
])
def test_series_rejects_bad_arrays(kwargs, match):
    base = {"buy": np.ones((1, 24)), "sell": np.ones((1, 24)), "slot_minutes": 60, "currency": "USD"}
    with pytest.raises(ValueError, match=match):
        EnergyPrices(**{**base, **kwargs})


def test_frame_is_tidy():
    f = _flat(days=2, slot=30).to_frame()
    assert len(f) == 96 and f["start_h"].iloc[:3].tolist() == [0.0, 0.5, 1.0]
    assert set(f.columns) == {"day", "date", "slot", "start_h", "buy_price", "sell_price", "currency"}
    # one row per day and slot, in order, with the series' values
    assert f["day"].tolist() == [0] * 48 + [1] * 48 and f["slot"].tolist() == list(range(48)) * 2
    np.testing.assert_array_equal(f["start_h"], f["slot"] * 0.5)
    assert (f["buy_price"] == 0.1).all() and (f["sell_price"] == 0.1).all() and (f["currency"] == "USD").all()


# ---------------------------------------------------------------- GME
def test_gme_pun_of_a_known_day_and_hour():
    df = read_gme_pun(require_shared(PUN))
    # pun_2019-08_10.csv line 357: "20190815,20,48.39935" (hour 20 ends at 20:00, starts at 19:00)
    row = df[(df.date == "2019-08-15") & (df.hour == 20)]
    assert row["pun_eur_mwh"].item() == 48.39935 and row["clock_hour"].item() == 19
    assert len(df) == 2209 and df["pun_eur_mwh"].mean() == pytest.approx(51.18, abs=0.005)
    prices = gme_energy_prices(require_shared(PUN))
    assert prices.currency == "EUR" and prices.days == 92
    d = prices.dates.index("2019-08-15")
    assert prices.buy[d, 19] == pytest.approx(0.04839935, rel=1e-12)


def test_gme_daylight_saving_day_and_msd():
    prices = gme_energy_prices(require_shared(PUN), require_shared(MSD))
    d = prices.dates.index("2019-10-27")
    # lines 2092-2093: hours 3 and 4 of 2019-10-27 both start at 02:00 (clocks go back at 03:00)
    assert prices.buy[d, 2] == pytest.approx((35.36585 + 35.05352) / 2 / 1000, rel=1e-12)
    assert prices.buy[d, 1] == pytest.approx(0.03664) and prices.buy[d, 3] == pytest.approx(0.03405375)
    # msd file line 2: "20190801,1,26.41,73.55" (Pmed-DOWN, Pmed-UP of hour 0-1)
    assert prices.down[0, 0] == pytest.approx(0.02641) and prices.up[0, 0] == pytest.approx(0.07355)
    msd = read_gme_msd(require_shared(MSD))
    assert len(msd) == 2208 and (msd["msd_up_eur_mwh"] == 0).sum() == 615


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def _pun_day(date="20190801", n=24, price="50.0"):
    return "".join(f"{date},{h},{price}\n" for h in range(1, n + 1))


@pytest.mark.parametrize("body, match", [
    ("date,hour,price\n20190801,1,50\n", r"missing column\(s\) \['pun_eur_mwh'\]"),
    ("date,hour,pun_eur_mwh\n2019-08-01,1,50\n", "is not YYYYMMDD"),
    ("date,hour,pun_eur_mwh\n" + _pun_day().replace("20190801,5,50.0", "20190801,5,n/a"),
     "line 6: column 'pun_eur_mwh' is missing"),
    ("date,hour,pun_eur_mwh\n" + _pun_day(n=22), "day 2019-08-01 has hours"),
    ("date,hour,pun_eur_mwh\n" + _pun_day().replace("20190801,7,", "20190801,7.5,"),
     "is not an integer"),
])
def test_malformed_gme_files_name_the_file(tmp_path, body, match):
    p = _write(tmp_path, "pun.csv", body)
    with pytest.raises(EnergyPriceFileError, match=match) as err:
        read_gme_pun(p)
    assert str(p) in str(err.value)


def test_gme_spring_day_fills_the_missing_hour(tmp_path):
    rows = "".join(f"20190331,{h},{10.0 * h}\n" for h in range(1, 24))  # 23 hours
    p = _write(tmp_path, "pun.csv", "date,hour,pun_eur_mwh\n" + rows + _pun_day("20190401"))
    prices = gme_energy_prices(p)
    # hour numbers 1, 2 start at 00:00, 01:00; 3.. start at 03:00..; 02:00 = mean(20, 30) EUR/MWh
    assert prices.buy[0, :4].tolist() == pytest.approx([0.010, 0.020, 0.025, 0.030])
    assert prices.buy[0, 23] == pytest.approx(0.230)
    with pytest.raises(EnergyPriceFileError, match=r"missing\.csv: no such file"):
        read_gme_pun(tmp_path / "missing.csv")


# ---------------------------------------------------------------- PJM day-ahead LMP
def test_pjm_da_lmp_known_hours_and_dst():
    path = require_shared(LMP)
    df = read_pjm_da_lmp(path)
    # line 2: 1/1/2016 12:00:00 AM EPT, total_lmp_da 20.477209 $/MWh
    assert df["lmp_usd_mwh"].iloc[0] == 20.477209 and df["hour"].iloc[0] == 0
    p = pjm_da_energy_prices(path)
    assert p.days == 366 and p.currency == "USD"
    nov6, mar13 = p.dates.index("2016-11-06"), p.dates.index("2016-03-13")
    # lines 7442-7443: 1:00 EPT twice (18.985770, 19.666406) -> their mean
    assert p.buy[nov6, 1] * 1000 == pytest.approx((18.985770 + 19.666406) / 2, rel=1e-12)
    # lines 1731-1732: 1:00 = 18.232378, 3:00 = 15.947692, 2:00 missing -> their mean
    assert p.buy[mar13, 2] * 1000 == pytest.approx((18.232378 + 15.947692) / 2, rel=1e-12)


def test_pjm2016_constants_match_the_file():
    s = energy_price_statistics(pjm_da_energy_prices(require_shared(LMP)).buy * 1000)
    c = PJM2016_DA_LMP
    assert s.mean == pytest.approx(c.mean, abs=5e-4) and s.std == pytest.approx(c.std, abs=5e-4)
    np.testing.assert_allclose(s.hour_shape, c.hour_shape, atol=5e-5)
    for k in ("day_log_share", "day_autocorrelation", "hour_autocorrelation"):
        assert getattr(s, k) == pytest.approx(getattr(c, k), abs=5e-5)


def test_lmp_file_with_several_pnodes_needs_one(tmp_path):
    head = "datetime_beginning_utc,datetime_beginning_ept,pnode_name,total_lmp_da\n"
    rows = "".join(f"1/1/2016 {h + 5}:00:00 AM,1/1/2016 {h}:00:00 AM,{n},20\n"
                   for n in ("A", "B") for h in range(1, 3))
    p = _write(tmp_path, "lmp.csv", head + rows)
    with pytest.raises(EnergyPriceFileError, match="2 pnodes"):
        read_pjm_da_lmp(p)
    assert len(read_pjm_da_lmp(p, pnode="B")) == 2
    with pytest.raises(EnergyPriceFileError, match="no pnode 'C'"):
        read_pjm_da_lmp(p, pnode="C")
    bad = _write(tmp_path, "bad.csv", head + rows.replace("B,20\n", "B,x\n", 1))
    with pytest.raises(EnergyPriceFileError, match="line 4: column 'total_lmp_da' is not a number"):
        read_pjm_da_lmp(bad, pnode="B")


# ---------------------------------------------------------------- TOU tariffs
def test_tou_tariff_of_a_named_utility_at_a_named_hour():
    t = read_tou_tariff(require_shared(f"{TOU}/sce_tou_ev_4_march_2019.json"))
    assert t.name == "SCE TOU-EV-4"
    # "Summer-Weekday" (06-01..09-30, WEEKDAYS): times [0, 8, 12, 18, 23], 12-18 h -> 0.26668 $/kWh
    assert t.price_at(dt.datetime(2019, 7, 17, 14, 0)) == 0.26668  # Wednesday 14:00
    assert t.price_at(dt.datetime(2019, 7, 17, 23, 30)) == 0.05623
    assert t.price_at(dt.datetime(2019, 7, 20, 14, 0)) == 0.05623  # Saturday: "Summer-Weekend"
    # "Winter-Weekday" (10-01..05-31 wraps over the new year): 12-18 h -> 0.0869
    assert t.price_at(dt.datetime(2020, 1, 14, 14, 0)) == 0.0869
    p = t.prices(dt.date(2019, 7, 17), days=4, slot_minutes=60)
    assert p.currency == "USD" and p.dates[3] == "2019-07-20"
    assert p.buy[0].tolist() == [0.05623] * 8 + [0.0925] * 4 + [0.26668] * 6 + [0.0925] * 5 + [0.05623]
    assert np.all(p.buy[3] == 0.05623)


def test_tou_half_hour_periods_and_first_match():
    path = require_shared(f"{TOU}/pge_a10_tou_aug_2019.json")
    with pytest.warns(UserWarning, match="'Winter-Weekend' of 'PGE A-10 TOU' never applies"):
        t = read_tou_tariff(path)
    # Summer-Weekday times [0, 8.5, 12, 18, 21.5]: 08:30 starts the 0.1771 period
    assert t.price_at(dt.datetime(2019, 8, 1, 8, 29)) == 0.14903
    assert t.price_at(dt.datetime(2019, 8, 1, 8, 30)) == 0.1771
    hourly = t.prices(dt.date(2019, 8, 1), 1, 60).buy[0]
    assert hourly[8] == pytest.approx((0.14903 + 0.1771) / 2)  # 8-9 h: half of each period
    assert hourly[21] == pytest.approx((0.1771 + 0.14903) / 2)
    assert t.prices(dt.date(2019, 8, 1), 1, 30).buy[0, 16:18].tolist() == [0.14903, 0.1771]
    assert t.schedule_for(dt.date(2019, 12, 7)).id == "Winter-Weekday"  # first match, a Saturday


def test_tou_tariff_found_by_name():
    folder = require_shared(TOU)
    assert find_tou_tariff(folder, "SCE TOU-EV-4").name == "sce_tou_ev_4_march_2019.json"
    with pytest.raises(ValueError, match=r"2 files .* named 'SCE TOU-EV-8'"):
        find_tou_tariff(folder, "SCE TOU-EV-8")
    with pytest.raises(ValueError, match="no tariff named 'X'"):
        find_tou_tariff(folder, "X")


def _tariff(**schedule):
    s = {"id": "All", "effective_start": "01-01", "effective_end": "12-31", "dow_mask": "ALL",
         "times": [0, 12], "tariffs": [0.1, 0.2], "demand_charge": 0}
    return {"name": "T", "effective": "2020-01-01", "schedule": [{**s, **schedule}]}


@pytest.mark.parametrize("doc, match", [
    ("{not json", "is not valid JSON"),
    (json.dumps({"name": "T"}), "'schedule'"),
    (json.dumps(_tariff(times=[1, 12])), "must increase from 0"),
    (json.dumps(_tariff(tariffs=[0.1])), "1 tariffs"),
    (json.dumps(_tariff(dow_mask="MONDAYS")), "dow_mask must be one of"),
    (json.dumps(_tariff(effective_end="06-30")), "no schedule covers 07-01"),
    (json.dumps(_tariff(dow_mask="WEEKDAYS")), "on a Saturday"),
    (json.dumps(_tariff(effective_start="13-01")), "effective_start must be 'MM-DD'"),
    (json.dumps(_tariff(tariffs=[0.1, -0.2])), "finite and >= 0"),
])
def test_malformed_tariffs_name_the_file(tmp_path, doc, match):
    p = _write(tmp_path, "t.json", doc)
    with pytest.raises(EnergyPriceFileError, match=match) as err:
        read_tou_tariff(p)
    assert str(p) in str(err.value)


# ---------------------------------------------------------------- synthetic generator
def test_log_sigma_closed_form():
    shape = np.array([0.5, 1.5] * 12)
    cv = 0.6
    s = log_sigma(cv, shape)
    # E[p^2]/E[p]^2 = mean(shape^2) exp(s^2) = 1 + cv^2
    assert np.mean(shape**2) * math.exp(s**2) == pytest.approx(1 + cv**2)
    with pytest.raises(ValueError, match="smaller than the hour shape"):
        log_sigma(0.1, shape)


def test_synthetic_prices_reproduce_the_pjm2016_targets():
    """100 independent 365-day draws: mean, second moment and hour means within 3 (4) SE."""
    c = PJM2016_DA_LMP
    target_mean = c.mean / 1000
    shape = np.asarray(c.hour_shape) / np.mean(c.hour_shape)
    seeds = np.random.SeedSequence(20240601).spawn(100)
    draws = np.stack([synthetic_energy_prices(np.random.default_rng(s), 365).buy for s in seeds])
    means = draws.mean(axis=(1, 2))
    se = means.std(ddof=1) / math.sqrt(len(means))
    assert abs(means.mean() - target_mean) < 3 * se
    m2 = (draws**2).mean(axis=(1, 2))  # unbiased for std^2 + mean^2 of the population
    se2 = m2.std(ddof=1) / math.sqrt(len(m2))
    assert abs(m2.mean() - ((c.std / 1000) ** 2 + target_mean**2)) < 3 * se2
    hour = draws.mean(axis=1)  # (100, 24)
    se_h = hour.std(axis=0, ddof=1) / math.sqrt(len(hour))
    # 24 hours at once: 4 SE (two-sided, Bonferroni for 24 tests at 0.3 % is 3.8 SE)
    assert np.all(np.abs(hour.mean(axis=0) - target_mean * shape) < 4 * se_h)
    # the dependence structure: estimated on the 36 500 days pooled
    s = energy_price_statistics(draws.reshape(-1, 24) * 1000)
    assert s.day_log_share == pytest.approx(c.day_log_share, abs=0.01)
    assert s.day_autocorrelation == pytest.approx(c.day_autocorrelation, abs=0.01)
    assert s.hour_autocorrelation == pytest.approx(c.hour_autocorrelation, abs=0.005)
    assert (draws > 0).all()


def test_synthetic_prices_slots_seed_and_arguments():
    a = synthetic_energy_prices(np.random.default_rng(1), 3)
    b = synthetic_energy_prices(np.random.default_rng(1), 3, slot_minutes=15)
    assert b.slots_per_day == 96 and np.all(b.buy[:, 4 * 17 + 2] == a.buy[:, 17])
    assert np.array_equal(a.sell, a.buy) and np.array_equal(a.spot, a.buy)
    # twice the mean, same draws: the coefficient of variation is kept, so every price doubles
    c = synthetic_energy_prices(np.random.default_rng(1), 3, mean=2 * PJM2016_MEAN_PER_KWH)
    np.testing.assert_allclose(c.buy, 2 * a.buy, rtol=1e-12)
    for bad in ({"days": 0}, {"slot_minutes": 45}, {"mean": -1.0}, {"day_log_share": 1.5},
                {"hour_autocorrelation": 1.0}, {"hour_shape": [1.0] * 23}):
        kwargs = {"days": 2, **bad}
        with pytest.raises(ValueError):
            synthetic_energy_prices(np.random.default_rng(0), **kwargs)


def test_pun_is_the_frame_of_its_series():
    prices = gme_energy_prices(require_shared(PUN))
    frame = prices.to_frame()
    assert len(frame) == 92 * 24 and frame["currency"].eq("EUR").all()
    assert frame.loc[(frame.date == "2019-08-15") & (frame.slot == 19), "buy_price"].item() == \
        pytest.approx(0.04839935)
