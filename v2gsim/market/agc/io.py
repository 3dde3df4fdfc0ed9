"""Reading PJM RegD 2-s signal files (``pjm_regd_2s_2020-07/regd_2s_*.csv``).

Pure numpy/pandas; the mileage of what is read is :func:`v2gsim.market.agc.mileage.hourly_mileage`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from v2gsim.market.agc.mileage import SECONDS_PER_HOUR, samples_per

__all__ = ["read_pjm_regd"]


def read_pjm_regd(path: str | Path) -> NDArray[np.float64]:
    """Read a PJM RegD 2-s signal CSV (``pjm_regd_2s_2020-07/regd_2s_*.csv``).

    The file must have the columns ``time_ept`` (``YYYY-MM-DD HH:MM:SS``, start of each sample) and
    ``regd`` (normalized signal, per-unit). The timestamps must be equally spaced, start at the top
    of an hour and cover a whole number of hours, so that :func:`hourly_mileage` sees clock hours.

    Args:
        path: Path to the CSV file.

    Returns:
        The ``regd`` column as float64, shape ``(n,)`` with ``n`` a multiple of the samples per hour
        (1800 at 2 s).

    Raises:
        ValueError: Naming the file, when columns are missing, values are missing, non-numeric or
            outside ``[-1, 1]``, the timestamps are not equally spaced from the top of an hour, or
            the length is not a whole number of hours.
    """
    path = Path(path)
    df = pd.read_csv(path)
    missing = [c for c in ("time_ept", "regd") if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {missing}; expected 'time_ept' and 'regd', "
            f"found {list(df.columns)}"
        )
    if len(df) < 2:
        raise ValueError(f"{path}: needs at least two samples, found {len(df)}")
    values = pd.to_numeric(df["regd"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"{path}: {int(bad.sum())} missing or non-numeric 'regd' value(s)")
    if values.min() < -1.0 or values.max() > 1.0:
        raise ValueError(
            f"{path}: 'regd' values outside [-1, 1] "
            f"(min {values.min():.6g}, max {values.max():.6g})"
        )
    times = pd.to_datetime(df["time_ept"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    if times.isna().any():
        raise ValueError(f"{path}: unparseable 'time_ept' values (expected YYYY-MM-DD HH:MM:SS)")
    steps = np.diff(times.to_numpy().astype("datetime64[ms]").astype(np.int64)) / 1000.0
    dt_s = float(steps[0])
    if dt_s <= 0 or not np.all(steps == dt_s):
        raise ValueError(f"{path}: 'time_ept' is not equally spaced (steps {np.unique(steps)} s)")
    first = times.iloc[0]
    if first.minute != 0 or first.second != 0:
        raise ValueError(f"{path}: the first sample ({first}) is not at the top of an hour")
    per_hour = samples_per(SECONDS_PER_HOUR, dt_s, f"{path}: one hour")
    if len(values) % per_hour:
        raise ValueError(
            f"{path}: {len(values)} samples of {dt_s:g} s is not a whole number of hours "
            f"({per_hour} samples per hour)"
        )
    return values
