"""Issue 18 / 16: every scenario that validates runs; every problem is one ``FILE: field: message``.

One test (or a parametrized group) per case of issue 18's list and issue 16 item 1: NaN/inf in
hourly and scalar fields, the reachable AGC mileage range, unreadable data files (directory,
empty, malformed, wrong columns, not UTF-8), a persistency solve that does not converge inside the
run (belief fallback), the CLI's typed errors, ``extends`` problems, malformed ``--set`` values,
hourly arrays of the wrong length and runs that would not fit in memory.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import step_model

from v2gsim.behavior.persistency import PersistencySolveError
from v2gsim.cli import main
from v2gsim.config import ScenarioError, load_scenario, validate_file
from v2gsim.config.market import SYNTHETIC_MILEAGE_RANGE, SYNTHETIC_PRICE_RANGE
from v2gsim.config.resources import MEMORY_LIMIT_ENV, estimate_memory, network_size
from v2gsim.experiments.runner import run_scenario
from v2gsim.market.agc.synthetic import REACHABLE_MILEAGE, synthetic_regd
from v2gsim.market.sources import DataFileError, read_data_file

SCEN = Path(__file__).resolve().parents[1] / "scenarios"
TINY = SCEN / "tiny.toml"


def _scenario(tmp_path: Path, body: str, name: str = "s.toml") -> Path:
    f = tmp_path / name
    f.write_text(f'extends = "{TINY}"\n{body}')
    return f


def _validate(capsys, path: Path, *sets: str) -> tuple[int, list[str]]:
    args = [a for s in sets for a in ("--set", s)]
    rc = main(["validate", str(path), *args])
    return rc, capsys.readouterr().out.strip().splitlines()


def _run(capsys, path: Path | str, out: Path, *sets: str, days: int = 1) -> tuple[int, str]:
    args = [a for s in sets for a in ("--set", s)]
    rc = main(["run", str(path), "--days", str(days), "--out", str(out), "--quiet",
               "--no-figures", *args])
    return rc, capsys.readouterr().err


# ----------------------------------------------------------------------------- finite numbers


@pytest.mark.parametrize(("override", "field"), [
    ("network.places.0.utility=nan", "network.places[0].utility"),
    ("network.places.0.sigma=nan", "network.places[0].sigma"),
    ("network.places.1.utility=inf", "network.places[1].utility"),
    ("network.places.0.plug_sigma=-inf", "network.places[0].plug_sigma"),
    ("network.places.0.utility=1e308", "network.places[0].utility"),
    ("drivers.battery_kwh=nan", "drivers.battery_kwh"),
    ("drivers.soc_init=[0.5, nan]", "drivers.soc_init[1]"),
    ("platform.bilevel.levels=[0.0, inf]", "platform.bilevel.levels[1]"),
    ("game.p_d=nan", "game.p_d"),
    ("network.travel.utility=-inf", "network.travel.utility"),
])
def test_nan_inf_and_huge_numbers_are_rejected_at_their_field(tmp_path, capsys, override, field):
    rc, lines = _validate(capsys, TINY, override)
    assert rc == 2
    assert any(line.startswith(f"{TINY}: {field}: ") for line in lines), lines


def test_nan_inside_an_hourly_list_names_the_item(tmp_path, capsys):
    hourly = ", ".join(["1.0"] * 5 + ["nan"] + ["1.0"] * 18)
    f = _scenario(tmp_path, f'[[network.places]]\nname = "home"\nwindow = [0, 24]\ncharger = true\n'
                  f"utility = [{hourly}]\n")
    rc, lines = _validate(capsys, f)
    assert rc == 2
    assert lines == [f"{f}: network.places[0].utility: item 5 is nan; give one finite number or a "
                     "list of finite numbers in [-1e+06, 1e+06]"]


def test_hourly_array_of_the_wrong_length_is_reported_at_its_field(tmp_path, capsys):
    f = _scenario(tmp_path, '[[network.places]]\nname = "home"\nwindow = [0, 24]\n'
                  f"sigma = [{', '.join(['0.5'] * 23)}]\n")
    rc, lines = _validate(capsys, f)
    assert rc == 2
    assert lines == [f"{f}: network.places[0].sigma: has 23 values; give one number or exactly 24 "
                     "(one per hour)"]
    # the same through --set, on the shipped default (list items are indexed by number)
    rc, lines = _validate(capsys, SCEN / "default.toml", "network.places.2.utility=[1.0, 2.0]")
    assert rc == 2 and lines == [f"{SCEN / 'default.toml'}: network.places[2].utility: has 2 values; "
                                 "give one number or exactly 24 (one per hour)"]


# ----------------------------------------------------------------------------- AGC mileage range


def test_mileage_range_of_the_schema_is_the_generators():
    assert SYNTHETIC_MILEAGE_RANGE == REACHABLE_MILEAGE


@pytest.mark.parametrize("target", [REACHABLE_MILEAGE[0], REACHABLE_MILEAGE[1]])
def test_the_generator_reaches_both_ends_of_the_range(target):
    # The closed form behind the upper end: white noise scaled to 13 % saturation moves
    # E|clip(X) - clip(Y)| = 0.672 per 2-s step, 1210 per hour; the range keeps a margin inside.
    for seed in range(5):
        sig = synthetic_regd(np.random.default_rng(seed), days=1, mean_hourly_mileage=target)
        mileage = np.abs(np.diff(sig.reshape(24, 1800), axis=1)).sum(axis=1).mean()
        assert mileage == pytest.approx(target, rel=0.006)


@pytest.mark.parametrize("value", [0.999999999, 11.99, 1200.01, 1e9, 1e308])
def test_unreachable_mileage_is_rejected_with_the_allowed_range(capsys, value):
    rc, lines = _validate(capsys, TINY, f"market.mean_hourly_mileage={value}")
    assert rc == 2
    (line,) = lines
    assert line.startswith(f"{TINY}: market.mean_hourly_mileage: must lie in [12, 1200] per-unit/h")


@pytest.mark.parametrize("value", [12.0, 1200.0])
def test_mileage_just_inside_the_range_runs(tmp_path, capsys, value):
    rc, err = _run(capsys, TINY, tmp_path / "run", f"market.mean_hourly_mileage={value}",
                   'platform.policy="chance"', "platform.chance.requirement_days=1")
    assert rc == 0, err


def test_synthetic_price_range_is_what_the_generator_can_make(capsys):
    from v2gsim.market.prices import synthetic_regulation_prices
    from v2gsim.market.prices.profiles import PJM2016_CAPABILITY, PJM2016_PERFORMANCE

    for name, prof in (("capability_price", PJM2016_CAPABILITY),
                       ("performance_price", PJM2016_PERFORMANCE)):
        shape = np.asarray(prof.hour_shape, dtype=float)
        shape /= shape.mean()
        bound = prof.std / math.sqrt(np.mean(shape**2) / (1 - prof.zero_fraction) - 1)
        lo, hi = SYNTHETIC_PRICE_RANGE[name]
        assert 0.98 * bound < hi < bound
        kind = name.split("_")[0]
        for mean in (lo, hi):
            table = synthetic_regulation_prices(np.random.default_rng(0), 2,
                                                **{f"mean_{kind}": mean})
            assert np.isfinite(table[name]).all()
        rc, lines = _validate(capsys, TINY, f"market.{name}={hi * 1.01}")
        assert rc == 2 and lines[0].startswith(f"{TINY}: market.{name}: Input should be less than")


# ----------------------------------------------------------------------------- data files


def _price_scenario(tmp_path: Path, price: Path) -> Path:
    return _scenario(tmp_path, f'[market]\nprices = "pjm"\nprice_file = "{price}"\n')


def test_data_path_that_is_a_directory_or_empty_is_rejected_by_validate(tmp_path, capsys):
    (tmp_path / "adir").mkdir()
    (tmp_path / "empty.csv").write_text("")
    for target, why in (("adir", "not a file"), ("empty.csv", "file is empty")):
        f = _price_scenario(tmp_path, tmp_path / target)
        rc, lines = _validate(capsys, f)
        assert rc == 2 and lines == [f"{f}: market.price_file: {why}: {tmp_path / target}"]


@pytest.mark.parametrize(("content", "reason"), [
    (b'a,b\n1,2\n3,4,5,6\n"x\n', "unrecognized regulation-market file format"),
    (b"x,y\n1,2\n3,4\n", "unrecognized regulation-market file format"),
    (b"\xff\xfe\x00\x01garbage\n" * 20, "not UTF-8 text"),
])
def test_unreadable_price_file_is_one_line_naming_file_and_field(tmp_path, capsys, content, reason):
    """The reader's verdict, at validation (issue 30 item 3) and again by the run."""
    data = tmp_path / "prices.csv"
    data.write_bytes(content)
    f = _price_scenario(tmp_path, data)
    rc, lines = _validate(capsys, f)
    assert rc == 2 and len(lines) == 1
    assert lines[0].startswith(f"{f}: market.price_file: {data}: ") and reason in lines[0], lines
    rc, err = _run(capsys, f, tmp_path / "run")
    assert rc == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(f"{f}: market.price_file: {data}: ") and reason in line, line
    assert not (tmp_path / "run").exists()


