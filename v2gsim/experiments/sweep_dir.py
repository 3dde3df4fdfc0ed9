"""Output directories on disk: written into only when v2gsim created them, cleaned only of what
v2gsim wrote; one writer per sweep; intact parts; result files read safely.

* **The guard** (:func:`claim`, used by ``run``, ``sweep``, ``compare`` and ``report``): a directory
  v2gsim creates gets the marker ``.v2gsim-output.json`` (its ``kind`` - run, sweep, compare, or runs:
  a folder of result directories -, the ``version`` that made it, the ``files`` it wrote). An existing
  directory without the marker is written into only when empty; the filesystem root, the home
  directory and the folders above it never; a marked directory of another kind is refused. Directories
  of earlier versions (no marker) are recognized by their own files, then marked: a run directory
  (``config.json`` and only run files), a sweep (a ``sweep.json`` describing one,
  and ``parts/``), a comparison (a sweep with ``compare.json``, or over ``platform.policy`` only), a
  folder holding only such directories and report files.
* **What v2gsim wrote**: the marker's ``files`` (every file outside ``parts/`` and ``failed/``,
  recorded *before* it is written); a part folder ``parts/p<point>_r<replication>`` holding only part
  files; a failure record ``failed/<task>.json`` naming its task. ``--force``
  (:func:`remove_outputs`) removes exactly these; any other ("foreign") file is left and reported,
  never deleted - also not as a "damaged part".
* :class:`SweepLock`: an exclusive ``flock`` on ``DIR/.sweep.lock`` for a whole sweep; a second sweep
  into the directory is refused with the holder's pid; the kernel releases it when the holder dies.
* :func:`check_writable`: a probe file written and removed before any task runs.
* :func:`write_part` / :func:`intact`: every part carries ``MANIFEST.json`` (SHA-256 and size of its
  files); on resume a part missing, truncated or changed is removed and its task run again.
* :func:`read_json`: result files are read only when regular files under 64 MB; a damaged one is
  one line naming the file (:class:`ResultFileError`), never a traceback.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MANIFEST", "MARKER", "MAX_TASKS", "OutputDirectoryError", "ResultFileError",
           "SweepDirectoryError", "SweepLock", "atomic_write", "check_writable", "claim",
           "finished_parts", "intact", "output_kind", "read_json", "record", "remove_outputs",
           "write_part"]

MANIFEST = "MANIFEST.json"
#: The marker of a directory v2gsim created (see the module docstring).
MARKER = ".v2gsim-output.json"
#: The kinds of output directory.
KINDS = ("run", "sweep", "compare", "runs")
#: The files of a part folder; of a run directory (besides ``figures/``); of a report.
PART_FILES = frozenset({"hourly.parquet", "daily.parquet", "summary.parquet", MANIFEST})
RUN_FILES = frozenset({"config.json", "hourly.parquet", "daily.parquet", "fleet.parquet", "soc.parquet",
                       "slots.parquet", "summary.json", "report.html"})
REPORT_FILES = ("report.csv", "report.parquet", "report.html")
#: v2gsim's bookkeeping files: a folder holding only these counts as empty.
OWN_HIDDEN = (MARKER, ".sweep.lock")
#: At most this many tasks (points x replications) in one sweep; bytes of a JSON result file.
MAX_TASKS = 1_000_000
MAX_JSON_BYTES = 64 << 20
TASK_NAME = re.compile(r"p(\d{4,})_r(\d{4,})")


class OutputDirectoryError(OSError):
    """The output directory cannot be written into (not v2gsim's, the root or home, read-only)."""


class SweepDirectoryError(OutputDirectoryError):
    """The sweep directory cannot be used (read-only, or another sweep is writing to it)."""


class ResultFileError(OSError):
    """A result file (``summary.json``, ``sweep.json``, ``failed/*.json``, a part) is damaged."""


def atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp)`` on a temporary file in ``path``'s folder, then rename it to ``path``.

    The file ends with the permissions a plain ``open`` would give it (``0o666`` less the umask).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    mask = os.umask(0)
    os.umask(mask)
    try:
        writer(Path(tmp))
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_json(path: Path, keys: Iterable[str] = ()) -> Any:
    """The JSON value of the regular file ``path`` (an object holding ``keys`` when given); a FIFO
    or device is never read.

    Raises:
        ResultFileError: missing, unreadable, not a regular file, over :data:`MAX_JSON_BYTES`, not
            UTF-8 JSON, or without ``keys`` - one line naming the file (never its contents).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ResultFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ResultFileError(f"{path}: not a regular file")
        if info.st_size > MAX_JSON_BYTES:
            raise ResultFileError(f"{path}: {info.st_size} bytes, more than a result file has "
                                  f"({MAX_JSON_BYTES} at most)")
        chunks, size = [], 0
        while size <= MAX_JSON_BYTES and (chunk := os.read(fd, 1 << 20)):
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    try:
        value = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ResultFileError(f"{path}: damaged (not UTF-8 text)") from None
    except ValueError as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise ResultFileError(f"{path}: damaged (not valid JSON{where})") from None
    wanted = list(keys)
    if wanted and not (isinstance(value, dict) and all(k in value for k in wanted)):
        raise ResultFileError(f"{path}: damaged (expected a JSON object with {', '.join(wanted)})")
    return value


# ----------------------------------------------------------------------------- the guard


def marker(path: Path) -> dict[str, Any] | None:
    """The marker of directory ``path`` (None when it has none; ResultFileError when damaged)."""
    file = Path(path) / MARKER
    if not file.exists() and not file.is_symlink():
        return None
    m = read_json(file, ("kind",))
    if m["kind"] not in KINDS or not isinstance(m.get("files", []), list):
        raise ResultFileError(f"{file}: damaged (kind must be one of {', '.join(KINDS)})")
    return m


def _write_marker(path: Path, m: dict[str, Any]) -> None:
    atomic_write(path / MARKER, lambda p: p.write_text(json.dumps(m, indent=1, sort_keys=True)))


def _new_marker(kind: str, files: Iterable[str] = ()) -> dict[str, Any]:
    from v2gsim import __version__

    return {"kind": kind, "version": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "files": sorted(set(files))}


def _forbidden(path: Path) -> str:
    """Why ``path`` may never be an output directory ('' when it may)."""
    real = path.resolve()
    if real == Path(real.anchor):
        return "is the filesystem root"
    try:
        home = Path.home().resolve()
    except (RuntimeError, KeyError, OSError):  # no home directory known
        return ""
    if real == home:
        return "is your home directory"
    if real in home.parents:
        return "holds your home directory"
    return ""


def _entries(path: Path) -> list[str]:
    """Names in ``path`` other than v2gsim's bookkeeping files and probes."""
    return sorted(e.name for e in path.iterdir()
                  if e.name not in OWN_HIDDEN and not e.name.startswith(".probe-"))


