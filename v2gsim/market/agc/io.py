"""Reading PJM RegD 2-s signal files (``pjm_regd_2s_2020-07/regd_2s_*.csv``).

Pure numpy/pandas; the mileage of what is read is :func:`v2gsim.market.agc.mileage.hourly_mileage`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from v2gsim.core.datafiles import DataFileError, numeric_column, read_csv
from v2gsim.market.agc.mileage import SECONDS_PER_HOUR, samples_per

__all__ = ["REGD_COLUMNS", "read_pjm_regd"]

#: Columns a RegD signal file must have.
REGD_COLUMNS = ("time_ept", "regd")
WHAT = "PJM RegD signal file"


def read_pjm_regd(path: str | Path) -> NDArray[np.float64]:
    """Read a PJM RegD 2-s signal CSV (``pjm_regd_2s_2020-07/regd_2s_*.csv``).

    The file must have the columns ``time_ept`` (``YYYY-MM-DD HH:MM:SS``, start of each sample) and
    ``regd`` (normalized signal, per-unit). The timestamps must be equally spaced, start at the top
    of an hour and cover a whole number of hours, so that :func:`hourly_mileage` sees clock hours.
    The file is opened by :func:`v2gsim.core.datafiles.read_csv` (a regular UTF-8 file of at most
    :data:`~v2gsim.core.datafiles.MAX_CSV_BYTES`, every line complete).

    Args:
        path: Path to the CSV file.

    Returns:
        The ``regd`` column as float64, shape ``(n,)`` with ``n`` a multiple of the samples per hour
        (1800 at 2 s).

    Raises:
        DataFileError: Naming the file, when it is not a readable CSV, columns are missing, values
            are missing, non-numeric or outside ``[-1, 1]``, the timestamps are not equally spaced
            from the top of an hour, or the length is not a whole number of hours.
    """
    path = Path(path)
    df = read_csv(path, REGD_COLUMNS, what=WHAT, min_rows=2)
    values = numeric_column(df, "regd", path, low=-1.0, high=1.0, unit="(per-unit)").to_numpy()
    times = pd.to_datetime(df["time_ept"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    if times.isna().any():
        line = int(np.flatnonzero(times.isna().to_numpy())[0]) + 2
        raise DataFileError(path, f"line {line}: 'time_ept' is not a YYYY-MM-DD HH:MM:SS timestamp")
    steps = np.diff(times.to_numpy().astype("datetime64[ms]").astype(np.int64)) / 1000.0
    dt_s = float(steps[0])
    if dt_s <= 0 or not np.all(steps == dt_s):
        raise DataFileError(path, "'time_ept' is not equally spaced and increasing "
                            f"({np.unique(steps).size} different steps)")
    first = times.iloc[0]
    if first.minute != 0 or first.second != 0:
        raise DataFileError(path, "the first sample is not at the top of an hour (line 2)")
    try:
        per_hour = samples_per(SECONDS_PER_HOUR, dt_s, "one hour")
    except ValueError:
        raise DataFileError(path, f"a step of {dt_s:g} s does not divide an hour") from None
    if len(values) % per_hour:
        raise DataFileError(
            path, f"{len(values)} samples of {dt_s:g} s is not a whole number of hours "
            f"({per_hour} samples per hour)")
    return values