def test_unreadable_agc_file_names_its_index(tmp_path, capsys):
    good = tmp_path / "good.csv"
    times = pd.date_range("2020-07-16", periods=43200, freq="2s")
    pd.DataFrame({"time_ept": times.strftime("%Y-%m-%d %H:%M:%S"),
                  "regd": np.sin(np.arange(43200) / 50.0)}).to_csv(good, index=False)
    bad = tmp_path / "bad.csv"
    bad.write_text("time_ept,signal\n2020-07-16 00:00:00,0.1\n")
    f = _scenario(tmp_path, f'[market]\nagc = "pjm_regd"\nagc_files = ["{good}", "{bad}"]\n')
    rc, err = _run(capsys, f, tmp_path / "run", days=2)
    assert rc == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(f"{f}: market.agc_files[1]: {bad}: missing column(s) ['regd']"), line


def test_read_data_file_wraps_every_way_a_file_is_unreadable(tmp_path):
    def reader(p: Path) -> str:
        return pd.read_csv(p).to_string()

    (tmp_path / "d").mkdir()
    (tmp_path / "latin.csv").write_bytes("a\n\xe9\n".encode("latin-1"))
    (tmp_path / "e.csv").write_text("")
    cases = {"d": "is a directory", "missing.csv": "No such file", "latin.csv": "not UTF-8",
             "e.csv": "No columns to parse"}
    for name, reason in cases.items():
        with pytest.raises(DataFileError) as exc:
            read_data_file(tmp_path / name, reader)
        assert exc.value.path == tmp_path / name and reason in exc.value.reason
        assert str(exc.value).startswith(f"{tmp_path / name}: ")
        assert isinstance(exc.value, ValueError)

    def own_message(p: Path) -> None:  # a reader's message keeps its text, the path is not doubled
        raise ValueError(f"{p}: missing column(s) ['regd']")

    with pytest.raises(DataFileError) as exc:
        read_data_file(tmp_path / "x.csv", own_message)
    assert str(exc.value) == f"{tmp_path / 'x.csv'}: missing column(s) ['regd']"


