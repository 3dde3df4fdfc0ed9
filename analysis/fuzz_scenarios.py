"""Fuzz the shipped scenarios through the CLI: ``validate``, then a 1-day run of every valid case.

Two kinds of case, each a scenario file (TOML) given to ``v2gsim.cli.main(["validate", FILE])`` and,
when that prints OK, to ``main(["run", FILE, "--days", "1", "--out", OUT, ...])`` with the fleet
capped at :data:`RUN_DRIVERS` EVs:

* **random mutations** (family ``mutation``, ``--cases`` of them): a shipped scenario
  (``scenarios/*.toml``, merged over its ``extends`` with its data paths made absolute) changed by
  one to three random mutations - a key deleted, renamed or inserted, a value swapped for another
  type, for NaN, inf, a huge, zero, negative or empty value, a unicode or path-like string, an hourly
  list made shorter or longer, an enumerated field set to another allowed value;
* **families** of targeted cases (issues 16, 18 and 30), all of them on every run:

  - ``extends``, ``set``, ``data``: ``extends`` to itself, a cycle, a missing file, a directory, a
    binary or empty file; ``--set`` with malformed values; unreadable PJM files (issues 16/18);
  - ``datafile``: the contents of every data file a scenario can name - ``market.agc_files``,
    ``market.price_file``, ``market.energy.price_file`` (``pjm_lmp``, ``gme``),
    ``market.energy.balancing_file`` (``gme``), ``market.energy.tariff_file`` (``tou``: a JSON or a
    folder), ``sessions.file`` (ACN, EV WATTS): valid files, a byte-order mark and CRLF, wrong
    columns, header only, not UTF-8, truncated, NUL bytes, missing hours, a 600 KB row or first
    line, malformed or deeply nested JSON, a tariff folder without the named tariff (or with a FIFO
    in it), secrets in the first line or the values (never to be echoed), out-of-range values, a
    ``start_date`` outside the file or near the end of the calendar, an LMP file of two pnodes;
  - ``special``: ``extends`` and every data path pointing at a FIFO, ``/dev/zero``, ``/dev/null``,
    a directory, a socket, a symlink loop, a dangling symlink, ``~nosuchuser/x``, ``/proc`` files,
    a sparse file over the size cap, a 5,000-character path, a NUL in the path; a symlink to a valid
    file; ``extends`` chains of 1 to 500 files, deep TOML nesting, an ``.env``-style file;
  - ``hours``: ``network.hours`` from 2 to 48 with every policy (the clock-day policies ``eva``,
    ``v2a``, ``robust`` must be refused at ``network.hours`` unless 24), scalar or hourly utilities,
    energy prices and sessions on or off, valid data files, the game, EV models and driver clusters
    on days of 2 to 48 hours, out-of-range values on the shipped scenarios;
  - ``clusters``: driver clusters whose shares round to 0 EVs, ``drivers.count`` 1-3 with two or
    three clusters (``tiny``, ``tang_mak2024``), shares that do not sum to 1;
  - ``seeds``: 0 to 2^63-1 (valid), 2^63, 2^64, 10^30, negative, float and string seeds, in the
    file, by ``--set`` and by ``run --seed``;
  - ``eta``: ``platform.chance.eta`` in and outside [1e-6, 0.5] with ``chance`` and ``bilevel``;
  - ``policy``: every shipped scenario with every policy; ``v2a`` without (or with a partial)
    ``[platform.v2a]``; ``robust`` with consistent and inconsistent parametric sessions; the
    fallbacks of issue 30 item 7 (``plug_sigma = 1e-12``, a degradation cost of 2.8e12 $/kWh);
  - ``headroom``: ``capability = "headroom"`` with psi - omega <= 0 (and just above);
  - ``names``: names of 4-byte characters around the 200-byte limit, path-like names, names taken
    from a long file name - run without ``--out``, so the run directory is named after them;
  - ``outdir``: a scenario whose ``output.dir`` is a foreign non-empty folder, a file, a FIFO, a
    symlink, ``/``, ``~``, ``~nosuchuser/x`` (with and without ``--force``): refused, nothing
    touched.

Every case runs in a fresh working directory (``cwd`` is an empty temporary folder). It passes when:

* no exception escapes ``main`` and no traceback is printed (``tracebacks``); it finishes within the
  per-case timeout (``hangs``; the worker is killed and replaced - a FIFO cannot block the parent,
  which never opens one);
* every line of an exit-2 message reads ``FILE: dotted.field: message`` (``unnamed_messages``;
  the ``outdir`` family may also print ``error: PATH: message`` for its ``--out``/``output.dir``);
* a case that validates is not refused by the run (``valid_but_run_rejected``: exit 2 after OK;
  the ``outdir`` family's refusals of its output directory are counted as
  ``run_refused_output_dir`` instead);
* nothing is written outside its output directory (``outside_writes``): the working directory holds
  nothing afterwards (but ``runs/`` for a run without ``--out``), the folder of ``--out`` nothing but
  it, and the case's input folder, the sentinel folder (a foreign folder the ``outdir`` cases aim
  at), the shipped ``scenarios/`` and the repository's top-level names are unchanged (names, types,
  sizes and mtimes);
* no output shows :data:`SECRET`, which the ``datafile``/``special`` cases put into data files
  (``secrets_echoed``);
* every hourly bid of a ``naive``/``chance``/``bilevel`` run is finite, >= 0 and at most the fleet's
  capability ``count x max(charger_kw, psi)`` (``bids_over_fleet``);
* a case with an expectation meets it (``expectation_misses``): e.g. a bad data file is refused by
  ``validate`` naming its field, a valid one validates and runs, a seed of 2^64 is refused at ``seed``.

Usage::

    python analysis/fuzz_scenarios.py --cases 1200 --seed 1 --workers 2 --timeout 180

Prints one JSON object: ``cases``, ``valid``, ``rejected``, ``run_ok``, ``run_failed_cleanly``,
``run_exit1``, the failure counts above, ``exit2_lines_checked``, ``by_family`` (cases, valid, run_ok
and failures per family), ``by_operator``, ``slowest`` cases, ``wall_s`` and examples of every
failure (five, or ``--examples``). The exit status is 1 when any failure count is not 0.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import math
import multiprocessing as mp
import os
import random
import re
import shutil
import socket
import stat
import sys
import tempfile
import time
import traceback
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Protocol

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
TINY = SCENARIOS / "tiny.toml"

#: Fleet size a valid case is run with when it asks for more EVs (a 1-day run of a small fleet).
RUN_DRIVERS = 100

#: The registered policies (``v2gsim.config.POLICY_NAMES``); the clock-day ones need 24 hours.
POLICIES = ("naive", "chance", "bilevel", "eva", "v2a", "robust")
CLOCK_DAY = ("eva", "v2a", "robust")

#: A secret-looking token the data-file cases put into files: no output may show it.
SECRET = "ghp_FUZZsecret0TOKEN1abcdef23456789"

#: Per-case timeout of the ``special`` family (s): a FIFO that blocks is found without waiting long.
SPECIAL_TIMEOUT = 60.0

#: Failure counts of the summary (each must be 0; the exit status is 1 otherwise).
FAILURES = ("tracebacks", "hangs", "worker_deaths", "unnamed_messages", "valid_but_run_rejected",
            "outside_writes", "secrets_echoed", "bids_over_fleet", "expectation_misses")

#: One line of an exit-2 message: ``FILE: dotted.field: message``. The field is a dotted path of
#: words with ``[k]`` indices (``network.places[0].utility``) and quoted keys that are not words
#: (``drivers['a b']``), or a marker in parentheses for a problem of the whole file (``(toml)``
#: syntax, ``(file)`` missing or unreadable, ``(--set)`` an override without ``=``).
_INDEX = r"\[(?:\d+|'[^']*'|\"[^\"]*\")\]"
MESSAGE_LINE = re.compile(
    rf"^(?P<file>.+?): (?P<field>\([a-z-]+\)|(?:[\w-]+|{_INDEX})(?:\.[\w-]+|{_INDEX})*): "
    r"(?P<msg>.+)$"
)
#: A run-time refusal of the output directory (``outdir`` family only): ``error: PATH: message``.
ERROR_LINE = re.compile(r"^error: .+: .+$")

#: Enumerated fields and the values they allow (the mutation "enum" sets one to another value).
ENUMS: dict[str, tuple[Any, ...]] = {
    "policy": ("naive", "chance", "bilevel"),
    "distribution": ("normal", "uniform", "two_point", "extremal"),
    "agc": ("synthetic", "pjm_regd"),
    "prices": ("synthetic", "pjm"),
    "mileage_basis": ("signal", "ratio"),
    "beliefs": ("scenario", "calibrated"),
    "method": ("bnb", "coordinate", "misocp"),
    "objective": ("platform", "community"),
    "bound": (3, 4),
    "k_dev": ("variance", "bernoulli"),
    "plug_source": ("persistency", "history"),
    "capability": ("charger", "headroom"),
    "imitation": ("fermi", "proportional"),
    "enabled": (True, False),
    "soc_guarantee": (True, False),
}

#: Tables a mutation may insert whole (with their defaults filled in by the schema).
INSERT_TABLES: dict[str, dict[str, Any]] = {
    "platform.bilevel": {"method": "coordinate", "time_limit_s": 0.5},
    "platform.chance": {"eta": 0.1, "requirement_days": 3},
    "game": {"enabled": True},
    "drivers.clusters": {},  # replaced by a list below
}

SPECIAL_FLOATS = (math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, 0.0, -0.0, -1.0, 1e-12,
                  0.999999999, 1e9)
SPECIAL_INTS = (0, -1, 1, 2, 2**31, 10**9, 10**18, -(10**18))
SPECIAL_STRINGS = ("", " ", "ü", "🚗⚡", "\u202eevil", "a" * 5000, "../../etc/passwd", "/", "nan",
                   "1e9", "__import__('os').system('touch PWNED')", "{{7*7}}", "\x00", "C:\\x")


class Chooser(Protocol):
    """Source of the fuzzer's choices (a :class:`random.Random`, or hypothesis' ``data.draw``)."""

    def choice(self, seq: Sequence[Any]) -> Any: ...

    def randint(self, a: int, b: int) -> int: ...


# ----------------------------------------------------------------------------- TOML writer


def _toml_string(s: str) -> str:
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_string(str(k))} = {_toml_value(x)}"
                               for k, x in v.items()) + "}"
    if hasattr(v, "isoformat"):
        return v.isoformat()
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def to_toml(doc: dict[str, Any]) -> str:
    """``doc`` as TOML text (every top-level key ``key = value``, tables inline)."""
    return "".join(f"{_toml_string(str(k))} = {_toml_value(v)}\n" for k, v in doc.items())


# ----------------------------------------------------------------------------- base documents


def base_documents() -> dict[str, dict[str, Any]]:
    """The shipped scenarios, each merged over its ``extends``, data paths made absolute."""
    from v2gsim.config import load_raw

    docs = {}
    for path in sorted(SCENARIOS.glob("*.toml")):
        doc = load_raw(path)
        doc.pop("extends", None)
        market = doc.get("market", {})
        if "agc_files" in market:
            market["agc_files"] = [str((path.parent / p).resolve()) for p in market["agc_files"]]
        if market.get("price_file"):
            market["price_file"] = str((path.parent / market["price_file"]).resolve())
        docs[path.stem] = doc
    return docs


# ----------------------------------------------------------------------------- mutations


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys and indices) below ``node``."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((*prefix, k))
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((*prefix, i))
            out.extend(_paths(v, (*prefix, i)))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _random_value(ch: Chooser) -> Any:
    kind = ch.choice(("float", "int", "str", "bool", "list", "table", "date"))
    if kind == "float":
        return ch.choice(SPECIAL_FLOATS)
    if kind == "int":
        return ch.choice(SPECIAL_INTS)
    if kind == "str":
        return ch.choice(SPECIAL_STRINGS)
    if kind == "bool":
        return ch.choice((True, False))
    if kind == "list":
        return ch.choice(([], [1, 2], ["x"], [math.nan] * 24, [1e308] * 24, [[1]], [{}]))
    if kind == "table":
        return ch.choice(({}, {"a": 1}, {"name": "x"}))
    import datetime as dt

    return dt.date(2024, 1, 1)


def _mutate_number(v: float | int, ch: Chooser) -> Any:
    how = ch.choice(("special", "scale", "shift"))
    if how == "special":
        return ch.choice(SPECIAL_INTS if isinstance(v, int) and ch.choice((0, 1)) else SPECIAL_FLOATS)
    if how == "scale":
        f = ch.choice((0, -1, 1e-9, 1e-3, 0.5, 2, 10, 1e3, 1e9))
        return type(v)(v * f) if isinstance(v, int) and float(v * f).is_integer() else v * f
    return v + ch.choice((-1, 1, -1e-9, 1e-9))


def mutate(doc: dict[str, Any], ch: Chooser) -> tuple[dict[str, Any], str]:
    """One random mutation of ``doc`` (a copy); returns it and the operator's name."""
    doc = copy.deepcopy(doc)
    op = ch.choice(("delete", "rename", "insert", "swap_type", "special", "list", "enum",
                    "enum", "enum", "number", "number", "number"))  # the last two keep more valid
    paths = _paths(doc)
    # Keys of tables three times as often as list items (the 24-hour lists would dominate).
    keyed = [p for p in paths if isinstance(p[-1], str)]
    items = [p for p in paths if not isinstance(p[-1], str)]
    path = ch.choice(keyed if not items or ch.randint(0, 3) else items)
    parent, key = _get(doc, path[:-1]), path[-1]
    if op == "delete":
        del parent[key]
    elif op == "rename" and isinstance(parent, dict):
        new = ch.choice((f"{key}_", str(key).upper(), "ü" + str(key), "", "extends", "source"))
        parent[new] = parent.pop(key)
    elif op == "insert":
        where = ch.choice([p for p in [(), *paths] if isinstance(_get(doc, p), dict)])
        target = _get(doc, where)
        name = ch.choice(("colour", "count", "name", "extends", "seed", "dir", "policy",
                          *INSERT_TABLES))
        if name in INSERT_TABLES and where == ():
            section, _, sub = name.partition(".")
            table = doc.setdefault(section, {})
            if isinstance(table, dict):
                table[sub or section] = (
                    [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5,
                                                  "places": [{"name": "home", "sigma": 2.0}]}]
                    if name == "drivers.clusters" else dict(INSERT_TABLES[name]))
        else:
            target[name] = _random_value(ch)
    elif op == "swap_type":
        parent[key] = _random_value(ch)
    elif op == "special":
        parent[key] = ch.choice((*SPECIAL_FLOATS, *SPECIAL_STRINGS[:4], [], {}))
    elif op == "list":
        lists = [p for p in paths if isinstance(_get(doc, p), list)]
        if lists:
            lst = _get(doc, ch.choice(lists))
            how = ch.choice(("drop", "append", "clear", "element"))
            if how == "drop" and lst:
                lst.pop()
            elif how == "append":
                lst.append(copy.deepcopy(lst[-1]) if lst else 1.0)
            elif how == "clear":
                lst.clear()
            elif lst:
                lst[ch.randint(0, len(lst) - 1)] = ch.choice(SPECIAL_FLOATS)
    elif op == "enum":
        enums = [p for p in paths if isinstance(p[-1], str) and p[-1] in ENUMS]
        target_path = ch.choice(enums) if enums else ("platform", "policy")
        table = _get(doc, target_path[:-1]) if enums else doc.setdefault("platform", {})
        if isinstance(table, dict):
            table[target_path[-1]] = ch.choice(ENUMS[target_path[-1]])
    elif op == "number":
        nums = [p for p in paths if isinstance(_get(doc, p), (int, float))
                and not isinstance(_get(doc, p), bool)]
        if nums:
            p = ch.choice(nums)
            _get(doc, p[:-1])[p[-1]] = _mutate_number(_get(doc, p), ch)
    return doc, op