def _sweep_meta(path: Path) -> dict[str, Any] | None:
    """The ``sweep.json`` of ``path`` if it describes a sweep, else None."""
    try:
        meta = read_json(path / "sweep.json", ("base", "grid", "replications"))
    except ResultFileError:
        return None
    return meta if isinstance(meta["grid"], dict) else None


def _legacy_kind(path: Path, folders: bool = True) -> str | None:
    """The kind of an unmarked directory written by an earlier version (module docstring); a folder
    of result directories (``runs``) only when ``folders`` (its entries are checked one level deep)."""
    names = _entries(path)
    if (path / "parts").is_dir() and _sweep_meta(path) is not None:
        return "compare" if (path / "compare.json").is_file() else "sweep"
    if "config.json" in names and all(
            n in RUN_FILES or n == "figures" or n.startswith(".") for n in names):
        return "run"
    subdirs = [n for n in names if not n.startswith(".") and n not in (*REPORT_FILES, "figures")]
    if folders and subdirs and all(_real_dir(path / n) and _child_kind(path / n) for n in subdirs):
        return "runs"
    return None


def _child_kind(path: Path) -> bool:
    """Whether ``path`` is a run, sweep or compare directory (marked, or of an earlier version)."""
    try:
        m = marker(path)
    except ResultFileError:
        return False
    kind = m["kind"] if m is not None else _legacy_kind(path, folders=False)
    return kind in ("run", "sweep", "compare")