# ----------------------------------------------------------------------------- belief fallback


def test_persistency_failure_falls_back_and_is_recorded(tmp_path):
    # sigma = 1e-12 at home: the damped Newton on (D4) does not converge (PersistencySolveError)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the Newton steps overflow on the way
        model = step_model(TINY, ["network.places.0.sigma=1e-12"], days=2)
    daily, hourly = model.daily_table(), model.hourly_table()
    assert all(s.startswith("belief fallback: observe: PersistencySolveError: Newton method on (D4)")
               and "; predict: PersistencySolveError" in s for s in daily["policy_status"])
    assert hourly["predicted_plugged"].isna().all() and daily["predicted_ev_hours"].isna().all()
    assert [(d, ph) for d, ph, _ in model.platform.fallbacks] == [
        (0, "observe"), (0, "predict"), (1, "observe"), (1, "predict")]
    assert hourly["plugged"].sum() > 0  # the drivers still chose their paths


def test_fallback_keeps_the_last_prediction(tmp_path, monkeypatch):
    model = step_model(TINY, days=2, steps=1)
    day0 = model.last_day["predicted_ev_hours"]

    def fail(rebate=None):
        raise PersistencySolveError("no convergence (test)", name="persistency", solver="newton",
                                    status="exception", summary="")

    monkeypatch.setattr(model.platform.beliefs, "predict", fail)
    model.step()
    # naive: no rebates on either day, so yesterday's prediction is today's
    assert model.last_day["predicted_ev_hours"] == day0
    assert model.last_day["policy_status"] == ("belief fallback: observe: PersistencySolveError: "
                                               "no convergence (test); predict: "
                                               "PersistencySolveError: no convergence (test)")
    assert model.daily_table()["policy_status"].tolist()[0] == ""