# ----------------------------------------------------------------------------- file-level cases


def _case(file: Path | str, op: str, family: str | None = None, **extra: Any) -> dict[str, Any]:
    """A case dict for :func:`run_case` (``family`` defaults to the op's first word)."""
    out = {"file": str(file), "op": op, "family": family or op.split(":")[0], "overrides": []}
    out.update(extra)
    return out


def file_cases(tmp: Path) -> list[dict[str, Any]]:
    """The ``extends`` and ``--set`` cases of issues 16/18, as case dicts for :func:`run_case`."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "self.toml").write_text('extends = "self.toml"\n')
    (tmp / "cyc_a.toml").write_text('extends = "cyc_b.toml"\n')
    (tmp / "cyc_b.toml").write_text('extends = "cyc_a.toml"\n')
    (tmp / "missing.toml").write_text('extends = "/nonexistent/base.toml"\n')
    (tmp / "adir").mkdir(exist_ok=True)
    (tmp / "to_dir.toml").write_text('extends = "adir"\n')
    (tmp / "blob.bin").write_bytes(bytes(range(256)) * 4)
    (tmp / "to_binary.toml").write_text('extends = "blob.bin"\n')
    (tmp / "to_empty.toml").write_text('extends = "empty.toml"\n')
    (tmp / "empty.toml").write_text("")
    (tmp / "nan_set.toml").write_text(f'extends = "{TINY}"\n')
    cases = [_case(tmp / f, f"extends:{f}", expect=None if f == "to_empty.toml" else "refused")
             for f in ("self.toml", "cyc_a.toml", "missing.toml", "to_dir.toml", "to_binary.toml",
                       "to_empty.toml")]
    for bad in ("drivers.count=[1,", "drivers.count=nan", "days=inf", "network.hours={",
                "market.mean_hourly_mileage=1e308", "drivers.count", "=3", "name=\"../../x\"",
                "network.places=[]", "drivers.count=10000000000", "days=\"many\"",
                "network.places.9.utility=1", "network.places.x.sigma=1", "drivers..count=3",
                "network.places.0.utility=nan", "market.mean_hourly_mileage=0.999999999"):
        cases.append(_case(tmp / "nan_set.toml", f"set:{bad}", overrides=[bad], expect="refused"))
    return cases + data_cases(tmp)


def data_cases(tmp: Path) -> list[dict[str, Any]]:
    """Scenarios whose PJM data files are unreadable (issue 18): a directory, an empty file, binary,
    not UTF-8, a malformed CSV, wrong columns, too short. ``validate`` refuses every one naming the
    field (op ``data:...``)."""
    files = {
        "dir": None, "empty.csv": b"", "binary.csv": bytes(range(256)) * 8,
        "latin1.csv": "time_ept,regd\n2020-07-16 00:00:00,0.5\u00e9\n".encode("latin-1"),
        "ragged.csv": b'a,b\n1,2\n3,4,5,6\n"unterminated\n',
        "columns.csv": b"x,y\n1,2\n3,4\n",
        "short.csv": b"time_ept,regd\n2020-07-16 00:00:00,0.1\n2020-07-16 00:00:02,0.2\n",
    }
    data = tmp / "data"
    data.mkdir(exist_ok=True)
    cases = []
    for name, content in files.items():
        path = data / name
        if content is None:
            path.mkdir(exist_ok=True)
        else:
            path.write_bytes(content)
        for field, body in (("price", f'prices = "pjm"\nprice_file = "{path}"\n'),
                            ("agc", f'agc = "pjm_regd"\nagc_files = ["{path}"]\n')):
            f = tmp / f"data_{field}_{name.replace('.', '_')}.toml"
            f.write_text(f'extends = "{TINY}"\n[market]\n{body}')
            cases.append(_case(f, f"data:{field}:{name}", expect="refused",
                               expect_field="market.price_file" if field == "price"
                               else "market.agc_files"))
    return cases


# ----------------------------------------------------------------------------- valid data files


def _regd(hours: int = 24) -> str:
    """A PJM RegD file of ``hours`` hours of 2-s samples (``time_ept,regd``)."""
    import numpy as np
    import pandas as pd

    t = pd.date_range("2020-07-16", periods=hours * 1800, freq="2s").strftime("%Y-%m-%d %H:%M:%S")
    v = np.round(0.9 * np.sin(np.arange(t.size) / 50.0), 6)
    return "time_ept,regd\n" + "".join(f"{a},{b}\n" for a, b in zip(t, v, strict=True))


def _pjm_hours(start: str, hours: int, shift: int) -> list[tuple[str, str]]:
    import pandas as pd

    t = pd.date_range(start, periods=hours, freq="h")
    e = t - pd.Timedelta(hours=shift)
    fmt = "%m/%d/%Y %I:%M:%S %p"
    return list(zip(t.strftime(fmt), e.strftime(fmt), strict=True))


def _bill(hours: int = 48) -> str:
    """PJM regulation prices (``reg_zone_prelim_bill``: RMCCP/RMPCP), ``hours`` hours."""
    return "datetime_beginning_utc,datetime_beginning_ept,rmccp,rmpcp\n" + "".join(
        f"{a},{b},{10 + k % 7},{1 + k % 3}\n"
        for k, (a, b) in enumerate(_pjm_hours("2016-01-01 05:00", hours, 5)))


def _lmp(days: int = 2) -> str:
    """PJM day-ahead LMPs (``da_hrl_lmps``) of ``days`` days at PJM-RTO."""
    return "datetime_beginning_utc,datetime_beginning_ept,pnode_name,total_lmp_da\n" + "".join(
        f"{a},{b},PJM-RTO,{20 + k % 24}\n"
        for k, (a, b) in enumerate(_pjm_hours("2016-06-01 04:00", 24 * days, 4)))


def _pun(days: int = 2) -> str:
    """GME PUN prices of ``days`` days (EUR/MWh)."""
    return "date,hour,pun_eur_mwh\n" + "".join(f"2019080{d + 1},{h},{40 + h}\n"
                                               for d in range(days) for h in range(1, 25))


def _msd(days: int = 2) -> str:
    """GME MSD balancing prices of ``days`` days (EUR/MWh)."""
    return "date,hour,pmed_down_eur_mwh,pmed_up_eur_mwh\n" + "".join(
        f"2019080{d + 1},{h},{20 + h},{70 + h}\n" for d in range(days) for h in range(1, 25))


def _tariff(name: str = "Flat TOU", start: str = "01-01", end: str = "12-31") -> str:
    """An acnportal TOU tariff JSON covering ``start``..``end`` of every year."""
    s = {"id": "All", "effective_start": start, "effective_end": end, "dow_mask": "ALL",
         "times": [0, 12], "tariffs": [0.1, 0.2], "demand_charge": 0}
    return json.dumps({"name": name, "effective": "2020-01-01", "schedule": [s]})


def _acn() -> str:
    """ACN-Data sessions (flat CSV), weekdays of May 2021."""
    return ("session_id,station_id,user_id,connection_time_local,disconnect_time_local,"
            "kwh_delivered,kwh_requested\n"
            "s1,st-1,20,2021-05-03 08:00:00,2021-05-03 14:00:00,3.5,\n"
            "s2,st-2,10,2021-05-04 09:00:00,2021-05-04 17:00:00,9.25,12\n"
            "s3,st-2,,2021-05-05 10:00:00,2021-05-05 12:30:00,4.0,5\n")


def _evwatts() -> str:
    """EV WATTS sessions (``VehicleChargingSessions.csv``)."""
    return ("id,vehicle_id,start_datetime,stop_datetime\n"
            "1,7,2021-07-01 17:00:00,2021-07-01 18:30:00\n"
            "2,7,2021-07-02 18:00:00,2021-07-02 22:10:00\n")


VALID_FILES: dict[str, Callable[[], str]] = {
    "regd": _regd, "bill": _bill, "lmp": _lmp, "pun": _pun, "msd": _msd, "tariff": _tariff,
    "acn": _acn, "evwatts": _evwatts}

#: The data fields a scenario can name: key -> (dotted field, file kind, TOML body). The body names
#: the file under test ``{path}`` and valid companions ``{pun}``/``{msd}``; ``{extra}`` adds lines
#: to the same table.
DATA_FIELDS: dict[str, tuple[str, str, str]] = {
    "agc": ("market.agc_files", "regd", '[market]\nagc = "pjm_regd"\nagc_files = [{path}]\n{extra}'),
    "reg_prices": ("market.price_file", "bill", '[market]\nprices = "pjm"\nprice_file = {path}\n'
                   "{extra}"),
    "pjm_lmp": ("market.energy.price_file", "lmp",
                '[market.energy]\nsource = "pjm_lmp"\nprice_file = {path}\n{extra}'),
    "gme_pun": ("market.energy.price_file", "pun",
                '[market.energy]\nsource = "gme"\nexchange_rate = 1.1\nprice_file = {path}\n'
                "balancing_file = {msd}\n{extra}"),
    "gme_msd": ("market.energy.balancing_file", "msd",
                '[market.energy]\nsource = "gme"\nexchange_rate = 1.1\nprice_file = {pun}\n'
                "balancing_file = {path}\n{extra}"),
    "tou": ("market.energy.tariff_file", "tariff",
            '[market.energy]\nsource = "tou"\nstart_date = "2020-07-01"\ntariff_file = {path}\n'
            "{extra}"),
    "acn": ("sessions.file", "acn",
            '[sessions]\nenabled = true\nmodel = "empirical"\nfile = {path}\n{extra}'),
    "evwatts": ("sessions.file", "evwatts",
                '[sessions]\nenabled = true\nmodel = "empirical"\nsource = "evwatts"\n'
                "file = {path}\n{extra}"),
}


def _q(path: Path | str) -> str:
    return _toml_string(str(path))


def _data_scenario(path: Path, key: str, target: Path | str, base: Path = TINY,
                   extra: str = "", companions: dict[str, Path] | None = None) -> Path:
    """Write a scenario extending ``base`` whose field ``key`` of :data:`DATA_FIELDS` names
    ``target``; returns its path."""
    _, _, body = DATA_FIELDS[key]
    comp = companions or {}
    text = body.format(path=_q(target), pun=_q(comp.get("pun", "")), msd=_q(comp.get("msd", "")),
                       extra=extra)
    path.write_text(f"extends = {_q(base)}\n{text}", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- bad contents

#: Kinds of CSV contents -> expectation (``refused`` by validate, ``valid`` validates and runs, None:
#: either, as long as nothing escapes).
CSV_KINDS: dict[str, str | None] = {
    "valid": "valid", "bom_crlf": "valid", "extra_column": "valid", "relative_path": "valid",
    "wrong_columns": "refused", "header_only": "refused", "non_utf8": "refused",
    "truncated": "refused", "truncated_half": "refused", "nul": "refused",
    "missing_hours": "refused", "huge_row": "refused", "huge_line": "refused",
    "secret_first_line": "refused", "secret_only": "refused", "secret_values": "refused",
    "dup_header": "refused", "unterminated_quote": "refused", "wide_header": "refused",
    "latin1": "refused", "nan_value": None, "negative_value": None, "huge_value": None,
    "shuffled": None, "duplicate_row": None, "blank_lines": None, "cr_only": None,
    "header_spaces": None, "upper_header": None,
}
#: Kinds of TOU tariff contents (a JSON file, or a folder with ``tariff`` naming one).
JSON_KINDS: dict[str, str | None] = {
    "valid": "valid", "bom": "valid", "relative_path": "valid", "folder_valid": "valid",
    "folder_with_fifo": "valid", "folder_with_subdir": "valid",
    "header_only": "refused", "wrong_columns": "refused", "non_utf8": "refused",
    "truncated": "refused", "nul": "refused", "malformed": "refused", "deep": "refused",
    "nan": "refused", "huge_line": "refused", "secret_first_line": "refused",
    "secret_only": "refused", "secret_values": "refused", "folder_without_tariff": "refused",
    "folder_no_name": "refused", "folder_with_secret": "refused", "empty_folder": "refused",
    "not_covering": "refused", "huge_price": None, "times_unordered": None, "array": "refused",
}
#: Session files: the CSV kinds without missing hours, plus filters that leave no session.
SESSION_KINDS: dict[str, str | None] = {
    **{k: v for k, v in CSV_KINDS.items() if k != "missing_hours"},
    "weekend_only": "refused", "reversed_times": None, "negative_kwh": None,
}


def _mid_line(lines: list[str]) -> int:
    return max(1, len(lines) // 2)


def _csv_bytes(kind: str, file_kind: str, valid: str) -> bytes:
    """The bytes of a CSV of ``kind`` (:data:`CSV_KINDS`, :data:`SESSION_KINDS`) made from ``valid``."""
    lines = valid.splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    k = _mid_line(lines)
    simple: dict[str, Callable[[], str | bytes]] = {
        "valid": lambda: valid, "relative_path": lambda: valid,
        "bom_crlf": lambda: "\ufeff" + valid.replace("\n", "\r\n"),
        "extra_column": lambda: "".join(ln.rstrip("\n") + (",extra\n" if i == 0 else ",1\n")
                                        for i, ln in enumerate(lines)),
        "wrong_columns": lambda: "foo,bar\n1,2\n3,4\n",
        "header_only": lambda: header,
        "truncated": lambda: "".join(lines[:-1]) + lines[-1].split(",")[0],
        "truncated_half": lambda: valid.encode()[: len(valid.encode()) // 2],
        "nul": lambda: "".join(lines[:k]) + lines[k][:3] + "\x00" + lines[k][3:] + "".join(lines[k + 1:]),
        "huge_row": lambda: header + "1," * 300_000 + "1\n",
        "huge_line": lambda: ",".join(f"c{i}" for i in range(100_000))[:600_000],
        "secret_first_line": lambda: f"{SECRET}\n" + "".join(rows),
        "secret_only": lambda: f"{SECRET}\n",
        "secret_values": lambda: header + ",".join([SECRET] * (header.count(",") + 1)) + "\n",
        "dup_header": lambda: header.rstrip("\n") + "," + header.split(",")[0] + "\n"
        + "".join(r.rstrip("\n") + ",1\n" for r in rows),
        "unterminated_quote": lambda: valid + '"unterminated,\n',
        "wide_header": lambda: ",".join(f"col{i}" for i in range(20_000)) + "\n1\n",
        "shuffled": lambda: header + "".join(reversed(rows)),
        "duplicate_row": lambda: header + rows[0] + "".join(rows),
        "blank_lines": lambda: header + "\n\n" + "\n".join(r.rstrip("\n") for r in rows) + "\n\n",
        "cr_only": lambda: valid.replace("\n", "\r"),
        "header_spaces": lambda: " , ".join(header.rstrip("\n").split(",")) + "\n" + "".join(rows),
        "upper_header": lambda: header.upper() + "".join(rows),
    }
    if kind in simple:
        data = simple[kind]()
        return data if isinstance(data, bytes) else data.encode("utf-8")
    if kind == "non_utf8":
        raw = valid.encode()
        return raw[: len(raw) // 2] + b"\xe9\xff" + raw[len(raw) // 2:]
    if kind == "latin1":
        return (header + rows[0].rstrip("\n") + "\u00e9\n").encode("latin-1")
    if kind in ("nan_value", "negative_value", "huge_value", "negative_kwh"):
        value = {"nan_value": "nan", "negative_value": "-5", "huge_value": "1e308",
                 "negative_kwh": "-3.5"}[kind]
        cells = rows[0].rstrip("\n").split(",")
        col = {"acn": 5, "evwatts": 1}.get(file_kind, len(cells) - 1)
        cells[col] = value
        return (header + ",".join(cells) + "\n" + "".join(rows[1:])).encode()
    if kind == "missing_hours":
        text = {"regd": lambda: "".join(lines[:-1800]), "bill": lambda: _bill(10),
                "lmp": lambda: "".join(ln for i, ln in enumerate(lines) if i != 13),
                "pun": lambda: "".join(ln for i, ln in enumerate(lines) if i != 24),
                "msd": lambda: "".join(ln for i, ln in enumerate(lines) if i != 5)}[file_kind]()
        return text.encode()
    if kind == "weekend_only":  # every session on a Saturday, with weekdays_only = true
        return re.sub(r"2021-0\d-0\d", "2021-05-08", valid).encode()
    if kind == "reversed_times":
        out = [header]
        for r in rows:
            cells = r.rstrip("\n").split(",")
            a, b = (3, 4) if file_kind == "acn" else (2, 3)
            cells[a], cells[b] = cells[b], cells[a]
            out.append(",".join(cells) + "\n")
        return "".join(out).encode()
    raise ValueError(f"unknown CSV kind {kind!r}")


def _json_bytes(kind: str, valid: str) -> bytes:
    """The bytes of a tariff JSON of ``kind`` (:data:`JSON_KINDS`, the file kinds)."""
    doc = json.loads(valid)
    texts: dict[str, Callable[[], str | bytes]] = {
        "valid": lambda: valid, "relative_path": lambda: valid, "bom": lambda: "\ufeff" + valid,
        "header_only": lambda: "{}", "wrong_columns": lambda: '{"foo": 1, "bar": 2}',
        "non_utf8": lambda: valid.encode()[:20] + b"\xe9\xff" + valid.encode()[20:],
        "truncated": lambda: valid[: len(valid) // 2],
        "nul": lambda: valid[:10] + "\x00" + valid[10:],
        "malformed": lambda: "{not json", "deep": lambda: "[" * 100_000,
        "nan": lambda: valid.replace('"demand_charge": 0', '"demand_charge": NaN'),
        "huge_line": lambda: '{"name": "x", "schedule": [' + "{}," * 200_000 + "{}]}",
        "secret_first_line": lambda: f"{SECRET}\n{valid}",
        "secret_only": lambda: f"{SECRET}\n",
        "secret_values": lambda: json.dumps({"name": SECRET, "schedule": SECRET}),
        "not_covering": lambda: _tariff(start="06-01", end="06-30"),
        "array": lambda: json.dumps([doc]),
    }
    if kind in ("huge_price", "times_unordered"):
        s = doc["schedule"][0]
        if kind == "huge_price":
            s["tariffs"] = [1e308, 1e308]
        else:
            s["times"] = [12, 0]
        return json.dumps(doc).encode()
    data = texts[kind]()
    return data if isinstance(data, bytes) else data.encode("utf-8")


def _tariff_target(folder: Path, kind: str) -> tuple[Path, str]:
    """A tariff folder of ``kind`` (``folder_*``/``empty_folder``) and the ``tariff`` line."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind != "empty_folder":
        (folder / "flat.json").write_text(_tariff("Flat TOU"))
    name = 'tariff = "Flat TOU"\n'
    if kind == "folder_with_fifo":
        os.mkfifo(folder / "pipe.json")
    elif kind == "folder_with_subdir":
        (folder / "sub.json").mkdir()
    elif kind == "folder_with_secret":
        (folder / "secret.json").write_text(json.dumps({"name": SECRET}))
        (folder / "token.json").write_text(f"{SECRET}\n")
        name = 'tariff = "Other"\n'
    elif kind in ("folder_without_tariff", "empty_folder"):
        name = 'tariff = "Other"\n'
    elif kind == "folder_no_name":
        name = ""
    return folder, name


