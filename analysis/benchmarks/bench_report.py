"""Benchmark of ``v2gsim report`` over a folder of mixed runs (issue 31, item 1).

Builds a folder of 20 run directories with ``v2gsim run`` (``--no-figures``, in a child process so
that this one stays small: a child's peak RSS counts its parent's pages until it execs):
shipped scenarios of every kind - ``tiny``, ``default`` under the policies naive, chance and
bilevel, ``lin2020`` (the game), ``energy`` (energy prices), ``tang_mak2024``, ``heterogeneous``
(EV models, degradation), ``ma2025_cbdr`` (eva), ``mao2018_household`` (v2a),
``bianchi2023_parking`` (robust) - with small fleets (``--set drivers.count=...``), a few days,
different seeds and repeated configurations. Then runs ``v2gsim report DIR`` in a child process
and prints one JSON object:

* ``wall_s`` and ``peak_rss_mb`` of the report process (its own maximum resident set size,
  ``wait4``); targets: under 30 s and under 1,024 MB;
* ``pngs``, ``png_max_width_px``, ``png_max_height_px``, ``png_total_kb``: the figures it wrote;
* ``report_html`` (written or not) and ``report_html_kb``; ``exit_code``; ``build_s`` (the runs).

Usage: ``python analysis/benchmarks/bench_report.py [--days 2] [--count 30] [--dir DIR]``
(``--dir``: build the runs there, or reuse the runs already there; default a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

#: The runs of the folder: (directory name, scenario, policy or None for the scenario's own,
#: seed, fleet size factor).
RUNS: tuple[tuple[str, str, str | None, int, float], ...] = (
    ("tiny-naive-s1", "tiny", "naive", 1, 1.0),
    ("tiny-naive-s2", "tiny", "naive", 2, 1.0),
    ("tiny-chance-s1", "tiny", "chance", 1, 1.0),
    ("tiny-bilevel-s1", "tiny", "bilevel", 1, 1.0),
    ("tiny-naive-big-s1", "tiny", "naive", 1, 2.0),
    ("default-naive-s1", "default", "naive", 1, 1.0),
    ("default-naive-big-s1", "default", "naive", 1, 2.0),
    ("default-chance-s1", "default", "chance", 1, 1.0),
    ("default-chance-s2", "default", "chance", 2, 1.0),
    ("default-bilevel-s1", "default", "bilevel", 1, 1.0),
    ("default-bilevel-s2", "default", "bilevel", 2, 1.0),
    ("lin2020-s1", "lin2020", None, 1, 1.0),
    ("lin2020-s2", "lin2020", None, 2, 1.0),
    ("energy-s1", "energy", None, 1, 1.0),
    ("energy-s2", "energy", None, 2, 1.0),
    ("tang_mak2024-s1", "tang_mak2024", None, 1, 1.0),
    ("heterogeneous-s1", "heterogeneous", None, 1, 1.0),
    ("ma2025_cbdr-s1", "ma2025_cbdr", None, 1, 1.0),
    ("mao2018_household-s1", "mao2018_household", None, 1, 1.0),
    ("bianchi2023_parking-s1", "bianchi2023_parking", None, 1, 1.0),
)


def build_runs(folder: Path, days: int, count: int) -> None:
    """Write the run directories of :data:`RUNS` into ``folder`` with ``v2gsim run`` (runs already
    there are kept)."""
    from v2gsim.cli import main as v2gsim

    for name, scenario, policy, seed, factor in RUNS:
        if (folder / name / "summary.json").is_file():
            continue
        args = ["run", scenario, "--days", str(days), "--seed", str(seed), "--set",
                f"drivers.count={round(count * factor)}", "--out", str(folder / name), "--quiet",
                "--no-figures"]
        if policy:
            args += ["--set", f"platform.policy={policy}"]
        if v2gsim(args) != 0:
            raise RuntimeError(f"v2gsim {' '.join(args)} failed")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height (px) of a PNG file, from its IHDR chunk."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG file")
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def run_report(folder: Path) -> dict:
    """Run ``v2gsim report folder`` in a child process; its wall time, peak RSS and exit code."""
    exe = Path(sys.executable).with_name("v2gsim")
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-m", "v2gsim.cli"]
    t0 = time.perf_counter()
    proc = subprocess.Popen([*cmd, "report", str(folder)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "exit_code": proc.returncode, "stderr_tail": err.strip().splitlines()[-3:]}


def main(argv: Sequence[str] | None = None) -> dict:
    """Build the folder, report it and print the JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=2, help="days per run")
    p.add_argument("--count", type=int, default=30, help="EVs per run (x2 for the *-big runs)")
    p.add_argument("--dir", type=Path, default=None, help="folder of the runs (default: temporary)")
    p.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)  # the child's job
    args = p.parse_args(argv)
    if args.build_only:
        build_runs(args.dir, args.days, args.count)
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp) / "runs"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--build-only", "--dir", str(folder), "--days",
                        str(args.days), "--count", str(args.count)], check=True,
                       stdout=subprocess.DEVNULL)
        result: dict = {"runs": len(RUNS), "days": args.days, "count": args.count,
                        "build_s": round(time.perf_counter() - t0, 1), **run_report(folder)}
        pngs = sorted((folder / "figures").glob("*.png"))
        sizes = [png_size(f) for f in pngs]
        html = folder / "report.html"
        result.update({
            "pngs": len(pngs),
            "png_max_width_px": max((w for w, _ in sizes), default=0),
            "png_max_height_px": max((h for _, h in sizes), default=0),
            "png_total_kb": round(sum(f.stat().st_size for f in pngs) / 1024, 1),
            "report_html": html.is_file(),
            "report_html_kb": round(html.stat().st_size / 1024, 1) if html.is_file() else 0,
            "targets": {"wall_s": 30, "peak_rss_mb": 1024},
        })
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