def test_bilevel_without_beliefs_falls_back_to_the_chance_bids(tmp_path, capsys):
    rc, err = _run(capsys, TINY, tmp_path / "run", "network.places.0.sigma=1e-12",
                   'platform.policy="bilevel"', "platform.chance.requirement_days=1")
    assert rc == 0, err
    status = pd.read_parquet(tmp_path / "run" / "daily.parquet")["policy_status"].iloc[0]
    assert status.startswith("belief fallback: observe: PersistencySolveError")
    assert "fallback: BeliefsUnavailable: the platform has no persistency prediction" in status


def test_extremal_utilities_without_a_prediction_stop_with_exit_1(tmp_path, capsys):
    rc, err = _run(capsys, TINY, tmp_path / "run", "network.places.0.sigma=1e-12",
                   'drivers.distribution="extremal"')
    assert rc == 1
    (line,) = err.strip().splitlines()[-1:]
    assert line.startswith("error: solve failed: Newton method on (D4) did not converge")
    assert "Traceback" not in err


# ----------------------------------------------------------------------------- CLI


def test_debug_keeps_the_traceback(tmp_path, capsys):
    f = _scenario(tmp_path, "days = -1\n")
    for argv in (["--debug", "run", str(f)], ["run", str(f), "--debug"]):
        with pytest.raises(ScenarioError):
            main(argv)
    assert main(["run", str(f)]) == 2
    assert capsys.readouterr().err.strip().startswith(f"{f}: days: Input should be greater")


