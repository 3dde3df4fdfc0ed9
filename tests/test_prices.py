"""Tests of v2gsim.market.prices: PJM readers, hour-of-day profiles, synthetic prices."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from v2gsim.market.prices import (
    PJM2016_CAPABILITY,
    PJM2016_PERFORMANCE,
    PRICE_COLUMNS,
    hourly_price_profile,
    price_statistics,
    read_pjm_regulation_prices,
    synthetic_regulation_prices,
)
from v2gsim.market.prices.synthetic import _lognormal_sigma

Y2016 = "pjm_reg_market_2016"

MILEAGE_HEADER = (
    "datetime_beginning_utc,datetime_beginning_ept,requirement,regd_ssmw,rega_ssmw,regd_procure,"
    "rega_procure,total_mw,deficiency,rto_perfscore,rega_mileage,regd_mileage,rega_hourly,"
    "regd_hourly,is_approved,modified_datetime_utc"
)
BILL_HEADER = (
    "datetime_beginning_utc,datetime_beginning_ept,datetime_ending_utc,datetime_ending_ept,"
    "rmccp,rmpcp,total_pjm_rt_load_mwh,total_pjm_loc_credit,total_pjm_reg_purchases,"
    "total_pjm_self_sched_reg,total_pjm_assigned_reg"
)


def _mileage_row(utc, ept, perf, rega, regd):
    return f"{utc},{ept},525,1,1,1,1,525,0,{perf},6.5,14.5,{rega},{regd},1,5/25/2017 4:23:50 PM"


def _bill_row(utc, ept, rmccp, rmpcp):
    return f"{utc},{ept},x,x,{rmccp},{rmpcp},1,1,1,1,1"


@pytest.fixture
def tiny_2016_like(tmp_path):
    """Mileage file + sibling price file around the November DST change, with PJM's quirks:
    an all-NaN placeholder row duplicating a UTC hour, and an hour missing from the mileage file."""
    mileage = [
        MILEAGE_HEADER,
        _mileage_row("11/6/2016 4:00:00 AM", "11/6/2016 12:00:00 AM", 0.8, 6.0, 12.0),
        # 05:00 UTC missing from the mileage file
        "11/6/2016 6:00:00 AM,11/6/2016 1:00:00 AM,,,,,,,,,,,,,0,5/25/2017 4:23:50 PM",
        _mileage_row("11/6/2016 6:00:00 AM", "11/6/2016 1:00:00 AM", 0.9, 0.0, 16.0),
        _mileage_row("11/6/2016 7:00:00 AM", "11/6/2016 2:00:00 AM", 0.7, 4.0, 10.0),
    ]
    bill = [
        BILL_HEADER,
        _bill_row("11/6/2016 4:00:00 AM", "11/6/2016 12:00:00 AM", 8.0, 1.0),
        _bill_row("11/6/2016 5:00:00 AM", "11/6/2016 1:00:00 AM", 9.0, 0.0),
        _bill_row("11/6/2016 6:00:00 AM", "11/6/2016 1:00:00 AM", 10.0, 2.5),
        _bill_row("11/6/2016 7:00:00 AM", "11/6/2016 2:00:00 AM", 11.0, 3.0),
    ]
    (tmp_path / "reg_market_results_2016.csv").write_text("\n".join(mileage) + "\n")
    (tmp_path / "reg_zone_prelim_bill_2016.csv").write_text("\n".join(bill) + "\n")
    return tmp_path / "reg_market_results_2016.csv"


def test_join_by_utc_hour(tiny_2016_like):
    df = read_pjm_regulation_prices(tiny_2016_like)
    assert list(df.columns) == list(PRICE_COLUMNS)
    assert len(df) == 4  # placeholder row dropped, missing mileage hour kept from the prices
    assert df["time_utc"].is_monotonic_increasing and df["time_utc"].is_unique
    assert str(df["time_utc"].dt.tz) == "UTC"
    np.testing.assert_allclose(df["capability_price"], [8.0, 9.0, 10.0, 11.0])
    np.testing.assert_allclose(df["performance_price"], [1.0, 0.0, 2.5, 3.0])
    np.testing.assert_allclose(df["regd_mileage"], [12.0, np.nan, 16.0, 10.0])
    np.testing.assert_allclose(df["rega_mileage"], [6.0, np.nan, 0.0, 4.0])
    np.testing.assert_allclose(df["perf_score"], [0.8, np.nan, 0.9, 0.7])
    # EPT 1 AM occurs twice (DST ends); the hour column follows the EPT wall clock
    assert df["hour"].tolist() == [0, 1, 1, 2]
    assert df["month"].tolist() == [11, 11, 11, 11]


def test_mileage_file_without_join(tiny_2016_like):
    df = read_pjm_regulation_prices(tiny_2016_like, join_prices=False)
    assert len(df) == 3
    assert df["capability_price"].isna().all()


def test_explicit_prices_path(tiny_2016_like, tmp_path):
    moved = tmp_path / "elsewhere.csv"
    moved.write_text((tmp_path / "reg_zone_prelim_bill_2016.csv").read_text())
    (tmp_path / "reg_zone_prelim_bill_2016.csv").unlink()
    assert read_pjm_regulation_prices(tiny_2016_like)["capability_price"].isna().all()
    df = read_pjm_regulation_prices(tiny_2016_like, prices_path=moved)
    assert df["capability_price"].sum() == pytest.approx(38.0)


def test_five_minute_reserve_results_are_averaged_per_hour(tmp_path):
    header = (
        "datetime_beginning_utc,datetime_beginning_ept,locale,service,mcp,mcp_capped,reg_ccp,"
        "reg_pcp,as_req_mw,total_mw,as_mw,ss_mw,tier1_mw,ircmwt2,dsr_as_mw,nsr_mw,regd_mw"
    )
    rows = [header]
    for k in range(24):  # two hours of 5-min intervals; ccp = k, pcp = 0.1 k
        minute = (k % 12) * 5
        h_utc, h_ept = 4 + k // 12, k // 12
        rows.append(
            f"8/1/2024 {h_utc}:{minute:02d}:00 AM,8/1/2024 {h_ept or 12}:{minute:02d}:00 AM,"
            f"PJM_RTO,REG,0,0,{k},{0.1 * k},800,0,0,0,0,0,0,,0"
        )
    path = tmp_path / "reserve_market_results.csv"
    path.write_text("\n".join(rows) + "\n")
    df = read_pjm_regulation_prices(path)
    assert len(df) == 2
    np.testing.assert_allclose(df["capability_price"], [5.5, 17.5])  # mean of 0..11, 12..23
    np.testing.assert_allclose(df["performance_price"], [0.55, 1.75])
    assert df["hour"].tolist() == [0, 1]
    assert df["regd_mileage"].isna().all()


def test_unrecognized_format_names_file_and_columns(tmp_path):
    path = tmp_path / "lmp.csv"
    path.write_text("datetime_beginning_utc,datetime_beginning_ept,total_lmp_rt\n1/1/2016,x,3\n")
    with pytest.raises(ValueError, match=r"lmp\.csv.*unrecognized") as err:
        read_pjm_regulation_prices(path)
    assert "rmccp" in str(err.value) and "regd_hourly" in str(err.value)


def test_unparseable_time(tmp_path):
    path = tmp_path / "bill.csv"
    path.write_text(BILL_HEADER + "\n" + _bill_row("yesterday", "noon", 1.0, 1.0) + "\n")
    with pytest.raises(ValueError, match=r"bill\.csv.*datetime_beginning_utc"):
        read_pjm_regulation_prices(path)


# --------------------------------------------------------------------------------------------------
# real files
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prices_2016():
    from conftest import require_shared

    return read_pjm_regulation_prices(require_shared(f"{Y2016}/reg_market_results_2016.csv"))


@pytest.mark.data
def test_read_2016_joins_prices(prices_2016):
    df = prices_2016
    assert len(df) == 8784 and df["time_utc"].is_unique
    # SOURCE.md: rmccp mean 13.94, rmpcp 1.56, regd_hourly mean 14.12, rto_perfscore mean 0.881
    assert df["capability_price"].mean() == pytest.approx(13.94, abs=0.005)
    assert df["performance_price"].mean() == pytest.approx(1.56, abs=0.005)
    assert df["regd_mileage"].mean() == pytest.approx(14.12, abs=0.005)
    assert df["perf_score"].mean() == pytest.approx(0.881, abs=0.0005)
    # 6 unapproved placeholder hours + 1 hour absent from the mileage file
    assert df["regd_mileage"].isna().sum() == 7
    assert df["capability_price"].notna().all()
    assert sorted(df["hour"].unique()) == list(range(24))
    assert df.groupby("month").size().sum() == 8784


@pytest.mark.data
def test_constants_match_2016_file(prices_2016):
    for column, const in (
        ("capability_price", PJM2016_CAPABILITY),
        ("performance_price", PJM2016_PERFORMANCE),
    ):
        stats = price_statistics(prices_2016, column)
        assert stats.mean == pytest.approx(const.mean, abs=5e-4)
        assert stats.std == pytest.approx(const.std, abs=5e-4)
        assert stats.zero_fraction == pytest.approx(const.zero_fraction, abs=5e-5)
        np.testing.assert_allclose(stats.hour_shape, const.hour_shape, atol=5e-5)


@pytest.mark.data
def test_read_2022_07_prices(shared_data):
    df = read_pjm_regulation_prices(
        shared_data("pjm_reg_market_2022-07/regulation_market_results_2022-07.csv")
    )
    assert len(df) == 744
    assert df["capability_price"].mean() == pytest.approx(51.95, abs=0.005)
    assert df["performance_price"].mean() == pytest.approx(1.45, abs=0.005)
    assert df[["regd_mileage", "rega_mileage", "perf_score"]].isna().all().all()
    assert df["month"].eq(7).all()


@pytest.mark.data
def test_read_2023_04_mileage_and_2024_08_5min(shared_data):
    folder = "pjm_reg_market_2023-04_2024-08"
    mil = read_pjm_regulation_prices(shared_data(f"{folder}/reg_market_results_2023-04.csv"))
    assert len(mil) == 719  # one hour absent in the file
    assert mil["regd_mileage"].mean() == pytest.approx(32.64, abs=0.005)
    assert mil["capability_price"].isna().all()  # no price file beside it
    five = read_pjm_regulation_prices(
        shared_data(f"{folder}/reserve_market_results_REG_5min_2024-08.csv")
    )
    assert len(five) == 744
    # every hour has 12 intervals, so the mean of hourly means equals the 5-min mean (29.90)
    assert five["capability_price"].mean() == pytest.approx(29.90, abs=0.005)


@pytest.mark.data
def test_profile_of_2016(prices_2016):
    prof = hourly_price_profile(prices_2016)
    assert len(prof) == 24 and prof["n"].sum() == 8784
    # hour-of-day means, weighted by the hour counts, give back the annual mean
    annual = (prof["capability_price_mean"] * prof["n"]).sum() / prof["n"].sum()
    assert annual == pytest.approx(prices_2016["capability_price"].mean())
    by_month = hourly_price_profile(prices_2016, by=("month", "hour"))
    assert len(by_month) == 12 * 24


# --------------------------------------------------------------------------------------------------
# profile and statistics on hand-made frames
# --------------------------------------------------------------------------------------------------


def test_hourly_price_profile_by_hand():
    df = pd.DataFrame(
        {
            "hour": [0, 0, 1, 1, 1],
            "month": [1, 2, 1, 1, 2],
            "capability_price": [10.0, 20.0, 1.0, 2.0, 3.0],
            "performance_price": [1.0, 1.0, 0.0, np.nan, 2.0],
        }
    )
    prof = hourly_price_profile(df)
    assert prof["hour"].tolist() == [0, 1] and prof["n"].tolist() == [2, 3]
    np.testing.assert_allclose(prof["capability_price_mean"], [15.0, 2.0])
    np.testing.assert_allclose(prof["capability_price_std"], [math.sqrt(50.0), 1.0])
    np.testing.assert_allclose(prof["performance_price_mean"], [1.0, 1.0])  # NaN ignored
    by_month = hourly_price_profile(df, by=("month", "hour"))
    assert len(by_month) == 4
    with pytest.raises(ValueError, match="grouping"):
        hourly_price_profile(df, by=("weekday",))


def test_price_statistics_by_hand():
    hours = np.tile(np.arange(24), 2)
    price = np.where(hours < 12, 1.0, 3.0)
    price[0] = 0.0  # one zero in 48 hours; hour 0 mean becomes 0.5
    stats = price_statistics(pd.DataFrame({"hour": hours, "p": price}), "p")
    assert stats.mean == pytest.approx((1.0 * 23 + 3.0 * 24) / 48)
    assert stats.std == pytest.approx(price.std(ddof=1))
    assert stats.zero_fraction == pytest.approx(1 / 48)
    hourly = np.array([0.5] + [1.0] * 11 + [3.0] * 12)
    np.testing.assert_allclose(stats.hour_shape, hourly / hourly.mean())


# --------------------------------------------------------------------------------------------------
# synthetic prices
# --------------------------------------------------------------------------------------------------


def test_closed_form_moments_match_constants():
    # Population moments of the model p = m s_h B exp(σZ - σ²/2)/(1-π):
    # E[p] = m mean(s) = m; E[p²] = m² mean(s²) e^{σ²}/(1-π).
    for const in (PJM2016_CAPABILITY, PJM2016_PERFORMANCE):
        shape = np.asarray(const.hour_shape) / np.mean(const.hour_shape)
        sigma = _lognormal_sigma(const.mean, const.std, const.zero_fraction, shape)
        second = const.mean**2 * np.mean(shape**2) * math.exp(sigma**2) / (1 - const.zero_fraction)
        assert math.sqrt(second - const.mean**2) == pytest.approx(const.std, rel=1e-12)


def test_synthetic_prices_one_year_matched_moments():
    df = synthetic_regulation_prices(
        np.random.default_rng(1),
        365,
        mean_capability=PJM2016_CAPABILITY.mean,
        mean_performance=PJM2016_PERFORMANCE.mean,
        match_moments=True,
    )
    assert list(df.columns) == ["day", "hour", "capability_price", "performance_price"]
    assert len(df) == 365 * 24
    for column, const in (
        ("capability_price", PJM2016_CAPABILITY),
        ("performance_price", PJM2016_PERFORMANCE),
    ):
        assert df[column].mean() == pytest.approx(const.mean, rel=0.05)
        assert df[column].std() == pytest.approx(const.std, rel=0.05)
        assert df[column].min() >= 0.0


def test_synthetic_prices_population_calibration_over_20_years():
    df = synthetic_regulation_prices(
        np.random.default_rng(2),
        20 * 365,
        mean_capability=PJM2016_CAPABILITY.mean,
        mean_performance=PJM2016_PERFORMANCE.mean,
    )
    for column, const in (
        ("capability_price", PJM2016_CAPABILITY),
        ("performance_price", PJM2016_PERFORMANCE),
    ):
        assert df[column].mean() == pytest.approx(const.mean, rel=0.05)
        assert df[column].std() == pytest.approx(const.std, rel=0.05)
        assert (df[column] == 0).mean() == pytest.approx(const.zero_fraction, abs=0.01)
        shape = df.groupby("hour")[column].mean().to_numpy() / const.mean
        np.testing.assert_allclose(shape, const.hour_shape, rtol=0.12)
    # default lag-1 correlation of the log-noise 0.5 -> price autocorrelation ≈ 0.38 (2016: 0.39)
    assert df["capability_price"].autocorr(1) == pytest.approx(0.38, abs=0.05)


def test_synthetic_prices_defaults_and_reproducibility():
    a = synthetic_regulation_prices(np.random.default_rng(5), 3)
    b = synthetic_regulation_prices(np.random.default_rng(5), 3)
    pd.testing.assert_frame_equal(a, b)
    assert a["day"].tolist() == [0] * 24 + [1] * 24 + [2] * 24
    assert a["hour"].tolist() == list(range(24)) * 3


def test_synthetic_prices_flat_shape_no_zeros_iid():
    df = synthetic_regulation_prices(
        np.random.default_rng(6),
        3650,
        mean_capability=10.0,
        std_capability=5.0,
        zero_fraction_capability=0.0,
        capability_shape=[1.0] * 24,
        log_autocorrelation=0.0,
    )
    p = df["capability_price"]
    assert (p > 0).all()
    # pure lognormal with cv 0.5: σ² = ln(1.25)
    assert np.log(p).std() == pytest.approx(math.sqrt(math.log(1.25)), rel=0.02)
    assert p.mean() == pytest.approx(10.0, rel=0.02)
    assert abs(p.autocorr(1)) < 0.03


@pytest.mark.parametrize(
    "kwargs",
    [
        {"days": 0},
        {"std_capability": 0.0},
        {"std_capability": 1.0},  # smaller than what the hour shape + zeros already imply
        {"zero_fraction_performance": 1.0},
        {"capability_shape": [1.0] * 23},
        {"capability_shape": [-1.0] + [1.0] * 23},
        {"log_autocorrelation": 1.0},
    ],
)
def test_synthetic_prices_reject_bad_arguments(kwargs):
    args = {"days": 2}
    args.update(kwargs)
    with pytest.raises(ValueError):
        synthetic_regulation_prices(np.random.default_rng(0), **args)
