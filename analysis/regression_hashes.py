"""Record or check the run tables of fixed-seed runs (refactors keep results).

Cases: ``default``, ``lin2020``, ``tiny`` and ``tang_mak2024`` (its bilevel search at
``platform.bilevel.time_limit_s = 600``, for the reason given below) as shipped, and ``default`` with
``platform.policy = "bilevel"`` and ``drivers.charger_kw = 30``; every case runs 10 days
(``--days``) with the scenario's seed. The ``bilevel_30kw`` case also sets
``platform.bilevel.time_limit_s = 600``: at the scenario's 2-s limit the day-0 search stops at its
time limit, and what it returns then depends on the machine's speed (a cold numba cache eats the
first seconds); with 600 s every daily search is solved to its 1e-4 gap (day 0 takes 24-29 s on
the project's 2-core machine, the other days under 1.5 s), so its result does not depend on timing.
The check reports a case whose ``policy_status`` is not what was recorded.

**What is recorded.** For each case and its ``hourly`` and ``daily`` tables, per column (the
wall-clock column ``solve_time_s`` is left out):

* numeric columns (floats, integers, booleans): the row count, the positions of NaN and ±inf (a
  SHA-256 digest, exact), and over the finite values, in float64: the sum, the sum of absolute
  values, the sum of squares and the sum weighted by the row position ``(i + 1) / n`` (all with
  :func:`math.fsum`, correctly rounded, so the same values give the same bits in any order), the
  minimum, the maximum and the 10, 50 and 90 % quantiles;
* other columns (strings): the SHA-256 of the values (exact);
* the table's exact SHA-256 (the content as CSV with every float in its round-trip ``repr``, with
  ``solve_time_s``, ``gap`` and ``policy_status`` left out as before), for ``--exact``.

**What is compared.** ``--check FILE`` re-runs the recorded cases with the recorded days and
``--set`` overrides and compares every summary number with a relative tolerance of 1e-9 of its
column's scale: the sums against the larger sum of absolute values (a sum with cancellations is
judged by the size of what it adds up), the sum of squares against itself, the minimum, maximum and
quantiles against the column's largest absolute value. The column set, the row counts, the NaN/inf
positions and string columns must match exactly. One column is a solver residual, not a result:
``belief_error``, the calibration's ``max |y - observed|`` at convergence (at most its tolerance
1e-8, about 1e-9 in these cases); it is compared with an absolute tolerance of 1e-8
(:data:`COLUMN_ATOL`), which still fails a calibration that stops converging. A different CPU
moves the last bits of the results (simulated on the project's machine with numba compiled for a
generic x86-64, OpenBLAS's Prescott kernels and one thread: at most 4.5e-11 relative, and 6e-4
relative on ``belief_error``'s round-off-level values), which passes; a changed model moves whole
columns by far more, which fails. A single number of a column moves the column's sums by its share of
the sum of absolute values: a change of 1e-6 relative is seen in any value that is at least 1/1000 of
that sum (about a quarter of the column's mean magnitude for the 240 rows of an hourly table), and in
any value that is the column's minimum, maximum or one of its quantiles. The printed JSON gives the
largest relative difference of every case, table and column (``max_rel_diff``) and, under
``differs``, every column beyond the tolerance or with a structural difference; the exit status is 1
when there is any.

``--check FILE --exact`` compares the exact SHA-256 instead: only meaningful on the machine, and with
the library versions, that recorded the file.

Usage::

    python analysis/regression_hashes.py --record analysis/regression_hashes.json
    python analysis/regression_hashes.py --check analysis/regression_hashes.json
    python analysis/regression_hashes.py --record analysis/regression_hashes_numpy.json \
        --set 'drivers.sampler="numpy"'
    python analysis/regression_hashes.py --check analysis/regression_hashes_numpy.json

The second file holds the tables of the numpy reference sampler (``drivers.sampler = "numpy"``), the
tables before the compiled kernel became the default (issue #16, item 8), so that path keeps its
results too. ``--check`` applies the ``--set`` overrides recorded in the file (giving the same
``--set`` again is allowed; different ones are an error).
"""

from __future__ import annotations

import os

# One OpenBLAS thread, as `import v2gsim` sets it, also when numpy is imported first: the daily belief
# calibration's small SVDs otherwise spin-wait against other processes (several times slower).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from v2gsim import load_scenario, run_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
RUNTIME = ("Runtime: about 80 s on 2 cores for the 5 cases (bilevel_30kw and tang_mak2024 about 30 s "
           "each); "
           "--cases tiny: a few seconds.")

