"""A user without a writable HOME and a read-only install can import and run (issue 30 item 9).

numba's ``cache=True`` needs a writable ``__pycache__`` beside the module, ``NUMBA_CACHE_DIR`` or
the user's cache directory under ``HOME``; with none it raised "cannot cache function ..." at
import. The kernels now compile without a cache then, with a one-line notice
(:func:`v2gsim.core.jit.njit_cached`).

The test copies the package and makes every ``__pycache__`` of the copy a regular file (a directory
nothing can be written into, even for root, who ignores ``chmod``), points ``HOME`` at
``/dev/null`` and ``NUMBA_CACHE_DIR`` below a regular file, and runs ``tiny`` for a day in a
subprocess.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import v2gsim
from v2gsim.core.jit import CACHE_NOTICE

PACKAGE = Path(v2gsim.__file__).resolve().parent


def _unwritable_copy(tmp_path: Path) -> Path:
    root = tmp_path / "install"
    shutil.copytree(PACKAGE, root / "v2gsim", symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc"))
    for d in [p for p in (root / "v2gsim").rglob("*") if p.is_dir()] + [root / "v2gsim"]:
        (d / "__pycache__").write_text("not a directory\n")
    if os.geteuid() != 0:  # a plain user: read-only as well
        for p in sorted(root.rglob("*"), reverse=True):
            p.chmod(p.stat().st_mode & ~0o222)
    return root


def test_import_and_first_run_without_any_writable_cache(tmp_path):
    root = _unwritable_copy(tmp_path)
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "PYTHONPATH", "HOME")}
    env.update(HOME="/dev/null", NUMBA_CACHE_DIR=str(blocker / "numba"), PYTHONPATH=str(root),
               PYTHONDONTWRITEBYTECODE="1", MPLCONFIGDIR=str(tmp_path / "mpl"))
    code = ("import v2gsim, sys; assert v2gsim.__file__.startswith(sys.argv[1]), v2gsim.__file__\n"
            "import v2gsim.behavior.compiled, v2gsim.optimize.bilevel.follower_kernel\n"
            "import v2gsim.optimize.bilevel.hour_kernel\n"
            "from v2gsim.cli import main\n"
            "sys.exit(main(['run', 'tiny', '--days', '1', '--quiet', '--out', sys.argv[2]]))\n")
    out = subprocess.run([sys.executable, "-c", code, str(root), str(tmp_path / "run")], env=env,
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stderr.count(CACHE_NOTICE) == 1
    assert (tmp_path / "run" / "daily.parquet").is_file()
    assert not list((root / "v2gsim").rglob("*.nbi"))
    if os.geteuid() != 0:
        for p in root.rglob("*"):
            p.chmod(p.stat().st_mode | 0o200)
