"""Issue #30 item 3 (and item 9's data-file parts): one safe reader for every data file.

Each reproducer (a bad file kind) against each reader it applies to: the reader raises its typed
error (a :class:`~v2gsim.core.datafiles.DataFileError`) naming the file and never the file's
contents; ``v2gsim validate`` exits 2 naming the scenario field; ``v2gsim run`` exits 2 before it
writes a run directory. Special files (FIFO, ``/dev/zero``, a directory, a symlink loop) are
refused without blocking, a huge one-row file or a binary file in milliseconds. Valid generated
files and the real files of ``../shared/data`` still read (their numbers are pinned by the readers'
own test modules).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require_shared

from v2gsim.behavior.sessions import SessionFileError, read_acn_sessions, read_evwatts_sessions, read_sessions
from v2gsim.cli import main
from v2gsim.config import ScenarioError, load_scenario
from v2gsim.core.datafiles import (
    MAX_CSV_BYTES,
    DataFileError,
    csv_header,
    numeric_column,
    read_csv,
    read_json,
)
from v2gsim.market.agc import read_pjm_regd
from v2gsim.market.prices import (
    EnergyPriceFileError,
    find_tou_tariff,
    read_gme_msd,
    read_gme_pun,
    read_pjm_da_lmp,
    read_pjm_regulation_prices,
    read_tou_tariff,
)
from v2gsim.specs.datacheck import check_data_files, data_file_problems

SCEN = Path(__file__).resolve().parents[1] / "scenarios"
TINY = SCEN / "tiny.toml"
SECRET = "ghp_SECRETtoken0123456789abcdef"

# ----------------------------------------------------------------------------- valid files


def _regd(hours: int = 24) -> str:
    t = pd.date_range("2020-07-16", periods=hours * 1800, freq="2s")
    v = np.round(0.9 * np.sin(np.arange(t.size) / 50.0), 6)
    return "time_ept,regd\n" + "".join(f"{a},{b}\n" for a, b in zip(t.strftime("%Y-%m-%d %H:%M:%S"), v,
                                                                    strict=True))


def _bill(hours: int = 48) -> str:
    t = pd.date_range("2016-01-01 05:00", periods=hours, freq="h")
    e = t - pd.Timedelta(hours=5)
    fmt = "%m/%d/%Y %I:%M:%S %p"
    return "datetime_beginning_utc,datetime_beginning_ept,rmccp,rmpcp\n" + "".join(
        f"{a},{b},{10 + k % 7},{1 + k % 3}\n" for k, (a, b) in enumerate(zip(t.strftime(fmt),
                                                                             e.strftime(fmt), strict=True)))


def _lmp(days: int = 2) -> str:
    t = pd.date_range("2016-06-01 04:00", periods=24 * days, freq="h")
    e = t - pd.Timedelta(hours=4)
    fmt = "%m/%d/%Y %I:%M:%S %p"
    return "datetime_beginning_utc,datetime_beginning_ept,pnode_name,total_lmp_da\n" + "".join(
        f"{a},{b},PJM-RTO,{20 + k % 24}\n" for k, (a, b) in enumerate(zip(t.strftime(fmt),
                                                                          e.strftime(fmt), strict=True)))


def _pun(days: int = 2) -> str:
    return "date,hour,pun_eur_mwh\n" + "".join(f"2019080{d + 1},{h},{40 + h}\n"
                                               for d in range(days) for h in range(1, 25))


def _msd(days: int = 2) -> str:
    return "date,hour,pmed_down_eur_mwh,pmed_up_eur_mwh\n" + "".join(
        f"2019080{d + 1},{h},{20 + h},{70 + h}\n" for d in range(days) for h in range(1, 25))


def _tariff(name: str = "Flat TOU") -> str:
    s = {"id": "All", "effective_start": "01-01", "effective_end": "12-31", "dow_mask": "ALL",
         "times": [0, 12], "tariffs": [0.1, 0.2], "demand_charge": 0}
    return json.dumps({"name": name, "effective": "2020-01-01", "schedule": [s]})


def _acn() -> str:
    return ("session_id,station_id,user_id,connection_time_local,disconnect_time_local,"
            "kwh_delivered,kwh_requested\n"
            "s1,st-1,20,2021-05-03 08:00:00,2021-05-03 14:00:00,3.5,\n"
            "s2,st-2,10,2021-05-04 09:00:00,2021-05-04 17:00:00,9.25,12\n"
            "s3,st-2,,2021-05-05 10:00:00,2021-05-05 12:30:00,4.0,5\n")


def _evwatts() -> str:
    return ("id,vehicle_id,start_datetime,stop_datetime\n"
            "1,7,2021-07-01 17:00:00,2021-07-01 18:30:00\n"
            "2,7,2021-07-02 18:00:00,2021-07-02 22:10:00\n")


# name -> (reader, error type, valid text, "missing hours" text or None)
READERS: dict[str, tuple[Callable[[Path], object], type[DataFileError], Callable[[], str],
                         Callable[[], str] | None]] = {
    "regd": (read_pjm_regd, DataFileError, lambda: _regd(1),
             lambda: "".join(_regd(1).splitlines(keepends=True)[:-7])),
    "regulation_prices": (read_pjm_regulation_prices, DataFileError, _bill, None),
    "lmp": (read_pjm_da_lmp, EnergyPriceFileError, _lmp,
            lambda: "".join(ln for k, ln in enumerate(_lmp().splitlines(keepends=True)) if k != 13)),
    "pun": (read_gme_pun, EnergyPriceFileError, _pun,
            lambda: "".join(ln for k, ln in enumerate(_pun().splitlines(keepends=True)) if k != 13)),
    "pun_last_hour": (read_gme_pun, EnergyPriceFileError, _pun,  # 1..23 on a 24-hour day
                      lambda: "".join(ln for k, ln in enumerate(_pun().splitlines(keepends=True))
                                      if k != 24)),
    "msd": (read_gme_msd, EnergyPriceFileError, _msd,
            lambda: "".join(ln for k, ln in enumerate(_msd().splitlines(keepends=True)) if k != 5)),
    "tou": (read_tou_tariff, EnergyPriceFileError, _tariff, None),
    "acn": (read_acn_sessions, SessionFileError, _acn, None),
    "evwatts": (read_evwatts_sessions, SessionFileError, _evwatts, None),
    "sessions_auto": (read_sessions, SessionFileError, _acn, None),
}
CSV_READERS = [k for k in READERS if k != "tou"]


def _bad_bytes(kind: str, valid: str) -> bytes:
    """The bytes of a bad file of ``kind`` made from a valid file's text."""
    lines = valid.splitlines(keepends=True)
    if kind == "header_only":
        return lines[0].encode() if not valid.startswith("{") else b"{}"
    if kind == "wrong_columns":
        return b"foo,bar\n1,2\n"
    if kind == "non_utf8":
        data = valid.encode()
        return data[: len(data) // 2] + b"\xe9\xff" + data[len(data) // 2 :]
    if kind == "truncated":
        if valid.startswith("{"):
            return valid[: len(valid) // 2].encode()
        return "".join(lines[:-1]).encode() + lines[-1].split(",")[0].encode()
    if kind == "secret":
        return f"{SECRET}\n".encode()
    if kind == "secret_values":  # the right header, secrets in the values
        return (lines[0] + ",".join([SECRET] * lines[0].count(",")) + f",{SECRET}\n").encode()
    raise AssertionError(kind)


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


# ----------------------------------------------------------------------------- the readers


@pytest.mark.parametrize("reader", list(READERS))
def test_valid_generated_files_read(tmp_path, reader):
    fn, _, valid, _ = READERS[reader]
    fn(_write(tmp_path / "ok.csv", valid()))


@pytest.mark.parametrize("kind", ["header_only", "wrong_columns", "non_utf8", "truncated", "secret",
                                  "secret_values"])
@pytest.mark.parametrize("reader", list(READERS))
def test_bad_file_is_one_typed_error_naming_the_file_not_its_contents(tmp_path, reader, kind):
    fn, error, valid, _ = READERS[reader]
    path = _write(tmp_path / "bad.dat", _bad_bytes(kind, valid()))
    with pytest.raises(error) as exc:
        fn(path)
    msg = str(exc.value)
    assert isinstance(exc.value, DataFileError) and isinstance(exc.value, ValueError)
    assert msg.startswith(f"{path}: ") and exc.value.path == path
    assert SECRET not in msg and "SECRET" not in msg and "foo" not in msg
    assert "\n" not in msg


@pytest.mark.parametrize("reader", [k for k, v in READERS.items() if v[3] is not None])
def test_missing_hours_are_refused(tmp_path, reader):
    fn, error, _, missing = READERS[reader]
    with pytest.raises(error, match=r"whole number of hours|missing or repeated hour"):
        fn(_write(tmp_path / "gap.csv", missing()))


def test_a_missing_hour_of_an_lmp_day_is_not_taken_for_daylight_saving(tmp_path):
    # EPT 13:00 of day 1 dropped: 23 hours, but the UTC hours jump (the spring DST day does not)
    with pytest.raises(EnergyPriceFileError, match="day 2016-06-01: its hours are not consecutive"):
        READERS["lmp"][0](_write(tmp_path / "gap.csv", READERS["lmp"][3]()))


def test_malformed_json_and_tariff_folders(tmp_path):
    for text, match in [("{not json", "is not valid JSON"), ("[" * 100_000, "is not valid JSON"),
                        ('{"name": NaN}', "NaN or Infinity"), ("1" * 5000, "is not valid JSON"),
                        (json.dumps({"name": "T", "schedule": "x"}), "'schedule' must be a list"),
                        (_tariff().replace('"times": [0, 12]', '"times": "012"'), "times must be a list")]:
        with pytest.raises(EnergyPriceFileError, match=match):
            read_tou_tariff(_write(tmp_path / "t.json", text))
    _write(tmp_path / "a.json", _tariff("A"))
    _write(tmp_path / "secret.json", json.dumps({"name": SECRET}))  # not a valid tariff: skipped
    os.mkfifo(tmp_path / "fifo.json")
    assert find_tou_tariff(tmp_path, "A") == tmp_path / "a.json"
    with pytest.raises(EnergyPriceFileError, match=r"no tariff named 'B'; tariffs there: \['A'\]") as exc:
        find_tou_tariff(tmp_path, "B")
    assert SECRET not in str(exc.value)
    with pytest.raises(EnergyPriceFileError, match="no such folder"):
        find_tou_tariff(tmp_path / "nope", "A")


@pytest.mark.parametrize("special", ["fifo", "dev_zero", "directory", "symlink_loop",
                                     "symlink_to_fifo", "missing"])
@pytest.mark.parametrize("reader", list(READERS))
def test_special_files_are_refused_without_blocking(tmp_path, reader, special):
    fn, error, _, _ = READERS[reader]
    path = tmp_path / "special.csv"
    if special == "fifo":
        os.mkfifo(path)
    elif special == "dev_zero":
        path = Path("/dev/zero")
    elif special == "directory":
        path.mkdir()
    elif special == "symlink_loop":
        path.symlink_to(tmp_path / "other.csv")
        (tmp_path / "other.csv").symlink_to(path)
    elif special == "symlink_to_fifo":
        os.mkfifo(tmp_path / "pipe")
        path.symlink_to(tmp_path / "pipe")
    t0 = time.perf_counter()
    with pytest.raises(error) as exc:
        fn(path)
    assert time.perf_counter() - t0 < 1.0
    expected = {"fifo": "FIFO", "symlink_to_fifo": "FIFO", "dev_zero": "device",
                "directory": "directory", "symlink_loop": "symbolic link loop",
                "missing": "no such file"}[special]
    assert str(exc.value).startswith(f"{path}: ") and expected in exc.value.reason


@pytest.mark.parametrize("shape", ["one_line", "one_row", "binary", "over_the_cap"])
@pytest.mark.parametrize("reader", list(READERS))
def test_huge_or_binary_files_are_refused_in_milliseconds(tmp_path, reader, shape):
    fn, error, valid, _ = READERS[reader]
    path = tmp_path / "big.csv"
    header = valid().splitlines()[0]
    if shape == "one_line":  # a 600 KB first line
        _write(path, ",".join(f"c{k}" for k in range(100_000))[:600_000] + "\n")
    elif shape == "one_row":  # the right header, then one 600 KB row
        _write(path, f"{header}\n" + "1," * 300_000 + "1\n")
    elif shape == "binary":
        _write(path, bytes(range(256)) * 40_000)  # 10 MB with NUL bytes
    else:
        with path.open("wb") as f:  # sparse: nothing is written
            f.truncate(MAX_CSV_BYTES + 1)
    t0 = time.perf_counter()
    with pytest.raises(error) as exc:
        fn(path)
    assert time.perf_counter() - t0 < 1.0, exc.value
    assert "c99" not in str(exc.value)


def test_csv_rows_with_too_many_or_too_few_fields_name_their_line(tmp_path):
    p = _write(tmp_path / "x.csv", "a,b\n1,2\n3,4,5\n")
    with pytest.raises(DataFileError, match=r"line 3 has 3 field\(s\), the header 2"):
        read_csv(p, ("a", "b"))
    p = _write(tmp_path / "y.csv", 'a,b\n1,2\n"3,4\n')
    with pytest.raises(DataFileError, match=r"line 3 has 1 field"):
        read_csv(p, ("a", "b"))
    p = _write(tmp_path / "z.csv", "a,b,a\n1,2,3\n")
    with pytest.raises(DataFileError, match=r"\['a'\] appear more than once"):
        read_csv(p, ("a", "b"))
    p = _write(tmp_path / "bom.csv", "\ufeffa,b\r\n1,2\r\n\r\n")  # BOM, CRLF, a blank last line
    assert read_csv(p, ("a", "b"))["a"].tolist() == [1]
    assert csv_header(p) == ("a", "b")


def test_numeric_column_checks_finite_range_and_whole_numbers(tmp_path):
    p = _write(tmp_path / "n.csv", "v,w\n1,1\n2.5,\ninf,3\n")
    frame = read_csv(p, ("v", "w"))
    with pytest.raises(DataFileError, match="line 4: column 'v' is not finite"):
        numeric_column(frame, "v", p)
    with pytest.raises(DataFileError, match="line 3: column 'w' is missing"):
        numeric_column(frame, "w", p)
    assert numeric_column(frame, "w", p, missing_ok=True).isna().sum() == 1
    with pytest.raises(DataFileError, match=r"line 4: column 'w' is outside \[0, 2\]"):
        numeric_column(frame, "w", p, low=0, high=2, missing_ok=True)
    with pytest.raises(DataFileError, match="line 3: column 'v' is not a whole number"):
        numeric_column(frame.iloc[:2], "v", p, integer=True)


def test_read_json_caps_and_error_pickles(tmp_path):
    p = _write(tmp_path / "j.json", '{"a": [1, 2]}')
    assert read_json(p) == {"a": [1, 2]}
    with pytest.raises(DataFileError, match="may be at most"):
        read_json(p, max_bytes=4)
    import pickle

    err = EnergyPriceFileError(p, "bad").named("market.energy.price_file")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is EnergyPriceFileError and str(back) == f"{p}: market.energy.price_file: bad"


def test_real_files_read_through_the_safe_reader():
    d = "pjm_regd_2s_2020-07/regd_2s_2020-07-16.csv"
    assert read_pjm_regd(require_shared(d)).size == 43200
    assert len(read_pjm_regulation_prices(require_shared(
        "pjm_reg_market_2023-04_2024-08/reserve_market_results_REG_5min_2024-08.csv"))) == 744
    assert len(read_gme_msd(require_shared(
        "italy_gme_pun_msd_nord_2019-08_10/msd_nord_avg_prices_2019-08_10.csv"))) == 2208
    assert len(read_evwatts_sessions(require_shared(
        "evwatts_houston_sessions/VehicleChargingSessions.csv"))) == 6857


# ----------------------------------------------------------------------------- the CLI

# field -> (scenario body with {path} for the file under test, valid files it needs besides)
FIELDS = {
    "market.agc_files[0]": ('[market]\nagc = "pjm_regd"\nagc_files = ["{path}"]\n', "regd"),
    "market.price_file": ('[market]\nprices = "pjm"\nprice_file = "{path}"\n', "regulation_prices"),
    "market.energy.price_file": ('[market.energy]\nsource = "pjm_lmp"\nprice_file = "{path}"\n',
                                 "lmp"),
    "market.energy.price_file(gme)": (
        '[market.energy]\nsource = "gme"\nexchange_rate = 1.1\nprice_file = "{path}"\n'
        'balancing_file = "{msd}"\n', "pun"),
    "market.energy.balancing_file": (
        '[market.energy]\nsource = "gme"\nexchange_rate = 1.1\nprice_file = "{pun}"\n'
        'balancing_file = "{path}"\n', "msd"),
    "market.energy.tariff_file": ('[market.energy]\nsource = "tou"\nstart_date = "2020-07-01"\n'
                                  'tariff_file = "{path}"\n', "tou"),
    "sessions.file": ('[sessions]\nenabled = true\nmodel = "empirical"\nfile = "{path}"\n', "acn"),
}
VALID = {"regd": lambda: _regd(24), "regulation_prices": _bill, "lmp": _lmp, "pun": _pun,
         "msd": _msd, "tou": _tariff, "acn": _acn}


def _scenario(tmp_path: Path, field: str, path: Path | str) -> Path:
    body, _ = FIELDS[field]
    pun = _write(tmp_path / "good_pun.csv", _pun())
    msd = _write(tmp_path / "good_msd.csv", _msd())
    f = tmp_path / "s.toml"
    f.write_text(f'extends = "{TINY}"\n' + body.format(path=path, pun=pun, msd=msd))
    return f


def _cli(capsys, command: str, f: Path, out: Path | None = None) -> tuple[int, list[str]]:
    args = ["validate", str(f)] if command == "validate" else [
        "run", str(f), "--days", "1", "--out", str(out), "--quiet", "--no-figures"]
    rc = main(args)
    captured = capsys.readouterr()
    return rc, (captured.out + captured.err).strip().splitlines()


def _field_name(field: str) -> str:
    return field.split("(")[0]


def _kinds_for(field: str) -> list[str]:
    kinds = ["header_only", "wrong_columns", "non_utf8", "truncated", "secret", "secret_values",
             "one_row_600k", "missing_hours"]
    if field == "market.energy.tariff_file":
        kinds = ["header_only", "non_utf8", "truncated", "secret", "malformed_json",
                 "folder_without_tariff", "folder_wrong_tariff"]
    if field == "sessions.file":
        kinds.remove("missing_hours")
    return kinds


def _bad_target(tmp_path: Path, field: str, kind: str) -> Path:
    reader = FIELDS[field][1]
    valid = VALID[reader]()
    if kind == "missing_hours":
        text = {"regd": "".join(valid.splitlines(keepends=True)[:-1800]),  # 23 of 24 hours
                "regulation_prices": _bill(10),  # 10 hours of prices for 24-hour days
                "lmp": READERS["lmp"][3](), "pun": READERS["pun_last_hour"][3](),
                "msd": READERS["msd"][3]()}[reader]
        return _write(tmp_path / "bad.csv", text)
    if kind == "one_row_600k":
        return _write(tmp_path / "bad.csv", valid.splitlines()[0] + "\n" + "1," * 300_000 + "1\n")
    if kind == "malformed_json":
        return _write(tmp_path / "bad.json", "{not json")
    if kind.startswith("folder"):
        folder = tmp_path / "tariffs"
        folder.mkdir()
        _write(folder / "flat.json", _tariff("Flat TOU"))
        return folder
    return _write(tmp_path / "bad.csv", _bad_bytes(kind, valid))


CASES = [(field, kind) for field in FIELDS for kind in _kinds_for(field)]


@pytest.mark.parametrize(("field", "kind"), CASES)
def test_validate_and_run_refuse_a_bad_data_file_naming_the_field(tmp_path, capsys, field, kind):
    target = _bad_target(tmp_path, field, kind)
    f = _scenario(tmp_path, field, target)
    if kind == "folder_wrong_tariff":
        f.write_text(f.read_text() + 'tariff = "Other"\n')
    t0 = time.perf_counter()
    rc, lines = _cli(capsys, "validate", f)
    assert rc == 2 and lines, lines
    name = _field_name(field)
    assert any(line.startswith(f"{f}: {name}: ") for line in lines), lines
    assert not any(SECRET in line or "foo" in line for line in lines), lines
    assert len(lines) == 1, lines
    if kind == "one_row_600k":
        assert time.perf_counter() - t0 < 5.0  # the reader refuses in ms; the rest is loading
    out = tmp_path / "run"
    rc, err = _cli(capsys, "run", f, out)
    assert rc == 2 and err == lines  # the same line, before any work
    assert not out.exists()


@pytest.mark.parametrize("special", ["fifo", "dev_zero", "directory"])
@pytest.mark.parametrize("field", list(FIELDS))
def test_validate_and_run_refuse_special_files(tmp_path, capsys, field, special):
    if special == "fifo":
        target = tmp_path / "pipe.csv"
        os.mkfifo(target)
    elif special == "dev_zero":
        target = Path("/dev/zero")
    else:
        target = tmp_path / "adir"
        target.mkdir()
    f = _scenario(tmp_path, field, target)
    rc, lines = _cli(capsys, "validate", f)
    assert rc == 2 and len(lines) == 1 and lines[0].startswith(f"{f}: {_field_name(field)}: "), lines
    out = tmp_path / "run"
    rc, err = _cli(capsys, "run", f, out)
    assert rc == 2 and err == lines and not out.exists()


def test_start_date_outside_the_file_names_start_date(tmp_path, capsys):
    f = _scenario(tmp_path, "market.energy.price_file", _write(tmp_path / "lmp.csv", _lmp()))
    f.write_text(f.read_text() + 'start_date = "2016-07-01"\n')
    rc, lines = _cli(capsys, "validate", f)
    assert rc == 2 and lines == [f"{f}: market.energy.start_date: {tmp_path / 'lmp.csv'}: start_date "
                                 "2016-07-01 is not in the file (its days: 2016-06-01 .. 2016-06-02)"]


def test_every_problem_is_reported_and_check_data_files_raises(tmp_path):
    bad = _write(tmp_path / "bad.csv", "foo,bar\n1,2\n")
    f = tmp_path / "s.toml"
    f.write_text(f'extends = "{TINY}"\n[market]\nagc = "pjm_regd"\nagc_files = ["{bad}", "{bad}"]\n'
                 f'prices = "pjm"\nprice_file = "{bad}"\n[market.energy]\nsource = "gme"\n'
                 f'exchange_rate = 1.1\nprice_file = "{bad}"\nbalancing_file = "{bad}"\n')
    scenario = load_scenario(f)
    fields = [line.split(": ")[1] for line in data_file_problems(scenario)]
    assert fields == ["market.agc_files[0]", "market.agc_files[1]", "market.price_file",
                      "market.energy.price_file", "market.energy.balancing_file"]
    with pytest.raises(ScenarioError):
        check_data_files(scenario)


def test_valid_generated_files_validate_and_run(tmp_path, capsys):
    regd = _write(tmp_path / "regd.csv", _regd(24))
    bill = _write(tmp_path / "bill.csv", _bill())
    pun, msd = _write(tmp_path / "pun.csv", _pun()), _write(tmp_path / "msd.csv", _msd())
    acn = _write(tmp_path / "acn.csv", _acn())
    f = tmp_path / "s.toml"
    f.write_text(f'extends = "{TINY}"\n[market]\nagc = "pjm_regd"\nagc_files = ["{regd}"]\n'
                 f'prices = "pjm"\nprice_file = "{bill}"\n[market.energy]\nsource = "gme"\n'
                 f'exchange_rate = 1.1\nprice_file = "{pun}"\nbalancing_file = "{msd}"\n'
                 f'[sessions]\nenabled = true\nmodel = "empirical"\nfile = "{acn}"\n')
    assert _cli(capsys, "validate", f) == (0, ["OK"])
    out = tmp_path / "run"
    rc, lines = _cli(capsys, "run", f, out)
    assert rc == 0 and (out / "summary.json").is_file(), lines


def test_shipped_real_data_scenario_validates(capsys):
    require_shared("pjm_regd_2s_2020-07/regd_2s_2020-07-16.csv")
    require_shared("pjm_reg_market_2016/reg_market_results_2016.csv")
    assert main(["validate", "pjm_regd_2020"]) == 0
    assert capsys.readouterr().out.strip() == "OK"


def test_validate_without_data_files_imports_no_reader():
    import subprocess

    code = ("import sys\nfrom v2gsim.cli import main\n"
            f"rc = main(['validate', {str(TINY)!r}])\n"
            "print(rc, sorted(m for m in ('pandas', 'v2gsim.core.datafiles', 'v2gsim.specs.build') "
            "if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 []", out.stdout + out.stderr
