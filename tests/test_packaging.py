"""A plain (non-editable) install carries the shipped scenarios and runs from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_install_runs_the_default_scenario_from_another_folder(tmp_path):
    wheels, site, work = tmp_path / "wheels", tmp_path / "site", tmp_path / "work"
    work.mkdir()
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(REPO)],
                   check=True, capture_output=True)
    (wheel,) = wheels.glob("v2gsim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"v2gsim/data/ev_models.csv", "v2gsim/data/EV_MODELS.md",
            "v2gsim/scenarios/heterogeneous.toml"} <= names
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True,
                   capture_output=True)
    code = (
        "import sys, v2gsim\n"
        f"assert v2gsim.__file__.startswith({str(site)!r}), v2gsim.__file__\n"
        "from v2gsim.config.catalog import ev_catalog\n"
        "assert ev_catalog()['nissan_leaf_40'].usable_kwh == 39.0\n"
        "from v2gsim.cli import main\n"
        "sys.exit(main(['run', '--days', '2', '--quiet', '--no-figures', '--out', 'run']))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert (work / "run" / "hourly.parquet").is_file() and "2 days, 200 EVs" in out.stdout
