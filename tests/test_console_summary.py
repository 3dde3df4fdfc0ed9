"""Issue 31 item 2: ``v2gsim run`` prints the numbers its ``summary.json`` holds, for every policy.

Each test runs a small scenario through the CLI (``v2gsim.cli.main``), reads the console and the
run directory, and checks that

* every headline number of the policy is printed, at a label that says which number it is
  (:data:`LABELS`: the gross profit = credits - rebates, the profit net of energy, the profit net of
  degradation, a settling policy's planned and realized figures), and equals ``summary.json``'s
  value to the digits printed (parsed from the text, not formatted by the code under test);
* the summary's own numbers hold: profit = credits - rebates, net profits = profit - cost, and a
  settling policy's keys equal its daily columns summed (or averaged) with pandas over the days.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import require_shared

from v2gsim.cli import main

_NUM = r"(-?\d+(?:\.\d+)?)"
#: summary key -> the console text in front of its number (a regex; the number is group 1)
LABELS: dict[str, str] = {
    "capability_credit": r"credits \$" + _NUM + " capability",
    "performance_credit": r"capability \+ \$" + _NUM + " performance",
    "rebates_paid": r"; rebates \$" + _NUM + ";",
    "profit": r"; profit \$" + _NUM + r" \(credits - rebates",
    "mean_performance_score": r"mean performance score " + _NUM,
    "bid_hours": r"bid-weighted over " + _NUM + " bid hours",
    "predicted_profit": r"profit: predicted \$" + _NUM,
    "realized_profit_predicted_days": r"realized \$" + _NUM + " on the same days",
    "energy_cost": r"energy cost \$" + _NUM + r" \(net of sales\)",
    "profit_net_energy": r"profit net of energy \$" + _NUM,
    "degradation_cost": r"degradation cost \$" + _NUM,
    "profit_net_degradation": r"profit net of degradation \$" + _NUM,
    "eva_planned_revenue": r"operating revenue planned " + _NUM,
    "eva_realized_revenue": r"operating revenue planned \S+, realized " + _NUM,
    "eva_planned_energy_revenue": r"energy revenue planned " + _NUM,
    "eva_realized_energy_revenue": r"energy revenue planned \S+, realized " + _NUM,
    "eva_planned_share": r"response share planned " + _NUM,
    "eva_realized_share": r"response share planned \S+, realized " + _NUM,
    "eva_realized_evs": _NUM + " EVs at home per day",
    "eva_disaggregation_gap_kwh": r"not split into EV schedules " + _NUM + " kWh",
    "v2a_planned_cost": r"v2a sites .*?cost planned " + _NUM,
    "v2a_realized_cost": r"v2a sites .*?cost planned \S+, realized " + _NUM,
    "v2a_planned_unmet_kwh": r"unmet energy planned " + _NUM + " kWh",
    "v2a_realized_unmet_kwh": r"unmet energy planned \S+ kWh, realized " + _NUM + " kWh",
    "v2a_planned_sessions": r"sessions planned " + _NUM,
    "v2a_realized_sessions": r"sessions planned \S+, realized " + _NUM,
    "v2a_soc_violations": r"SOC violations " + _NUM,
    "v2a_offer_kwh": r"offered for regulation " + _NUM + " kWh",
    "departure_shortfall_kwh": r"departure shortfall " + _NUM + " kWh",
    "v2a_planned_days": r"a plan on " + _NUM + " of",
    "planned_cost": r"robust site .*?cost planned \$" + _NUM,
    "realized_cost": r"robust site .*?cost planned \S+, realized \$" + _NUM,
    "robust_planned_up_kwh": r"reserve up planned " + _NUM + " kWh",
    "robust_reserve_up_kwh": r"reserve up planned \S+ kWh, delivered " + _NUM + " kWh",
    "robust_planned_down_kwh": r"down planned " + _NUM + " kWh",
    "robust_reserve_down_kwh": r"down planned \S+ kWh, delivered " + _NUM + " kWh",
    "robust_violations": r"EVs off their plan " + _NUM,
    "robust_plan_cost": r"the LP expected \$" + _NUM,
    "reserve_requested_kwh": r"reserve called " + _NUM + " kWh",
    "reserve_delivered_kwh": r"delivered in all " + _NUM + " kWh",
    "robust_sessions_outside": r"outside the declared box " + _NUM + "$",
}
MONEY = ("capability_credit", "performance_credit", "rebates_paid", "profit")


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, dict, pd.DataFrame]:
    """Run ``v2gsim run ARGV`` into a fresh folder; its console, summary.json and daily table."""
    out = tmp_path / "run"
    capsys.readouterr()
    assert main(["run", *argv, "--out", str(out), "--quiet", "--no-figures"]) == 0
    text = capsys.readouterr().out
    return text, json.loads((out / "summary.json").read_text()), pd.read_parquet(out / "daily.parquet")


def _printed(text: str, key: str) -> tuple[float, int]:
    """The number printed at ``key``'s label and its decimals (exactly one match in the text)."""
    found = [m for line in text.splitlines() if (m := re.search(LABELS[key], line))]
    assert len(found) == 1, (key, text)
    value = found[0].group(1)
    return float(value), len(value.partition(".")[2])


