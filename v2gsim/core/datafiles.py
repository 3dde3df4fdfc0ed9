"""The one safe way the package opens a data file (CSV or JSON), and its one error type.

Every reader of a data file (PJM RegD signals, PJM regulation prices, PJM day-ahead LMPs, GME
PUN/MSD, TOU tariff JSON, EV WATTS and ACN-Data sessions) goes through :func:`read_csv` or
:func:`read_json`; a file that cannot be used raises :class:`DataFileError` (or a reader's
subclass of it) and nothing else. What is checked, in this order, so that a bad file is refused
before any expensive work:

1. the path: it must name a **regular file** after symlinks are resolved (a directory, a FIFO, a
   device such as ``/dev/zero``, a socket, a symlink loop are refused without being opened for
   reading; the file is opened non-blocking and checked again on the open descriptor);
2. its **size**: at most :data:`MAX_CSV_BYTES` (256 MiB: a year of 2-s RegD samples is about
   500 MB, so split such a file by month; the largest real file of ``../shared/data`` a reader
   reads is 1.4 MB) or :data:`MAX_JSON_BYTES` (4 MiB; tariffs are a few kB); not empty;
3. its **first bytes**: no NUL byte (a binary file), valid UTF-8 (an optional byte-order mark is
   dropped); a CSV's first line must end within :data:`MAX_HEADER_BYTES` and name the required
   columns, each once; then the whole text is decoded;
4. its **shape**: every CSV line has as many fields as the header (a truncated or shifted line is
   refused with its line number), at least ``min_rows`` data rows; JSON must parse (no ``NaN`` or
   ``Infinity``, bounded nesting);
5. its **values** (by the readers, with :func:`numeric_column`): numbers finite and in range,
   timestamps parseable, hours complete.

Messages name the file and what was expected, never what the file holds (a data path pointing at a
file of secrets must not print them): no header names other than the expected ones, no values.
``str(error)`` is ``PATH: reason``; :meth:`DataFileError.named` adds the scenario field that named
the file (``PATH: market.energy.price_file: reason``), as the validate-time check
(:mod:`v2gsim.specs.datacheck`) reports it.

Standard library and numpy; pandas is imported by :func:`read_csv` and :func:`numeric_column` when
they are called.
"""

from __future__ import annotations

import codecs
import csv
import errno
import io
import json
import math
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MAX_CSV_BYTES",
    "MAX_HEADER_BYTES",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "DataFileError",
    "csv_header",
    "numeric_column",
    "read_bytes",
    "read_csv",
    "read_csv_format",
    "read_json",
]

#: Largest CSV a reader opens (bytes): 256 MiB.
MAX_CSV_BYTES = 256 * 2**20
#: Largest JSON a reader opens (bytes): 4 MiB.
MAX_JSON_BYTES = 4 * 2**20
#: Longest CSV header line (bytes): 64 KiB.
MAX_HEADER_BYTES = 64 * 2**10
#: Deepest JSON nesting accepted (arrays and objects).
MAX_JSON_DEPTH = 64

_HEAD_BYTES = 1 << 16  # what is read and checked before the rest of the file


class DataFileError(ValueError):
    """A data file cannot be used: not a regular file, too large, not UTF-8 text, malformed CSV or
    JSON, missing columns, bad values. ``str(error)`` is ``PATH: reason``, or
    ``PATH: FIELD: reason`` once :meth:`named` gave it the scenario field that named the file.

    Attributes:
        path: the file (as given, not resolved).
        reason: what is wrong with it and what was expected (never the file's contents).
        field: the dotted scenario field that named the file, or None.
    """

    def __init__(self, path: Path | str, reason: str, field: str | None = None):
        self.path = Path(path)
        self.reason = reason
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.field:
            return f"{self.path}: {self.field}: {self.reason}"
        return f"{self.path}: {self.reason}"

    def __reduce__(self) -> tuple[Any, ...]:  # picklable (process pools) with its attributes
        return (type(self), (self.path, self.reason, self.field))

    def named(self, field: str) -> DataFileError:
        """The same error (same type) naming ``field``, the scenario field of the file."""
        return type(self)(self.path, self.reason, field)