def datafile_cases(tmp: Path, rng: random.Random) -> list[dict[str, Any]]:
    """Family ``datafile``: every data field x every kind of contents (module docstring)."""
    root = tmp / "datafile"
    root.mkdir(parents=True, exist_ok=True)
    valid = {k: fn() for k, fn in VALID_FILES.items()}
    companions = {"pun": root / "good_pun.csv", "msd": root / "good_msd.csv"}
    companions["pun"].write_text(valid["pun"])
    companions["msd"].write_text(valid["msd"])
    scen_dir = tmp / "scen"
    scen_dir.mkdir(exist_ok=True)
    cases = []
    for key, (field, file_kind, _) in DATA_FIELDS.items():
        kinds = (JSON_KINDS if file_kind == "tariff" else
                 SESSION_KINDS if field == "sessions.file" else CSV_KINDS)
        for kind, expect in kinds.items():
            name = f"{key}_{kind}"
            extra = ""
            if kind.startswith("folder") or kind == "empty_folder":
                target, extra = _tariff_target(root / name, kind)
            else:
                ext = ".json" if file_kind == "tariff" else ".csv"
                target = root / f"{name}{ext}"
                data = (_json_bytes(kind, valid[file_kind]) if file_kind == "tariff"
                        else _csv_bytes(kind, file_kind, valid[file_kind]))
                target.write_bytes(data)
            if kind == "weekend_only":
                extra = "weekdays_only = true\n"
            shown: Path | str = target
            if kind == "relative_path":  # relative to the scenario file, through ..
                shown = f"../datafile/{target.name}"
            scen = _data_scenario(scen_dir / f"{name}.toml", key, shown, extra=extra,
                                  companions=companions)
            policy = rng.choice(("naive", "naive", "chance", "bilevel"))
            cases.append(_case(scen, f"datafile:{key}:{kind}", overrides=[f"platform.policy={policy}"],
                               expect=expect, expect_field=field))
    return cases + _energy_date_cases(root, scen_dir, valid, companions)