def _check(text: str, s: dict, keys: tuple[str, ...]) -> None:
    """Every key is printed and equals the summary to the digits printed (round half either way)."""
    for key in keys:
        value, places = _printed(text, key)
        assert abs(value - s[key]) <= 0.5 * 10.0 ** -places + 1e-9, (key, value, s[key], text)
    assert s["profit"] == pytest.approx(s["capability_credit"] + s["performance_credit"] - s["rebates_paid"],
                                        abs=1e-9)


def _totals(daily: pd.DataFrame, s: dict, prefix: str, means: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The policy's summary keys equal its daily columns over the run (pandas sum or mean)."""
    cols = [c for c in daily.columns if c.startswith(prefix) and c != "v2a_solve_s"]
    assert cols
    for c in cols:
        expected = daily[c].mean() if c in means else daily[c].sum()
        assert s[c] == pytest.approx(expected, rel=1e-12, abs=1e-12), c
    return tuple(cols)


def test_naive_prints_the_credits_and_the_gross_profit(tmp_path, capsys):
    text, s, _ = _run(tmp_path, capsys, "tiny", "--days", "2")
    assert s["bid_hours"] > 0 and s["profit"] > 0
    _check(text, s, (*MONEY, "mean_performance_score", "bid_hours"))
    assert "profit: predicted" not in text and "energy cost" not in text and "before the" not in text


@pytest.mark.parametrize("policy", ["chance", "bilevel"])
def test_chance_and_bilevel_print_the_predicted_and_the_realized_profit(tmp_path, capsys, policy):
    text, s, daily = _run(tmp_path, capsys, "tiny", "--days", "2", "--set", f"platform.policy={policy}")
    _check(text, s, (*MONEY, "mean_performance_score", "bid_hours", "predicted_profit",
                     "realized_profit_predicted_days"))
    assert s["predicted_profit"] == pytest.approx(daily["predicted_profit"].sum())
    if policy == "bilevel":
        assert s["rebates_paid"] > 0


def test_an_energy_priced_run_says_which_profit_is_which(tmp_path, capsys):
    text, s, _ = _run(tmp_path, capsys, "energy", "--days", "1", "--set", "drivers.count=20",
                      "--set", "platform.chance.requirement_days=1")
    _check(text, s, (*MONEY, "energy_cost", "profit_net_energy"))
    assert s["energy_cost"] > 0 and s["profit_net_energy"] == pytest.approx(s["profit"] - s["energy_cost"])
    assert "(credits - rebates; before the energy cost)" in text


def test_a_tou_priced_run_prints_its_net_profit(tmp_path, capsys):
    """The issue's reproducer (TOU tariff of ../shared/data), one day of 20 EVs."""
    tariff = require_shared("us_utility_tou_tariffs_acnportal/sce_tou_ev_4_march_2019.json")
    text, s, _ = _run(tmp_path, capsys, "energy", "--days", "1", "--set", "drivers.count=20",
                      "--set", "platform.chance.requirement_days=1", "--set", 'market.energy.source="tou"',
                      "--set", f'market.energy.tariff_file="{tariff}"',
                      "--set", 'market.energy.start_date="2019-07-01"')
    assert s["energy_source"] == "tou"
    _check(text, s, (*MONEY, "energy_cost", "profit_net_energy"))


def test_a_degrading_fleet_prints_both_net_profits(tmp_path, capsys):
    text, s, daily = _run(tmp_path, capsys, "heterogeneous", "--days", "2", "--set", "drivers.count=20",
                          "--set", 'market.energy.source="synthetic"')
    _check(text, s, (*MONEY, "energy_cost", "profit_net_energy", "degradation_cost",
                     "profit_net_degradation"))
    assert s["degradation_cost"] > 0
    assert s["degradation_cost"] == pytest.approx(daily["degradation_cost"].sum())
    assert "(credits - rebates; before the energy and degradation costs)" in text


def test_eva_prints_its_plan_and_no_setting_of_another_policy(tmp_path, capsys):
    text, s, daily = _run(tmp_path, capsys, "ma2025_hybrid", "--days", "2", "--set", "drivers.count=20")
    keys = _totals(daily, s, "eva_", means=("eva_planned_share", "eva_realized_share", "eva_realized_evs"))
    for c in ("planned_cost", "realized_cost", "departure_shortfall_kwh"):  # day 0 plans no schedule
        assert s[c] == pytest.approx(daily[c].sum(), rel=1e-12, abs=1e-12), c
    _check(text, s, (*MONEY, *keys))
    # the broken score target gets a NOTE (eva promises no score) naming no chance setting
    assert s["guarantee_broken"] and "NOTE: eva makes no guarantee" in text
    assert "platform.chance" not in text and "WARNING" not in text
    # the plan's revenue (its own currency) is not printed as a predicted regulation profit
    assert "profit: predicted" not in text
    assert s["predicted_profit"] == pytest.approx(s["eva_planned_revenue"])


def test_v2a_prints_planned_and_realized_cost_and_unmet_energy(tmp_path, capsys):
    text, s, daily = _run(tmp_path, capsys, "mao2018_household", "--days", "2", "--set", "drivers.count=20",
                          "--set", "platform.policy=v2a")
    keys = (*_totals(daily, s, "v2a_"), *_totals(daily, s, "departure_shortfall"))
    _check(text, s, (*MONEY, *keys, "v2a_planned_days"))
    # day 0 has no sessions of yesterday to plan: one plan in two days, and the console says so
    assert s["v2a_planned_days"] == 1 == int((daily["v2a_planned_sessions"] > 0).sum())
    assert s["v2a_planned_cost"] > 0 and s["v2a_realized_cost"] > s["v2a_planned_cost"]


def test_v2a_of_one_day_says_that_day_0_plans_nothing(tmp_path, capsys):
    text, s, _ = _run(tmp_path, capsys, "mao2018_household", "--set", "drivers.count=20",
                      "--set", "platform.policy=v2a")
    assert s["days"] == 1 and s["v2a_planned_days"] == 0 and s["v2a_planned_cost"] == 0
    assert "no bid hours (policy v2a" in text and "run 2 or more days (--days)" in text


def test_robust_prints_its_day_ahead_cost_and_reserve(tmp_path, capsys):
    text, s, daily = _run(tmp_path, capsys, "bianchi2023_parking", "--days", "2", "--set", "drivers.count=20")
    assert s["policy"] == "robust" and s["bid_hours"] == 0 and s["profit"] == 0
    keys = _totals(daily, s, "robust_")
    plain = ("planned_cost", "realized_cost", "departure_shortfall_kwh", "reserve_requested_kwh",
             "reserve_delivered_kwh")
    for c in plain:
        assert s[c] == pytest.approx(daily[c].sum(), rel=1e-12, abs=1e-12), c
    _check(text, s, (*MONEY, *keys, *plain, "energy_cost", "profit_net_energy"))
    assert "no bid hours (policy robust" in text
    assert s["robust_planned_up_kwh"] > 0  # the plan holds reserve: the line is not all zeros


def test_every_settled_column_reaches_the_summary():
    """The summary carries every daily column of the settling policies except the v2a timing."""
    from v2gsim.experiments.promise import PLAN_TOTALS
    from v2gsim.policies.eva import EvaPolicy
    from v2gsim.policies.robust import RobustPolicy
    from v2gsim.policies.v2a import V2APolicy

    settled = {*EvaPolicy.daily_keys, *V2APolicy.daily_keys, *RobustPolicy.daily_keys}
    assert set(PLAN_TOTALS) == settled - {"v2a_solve_s"}
    assert set(PLAN_TOTALS) <= set(LABELS)
