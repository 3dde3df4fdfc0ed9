"""Record or check the hashes of the run tables of fixed-seed runs (refactors keep results).

Cases: ``default``, ``lin2020`` and ``tiny`` as shipped, and ``default`` with
``platform.policy = "bilevel"`` and ``drivers.charger_kw = 30``; every case runs 10 days with the
scenario's seed. For each case the script hashes (SHA-256) the ``hourly`` and ``daily`` tables
written as CSV with every float in its round-trip ``repr``: the content, not the Parquet bytes,
whose metadata and string encoding change with the pyarrow and pandas versions. Wall-clock
dependent columns are dropped before hashing: ``solve_time_s``, ``gap`` and ``policy_status``
(the bilevel search stops at its time limit at 30 kW, so how far its bound got, and whether it
reports ``optimal`` or ``time_limit``, depends on the machine's speed; the rebates and bids it
returns do not, and ``fallback_reason`` is kept). They are the only columns that differ between two runs of
the same seed on the same code.

Usage::

    python analysis/regression_hashes.py --record analysis/regression_hashes.json
    python analysis/regression_hashes.py --check analysis/regression_hashes.json
    python analysis/regression_hashes.py --check analysis/regression_hashes_numpy.json \
        --set 'drivers.sampler="numpy"'

The second file holds the hashes of the numpy reference sampler (``drivers.sampler = "numpy"``):
they are the tables of every case before the compiled kernel became the default (issue #16,
item 8), so that path keeps its results too.

Prints JSON (case -> table -> hash); with ``--check`` the exit status is 1 when any hash differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from v2gsim import load_scenario, run_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

#: case -> (scenario file, overrides)
CASES: dict[str, tuple[str, list[str]]] = {
    "default": ("default.toml", []),
    "lin2020": ("lin2020.toml", []),
    "tiny": ("tiny.toml", []),
    "bilevel_30kw": ("default.toml", ["platform.policy=\"bilevel\"", "drivers.charger_kw=30"]),
}
DAYS = 10
TIMING_COLUMNS = ("solve_time_s", "gap", "policy_status")


def _hash_table(df: pd.DataFrame) -> str:
    df = df.drop(columns=[c for c in TIMING_COLUMNS if c in df.columns])
    text = df.to_csv(index=False, lineterminator="\n", float_format=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def case_hashes(case: str, extra: Sequence[str] = ()) -> dict[str, str]:
    """SHA-256 of the case's ``hourly`` and ``daily`` tables (timing columns dropped).

    ``extra`` overrides (``--set``) are applied after the case's own.
    """
    fname, overrides = CASES[case]
    scenario = load_scenario(SCENARIOS / fname, [*overrides, *extra], days=DAYS)
    result = run_scenario(scenario, progress=False)
    return {name: _hash_table(getattr(result, name)) for name in ("hourly", "daily")}


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--record", type=Path, help="write the hashes to this JSON file")
    g.add_argument("--check", type=Path, help="compare with the hashes in this JSON file")
    p.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="FIELD=VALUE",
                   help="an override applied to every case (repeatable)")
    args = p.parse_args(argv)
    hashes = {case: case_hashes(case, args.sets) for case in args.cases}
    out: dict[str, object] = {"days": DAYS, "sets": args.sets, "hashes": hashes}
    status = 0
    if args.check:
        ref = json.loads(args.check.read_text())["hashes"]
        diff = {c: [t for t, h in tables.items() if ref.get(c, {}).get(t) != h]
                for c, tables in hashes.items()}
        diff = {c: t for c, t in diff.items() if t}
        out["differs"] = diff
        status = 1 if diff else 0
    if args.record:
        args.record.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return status


if __name__ == "__main__":
    sys.exit(main())