#: case -> (scenario file, overrides)
CASES: dict[str, tuple[str, list[str]]] = {
    "default": ("default.toml", []),
    "lin2020": ("lin2020.toml", []),
    "tiny": ("tiny.toml", []),
    "bilevel_30kw": ("default.toml", ["platform.policy=\"bilevel\"", "drivers.charger_kw=30",
                                      "platform.bilevel.time_limit_s=600"]),
    "tang_mak2024": ("tang_mak2024.toml", ["platform.bilevel.time_limit_s=600"]),
}
DAYS = 10
TABLES = ("hourly", "daily")
RTOL = 1e-9
#: Wall-clock columns left out of the summaries.
WALL_CLOCK_COLUMNS = ("solve_time_s",)
#: Columns left out of the exact hash (as before the tolerant check existed).
TIMING_COLUMNS = ("solve_time_s", "gap", "policy_status")
QUANTILES = (0.1, 0.5, 0.9)
#: Absolute tolerances of solver-residual columns (module docstring): their scale is floored at
#: ``atol / rtol``, so a difference up to ``atol`` counts as at most ``rtol``.
COLUMN_ATOL = {"belief_error": 1e-8}
#: Summary numbers compared against the sum of absolute values, against themselves, and against
#: the column's largest absolute value.
SUM_KEYS = ("sum", "abs_sum", "ramp_sum")
SELF_KEYS = ("sum_sq",)
RANGE_KEYS = ("min", "max", *(f"q{round(100 * q)}" for q in QUANTILES))


# ------------------------------------------------------------------------------------------------
# recording
# ------------------------------------------------------------------------------------------------