# ----------------------------------------------------------------------------- the file itself


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe), not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    return "is not a regular file"


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "no such file"
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop, not a file"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EISDIR:
        return "is a directory, not a file"
    return exc.strerror or type(exc).__name__


def _a(what: str) -> str:
    """``what`` with its indefinite article (``"an ACN-Data session file"``)."""
    return f"{'an' if what[:1].upper() in 'AEIOU' else 'a'} {what}"


def _mib(n: int) -> str:
    return f"{n / 2**20:.3g} MiB"


def read_bytes(path: Path | str, *, max_bytes: int, what: str = "data file",
               error: type[DataFileError] = DataFileError, head: int | None = None) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (steps 1-2 of the module docstring).

    Args:
        path: the file; a symlink is followed to its target.
        max_bytes: size limit (bytes).
        what: what the file should be, for messages (``"PJM RegD signal file"``).
        error: the error type to raise.
        head: read only the first ``head`` bytes (the size is still checked).

    Raises:
        DataFileError: (``error``) missing, not a regular file, unreadable, empty or too large.
    """
    p = Path(path)
    try:
        st = os.stat(p)  # follows symlinks; never opens the file
        if not stat.S_ISREG(st.st_mode):
            raise error(p, f"{_kind(st.st_mode)} ({_a(what)} is expected)")
        if st.st_size > max_bytes:
            raise error(p, f"is {_mib(st.st_size)}; {_a(what)} may be at most {_mib(max_bytes)}")
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())  # the file opened is the file checked
            if not stat.S_ISREG(st.st_mode):
                raise error(p, f"{_kind(st.st_mode)} ({_a(what)} is expected)")
            data = f.read(max_bytes + 1 if head is None else min(head, max_bytes + 1))
    except OSError as exc:
        raise error(p, _os_reason(exc)) from None
    except ValueError as exc:  # a NUL in the path
        raise error(p, f"not a usable path ({exc})") from None
    if not data:
        raise error(p, f"is empty ({_a(what)} is expected)")
    if len(data) > max_bytes:
        raise error(p, f"is larger than {_mib(max_bytes)}, the limit for {_a(what)}")
    return data


def _text(data: bytes, path: Path, what: str, error: type[DataFileError], final: bool) -> str:
    """``data`` decoded as UTF-8 (BOM dropped); NUL bytes or invalid UTF-8 are an error."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise error(path, f"is not UTF-8 text but a binary file (a NUL byte at offset {nul}); a "
                    f"{what} is expected")
    try:
        return codecs.getincrementaldecoder("utf-8-sig")("strict").decode(data, final=final)
    except UnicodeDecodeError as exc:
        raise error(path, f"is not UTF-8 text (an invalid byte at offset {exc.start}); {_a(what)} "
                    "is expected") from None


# ----------------------------------------------------------------------------- CSV


def _header(text: str, complete: bool, path: Path, what: str,
            error: type[DataFileError]) -> tuple[str, ...]:
    """The column names of the first line of ``text`` (the head of the file)."""
    end = min((i for i in (text.find("\n"), text.find("\r")) if i >= 0), default=-1)
    if end < 0:
        if not complete or len(text.encode()) > MAX_HEADER_BYTES:
            raise error(path, f"the first line is longer than {MAX_HEADER_BYTES // 1024} KiB: not "
                        f"the header of {_a(what)}")
        end = len(text)
    elif end > MAX_HEADER_BYTES:
        raise error(path, f"the first line is longer than {MAX_HEADER_BYTES // 1024} KiB: not the "
                    f"header of {_a(what)}")
    try:
        row = next(csv.reader([text[:end]]), [])
    except csv.Error:
        raise error(path, f"the first line is not a CSV header ({_a(what)} is expected)") from None
    return tuple(row)


