"""The sweep directory on disk: one writer at a time, writable before anything runs, intact parts.

* :class:`SweepLock` - an exclusive ``flock`` on ``DIR/.sweep.lock`` for the whole sweep: a second
  sweep into the same directory is refused with the first one's pid. The kernel releases the lock
  when the holder dies (even by SIGKILL), so a killed sweep never leaves a stale lock behind.
* :func:`check_writable` - the directory is created and a probe file written and removed before any
  task runs, so a read-only location fails at once with a clear message.
* :func:`write_part` / :func:`intact` - every finished task folder carries ``MANIFEST.json`` with
  the SHA-256 and size of each of its files; on resume a part whose files are missing, truncated or
  changed is detected, removed and its task run again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MANIFEST",
    "SweepDirectoryError",
    "SweepLock",
    "check_writable",
    "finished_parts",
    "intact",
    "write_part",
]

MANIFEST = "MANIFEST.json"


class SweepDirectoryError(OSError):
    """The sweep directory cannot be used (read-only, or another sweep is writing to it)."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_part(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Write ``tables`` as ``<name>.parquet`` into ``folder`` and their manifest last."""
    entries = {}
    for name, df in tables.items():
        path = folder / f"{name}.parquet"
        df.to_parquet(path, index=False)
        entries[path.name] = {"sha256": _sha256(path), "bytes": path.stat().st_size}
    (folder / MANIFEST).write_text(json.dumps(entries, indent=1, sort_keys=True))


def intact(folder: Path) -> bool:
    """Whether a part folder has its manifest and every file it lists, unchanged."""
    try:
        entries = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    for name, meta in entries.items():
        path = folder / name
        try:
            if path.stat().st_size != meta["bytes"] or _sha256(path) != meta["sha256"]:
                return False
        except (OSError, KeyError, TypeError):
            return False
    return bool(entries)


def finished_parts(parts: Path) -> tuple[set[str], list[str]]:
    """Names of the intact part folders under ``parts``, and of the damaged ones (removed).

    Returns:
        ``(intact names, removed names)``; a removed part's task is to be run again.
    """
    good, removed = set(), []
    for p in sorted(parts.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_dir() and intact(p):
            good.add(p.name)
        else:
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            removed.append(p.name)
    return good, removed


def check_writable(out: Path) -> None:
    """Create ``out`` and write and remove a probe file in it.

    Raises:
        SweepDirectoryError: the directory cannot be created or written.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise SweepDirectoryError(f"{out}: the sweep directory is not writable ({exc.strerror or exc}); "
                                  "choose another --out") from None


class SweepLock:
    """Exclusive lock of a sweep directory for the lifetime of one sweep (see the module docstring).

    Raises:
        SweepDirectoryError: on enter, when another process holds the lock.
    """

    def __init__(self, out: Path):
        self.path = Path(out) / ".sweep.lock"
        self._file: IO[str] | None = None

    def __enter__(self) -> SweepLock:
        f = self.path.open("a+")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise SweepDirectoryError(
                f"{self.path.parent}: another sweep ({holder}) is writing to this directory; wait "
                "for it to finish or choose another --out") from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        self._file = f
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