def _energy_date_cases(root: Path, scen_dir: Path, valid: dict[str, str],
                       companions: dict[str, Path]) -> list[dict[str, Any]]:
    """Valid energy price files with a ``start_date`` outside them, and an LMP file of two pnodes."""
    two = valid["lmp"] + "".join(ln.replace("PJM-RTO", "OTHER") + "\n"
                                 for ln in valid["lmp"].splitlines()[1:])
    (root / "lmp_two_pnodes.csv").write_text(two)
    (root / "lmp_ok.csv").write_text(valid["lmp"])
    (root / "tariff_ok.json").write_text(valid["tariff"])
    cases = []
    for key, target, extra, expect, field in (
            ("pjm_lmp", "lmp_two_pnodes.csv", "", "refused", "market.energy.price_file"),
            ("pjm_lmp", "lmp_ok.csv", 'start_date = "2030-01-01"\n', "refused",
             "market.energy.start_date"),
            ("pjm_lmp", "lmp_ok.csv", 'start_date = "2016-06-02"\n', "valid", None),
            ("gme_pun", "../datafile/good_pun.csv", 'start_date = "1999-01-01"\n', "refused",
             "market.energy.start_date"),
            ("tou", "tariff_ok.json", "", "valid", None),
    ):
        f = scen_dir / f"date_{key}_{len(cases)}.toml"
        path = target if target.startswith("..") else root / target
        _data_scenario(f, key, path, extra=extra, companions=companions)
        cases.append(_case(f, f"datafile:{key}:date{len(cases)}", expect=expect, expect_field=field))
    for date in ("2020-02-30", "2020-7-1", "", "1900-01-01", "9999-12-31"):
        f = scen_dir / f"tou_date_{len(cases)}.toml"
        _data_scenario(f, "tou", root / "tariff_ok.json", companions=companions)
        cases.append(_case(f, f"datafile:tou:start_date={date!r}",
                           overrides=[f"market.energy.start_date={_toml_string(date)}"],
                           expect="refused" if date in ("2020-02-30", "2020-7-1", "") else None,
                           expect_field="market.energy"))
        cases.append(_case(TINY, f"datafile:synthetic:start_date={date!r}",
                           overrides=["market.energy.source=synthetic",
                                      f"market.energy.start_date={_toml_string(date)}"]))
    return cases


# ----------------------------------------------------------------------------- special files

#: Special paths -> expectation (a valid symlink or relative path validates; the rest is refused).
SPECIAL_KINDS: dict[str, str | None] = {
    "fifo": "refused", "symlink_to_fifo": "refused", "dev_zero": "refused", "dev_null": "refused",
    "dev_stdin": "refused", "directory": "refused", "socket": "refused", "symlink_loop": "refused",
    "self_symlink": "refused", "dangling_symlink": "refused", "nosuchuser": "refused",
    "home_missing": "refused", "missing": "refused", "proc_environ": "refused",
    "proc_status": "refused", "sparse_huge": "refused", "sparse_zeros": "refused",
    "long_path": "refused", "nul_in_path": "refused", "symlink_to_valid": "valid",
    "dotdot_relative": "valid",
}
#: Size caps the sparse files exceed (bytes): data CSV, tariff JSON, scenario TOML.
CAPS = {"csv": 256 * 2**20, "json": 4 * 2**20, "toml": 1_000_000}