def test_an_unwritable_output_is_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    rc, err = _run(capsys, TINY, tmp_path / "file" / "run")
    assert rc == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_malformed_toml_extends_and_traceback_free_subprocess(tmp_path):
    f = tmp_path / "a.toml"
    f.write_text('extends = "/nonexistent/base.toml"\n')
    proc = subprocess.run([sys.executable, "-m", "v2gsim.cli", "run", str(f)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"{f}: extends: file not found: /nonexistent/base.toml"


# ----------------------------------------------------------------------------- extends, --set


def test_extends_problems_name_the_extending_file(tmp_path, capsys):
    (tmp_path / "adir").mkdir()
    (tmp_path / "blob.bin").write_bytes(bytes(range(256)))
    (tmp_path / "broken.toml").write_text("days = = 3\n")
    cases = {
        "adir": f"is a directory, not a TOML file: {tmp_path / 'adir'}",
        "blob.bin": "not a TOML text file (not UTF-8: invalid start byte at byte 128): "
                    f"{tmp_path / 'blob.bin'}",
        "": "must be the path of a TOML file (a non-empty string), got ''",
    }
    for target, why in cases.items():
        f = tmp_path / "a.toml"
        f.write_text(f'extends = "{target}"\n')
        assert validate_file(f) == [f"{f}: extends: {why}"]
    f.write_text('extends = "broken.toml"\n')
    (line,) = validate_file(f)
    assert line.startswith(f"{tmp_path / 'broken.toml'}: (toml): ") and f"(extended by {f})" in line


def test_self_cycle_and_deep_extends_are_reported_with_the_chain(tmp_path):
    me = tmp_path / "me.toml"
    me.write_text('extends = "me.toml"\n')
    assert validate_file(me) == [f"{me}: extends: extends itself: {me} -> {me}"]
    a, b, c = (tmp_path / f"{n}.toml" for n in "abc")
    a.write_text('extends = "b.toml"\n')
    b.write_text('extends = "c.toml"\n')
    c.write_text('extends = "a.toml"\n')
    assert validate_file(a) == [f"{c}: extends: cycle in extends chain: {a} -> {b} -> {c} -> {a}"]
    for k in range(40):
        (tmp_path / f"d{k}.toml").write_text(f'extends = "d{k + 1}.toml"\n')
    (line,) = validate_file(tmp_path / "d0.toml")
    assert line == f"{tmp_path / 'd31.toml'}: extends: chain of more than 32 files"


def _validate_in_child(path: Path) -> subprocess.CompletedProcess:
    """``validate_file(path)`` in a child process with a time limit and a 1.5 GB address-space
    limit, so that a loader that blocks on a FIFO or reads ``/dev/zero`` fails the test instead of
    hanging it or filling the memory."""
    import resource

    def limit() -> None:  # pragma: no cover - runs in the child
        resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))

    code = ("import sys; from v2gsim.config import validate_file\n"
            "print('\\n'.join(validate_file(sys.argv[1])))")
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                          timeout=60, preexec_fn=limit)


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not Path("/dev/zero").exists(),
                    reason="needs FIFOs and /dev/zero")
def test_extends_reads_only_regular_files(tmp_path):
    """Issue 30 item 9: a FIFO blocked forever, /dev/zero read until the memory ran out."""
    fifo = tmp_path / "base.fifo"
    os.mkfifo(fifo)
    for target in (fifo, Path("/dev/zero")):
        f = tmp_path / "a.toml"
        f.write_text(f'extends = "{target}"\n')
        proc = _validate_in_child(f)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == (f"{f}: extends: not a regular file (a FIFO, device or "
                                       f"socket); a scenario is a TOML file: {target}")
        # the scenario argument itself too
        proc = _validate_in_child(target)
        assert proc.stdout.strip() == (f"{target}: (file): not a regular file (a FIFO, device or "
                                       f"socket); a scenario is a TOML file: {target}")


def test_extends_of_a_file_over_the_size_cap_is_refused(tmp_path):
    from v2gsim.config.loading import MAX_SCENARIO_BYTES

    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * MAX_SCENARIO_BYTES + "\n")
    f = tmp_path / "a.toml"
    f.write_text('extends = "big.toml"\n')
    assert validate_file(f) == [f"{f}: extends: larger than 1,000,000 bytes; allowed: a scenario "
                                f"file of at most 1 MB: {big}"]
    big.write_text(f'extends = "{TINY}"\n# ' + "x" * (MAX_SCENARIO_BYTES - 200) + "\n")
    assert validate_file(f) == []