def output_kind(path: str | Path) -> str | None:
    """The kind of output directory ``path`` is: its marker's, or recognized by its files; None when
    it is none or does not exist (ResultFileError when its marker is damaged)."""
    p = Path(path)
    if not p.is_dir():
        return None
    m = marker(p)
    return m["kind"] if m is not None else _legacy_kind(p)


def _legacy_files(path: Path, kind: str) -> list[str]:
    """The files an earlier version wrote into the unmarked directory ``path`` of ``kind``."""
    figures = {"run": ["*.png"], "runs": ["report_*.png"]}.get(kind, ["report_*.png", "compare_*.png"])
    names = [f"figures/{f.name}" for pattern in figures for f in (path / "figures").glob(pattern)]
    fixed = {"run": RUN_FILES, "runs": REPORT_FILES}.get(
        kind, (*REPORT_FILES, "sweep.json", "compare.json", "comparison.csv", "comparison.json"))
    names += [n for n in fixed if (path / n).is_file()]
    if kind == "compare":
        names += [f.relative_to(path).as_posix() for pattern in ("summary.csv", "daily.parquet",
                  "hourly.parquet") for f in path.glob(f"tables/*/{pattern}")]
    return names


def claim(path: str | Path, kind: str, *,
          error: type[OutputDirectoryError] = OutputDirectoryError) -> Path:
    """Make ``path`` an output directory of ``kind`` for writing and return it (``~`` expanded), or
    refuse (module docstring): a missing one is created with the marker; an empty one, or one an
    earlier version wrote, is marked; a marked one of the same kind is accepted.

    Raises:
        OutputDirectoryError: (of class ``error``) the root, the home directory or a folder above it;
            a file; a folder with files and no marker; a marked folder of another kind; read-only.
    """
    p = Path(os.path.expanduser(os.fspath(path)))
    why = _forbidden(p) if not p.parts or p.parts[0][:1] != "~" else "names an unknown user's home"
    if why:
        raise error(f"{path}: {why}; v2gsim writes only into a new or empty folder or one it "
                    "created: choose one for --out")
    try:
        if not p.exists() and not p.is_symlink():
            p.mkdir(parents=True)
            _write_marker(p, _new_marker(kind))
            return p
    except FileExistsError:
        pass  # created meanwhile (another sweep): checked below
    except OSError as exc:
        raise error(f"{path}: the output directory is not writable ({exc.strerror or exc}); "
                    "choose another --out") from None
    if not p.is_dir():
        raise error(f"{path}: is a file, not a directory; choose another --out")
    m = marker(p)
    if m is not None:
        if m["kind"] != kind:
            raise error(f"{path}: holds a v2gsim {m['kind']} directory, not a {kind} directory; "
                        "choose another --out")
        return p
    names = _entries(p)
    legacy = _legacy_kind(p) if names else None
    if names and legacy != kind and (kind, legacy) != ("compare", "sweep"):  # compare.json comes last
        shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
        raise error(f"{path}: is not a v2gsim {kind} directory (it holds {shown}; no {MARKER}); "
                    "v2gsim writes only into a new or empty folder or one it created: choose "
                    "another --out")
    try:
        _write_marker(p, _new_marker(kind, _legacy_files(p, kind) if names else ()))
    except OSError as exc:
        raise error(f"{path}: the output directory is not writable ({exc.strerror or exc}); "
                    "choose another --out") from None
    return p


def record(path: Path, files: Iterable[str | Path]) -> None:
    """Add ``files`` (paths below ``path``, or relative to it) to the marker's list of files v2gsim
    wrote; call it *before* writing them."""
    path = Path(path)
    m = marker(path)
    if m is None:
        raise OutputDirectoryError(f"{path}: has no {MARKER}; claim it first")
    names = {Path(f).relative_to(path).as_posix() if Path(f).is_absolute() else Path(f).as_posix()
             for f in files}
    old = set(m.get("files", []))
    if not names <= old:
        _write_marker(path, {**m, "files": sorted(old | names)})


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False