def _special_target(root: Path, name: str, kind: str, valid: Path, cap: int,
                    scen_dir: Path) -> str:
    """Create the special file ``kind`` under ``root`` (never opening a FIFO); its path as written
    in the scenario."""
    p = root / name
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "symlink_to_fifo":
        os.mkfifo(root / f"{name}.pipe")
        p.symlink_to(root / f"{name}.pipe")
    elif kind in ("dev_zero", "dev_null", "dev_stdin", "proc_environ", "proc_status"):
        return {"dev_zero": "/dev/zero", "dev_null": "/dev/null", "dev_stdin": "/dev/stdin",
                "proc_environ": "/proc/self/environ", "proc_status": "/proc/self/status"}[kind]
    elif kind == "directory":
        p.mkdir()
    elif kind == "socket":
        p = root / f"s{zlib.crc32(name.encode()):08x}.sock"  # short: AF_UNIX paths hold 108 bytes
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(str(p))
    elif kind == "symlink_loop":
        p.symlink_to(root / f"{name}.other")
        (root / f"{name}.other").symlink_to(p)
    elif kind == "self_symlink":
        p.symlink_to(p)
    elif kind == "dangling_symlink":
        p.symlink_to(root / f"{name}.nothing")
    elif kind == "nosuchuser":
        return f"~nosuchuser_v2gsim_fuzz/{name}"
    elif kind == "home_missing":
        return f"~/v2gsim-fuzz-missing-{os.getpid()}/{name}"
    elif kind == "missing":
        return str(root / "no-such-folder" / name)
    elif kind in ("sparse_huge", "sparse_zeros"):
        with p.open("wb") as f:  # sparse: no disk space is used
            f.truncate(cap + 1 if kind == "sparse_huge" else min(cap // 2, 100 * 2**20))
    elif kind == "long_path":
        return str(root / ("a" * 5000))
    elif kind == "nul_in_path":
        return str(root / f"{name}\x00.csv")
    elif kind == "symlink_to_valid":
        p.symlink_to(valid)
    elif kind == "dotdot_relative":
        return os.path.relpath(valid, scen_dir)
    return str(p)


def special_cases(tmp: Path, rng: random.Random) -> list[dict[str, Any]]:
    """Family ``special``: ``extends`` and every data path at special files (module docstring)."""
    root, scen_dir = tmp / "special", tmp / "scen_special"
    root.mkdir(parents=True, exist_ok=True)
    scen_dir.mkdir(exist_ok=True)
    companions = {"pun": root / "good_pun.csv", "msd": root / "good_msd.csv"}
    companions["pun"].write_text(_pun())
    companions["msd"].write_text(_msd())
    cases = []
    for key, (field, file_kind, _) in [("extends", ("extends", "toml", "")), *DATA_FIELDS.items()]:
        if key == "extends":
            valid, cap = TINY, CAPS["toml"]
        else:
            valid = root / f"valid_{key}.{'json' if file_kind == 'tariff' else 'csv'}"
            valid.write_text(VALID_FILES[file_kind]())
            cap = CAPS["json" if file_kind == "tariff" else "csv"]
        for kind, expect in SPECIAL_KINDS.items():
            if key == "market.energy.tariff_file" and kind == "directory":
                expect = "refused"  # an empty folder of tariffs
            target = _special_target(root, f"{key}_{kind}", kind, valid, cap, scen_dir)
            f = scen_dir / f"{key}_{kind}.toml"
            if key == "extends":
                f.write_text(f"extends = {_q(target)}\n", encoding="utf-8")
            else:
                _data_scenario(f, key, target, companions=companions)
            cases.append(_case(f, f"special:{key}:{kind}", expect=expect,
                               expect_field=field if key != "extends" else None,
                               timeout=SPECIAL_TIMEOUT))
    return cases + _extends_cases(tmp, scen_dir)


def _extends_cases(tmp: Path, scen_dir: Path) -> list[dict[str, Any]]:
    """``extends`` chains of 1 to 500 files, deep TOML nesting, a ``.env`` file, big files."""
    cases = []
    for n in (1, 5, 29, 30, 31, 32, 33, 100, 500):
        chain = tmp / f"chain{n}"
        chain.mkdir(exist_ok=True)
        for k in range(n):
            nxt = chain / f"c{k + 1}.toml" if k + 1 < n else TINY
            (chain / f"c{k}.toml").write_text(f"extends = {_q(nxt)}\nseed = {k}\n")
        expect = "valid" if n <= 5 else "refused" if n >= 100 else None
        cases.append(_case(chain / "c0.toml", f"special:extends:chain{n}", expect=expect,
                           timeout=SPECIAL_TIMEOUT))
    files = {
        "nesting": ("a = " + "[" * 5000 + "]" * 5000 + "\n", "refused"),
        "nesting_tables": ("".join(f"[{'.'.join(['t'] * k)}]\n" for k in range(1, 60)), "refused"),
        "env_file": (f"API_TOKEN={SECRET}\nOTHER=1\n", "refused"),
        "secret_value": (f'extends = {_q(TINY)}\napi_token = "{SECRET}"\n[credentials]\n'
                         f'token = "{SECRET}"\n', "refused"),
        "big_comment": (("#" + "x" * 99 + "\n") * 9000 + f"extends = {_q(TINY)}\n", "valid"),
        "too_big": (("#" + "x" * 99 + "\n") * 10_500 + f"extends = {_q(TINY)}\n", "refused"),
    }
    for name, (text, expect) in files.items():
        target = scen_dir / f"target_{name}.toml"
        target.write_text(text, encoding="utf-8")
        f = scen_dir / f"extends_{name}.toml"
        f.write_text(f"extends = {_q(target)}\n")
        cases.append(_case(f, f"special:extends:{name}", expect=expect, timeout=SPECIAL_TIMEOUT))
    return cases


# ----------------------------------------------------------------------------- hours


def _day_toml(hours: int, hourly: bool = False, energy: bool = True, sessions: bool = True) -> str:
    """A small scenario of ``hours``-hour days with every table a policy may need."""
    def u(x: float) -> str:
        return f"[{', '.join([repr(x)] * hours)}]" if hourly else repr(x)

    a, b = min(6, hours - 2), min(20, hours)
    parts = [f'days = 2\n[drivers]\ncount = 20\n[network]\nhours = {hours}\nstart_place = "home"\n',
             f'[[network.places]]\nname = "home"\nwindow = [0, {hours}]\ncharger = true\n'
             f"utility = {u(1.0)}\n",
             f'[[network.places]]\nname = "work"\nwindow = [{a}, {b}]\ncharger = true\n'
             f"utility = {u(2.0)}\n",
             "[platform.v2a]\n" + "".join(f"{k} = [{', '.join(['0.5'] * 24)}]\n"
                                          for k in ("load_price", "v2g_price", "base_load_kw"))]
    if sessions:
        parts.append('[sessions]\nenabled = true\npreset = "bianchi2023_uniform"\n')
    if energy:
        parts.append('[market.energy]\nsource = "synthetic"\n')
    return "".join(parts)


HOURS_SAMPLE = (2, 3, 4, 5, 6, 8, 12, 16, 23, 24, 25, 30, 36, 47, 48)


def hours_cases(tmp: Path, rng: random.Random) -> list[dict[str, Any]]:
    """Family ``hours``: ``network.hours`` 2-48 with every policy (module docstring)."""
    root = tmp / "hours"
    root.mkdir(parents=True, exist_ok=True)
    cases = []
    for policy in POLICIES:
        if policy == "naive":
            hours = list(range(2, 49))
        elif policy in CLOCK_DAY:
            hours = sorted({2, 12, 23, 24, 25, 48, *rng.sample(range(2, 49), 2)})
        else:
            hours = sorted({*HOURS_SAMPLE, *rng.sample(range(2, 49), 4)})
        for h in hours:
            hourly = rng.random() < 0.3
            full = policy == "robust" or rng.random() < 0.5
            f = root / f"{policy}_{h}.toml"
            f.write_text(_day_toml(h, hourly, energy=full or rng.random() < 0.5, sessions=full))
            clock = policy in CLOCK_DAY and h != 24
            cases.append(_case(f, f"hours:{policy}:{h}{':hourly' if hourly else ''}",
                               overrides=[f"platform.policy={policy}"],
                               expect="refused" if clock else "valid",
                               expect_field="network.hours" if clock else None))
    valid = {"agc": "regd", "reg_prices": "bill", "pjm_lmp": "lmp", "gme_pun": "pun", "tou": "tariff"}
    paths = {}
    for key, kind in valid.items():
        paths[key] = root / f"valid_{key}.{'json' if kind == 'tariff' else 'csv'}"
        paths[key].write_text(VALID_FILES[kind]())
    (root / "msd.csv").write_text(_msd())
    for h in (2, 12, 23, 25, 36, 48):
        base = root / f"base_{h}.toml"
        base.write_text(_day_toml(h, energy=False, sessions=False))
        for key in valid:
            f = root / f"data_{key}_{h}.toml"
            _data_scenario(f, key, paths[key], base=base,
                           companions={"pun": paths.get("gme_pun", root), "msd": root / "msd.csv"})
            policy = rng.choice(("naive", "chance", "bilevel"))
            cases.append(_case(f, f"hours:data:{key}:{h}", overrides=[f"platform.policy={policy}"]))
        models = ('drivers.models=[{name = "leaf", catalog = "nissan_leaf_40", share = 0.5}, '
                  '{name = "id3", catalog = "vw_id3_pro", share = 0.5}]')
        for what, sets in (("game", ["game.enabled=true"]),
                           ("models", [models, "platform.chance.capability=charger",
                                       "drivers.degradation.throughput_cost=0.05"]),
                           ("clusters", [_clusters(0.02, 0.98, work=True)])):
            policy = rng.choice(("naive", "chance", "bilevel"))
            cases.append(_case(base, f"hours:{what}:{policy}:{h}",
                               overrides=[f"platform.policy={policy}", *sets], expect="valid"))
    for base in ("tiny", "default", "tang_mak2024", "lin2020"):
        for v in ("0", "1", "2", "12", "25", "48", "49", "2.5", '"24"', "-1"):
            # 2-48: refused when the scenario has hourly lists; "24" is coerced to 24 by the schema
            expect = None if v in ("2", "12", "25", "48", '"24"') else "refused"
            cases.append(_case(SCENARIOS / f"{base}.toml", f"hours:set:{base}:{v}",
                               overrides=[f"network.hours={v}"], expect=expect,
                               expect_field="network.hours" if expect else None))
    return cases


# ----------------------------------------------------------------------------- clusters


def _clusters(*shares: float, work: bool = False) -> str:
    """A ``--set drivers.clusters=[...]`` override with these shares."""
    extra = ', places = [{name = "work", charger = true, plug_utility = 0.5}]'
    items = [f'{{name = "c{i}", share = {s!r}{extra if work and i else ""}}}'
             for i, s in enumerate(shares)]
    return f"drivers.clusters=[{', '.join(items)}]"


def cluster_cases(tmp: Path, rng: random.Random) -> list[dict[str, Any]]:
    """Family ``clusters``: clusters that round to 0 EVs, 1-3 EVs in two clusters."""
    cases = []
    shares = {(0.01, 0.99): "valid", (0.99, 0.01): "valid", (0.02, 0.98): "valid",
              (0.5, 0.5): "valid", (1e-9, 1 - 1e-9): None, (0.001, 0.499, 0.5): None,
              (0.3, 0.3): "refused", (0.0, 1.0): "refused", (0.04, 0.96): "valid"}
    for sh, expect in shares.items():
        for policy in ("naive", "chance", "bilevel"):
            cases.append(_case(TINY, f"clusters:tiny:{sh}:{policy}",
                               overrides=[_clusters(*sh), f"platform.policy={policy}"],
                               expect=expect, expect_field="drivers" if expect == "refused"
                               else None))
    for count in (1, 2, 3):
        for policy in ("naive", "chance", "bilevel"):
            sh = rng.choice(((0.5, 0.5), (0.1, 0.9), (0.34, 0.33, 0.33)))
            cases.append(_case(TINY, f"clusters:tiny_count{count}:{sh}:{policy}",
                               overrides=[_clusters(*sh, work=True), f"drivers.count={count}",
                                          f"platform.policy={policy}"], expect="valid"))
            cases.append(_case(SCENARIOS / "tang_mak2024.toml",
                               f"clusters:tang_mak2024_count{count}:{policy}",
                               overrides=[f"drivers.count={count}", f"platform.policy={policy}"],
                               expect="valid"))
        cases.append(_case(SCENARIOS / "heterogeneous.toml", f"clusters:heterogeneous_count{count}",
                           overrides=[f"drivers.count={count}", _clusters(0.2, 0.8)], expect="valid"))
    return cases


# ----------------------------------------------------------------------------- seeds

SEEDS: tuple[Any, ...] = (0, 1, 2**31, 2**32, 2**53 + 1, 2**63 - 2, 2**63 - 1, 2**63, 2**64 - 1,
                          2**64, 2**64 + 1, 10**30, -1, -(2**63), -(2**64))


def seed_cases(tmp: Path, rng: random.Random) -> list[dict[str, Any]]:
    """Family ``seeds``: huge and negative seeds in the file, by ``--set`` and by ``run --seed``."""
    root = tmp / "seeds"
    root.mkdir(parents=True, exist_ok=True)
    cases = []
    for seed in SEEDS:
        ok = 0 <= seed <= 2**63 - 1
        for via in ("file", "set", "arg"):
            policy = rng.choice(("naive", "chance", "bilevel", "eva"))
            extra: dict[str, Any] = {"overrides": [f"platform.policy={policy}"]}
            f = TINY
            if via == "file":
                f = root / f"seed_{seed}.toml"
                f.write_text(f"extends = {_q(TINY)}\nseed = {seed}\n")
            elif via == "set":
                extra["overrides"].append(f"seed={seed}")
            else:
                extra.update(validate_overrides=[f"seed={seed}"], run_args=[f"--seed={seed}"])
            cases.append(_case(f, f"seeds:{via}:{seed}:{policy}", expect="valid" if ok else "refused",
                               expect_field=None if ok else "seed", **extra))
    for text in ("1e19", "9.223372036854776e18", "[1]", "-0.5"):
        cases.append(_case(TINY, f"seeds:set:{text}", overrides=[f"seed={text}"],
                           expect="refused", expect_field="seed"))
    for text in ('"1"', "true", "2.0"):  # the schema coerces these to 1, 1, 2 (pydantic's lax mode)
        cases.append(_case(TINY, f"seeds:set:{text}", overrides=[f"seed={text}"]))
    return cases


# ----------------------------------------------------------------------------- eta, policies, headroom

ETAS = ("-1", "0", "5e-324", "1e-12", "1e-6", "0.01", "0.05", "0.25", "0.5", "0.5000000001", "0.51",
        "0.9", "0.999999", "1.0", "1.5", "nan", "inf")


def eta_cases(tmp: Path, rng: random.Random) -> list[dict[str, Any]]:
    """Family ``eta``: ``platform.chance.eta`` in and outside [1e-6, 0.5] with both bounds."""
    cases = []
    for eta in ETAS:
        ok = 1e-6 <= float(eta) <= 0.5
        for policy in ("chance", "bilevel"):
            for bound in (3, 4):
                base = rng.choice(("tiny", "tiny", "default"))
                capability = rng.choice(("charger", "headroom"))
                cases.append(_case(SCENARIOS / f"{base}.toml", f"eta:{base}:{policy}:{bound}:{eta}",
                                   overrides=[f"platform.policy={policy}",
                                              f"platform.chance.eta={eta}",
                                              f"platform.chance.bound={bound}",
                                              f"platform.chance.capability={capability}"],
                                   expect="valid" if ok else "refused",
                                   expect_field=None if ok else "platform.chance.eta"))
    return cases


def _v2a_table(n: int = 24, drop: str = "", value: str = "0.5") -> str:
    keys = [k for k in ("load_price", "v2g_price", "base_load_kw") if k != drop]
    return "platform.v2a={" + ", ".join(f"{k} = [{', '.join([value] * n)}]" for k in keys) + "}"


def policy_cases(tmp: Path, rng: random.Random) -> list[dict[str, Any]]:
    """Family ``policy``: every shipped scenario with every policy; ``v2a`` without its table."""
    cases = [_case(p, f"policy:{p.stem}:{policy}", overrides=[f"platform.policy={policy}"])
             for p in sorted(SCENARIOS.glob("*.toml")) for policy in POLICIES]
    v2a = [("no_table", [], "refused", "platform.v2a"),
           ("table", [_v2a_table()], "valid", None),
           ("no_base_load", [_v2a_table(drop="base_load_kw")], "refused", "platform.v2a"),
           ("23_values", [_v2a_table(23)], "refused", "platform.v2a"),
           ("nan", [_v2a_table(value="nan")], "refused", "platform.v2a"),
           ("empty_table", ["platform.v2a={}"], "refused", "platform.v2a")]
    for name, sets, expect, field in v2a:
        for base in ("tiny", "default"):
            cases.append(_case(SCENARIOS / f"{base}.toml", f"policy:v2a_{name}:{base}",
                               overrides=["platform.policy=v2a", *sets], expect=expect,
                               expect_field=field))
    cases.append(_case(TINY, "policy:robust_no_sessions", overrides=["platform.policy=robust"],
                       expect="refused", expect_field="sessions.enabled"))
    return cases + _session_and_fallback_cases()


#: ``[sessions]`` tables of the ``robust`` policy (parametric laws) -> expectation.
PARAMETRIC: dict[str, tuple[str, str | None]] = {
    "valid": ("arrival_h = {low = 6, high = 8}, departure_h = {low = 16, high = 20}", "valid"),
    "departure_first": ("arrival_h = {low = 20, high = 23}, departure_h = {low = 1, high = 5}",
                        "refused"),
    "overnight": ("arrival_h = {low = 20, high = 23}, departure_h = {low = 1, high = 5}, "
                  "overnight = true", None),
    "gaussian_far": ("arrival_h = {low = 6, high = 8, mean = 100, std = 0.1}, "
                     "departure_h = {low = 16, high = 20}", "refused"),
    "soc_above_1": ("arrival_h = {low = 6, high = 8}, departure_h = {low = 16, high = 20}, "
                    'energy_unit = "soc"', "refused"),
    "energy_above_battery": ("arrival_h = {low = 6, high = 8}, departure_h = {low = 16, high = 20}, "
                             "energy_wanted = {low = 500, high = 900}", "refused"),
}


def _session_and_fallback_cases() -> list[dict[str, Any]]:
    """Parametric sessions of ``robust`` (consistent or not), and the fallbacks of issue 30 item 7
    (a persistency model that does not converge; a huge degradation cost): they run."""
    park = SCENARIOS / "bianchi2023_parking.toml"
    cases = []
    for name, (laws, expect) in PARAMETRIC.items():
        energy = ("energy_arrival = {low = 5, high = 10}, energy_wanted = {low = 15, high = 20}"
                  if "energy_wanted" not in laws else "energy_arrival = {low = 5, high = 10}")
        if "soc" in laws:
            energy = "energy_arrival = {low = 0.5, high = 2}, energy_wanted = {low = 0.5, high = 0.9}"
        table = f'sessions={{enabled = true, model = "parametric", n_evs = 10, {laws}, {energy}}}'
        cases.append(_case(park, f"policy:sessions:{name}", overrides=[table], expect=expect,
                           expect_field="sessions" if expect == "refused" else None))
    for base, sets in (("default", ["network.places.0.plug_sigma=1e-12"]),
                       ("tiny", ["network.places.0.plug_sigma=1e-12", "platform.policy=chance",
                                 "platform.beliefs=calibrated"]),
                       ("tiny", ["drivers.degradation.throughput_cost=2.8e12"]),
                       ("tiny", ["drivers.degradation.cycle_cost=1e300"])):
        cases.append(_case(SCENARIOS / f"{base}.toml", f"policy:fallback:{base}:{sets[0]}",
                           overrides=sets, expect="valid"))
    return cases


def headroom_cases(tmp: Path, rng: random.Random) -> list[dict[str, Any]]:
    """Family ``headroom``: ``capability = "headroom"`` with psi - omega <= 0 (and just above)."""
    cases = []
    combos = [(3.3, 3.3), (3.3, 3.3 + 1e-9), (3.3, 3.3 - 1e-12), (3.3, 5.0), (1.0, 3.3),
              (0.001, 0.0), (10.0, 0.0), (3.3, 3.2999)]
    for psi, omega in combos:
        for capability in ("headroom", "charger"):
            for policy in ("chance", "bilevel", "naive"):
                left = psi - (omega if capability == "headroom" else 0.0)
                expect = ("refused" if omega > psi or (policy != "naive" and left <= 1e-9 * psi)
                          else "valid")
                field = "platform.chance.capability" if omega <= psi else "drivers"
                cases.append(_case(TINY, f"headroom:{psi}-{omega}:{capability}:{policy}",
                                   overrides=[f"drivers.charger_kw={psi!r}",
                                              f"drivers.baseline_charge_kw={omega!r}",
                                              f"platform.chance.capability={capability}",
                                              f"platform.policy={policy}"], expect=expect,
                                   expect_field=field if expect == "refused" else None))
    for capability in ("headroom", "charger"):
        for policy in ("chance", "bilevel"):
            cases.append(_case(SCENARIOS / "heterogeneous.toml",
                               f"headroom:heterogeneous:{capability}:{policy}",
                               overrides=[f"platform.chance.capability={capability}",
                                          f"platform.policy={policy}"]))
    return cases


# ----------------------------------------------------------------------------- names and output


NAMES = ("\U00020000" * 50, "\U00020000" * 51, "\U0001d538" * 100, "a" * 100, "a" * 101, "é" * 100,
         "é" * 101, "x" * 99 + "\U00020000", "ß" * 100, "٣٣٣", "ǅ", "a\u0301" * 50, "..", ".hidden",
         "-x", "a/b", "a\\b", "con", "nul", "", " ", "a b", "name\n", "ü" * 100, "🚗", "x.toml",
         "a" * 250, "\U00020000" * 200)


def _name_ok(name: str) -> bool:
    return bool(re.fullmatch(r"\w[\w.+-]{0,99}", name)) and len(name.encode()) <= 200


def name_cases(tmp: Path, rng: random.Random) -> list[dict[str, Any]]:
    """Family ``names``: names of 4-byte characters, path-like names, names from long file names;
    run without ``--out`` (the run directory is ``runs/<name>-...`` in the working directory)."""
    from v2gsim.config import load_raw

    root = tmp / "names"
    root.mkdir(parents=True, exist_ok=True)
    cases = []
    for k, name in enumerate(NAMES):
        expect = "valid" if _name_ok(name) else "refused"
        field = None if expect == "valid" else "name"
        f = root / f"name{k}.toml"
        f.write_text(f"extends = {_q(TINY)}\nname = {_toml_string(name)}\n", encoding="utf-8")
        cases.append(_case(f, f"names:file:{k}", out="scenario", expect=expect, expect_field=field))
        cases.append(_case(TINY, f"names:set:{k}", overrides=[f"name={_toml_string(name)}"],
                           out="scenario", expect=expect, expect_field=field))
    doc = load_raw(TINY)
    doc.pop("extends", None)
    doc.pop("name", None)
    for k, stem in enumerate(("\U00020000" * 60, "é" * 120, "a b c", "-dash", "..x", "\U0001d538" * 61)):
        f = root / f"{stem}.toml"
        f.write_text(to_toml(doc), encoding="utf-8")
        cases.append(_case(f, f"names:stem:{k}", out="scenario", expect="valid"))
    return cases


def sentinel(tmp: Path) -> Path:
    """A foreign folder (files v2gsim did not write) the ``outdir`` cases aim at."""
    s = tmp / "sentinel"
    (s / "victim" / "sub").mkdir(parents=True, exist_ok=True)
    (s / "victim" / "file.txt").write_text("not v2gsim's\n")
    (s / "victim" / "sub" / "keep.csv").write_text("a,b\n1,2\n")
    (s / "victim" / "config.json").write_text("{}\n")
    (s / "notes.txt").write_text("keep\n")
    if not (s / "fifo").exists():
        os.mkfifo(s / "fifo")
    if not (s / "link").is_symlink():
        (s / "link").symlink_to(s / "victim")
    return s


def outdir_cases(tmp: Path, rng: random.Random) -> list[dict[str, Any]]:
    """Family ``outdir``: ``output.dir`` (or ``--out``) at foreign folders, files, special paths;
    the run must refuse them and leave the sentinel folder as it was."""
    s = sentinel(tmp)
    root = tmp / "outdir"
    root.mkdir(parents=True, exist_ok=True)
    targets = {"victim": s / "victim", "victim_sub": s / "victim" / "sub", "file": s / "notes.txt",
               "fifo": s / "fifo", "symlink": s / "link", "root": "/", "home": "~",
               "nosuchuser": "~nosuchuser_v2gsim_fuzz/run", "parent": s / "victim" / ".."}
    safe_to_force = ("victim", "victim_sub", "file", "fifo", "symlink", "nosuchuser", "parent")
    cases = []
    for name, target in targets.items():
        f = root / f"{name}.toml"
        f.write_text(f"extends = {_q(TINY)}\n[output]\ndir = {_q(target)}\n", encoding="utf-8")
        for force in (False, True):
            if force and name not in safe_to_force:
                continue  # never risk --force on / or the home directory
            cases.append(_case(f, f"outdir:{name}{':force' if force else ''}", out="scenario",
                               run_args=["--force"] if force else [], run_refusal_ok=True))
        if name in ("victim", "symlink"):
            cases.append(_case(TINY, f"outdir:cli_{name}:force", out=str(target),
                               run_args=["--force"], run_refusal_ok=True))
    return cases


#: The targeted families, in the order they run (module docstring).
FAMILIES: dict[str, Callable[[Path, random.Random], list[dict[str, Any]]]] = {
    "datafile": datafile_cases, "special": special_cases, "hours": hours_cases,
    "clusters": cluster_cases, "seeds": seed_cases, "eta": eta_cases, "policy": policy_cases,
    "headroom": headroom_cases, "names": name_cases, "outdir": outdir_cases,
}


def family_cases(tmp: Path, seed: int = 0, per_family: int | None = None,
                 families: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The cases of the targeted families (files written under ``tmp``); with ``per_family``, a
    sample of that many cases of each (deterministic for ``seed``)."""
    cases = []
    for name, make in FAMILIES.items():
        if families is not None and name not in families:
            continue
        mine = make(tmp, random.Random(f"{seed}:{name}"))
        if per_family is not None and len(mine) > per_family:
            mine = random.Random(f"{seed}:{name}:sample").sample(mine, per_family)
        cases += mine
    return cases


def random_cases(n: int, seed: int, tmp: Path, docs: dict[str, dict[str, Any]]) -> list[dict]:
    """``n`` mutated scenarios written under ``tmp`` (deterministic for a seed)."""
    rng = random.Random(seed)
    names = sorted(docs)
    out = []
    tmp.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        base = rng.choice(names)
        doc, ops = docs[base], []
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            doc, op = mutate(doc, rng)
            ops.append(op)
        path = tmp / f"case{i:05d}.toml"
        path.write_text(to_toml(doc), encoding="utf-8")
        out.append(_case(path, "+".join(ops), family="mutation", base=base))
    return out


# ----------------------------------------------------------------------------- one case


def _call(argv: list[str]) -> dict[str, Any]:
    """``cli.main(argv)`` with its output captured; an escaping exception is recorded."""
    from v2gsim.cli import main

    out, err = io.StringIO(), io.StringIO()
    rec: dict[str, Any] = {"argv": argv}
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rec["rc"] = main(argv)
        except SystemExit as exc:  # argparse usage errors
            rec["rc"] = exc.code if isinstance(exc.code, int) else 2
        except BaseException as exc:  # an escaping exception is what the fuzzer counts
            rec["rc"] = None
            rec["exception"] = f"{type(exc).__name__}: {exc}"[:500]
            rec["traceback"] = traceback.format_exc()[-3000:]
    rec["seconds"] = round(time.perf_counter() - t0, 2)
    rec["stdout"], rec["stderr"] = _kept(out.getvalue()), _kept(err.getvalue())
    rec["secret"] = SECRET in out.getvalue() or SECRET in err.getvalue()
    return rec


#: Output kept per command (characters): whole lines, so that every exit-2 line can be checked.
KEEP_CHARS = 200_000


def _kept(text: str) -> str:
    """``text``, or its first :data:`KEEP_CHARS` characters up to the last whole line."""
    return text if len(text) <= KEEP_CHARS else text[: text.rfind("\n", 0, KEEP_CHARS) + 1]


def snapshot(root: Path | str) -> dict[str, tuple[int, int, int]]:
    """``relative path -> (type, size, mtime_ns)`` of everything below ``root`` (``lstat``: no link
    is followed, no file opened - a FIFO is safe)."""
    out: dict[str, tuple[int, int, int]] = {}
    root = str(root)
    if not os.path.lexists(root):
        return out
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in (".", *dirnames, *filenames) if dirpath == root else (*dirnames, *filenames):
            p = os.path.join(dirpath, name)
            with contextlib.suppress(OSError):
                st = os.lstat(p)
                out[os.path.relpath(p, root)] = (stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns)
    return out


def _diff(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    changed = [f"new {k}" for k in sorted(set(after) - set(before))]
    changed += [f"gone {k}" for k in sorted(set(before) - set(after))]
    changed += [f"changed {k}" for k in sorted(set(before) & set(after)) if before[k] != after[k]]
    return changed


def _top_names() -> set[str]:
    return set(os.listdir(REPO))


def _watched(case: dict[str, Any]) -> list[str]:
    return [*case.get("watch", ()), str(SCENARIOS)]


def _run_argv(case: dict[str, Any], out: Path) -> list[str]:
    """The ``run`` command of a case that validated (fleet capped at :data:`RUN_DRIVERS`)."""
    from v2gsim.config import load_scenario

    sets = [a for o in case.get("overrides", []) for a in ("--set", o)]
    if load_scenario(case["file"], case.get("overrides", [])).drivers.count > RUN_DRIVERS:
        sets += ["--set", f"drivers.count={RUN_DRIVERS}"]
    argv = ["run", case["file"], "--days", "1", "--quiet", "--no-figures", *sets,
            *case.get("run_args", [])]
    where = case.get("out", "given")
    if where == "given":
        argv += ["--out", str(out)]
    elif where != "scenario":
        argv += ["--out", where]
    return argv


def bid_problem(case: dict[str, Any], run_dir: Path) -> str | None:
    """Why the hourly bids of a ``naive``/``chance``/``bilevel`` run are impossible (not finite,
    negative, or above the fleet's capability ``count x max(charger_kw, psi)``), or None."""
    import numpy as np
    import pandas as pd

    from v2gsim.config import load_scenario

    sc = load_scenario(case["file"], case.get("overrides", []))
    hourly = run_dir / "hourly.parquet"
    if sc.platform.policy not in ("naive", "chance", "bilevel") or sc.drivers.models \
            or not hourly.is_file():
        return None
    bid = pd.read_parquet(hourly, columns=["bid_kw"])["bid_kw"].to_numpy(dtype=float)
    cap = min(sc.drivers.count, RUN_DRIVERS) * max(sc.drivers.charger_kw, sc.drivers.regulation_kw())
    if not np.all(np.isfinite(bid)) or np.any(bid < 0):
        return "a bid is not finite or negative"
    if bid.size and bid.max() > cap * (1 + 1e-9) + 1e-6:
        return f"max bid {bid.max():.6g} kW > fleet capability {cap:.6g} kW"
    return None


def run_case(case: dict[str, Any], work_dir: str) -> dict[str, Any]:
    """Validate the case; run it for one day when it is valid. Returns the records of both.

    The commands run with a fresh, empty working directory; afterwards it must hold nothing (but
    ``runs/`` for a run without ``--out``), the folder of ``--out`` nothing but it, and the watched
    folders (``case["watch"]``, the shipped scenarios) and the repository's top-level names must be
    unchanged (``res["outside"]`` lists what is not)."""
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    cwd = Path(tempfile.mkdtemp(prefix="cwd-", dir=work))
    box = Path(tempfile.mkdtemp(prefix="out-", dir=work))
    out = box / "run"
    before = {w: snapshot(w) for w in _watched(case)}
    top = _top_names()
    sets = [a for o in case.get("overrides", []) for a in ("--set", o)]
    vsets = [a for o in case.get("validate_overrides", []) for a in ("--set", o)]
    res: dict[str, Any] = {"case": case}
    here = os.getcwd()
    os.chdir(cwd)
    try:
        res["validate"] = _call(["validate", case["file"], *sets, *vsets])
        if res["validate"].get("rc") == 0:
            try:
                argv = _run_argv(case, out)
            except BaseException as exc:  # validated, but loading it again failed
                res["run"] = {"argv": ["load_scenario", case["file"]], "rc": None, "stdout": "",
                              "stderr": "", "exception": f"{type(exc).__name__}: {exc}"[:500],
                              "traceback": traceback.format_exc()[-3000:], "secret": False}
            else:
                res["run"] = _call(argv)
                if res["run"].get("rc") == 0 and case.get("out", "given") == "given":
                    try:
                        res["bids"] = bid_problem(case, out)
                    except Exception as exc:
                        res["bids"] = f"cannot check the bids: {type(exc).__name__}: {exc}"
    finally:
        os.chdir(here)
    outside = [f"{w}: {d}" for w in before for d in _diff(before[w], snapshot(w))]
    outside += [f"{REPO}: new {n}" for n in sorted(_top_names() - top)]
    allowed = {"runs"} if case.get("out") == "scenario" else set()
    outside += [f"working directory: {n}" for n in sorted(set(os.listdir(cwd)) - allowed)]
    outside += [f"folder of --out: {n}" for n in sorted(set(os.listdir(box)) - {"run"})]
    outside += [f"worker folder: {n}" for n in sorted(set(os.listdir(work)) - {cwd.name, box.name})]
    res["outside"] = outside[:10]
    shutil.rmtree(cwd, ignore_errors=True)
    shutil.rmtree(box, ignore_errors=True)
    return res


def unnamed_lines(rec: dict[str, Any], error_lines_ok: bool = False) -> list[str]:
    """Lines of an exit-2 message that do not read ``FILE: dotted.field: message`` (or, with
    ``error_lines_ok``, ``error: PATH: message``)."""
    if rec.get("rc") != 2:
        return []
    text = rec["stdout"] if rec["argv"][0] == "validate" else rec["stderr"]
    lines = [ln for ln in text.splitlines() if ln.strip()]
    bad = [ln for ln in lines if not MESSAGE_LINE.match(ln)
           and not (error_lines_ok and ERROR_LINE.match(ln))]
    return bad or ([] if lines else ["(empty)"])


def escaped(rec: dict[str, Any] | None) -> bool:
    """An exception escaped ``main``, or a traceback was printed."""
    if rec is None:
        return False
    return "exception" in rec or "Traceback" in rec.get("stderr", "") + rec.get("stdout", "")


def expectation_miss(res: dict[str, Any]) -> str | None:
    """How the case missed its ``expect`` (``refused`` at validate naming ``expect_field``, or
    ``valid``: validates and runs), or None."""
    case, v, run = res["case"], res["validate"], res.get("run")
    expect, field = case.get("expect"), case.get("expect_field")
    if expect == "refused":
        if v.get("rc") != 2:
            return f"expected validate to refuse it, got exit {v.get('rc')}"
        if field:
            fields = [m["field"] for ln in v["stdout"].splitlines() if (m := MESSAGE_LINE.match(ln))]
            if not any(f == field or f.startswith((f"{field}.", f"{field}[")) for f in fields):
                return f"expected a problem at {field}, got {fields}"
    elif expect == "valid":
        if v.get("rc") != 0:
            return f"expected it to validate, got exit {v.get('rc')}: {v['stdout'][:300]}"
        if run is not None and run.get("rc") != 0:
            return f"expected the run to succeed, got exit {run.get('rc')}: {run['stderr'][-300:]}"
    return None


# ----------------------------------------------------------------------------- workers


def _worker(conn, work_dir: str) -> None:  # pragma: no cover - runs in a child process
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    while True:
        item = conn.recv()
        if item is None:
            return
        idx, case = item
        conn.send((idx, run_case(case, work_dir)))


class _Pool:
    """Worker processes that each run one case at a time; a case over its timeout is a hang.

    The parent only sends case dicts and receives results over pipes (it never opens a case's
    files): a case blocked on a FIFO blocks its worker, which is killed at the timeout."""

    def __init__(self, n: int, timeout: float, tmp: Path):
        self.ctx = mp.get_context("fork")
        self.timeout, self.tmp, self.n = timeout, tmp, 0
        self.slots = [self._start() for _ in range(n)]

    def _start(self):
        self.n += 1
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker, args=(child, str(self.tmp / f"w{self.n}")),
                                daemon=True)
        proc.start()
        child.close()
        return {"proc": proc, "conn": parent, "job": None, "t0": 0.0}

    def _limit(self, case: dict[str, Any]) -> float:
        return min(self.timeout, case.get("timeout") or math.inf)

    def map(self, cases: list[dict], progress: Callable[[int, int], None] | None = None) -> list[dict]:
        results: list[dict | None] = [None] * len(cases)
        todo = list(enumerate(cases))[::-1]
        done = 0
        while todo or any(s["job"] is not None for s in self.slots):
            for s in self.slots:
                if s["job"] is None and todo:
                    s["job"] = todo.pop()
                    s["t0"] = time.monotonic()
                    s["conn"].send(s["job"])
            busy = [s for s in self.slots if s["job"] is not None]
            ready = wait([s["conn"] for s in busy], timeout=1.0)
            now = time.monotonic()
            for k, s in enumerate(self.slots):
                if s["job"] is None:
                    continue
                idx, case = s["job"]
                if s["conn"] in ready:
                    try:
                        idx, res = s["conn"].recv()
                    except (EOFError, OSError):  # the worker died (e.g. killed for memory)
                        res = {"case": case, "died": True}
                        s["proc"].join(timeout=5)
                        self.slots[k] = self._start()
                    else:
                        s["job"] = None
                elif now - s["t0"] > self._limit(case):
                    res = {"case": case, "hang": True, "seconds": round(now - s["t0"], 1)}
                    s["proc"].kill()
                    s["proc"].join()
                    self.slots[k] = self._start()
                else:
                    continue
                results[idx] = res
                done += 1
                if progress is not None:
                    progress(done, len(cases))
        return [r for r in results if r is not None]

    def close(self) -> None:
        for s in self.slots:
            with contextlib.suppress(OSError):
                s["conn"].send(None)
            s["proc"].join(timeout=5)
            if s["proc"].is_alive():
                s["proc"].kill()
                s["proc"].join()


def run_cases(cases: list[dict[str, Any]], work: Path, workers: int = 2, timeout: float = 180.0,
              progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    """Run ``cases`` in ``workers`` worker processes (their folders under ``work``)."""
    pool = _Pool(max(1, workers), timeout, work)
    try:
        return pool.map(cases, progress)
    finally:
        pool.close()


# ----------------------------------------------------------------------------- summary


def _family(case: dict[str, Any]) -> str:
    return case.get("family") or ("mutation" if ":" not in case["op"] else case["op"].split(":")[0])


def summarize(results: list[dict[str, Any]], wall_s: float, examples_per_kind: int = 5) -> dict[str, Any]:
    """The counts of the module docstring, with up to ``examples_per_kind`` examples of every failure."""
    c: Counter[str] = Counter()
    by_op: Counter[str] = Counter()
    by_family: dict[str, Counter[str]] = {}
    examples: dict[str, list[Any]] = {}
    slow: list[tuple[float, str]] = []

    for r in results:
        case = r["case"]
        fam = by_family.setdefault(_family(case), Counter())

        def note(kind: str, item: Any, fam: Counter[str] = fam) -> None:
            c[kind] += 1
            fam[kind] += 1
            examples.setdefault(kind, [])
            if len(examples[kind]) < examples_per_kind:
                examples[kind].append(item)

        by_op[case["op"].split(":")[0].split("+")[0]] += 1
        c["cases"] += 1
        fam["cases"] += 1
        if r.get("hang") or r.get("died"):
            note("hangs" if r.get("hang") else "worker_deaths", case)
            continue
        v, run = r["validate"], r.get("run")
        slow.append((v.get("seconds", 0) + (run or {}).get("seconds", 0), case["op"]))
        for rec in (v, run):
            if rec is None:
                continue
            if escaped(rec):
                note("tracebacks", {"case": case, "argv": rec["argv"],
                                    "exception": rec.get("exception"),
                                    "traceback": rec.get("traceback", rec["stderr"][-3000:])})
            if rec.get("secret"):
                note("secrets_echoed", {"case": case, "argv": rec["argv"],
                                        "output": (rec["stdout"] + rec["stderr"])[-500:]})
            if rec.get("rc") == 2:
                text = rec["stdout"] if rec["argv"][0] == "validate" else rec["stderr"]
                c["exit2_lines_checked"] += sum(1 for ln in text.splitlines() if ln.strip())
            bad = unnamed_lines(rec, case.get("run_refusal_ok", False))
            if bad:
                note("unnamed_messages", {"case": case, "argv": rec["argv"],
                                          "lines": [ln[:500] for ln in bad[:3]]})
        if r.get("outside"):
            note("outside_writes", {"case": case, "paths": r["outside"]})
        if r.get("bids"):
            note("bids_over_fleet", {"case": case, "problem": r["bids"]})
        miss = expectation_miss(r)
        if miss:
            note("expectation_misses", {"case": case, "miss": miss})
        if v.get("rc") == 0:
            c["valid"] += 1
            fam["valid"] += 1
            if run is not None and run.get("rc") == 0:
                c["run_ok"] += 1
                fam["run_ok"] += 1
            elif run is not None and run.get("rc") in (1, 2):
                c["run_failed_cleanly"] += 1
                if run["rc"] == 1:
                    note("run_exit1", {"case": case, "stderr": run["stderr"][-500:]})
                elif case.get("run_refusal_ok"):
                    c["run_refused_output_dir"] += 1
                    fam["run_refused_output_dir"] += 1
                else:
                    note("valid_but_run_rejected", {"case": case, "stderr": run["stderr"][-500:]})
        elif v.get("rc") == 2:
            c["rejected"] += 1
            fam["rejected"] += 1
    keys = ("cases", "valid", "rejected", "run_ok", "run_failed_cleanly", "run_exit1",
            "run_refused_output_dir", *FAILURES, "exit2_lines_checked")
    out: dict[str, Any] = {k: c[k] for k in keys}
    out["by_family"] = {k: dict(v) for k, v in sorted(by_family.items())}
    out["by_operator"] = dict(sorted(by_op.items()))
    out["slowest"] = [f"{op} {s:.1f} s" for s, op in sorted(slow, reverse=True)[:5]]
    out["wall_s"] = round(wall_s, 1)
    out["examples"] = examples
    return out


def failed(summary: dict[str, Any]) -> bool:
    """Whether any failure count of the summary is not 0."""
    return any(summary[k] for k in FAILURES)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the fuzz cases and print the summary as JSON (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000, help="random mutations (plus the families)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the mutations and family choices")
    ap.add_argument("--workers", type=int, default=2, help="worker processes")
    ap.add_argument("--timeout", type=float, default=180.0, help="per-case timeout (s)")
    ap.add_argument("--families", default=None,
                    help=f"comma-separated families to run (default all: {', '.join(FAMILIES)})")
    ap.add_argument("--examples", type=int, default=5, help="examples kept per failure kind")
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    top = Path(tempfile.mkdtemp(prefix="v2gsim-fuzz-"))
    inputs = top / "inputs"
    repo_before = {str(SCENARIOS): snapshot(SCENARIOS), "top": {n: (0, 0, 0) for n in _top_names()}}
    try:
        docs = base_documents()
        chosen = args.families.split(",") if args.families else None
        cases = (file_cases(inputs / "file") if chosen is None else []) \
            + family_cases(inputs, args.seed, families=chosen) \
            + random_cases(args.cases, args.seed, inputs / "random", docs)
        for case in cases:
            case.setdefault("watch", [str(inputs)])
        sys.stderr.write(f"{len(cases)} cases\n")

        def progress(done: int, total: int) -> None:
            if done % 100 == 0 or done == total:
                sys.stderr.write(f"  {done}/{total} ({time.perf_counter() - t0:.0f} s)\n")

        results = run_cases(cases, top / "work", args.workers, args.timeout, progress)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    summary = summarize(results, time.perf_counter() - t0, args.examples)
    repo_after = {str(SCENARIOS): snapshot(SCENARIOS), "top": {n: (0, 0, 0) for n in _top_names()}}
    summary["repository_changes"] = [f"{k}: {d}" for k in repo_before
                                     for d in _diff(repo_before[k], repo_after[k])]
    text = json.dumps(summary, indent=2, default=str)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")
    return summary


if __name__ == "__main__":
    sys.exit(1 if failed(main()) else 0)