def test_extends_to_an_unknown_user_or_a_symlink_loop_names_the_field(tmp_path):
    """Both were RuntimeError tracebacks."""
    f = tmp_path / "a.toml"
    f.write_text('extends = "~nosuchuser-v2gsim/x.toml"\n')
    assert validate_file(f) == [f"{f}: extends: cannot expand '~nosuchuser-v2gsim' (no such user or "
                                "home directory); give the path without ~: '~nosuchuser-v2gsim/x.toml'"]
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    f.write_text('extends = "loop1"\n')
    (line,) = validate_file(f)
    assert line.startswith(f"{f}: extends: cannot be read (") and "loop" in line.lower()
    proc = subprocess.run([sys.executable, "-m", "v2gsim.cli", "validate", str(f)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout.strip() == line and "Traceback" not in proc.stderr


@pytest.mark.parametrize(("body", "field"), [
    ("description = " + "[" * 600 + "]" * 600, "(toml)"),
    ("description = " + "{a=" * 600 + "1" + "}" * 600, "(toml)"),
    ("description = " + "[" * 40 + "]" * 40, "description[0][0]"),
    ("[" + ".".join(["a"] * 600) + "]\nx = 1", "a.a.a"),
])
def test_deep_nesting_is_a_message_not_a_recursion_error(tmp_path, body, field):
    from v2gsim.config.loading import MAX_NESTING

    f = tmp_path / "deep.toml"
    f.write_text(body + "\n")
    (line,) = validate_file(f)
    assert line.startswith(f"{f}: {field}: ") and f"at most {MAX_NESTING}" in line, line[:300]


def test_deep_set_values_and_keys_are_messages(capsys):
    rc, lines = _validate(capsys, TINY, "description=" + "[" * 600 + "]" * 600)
    assert rc == 2 and lines == [f"{TINY}: description: --set value is nested too deeply; allowed: "
                                 "at most 32 levels"]
    rc, lines = _validate(capsys, TINY, ".".join(["a"] * 600) + "=1")
    assert rc == 2 and lines == [f"{TINY}: a.a.a: tables and arrays nested more than 32 levels deep; "
                                 "allowed: at most 32"]


def test_a_chain_of_hundreds_of_extends_stops_at_the_depth_limit(tmp_path):
    for k in range(500):
        (tmp_path / f"c{k}.toml").write_text(f'extends = "c{k + 1}.toml"\n')
    assert validate_file(tmp_path / "c0.toml") == [
        f"{tmp_path / 'c31.toml'}: extends: chain of more than 32 files"]


@pytest.mark.parametrize(("item", "line"), [
    ("drivers.count=[1,", "drivers.count: --set value '[1,' is not a valid TOML value"),
    ("name=[1,", "name: --set value '[1,' is not a valid TOML value"),
    ('description="open', "description: --set value '\"open' is not a valid TOML value"),
    ("drivers.count", "(--set): expected dotted.key=value, got 'drivers.count'"),
    ("network.places.7.sigma=1", "network.places.7.sigma: --set: network.places is a list of 3; "
                                 "index it with 0..2"),
    ("drivers..count=1", "drivers..count: --set: empty part in the dotted key"),
])
def test_malformed_set_is_reported_with_its_key(capsys, item, line):
    rc, lines = _validate(capsys, TINY, item)
    assert rc == 2
    assert lines[0].startswith(f"{TINY}: {line}"), lines


def test_set_indexes_list_items_and_bare_words_stay_strings():
    s = load_scenario(TINY, ["network.places.1.sigma=0.25", "platform.policy=chance"])
    assert s.network.places[1].sigma == 0.25 and s.platform.policy == "chance"


# ----------------------------------------------------------------------------- memory


def test_network_size_matches_the_built_network():
    from v2gsim.core.network import build_network
    from v2gsim.specs.build import cluster_specs

    for name in ("default", "lin2020"):
        scen = load_scenario(name)
        net = build_network(cluster_specs(scen)[0].network)
        size = network_size(scen.network)
        assert (size.nodes, size.arcs) == (net.n_nodes, net.n_arcs) == (57, 170)


def test_too_much_memory_is_refused_naming_the_field(monkeypatch, capsys):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "2G")
    est = estimate_memory(load_scenario(TINY))
    # agents 900 + plugged/travel 9 T + the per-hour gathers 27 T (the compiled kernel keeps no
    # (A, M) array); the numpy-sampled extremal population: its (A, M) rows, 12 B per arc
    assert est.per_driver == 900 + 9 * 24 + 27 * 24 == 1764
    extremal = estimate_memory(load_scenario(TINY, ['drivers.distribution="extremal"']))
    assert extremal.per_driver == 900 + 9 * 24 + 12 * 170 == 3156
    rc, lines = _validate(capsys, TINY, "drivers.count=5000000")
    assert rc == 2
    (line,) = lines
    total = 5e6 * 1764 + est.total - est.parts["fleet"]
    assert line.startswith(f"{TINY}: drivers.count: a run needs about {total / 1e9:.1f} GB of "
                           "memory at its peak (5000000 EVs x 1,764 B on a network of 170 arcs")
    allowed = int(line.split("allowed here: at most ")[1].split(" ")[0].replace(",", ""))
    assert allowed == int((2e9 - (est.total - est.parts["fleet"])) // 1764)
    assert _validate(capsys, TINY, f"drivers.count={allowed}")[0] == 0
    assert _validate(capsys, TINY, f"drivers.count={allowed + 10}")[0] == 2
    rc, lines = _validate(capsys, TINY, "days=36500", "drivers.count=20")
    assert rc == 2 and lines[0].startswith(f"{TINY}: days: a run needs about 2.2 GB")
    rc, lines = _validate(capsys, TINY, 'platform.policy="chance"',
                          "platform.chance.requirement_days=3650")
    assert rc == 2 and lines[0].startswith(f"{TINY}: platform.chance.requirement_days: ")
    # the runner checks too (a scenario built in Python), before building the model
    scen = load_scenario(TINY)
    big = scen.model_copy(update={"drivers": scen.drivers.model_copy(update={"count": 3_000_000})})
    with pytest.raises(ScenarioError, match=r"drivers\.count: a run needs about"):
        run_scenario(big)


def test_memory_estimate_bounds_a_measured_run():
    """Peak RSS of 1-day runs of 2,000 then 30,000 EVs: the estimate is an upper bound of the
    whole run and of the growth per driver, and not more than twice the measured growth."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc (Linux) to read the peak RSS")
    # VmHWM (peak RSS of this process image; ru_maxrss would carry the parent's over fork/exec)
    code = (
        "import json, re\n"
        "from pathlib import Path\n"
        "from v2gsim.config import load_scenario\n"
        "from v2gsim.experiments.runner import run_scenario\n"
        "rss = []\n"
        "for m in (2000, 30000):\n"
        "    run_scenario(load_scenario('default', [f'drivers.count={m}', 'platform.policy=\"naive\"'],"
        " days=1), progress=False)\n"
        "    text = Path('/proc/self/status').read_text()\n"
        "    rss.append(int(re.search(r'VmHWM:\\s+(\\d+) kB', text).group(1)) * 1024)\n"
        "print(json.dumps(rss))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    small, big = json.loads(out.stdout.strip().splitlines()[-1])
    est = estimate_memory(load_scenario("default", ["drivers.count=30000", 'platform.policy="naive"'],
                                        days=1))
    measured_per_driver = (big - small) / 28_000
    assert big < est.total
    assert measured_per_driver < est.per_driver < 2 * measured_per_driver, (small, big)


@pytest.mark.parametrize("policy", ["chance", "bilevel"])
def test_headroom_without_capability_is_an_input_error(capsys, tmp_path, policy):
    """Mostly unidirectional EV models leave psi - omega <= 0: exit 2 naming the field, no run."""
    from v2gsim.cli import main

    rc = main(["run", "heterogeneous", "--days", "1", "--out", str(tmp_path / "r"), "--quiet",
               "--set", f'platform.policy="{policy}"'])
    err = capsys.readouterr().err
    assert rc == 2 and "platform.chance.capability: 'headroom'" in err and "1.98 - 3.3 kW" in err
    rc = main(["run", "heterogeneous", "--days", "1", "--out", str(tmp_path / "s"), "--quiet",
               "--no-figures", "--set", f'platform.policy="{policy}"',
               "--set", 'platform.chance.capability="charger"'])
    assert rc == 0


@pytest.mark.parametrize(("overrides", "field"), [
    (['sessions.enabled=false'], "sessions.enabled"),
    (['sessions.model="paths"', 'sessions.place="home"'], "sessions.model"),
    (['market.energy.source="none"'], "market.energy.source"),
])
def test_robust_policy_inputs_are_checked_at_validation(capsys, overrides, field):
    """Found by the fuzz script: these used to escape as a ValueError when the model was built."""
    rc, lines = _validate(capsys, "bianchi2023_parking", *overrides)
    assert rc == 2 and len(lines) == 1
    assert f": {field}: policy 'robust'" in lines[0]