def _missing_message(formats: Mapping[str, Sequence[str]], header: Sequence[str], what: str) -> str:
    """What the header lacks (only the expected column names are shown, never the header)."""
    have = set(header)
    if len(formats) == 1:
        (cols,) = formats.values()
        missing = [c for c in cols if c not in have]
        return (f"missing column(s) {missing}; {_a(what)} needs the columns "
                f"{', '.join(repr(c) for c in cols)} in its first line")
    parts = [f"{name} is missing {[c for c in cols if c not in have]}"
             for name, cols in formats.items()]
    return f"unrecognized {what} format; " + "; ".join(parts)


def _check_fields(text: str, n: int, path: Path, error: type[DataFileError]) -> int:
    """Data rows of ``text``; every non-blank line must have ``n`` fields."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = 0
    try:
        next(reader, None)  # the header
        for row in reader:
            if not row:
                continue  # a blank line (pandas skips them too)
            if len(row) != n:
                raise error(path, f"line {reader.line_num} has {len(row)} field(s), the header "
                            f"{n}: a truncated or malformed line")
            rows += 1
    except csv.Error as exc:
        msg = str(exc)
        why = ("a field longer than the CSV field limit" if "field larger" in msg
               else "malformed CSV (an unterminated quote or a NUL)")
        raise error(path, f"line {reader.line_num}: {why}") from None
    return rows


def csv_header(path: Path | str, *, what: str = "CSV file",
               error: type[DataFileError] = DataFileError,
               max_bytes: int = MAX_CSV_BYTES) -> tuple[str, ...]:
    """The column names of a CSV's first line, reading only the file's first 64 KiB (steps 1-3
    of the module docstring: regular file, size, no NUL, UTF-8, a header line).

    Raises:
        DataFileError: (``error``) any of these checks.
    """
    p = Path(path)
    head = read_bytes(p, max_bytes=max_bytes, what=what, error=error, head=_HEAD_BYTES)
    complete = len(head) < _HEAD_BYTES
    return _header(_text(head, p, what, error, final=complete), complete, p, what, error)


def read_csv_format(path: Path | str, formats: Mapping[str, Sequence[str]], *,
                    optional: Sequence[str] = (), dtype: Any = None, what: str = "CSV file",
                    error: type[DataFileError] = DataFileError, min_rows: int = 1,
                    max_bytes: int = MAX_CSV_BYTES) -> tuple[str, pd.DataFrame]:
    """Read a CSV of one of several known formats (column sets), safely (module docstring).

    Args:
        path: the CSV.
        formats: format name -> its required columns; the first whose columns are all in the
            header is used.
        optional: further columns kept when present.
        dtype: passed to :func:`pandas.read_csv` (e.g. ``str``, ``{"date": str}``).
        what: what the file should be, for messages.
        error: the error type to raise.
        min_rows: fewest data rows accepted.
        max_bytes: size limit.

    Returns:
        The format's name and the frame of its required and the present optional columns (in
        header order), one row per data line, indexed 0..n-1.

    Raises:
        DataFileError: (``error``) any of the checks of the module docstring.
    """
    import pandas as pd

    p = Path(path)
    head = read_bytes(p, max_bytes=max_bytes, what=what, error=error, head=_HEAD_BYTES)
    complete = len(head) < _HEAD_BYTES
    header = _header(_text(head, p, what, error, final=complete), complete, p, what, error)
    name = next((k for k, cols in formats.items() if set(cols) <= set(header)), None)
    if name is None:
        raise error(p, _missing_message(formats, header, what))
    twice = sorted({c for c in formats[name] if header.count(c) > 1})
    if twice:
        raise error(p, f"column(s) {twice} appear more than once in the header")
    data = head if complete else read_bytes(p, max_bytes=max_bytes, what=what, error=error)
    text = _text(data, p, what, error, final=True)
    rows = _check_fields(text, len(header), p, error)
    if rows < min_rows:
        raise error(p, f"has {rows} data row(s) under its header; {_a(what)} needs at least "
                    f"{min_rows}")
    keep = set(formats[name]) | {c for c in optional if header.count(c) == 1}
    try:
        frame = pd.read_csv(io.StringIO(text), usecols=[c for c in header if c in keep],
                            dtype=dtype, index_col=False)
    except (ValueError, OverflowError, pd.errors.ParserError) as exc:  # EmptyDataError too
        raise error(p, f"malformed CSV ({type(exc).__name__}); {_a(what)} is expected") from None
    return name, frame


def read_csv(path: Path | str, required: Sequence[str], *, optional: Sequence[str] = (),
             dtype: Any = None, what: str = "CSV file", error: type[DataFileError] = DataFileError,
             min_rows: int = 1, max_bytes: int = MAX_CSV_BYTES) -> pd.DataFrame:
    """Read a CSV that must have the ``required`` columns (:func:`read_csv_format`, one format)."""
    return read_csv_format(path, {what: required}, optional=optional, dtype=dtype, what=what,
                           error=error, min_rows=min_rows, max_bytes=max_bytes)[1]


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def numeric_column(frame: pd.DataFrame, column: str, path: Path | str, *,
                   low: float = -math.inf, high: float = math.inf, missing_ok: bool = False,
                   integer: bool = False, unit: str = "",
                   error: type[DataFileError] = DataFileError) -> pd.Series:
    """Column ``column`` of a frame of :func:`read_csv` as float64, checked.

    Every present value must be a finite number in ``[low, high]`` (and a whole number with
    ``integer``); missing values (empty fields) are NaN with ``missing_ok``, an error otherwise.
    The first bad value is named by its line (data row + 2), never shown.

    Raises:
        DataFileError: (``error``) a value that is not a number, missing, not finite, or out of range.
    """
    import pandas as pd

    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").astype(np.float64)
    x = values.to_numpy()
    present = raw.notna().to_numpy()
    where = f"column {column!r}"
    lines = np.asarray(frame.index, dtype=np.int64) + 2
    for bad, why in (
        (np.isnan(x) & present, "is not a number"),
        (np.zeros_like(present) if missing_ok else ~present, "is missing (empty or NA)"),
        (np.isinf(x), "is not finite"),
        ((x < low) | (x > high), f"is outside [{low:g}, {high:g}]{f' {unit}' if unit else ''}"),
        ((present & (x != np.round(x))) if integer else np.zeros_like(present),
         "is not a whole number"),
    ):
        if bad.any():
            raise error(path, f"line {lines[_first(bad)]}: {where} {why} ({int(bad.sum())} such "
                        "value(s))")
    return values


# ----------------------------------------------------------------------------- JSON


def _depth(doc: Any) -> int:
    """Nesting depth of a parsed JSON document (iterative)."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, d)
            if d <= MAX_JSON_DEPTH:
                stack.extend((v, d + 1) for v in (node.values() if isinstance(node, dict) else node))
    return deepest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_json(path: Path | str, *, what: str = "JSON file",
              error: type[DataFileError] = DataFileError, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Parse a JSON file safely (module docstring): regular file, size cap, UTF-8, valid JSON
    without ``NaN``/``Infinity``, nesting at most :data:`MAX_JSON_DEPTH`.

    Raises:
        DataFileError: (``error``) any of these checks.
    """
    p = Path(path)
    text = _text(read_bytes(p, max_bytes=max_bytes, what=what, error=error), p, what, error,
                 final=True)
    try:
        doc = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise error(p, f"is not valid JSON ({exc.msg}: line {exc.lineno}, column {exc.colno}); "
                    f"{_a(what)} is expected") from None
    except (ValueError, RecursionError):  # NaN or Infinity; nesting beyond the parser's stack
        raise error(p, f"is not valid JSON for {_a(what)} (NaN or Infinity, or nested too "
                    "deeply)") from None
    if _depth(doc) > MAX_JSON_DEPTH:
        raise error(p, f"nests deeper than {MAX_JSON_DEPTH} levels ({_a(what)} is expected)")
    return doc