def _below(path: Path, name: str) -> Path | None:
    """``path / name`` when ``name`` is relative, has no ``..`` and every folder on the way is a
    real folder (not a link), else None: a marker's file list never reaches outside ``path``."""
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        return None
    folder = path
    for part in rel.parts[:-1]:
        folder = folder / part
        if not _real_dir(folder):
            return None
    return path / rel


def _only_part_files(folder: Path) -> bool:
    """Whether ``folder`` (not a link) holds nothing but part files."""
    return _real_dir(folder) and all(e.name in PART_FILES and _regular(e) for e in folder.iterdir())


def _is_failure_record(file: Path) -> bool:
    if not (TASK_NAME.fullmatch(file.stem) and file.suffix == ".json" and _regular(file)):
        return False
    try:
        return read_json(file, ("task",))["task"] == file.stem
    except ResultFileError:
        return False


def remove_outputs(path: Path) -> list[str]:
    """Remove what v2gsim wrote into the marked directory ``path`` (the marker's files and their
    temporary files, the parts, the failure records, then the folders this emptied); return the
    foreign entries of ``parts/`` and ``failed/``, left in place."""
    m = marker(path) or {}
    for name in m.get("files", []):
        f = _below(path, name)
        if f is None:
            continue
        if _regular(f):
            f.unlink()
        for tmp in f.parent.glob(f".{f.name}.*"):
            if _regular(tmp):
                tmp.unlink()
    foreign: list[str] = []
    for folder in ("parts", "failed"):
        if not _real_dir(path / folder):
            continue
        for e in sorted((path / folder).iterdir()):
            ours = (_only_part_files(e) and (TASK_NAME.fullmatch(e.name) or e.name.startswith(".tmp-"))
                    if folder == "parts" else _is_failure_record(e))
            if ours:
                shutil.rmtree(e) if folder == "parts" else e.unlink()
            else:
                foreign.append(f"{folder}/{e.name}")
    folders = {a.as_posix() for n in m.get("files", []) if _below(path, n) for a in Path(n).parents}
    for name in sorted(folders | {"failed"}, key=len, reverse=True):
        folder = path / name
        if name != "." and _real_dir(folder) and not any(folder.iterdir()):
            folder.rmdir()
    if m:
        _write_marker(path, {**m, "files": []})
    return foreign


# ----------------------------------------------------------------------------- parts


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
        entries = read_json(folder / MANIFEST)
    except ResultFileError:
        return False
    if not isinstance(entries, dict):
        return False
    for name, meta in entries.items():
        path = folder / name
        try:
            if not _regular(path) or path.stat().st_size != meta["bytes"] or _sha256(path) != meta["sha256"]:
                return False
        except (OSError, KeyError, TypeError):
            return False
    return bool(entries)


class Parts(NamedTuple):
    """What :func:`finished_parts` found under ``parts/``."""

    good: set[str]
    repaired: list[str]
    foreign: list[str]


def finished_parts(parts: Path) -> Parts:
    """``(intact, removed, foreign)`` names under ``parts``: damaged parts holding only part files
    (and leftover temporary folders) are removed and their tasks are to be run again; a foreign
    entry (a file, another name, a part folder with other files) is left in place."""
    good, removed, foreign = set(), [], []
    for p in sorted(parts.iterdir()):
        if p.name.startswith(".tmp-") and _only_part_files(p):
            shutil.rmtree(p)
        elif p.name.startswith("."):
            continue
        elif TASK_NAME.fullmatch(p.name) and _real_dir(p) and intact(p):
            good.add(p.name)
        elif TASK_NAME.fullmatch(p.name) and _only_part_files(p):
            shutil.rmtree(p)
            removed.append(p.name)
        else:
            foreign.append(p.name)
    return Parts(good, removed, foreign)


# ----------------------------------------------------------------------------- one writer


def check_writable(out: Path) -> None:
    """Create ``out``, write and remove a probe file in it (SweepDirectoryError when it cannot)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise SweepDirectoryError(f"{out}: the sweep directory is not writable ({exc.strerror or exc}); "
                                  "choose another --out") from None


class SweepLock:
    """Exclusive lock of a sweep directory for one sweep (SweepDirectoryError on enter when another
    process holds it)."""

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