def _hash_table(df: pd.DataFrame) -> str:
    """SHA-256 of the table's content (CSV, round-trip floats) without :data:`TIMING_COLUMNS`."""
    df = df.drop(columns=[c for c in TIMING_COLUMNS if c in df.columns])
    text = df.to_csv(index=False, lineterminator="\n", float_format=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def column_summary(values: pd.Series) -> dict[str, Any]:
    """The recorded numbers of one column (module docstring).

    Args:
        values: the column.

    Returns:
        For a numeric or boolean column ``{"kind": "numeric", "n", "nonfinite", "nonfinite_sha",
        "sum", "abs_sum", "sum_sq", "ramp_sum", "min", "max", "q10", "q50", "q90"}`` (float64;
        the range numbers are None when no value is finite); otherwise ``{"kind": "text", "n",
        "sha"}``.
    """
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        x = values.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(x)
        code = np.where(finite, 0, np.where(np.isnan(x), 1, np.where(x > 0, 2, 3))).astype(np.uint8)
        v = x[finite]
        ramp = (np.flatnonzero(finite) + 1.0) / max(x.size, 1)
        out: dict[str, Any] = {
            "kind": "numeric", "n": int(x.size), "nonfinite": int((~finite).sum()),
            "nonfinite_sha": _digest(code.tobytes()) if not finite.all() else None,
            "sum": math.fsum(v.tolist()), "abs_sum": math.fsum(np.abs(v).tolist()),
            "sum_sq": math.fsum((v * v).tolist()), "ramp_sum": math.fsum((ramp * v).tolist()),
        }
        if v.size:
            out["min"], out["max"] = float(v.min()), float(v.max())
            for key, q in zip(RANGE_KEYS[2:], np.quantile(v, QUANTILES), strict=True):
                out[key] = float(q)
        else:
            out.update(dict.fromkeys(RANGE_KEYS))
        return out
    text = "\x1f".join("\x00" if pd.isna(s) else str(s) for s in values.tolist())
    return {"kind": "text", "n": int(values.size), "sha": _digest(text.encode())}


def table_record(df: pd.DataFrame) -> dict[str, Any]:
    """What is recorded of one table: rows, exact SHA-256 and per-column summaries."""
    cols = [c for c in df.columns if c not in WALL_CLOCK_COLUMNS]
    return {"rows": len(df), "sha256": _hash_table(df),
            "columns": {str(c): column_summary(df[c]) for c in cols}}


def case_tables(case: str, extra: Sequence[str] = (), days: int = DAYS,
                progress: bool = False) -> dict[str, pd.DataFrame]:
    """Run one case and return its ``hourly`` and ``daily`` tables.

    Args:
        case: a key of :data:`CASES`.
        extra: overrides (``--set``) applied after the case's own.
        days: simulated days.
        progress: a tqdm bar over the days (on stderr).
    """
    fname, overrides = CASES[case]
    scenario = load_scenario(SCENARIOS / fname, [*overrides, *extra], days=days)
    result = run_scenario(scenario, progress=progress)
    return {name: getattr(result, name) for name in TABLES}


# ------------------------------------------------------------------------------------------------
# comparing
# ------------------------------------------------------------------------------------------------


def _rel(a: float | None, b: float | None, scale: float) -> float:
    """``|a - b| / scale``; 0 for equal values (also both None), inf when only one is None."""
    if a is None or b is None:
        return 0.0 if a is b else math.inf
    if a == b:
        return 0.0
    return abs(a - b) / scale if scale > 0 else math.inf


def column_difference(ref: Mapping[str, Any], new: Mapping[str, Any], floor: float = 0.0) -> float | str:
    """The largest relative difference of one column's summaries, or why they cannot be compared.

    Args:
        ref: the recorded summary (:func:`column_summary`).
        new: the summary of the run at hand.
        floor: smallest scale a difference is divided by (``atol / rtol`` of :data:`COLUMN_ATOL`).

    Returns:
        A float (0 when equal; compare it with :data:`RTOL`) or a string naming a structural
        difference (kind, row count, NaN/inf positions, string values).
    """
    if ref["kind"] != new["kind"]:
        return f"kind {ref['kind']} -> {new['kind']}"
    if ref["n"] != new["n"]:
        return f"rows {ref['n']} -> {new['n']}"
    if ref["kind"] == "text":
        return 0.0 if ref["sha"] == new["sha"] else "string values differ"
    if (ref["nonfinite"], ref["nonfinite_sha"]) != (new["nonfinite"], new["nonfinite_sha"]):
        return f"NaN/inf positions differ ({ref['nonfinite']} -> {new['nonfinite']} non-finite)"
    scales = {key: max(ref["abs_sum"], new["abs_sum"]) for key in SUM_KEYS}
    scales.update({key: max(ref[key], new[key]) for key in SELF_KEYS})
    extent = max((abs(d[k]) for d in (ref, new) for k in ("min", "max") if d[k] is not None), default=0.0)
    scales.update(dict.fromkeys(RANGE_KEYS, extent))
    return max(_rel(ref[k], new[k], max(s, floor)) for k, s in scales.items())


def compare_tables(ref: Mapping[str, Any], new: Mapping[str, Any],
                   rtol: float = RTOL) -> dict[str, float | str]:
    """Per column of a table, :func:`column_difference` (plus columns present on one side only).

    ``rtol`` sets the scale floor ``atol / rtol`` of the columns of :data:`COLUMN_ATOL`.
    """
    out: dict[str, float | str] = {}
    rc, nc = ref["columns"], new["columns"]
    for col in [*rc, *(c for c in nc if c not in rc)]:
        if col not in nc:
            out[col] = "missing from the new table"
        elif col not in rc:
            out[col] = "not in the recorded table"
        else:
            out[col] = column_difference(rc[col], nc[col], COLUMN_ATOL.get(col, 0.0) / rtol)
    return out


def _fails(d: float | str, rtol: float) -> bool:
    return isinstance(d, str) or d > rtol


def _fmt(d: float | str) -> float | str:
    return d if isinstance(d, str) else float(f"{d:.3g}")


def check(ref: Mapping[str, Any], new: Mapping[str, Any], rtol: float = RTOL) -> dict[str, Any]:
    """Compare the records of the cases in ``new`` with ``ref`` (both ``case -> table -> record``).

    Returns:
        ``{"max_rel_diff": case -> table -> column -> difference, "worst": case -> table ->
        [column, difference], "differs": case -> table -> column -> difference}`` with only the
        failing columns under ``differs`` (a case missing from ``ref`` is listed there as
        ``{"*": "not recorded"}``).
    """
    diffs: dict[str, Any] = {}
    worst: dict[str, Any] = {}
    differs: dict[str, Any] = {}
    for case, tables in new.items():
        if case not in ref:
            differs[case] = {"*": "not recorded"}
            continue
        for table, rec in tables.items():
            if table not in ref[case]:
                differs.setdefault(case, {})[table] = {"*": "not recorded"}
                continue
            cols = compare_tables(ref[case][table], rec, rtol)
            diffs.setdefault(case, {})[table] = {c: _fmt(d) for c, d in cols.items()}
            kinds = {c: r["kind"] for c, r in ref[case][table]["columns"].items()}
            numeric = {c: d for c, d in cols.items() if not isinstance(d, str) and kinds.get(c) == "numeric"}
            if numeric:
                col = max(numeric, key=numeric.__getitem__)
                worst.setdefault(case, {})[table] = [col, _fmt(numeric[col])]
            bad = {c: _fmt(d) for c, d in cols.items() if _fails(d, rtol)}
            if bad:
                differs.setdefault(case, {})[table] = bad
    return {"max_rel_diff": diffs, "worst": worst, "differs": differs}


def check_exact(ref: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[str]]:
    """Case -> tables whose exact SHA-256 differs from the recorded one."""
    out = {c: [t for t, rec in tables.items() if ref.get(c, {}).get(t, {}).get("sha256") != rec["sha256"]]
           for c, tables in new.items()}
    return {c: t for c, t in out.items() if t}


# ------------------------------------------------------------------------------------------------
# the file
# ------------------------------------------------------------------------------------------------


def dumps(data: Mapping[str, Any]) -> str:
    """The record file's JSON: nested objects indented, one line per column summary."""

    def enc(obj: Any, level: int) -> str:
        if isinstance(obj, dict) and obj and "kind" not in obj:
            pad = "  " * (level + 1)
            items = ",\n".join(f"{pad}{json.dumps(k)}: {enc(v, level + 1)}" for k, v in obj.items())
            return "{\n" + items + "\n" + "  " * level + "}"
        return json.dumps(obj, allow_nan=False)

    return enc(dict(data), 0) + "\n"


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    if "cases" not in data:
        raise SystemExit(f"{path}: no 'cases' (a file of exact hashes only, recorded before the "
                         "tolerant check); record it again with --record")
    return data


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point (see the module docstring); returns the exit status."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=RUNTIME)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--record", type=Path, help="write the tables' summaries to this JSON file")
    g.add_argument("--check", type=Path, help="compare with the summaries in this JSON file")
    p.add_argument("--cases", nargs="*", default=None, choices=list(CASES),
                   help="cases to run (default: all; with --check, the recorded ones)")
    p.add_argument("--set", dest="sets", action="append", default=None, metavar="FIELD=VALUE",
                   help="an override applied to every case (repeatable; --check: the recorded ones)")
    p.add_argument("--days", type=int, default=None,
                   help=f"simulated days per case (default {DAYS}; --check: the recorded ones)")
    p.add_argument("--exact", action="store_true",
                   help="--check: compare the exact SHA-256 of the tables (same machine and libraries)")
    p.add_argument("--rtol", type=float, default=RTOL, help="relative tolerance of --check (-)")
    p.add_argument("--quiet", action="store_true", help="no progress bars (stderr)")
    args = p.parse_args(argv)
    ref = _load(args.check) if args.check else None
    if ref is not None:
        if args.sets is not None and args.sets != ref["sets"]:
            p.error(f"--set {args.sets} differs from the overrides recorded in {args.check}: {ref['sets']}")
        if args.days is not None and args.days != ref["days"]:
            p.error(f"--days {args.days} differs from the days recorded in {args.check}: {ref['days']}")
    sets = args.sets if args.sets is not None else (ref["sets"] if ref else [])
    days = args.days if args.days is not None else (ref["days"] if ref else DAYS)
    if days < 1:
        p.error("--days must be >= 1")
    cases = args.cases or (list(ref["cases"]) if ref else list(CASES))
    records: dict[str, dict[str, Any]] = {}
    for case in tqdm(cases, desc="cases", unit="case", disable=args.quiet):
        tables = case_tables(case, sets, days, progress=not args.quiet)
        records[case] = {name: table_record(df) for name, df in tables.items()}
    out: dict[str, Any] = {"days": days, "sets": sets, "cases": list(records)}
    status = 0
    if args.record:
        args.record.write_text(dumps({"days": days, "sets": sets, "rtol": args.rtol, "cases": records}))
        out["recorded"] = str(args.record)
        out["sha256"] = {c: {t: r["sha256"] for t, r in tables.items()} for c, tables in records.items()}
    elif args.exact:
        diff = check_exact(ref["cases"], records)
        out.update(exact=True, differs=diff)
        status = 1 if diff else 0
    else:
        res = check(ref["cases"], records, args.rtol)
        out.update(exact=False, rtol=args.rtol, **res)
        status = 1 if res["differs"] else 0
    print(json.dumps(out, indent=2))
    return status


if __name__ == "__main__":
    sys.exit(main())
