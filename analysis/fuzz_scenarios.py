"""Fuzz the shipped scenarios through the CLI: ``validate``, then a 1-day run of every valid mutation.

Each case is a shipped scenario (``scenarios/*.toml``, merged over its ``extends`` with its data
paths made absolute) changed by one to three random mutations - a key deleted, renamed or inserted,
a value swapped for another type, for NaN, inf, a huge, zero, negative or empty value, a unicode or
path-like string, an hourly list made shorter or longer, an enumerated field set to another allowed
value - or one of the file-level cases of issues 16/18 (``extends`` to itself, a cycle, a missing
file, a directory or a binary file; ``--set`` with a malformed value). The case is written as TOML
and passed to ``v2gsim.cli.main(["validate", FILE])``; when that prints OK, to
``main(["run", FILE, "--days", "1", ...])`` with the fleet capped at :data:`RUN_DRIVERS` EVs.

A case passes when no exception escapes ``main`` (any exit status 0, 1 or 2 with a message is
fine) and every line of an exit-2 message reads ``FILE: dotted.field: message``. Cases run in worker
processes with a per-case timeout; a case that exceeds it is a hang (its worker is replaced).

Usage::

    python analysis/fuzz_scenarios.py --cases 1000 --seed 0 --workers 2 --timeout 180

Prints one JSON object: ``cases``, ``valid``, ``rejected``, ``run_ok``, ``run_failed_cleanly``,
``data_rejected_at_run`` (data-file cases whose file validates - it exists and is not empty - but
cannot be read: the run exits 2 naming the field), ``valid_but_run_rejected`` (any other case
that validated but whose run exited 2: validation missed something),
``tracebacks`` and ``hangs`` (both must be 0), ``unnamed_messages`` (exit-2 lines without a field,
must be 0) among the ``exit2_lines_checked``, ``by_operator``, ``wall_s`` and examples of every
failure. The exit status is 1 when a traceback, a hang or an unnamed message occurred.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import math
import multiprocessing as mp
import os
import random
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Protocol

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"

#: Fleet size a valid case is run with when it asks for more EVs (a 1-day run of a small fleet).
RUN_DRIVERS = 100

#: One line of an exit-2 message: ``FILE: dotted.field: message``. The field is a dotted path of
#: words with ``[k]`` indices (``network.places[0].utility``) and quoted keys that are not words
#: (``drivers['a b']``), or a marker in parentheses for a problem of the whole file (``(toml)``
#: syntax, ``(file)`` missing or unreadable, ``(--set)`` an override without ``=``).
_INDEX = r"\[(?:\d+|'[^']*'|\"[^\"]*\")\]"
MESSAGE_LINE = re.compile(
    rf"^(?P<file>.+?): (?P<field>\([a-z-]+\)|(?:[\w-]+|{_INDEX})(?:\.[\w-]+|{_INDEX})*): "
    r"(?P<msg>.+)$"
)

#: Enumerated fields and the values they allow (the mutation "enum" sets one to another value).
ENUMS: dict[str, tuple[Any, ...]] = {
    "policy": ("naive", "chance", "bilevel"),
    "distribution": ("normal", "uniform", "two_point", "extremal"),
    "agc": ("synthetic", "pjm_regd"),
    "prices": ("synthetic", "pjm"),
    "mileage_basis": ("signal", "ratio"),
    "beliefs": ("scenario", "calibrated"),
    "method": ("bnb", "coordinate", "misocp"),
    "objective": ("platform", "community"),
    "bound": (3, 4),
    "k_dev": ("variance", "bernoulli"),
    "plug_source": ("persistency", "history"),
    "capability": ("charger", "headroom"),
    "imitation": ("fermi", "proportional"),
    "enabled": (True, False),
    "soc_guarantee": (True, False),
}

#: Tables a mutation may insert whole (with their defaults filled in by the schema).
INSERT_TABLES: dict[str, dict[str, Any]] = {
    "platform.bilevel": {"method": "coordinate", "time_limit_s": 0.5},
    "platform.chance": {"eta": 0.1, "requirement_days": 3},
    "game": {"enabled": True},
    "drivers.clusters": {},  # replaced by a list below
}

SPECIAL_FLOATS = (math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, 0.0, -0.0, -1.0, 1e-12,
                  0.999999999, 1e9)
SPECIAL_INTS = (0, -1, 1, 2, 2**31, 10**9, 10**18, -(10**18))
SPECIAL_STRINGS = ("", " ", "ü", "🚗⚡", "\u202eevil", "a" * 5000, "../../etc/passwd", "/", "nan",
                   "1e9", "__import__('os').system('touch PWNED')", "{{7*7}}", "\x00", "C:\\x")


class Chooser(Protocol):
    """Source of the fuzzer's choices (a :class:`random.Random`, or hypothesis' ``data.draw``)."""

    def choice(self, seq: Sequence[Any]) -> Any: ...

    def randint(self, a: int, b: int) -> int: ...


# ----------------------------------------------------------------------------- TOML writer


def _toml_string(s: str) -> str:
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_string(str(k))} = {_toml_value(x)}"
                               for k, x in v.items()) + "}"
    if hasattr(v, "isoformat"):
        return v.isoformat()
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def to_toml(doc: dict[str, Any]) -> str:
    """``doc`` as TOML text (every top-level key ``key = value``, tables inline)."""
    return "".join(f"{_toml_string(str(k))} = {_toml_value(v)}\n" for k, v in doc.items())


# ----------------------------------------------------------------------------- base documents


def base_documents() -> dict[str, dict[str, Any]]:
    """The shipped scenarios, each merged over its ``extends``, data paths made absolute."""
    from v2gsim.config import load_raw

    docs = {}
    for path in sorted(SCENARIOS.glob("*.toml")):
        doc = load_raw(path)
        doc.pop("extends", None)
        market = doc.get("market", {})
        if "agc_files" in market:
            market["agc_files"] = [str((path.parent / p).resolve()) for p in market["agc_files"]]
        if market.get("price_file"):
            market["price_file"] = str((path.parent / market["price_file"]).resolve())
        docs[path.stem] = doc
    return docs


# ----------------------------------------------------------------------------- mutations


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys and indices) below ``node``."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((*prefix, k))
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((*prefix, i))
            out.extend(_paths(v, (*prefix, i)))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _random_value(ch: Chooser) -> Any:
    kind = ch.choice(("float", "int", "str", "bool", "list", "table", "date"))
    if kind == "float":
        return ch.choice(SPECIAL_FLOATS)
    if kind == "int":
        return ch.choice(SPECIAL_INTS)
    if kind == "str":
        return ch.choice(SPECIAL_STRINGS)
    if kind == "bool":
        return ch.choice((True, False))
    if kind == "list":
        return ch.choice(([], [1, 2], ["x"], [math.nan] * 24, [1e308] * 24, [[1]], [{}]))
    if kind == "table":
        return ch.choice(({}, {"a": 1}, {"name": "x"}))
    import datetime as dt

    return dt.date(2024, 1, 1)


def _mutate_number(v: float | int, ch: Chooser) -> Any:
    how = ch.choice(("special", "scale", "shift"))
    if how == "special":
        return ch.choice(SPECIAL_INTS if isinstance(v, int) and ch.choice((0, 1)) else SPECIAL_FLOATS)
    if how == "scale":
        f = ch.choice((0, -1, 1e-9, 1e-3, 0.5, 2, 10, 1e3, 1e9))
        return type(v)(v * f) if isinstance(v, int) and float(v * f).is_integer() else v * f
    return v + ch.choice((-1, 1, -1e-9, 1e-9))


def mutate(doc: dict[str, Any], ch: Chooser) -> tuple[dict[str, Any], str]:
    """One random mutation of ``doc`` (a copy); returns it and the operator's name."""
    doc = copy.deepcopy(doc)
    op = ch.choice(("delete", "rename", "insert", "swap_type", "special", "list", "enum",
                    "enum", "enum", "number", "number", "number"))  # the last two keep more valid
    paths = _paths(doc)
    # Keys of tables three times as often as list items (the 24-hour lists would dominate).
    keyed = [p for p in paths if isinstance(p[-1], str)]
    items = [p for p in paths if not isinstance(p[-1], str)]
    path = ch.choice(keyed if not items or ch.randint(0, 3) else items)
    parent, key = _get(doc, path[:-1]), path[-1]
    if op == "delete":
        del parent[key]
    elif op == "rename" and isinstance(parent, dict):
        new = ch.choice((f"{key}_", str(key).upper(), "ü" + str(key), "", "extends", "source"))
        parent[new] = parent.pop(key)
    elif op == "insert":
        where = ch.choice([p for p in [(), *paths] if isinstance(_get(doc, p), dict)])
        target = _get(doc, where)
        name = ch.choice(("colour", "count", "name", "extends", "seed", "dir", "policy",
                          *INSERT_TABLES))
        if name in INSERT_TABLES and where == ():
            section, _, sub = name.partition(".")
            table = doc.setdefault(section, {})
            if isinstance(table, dict):
                table[sub or section] = (
                    [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5,
                                                  "places": [{"name": "home", "sigma": 2.0}]}]
                    if name == "drivers.clusters" else dict(INSERT_TABLES[name]))
        else:
            target[name] = _random_value(ch)
    elif op == "swap_type":
        parent[key] = _random_value(ch)
    elif op == "special":
        parent[key] = ch.choice((*SPECIAL_FLOATS, *SPECIAL_STRINGS[:4], [], {}))
    elif op == "list":
        lists = [p for p in paths if isinstance(_get(doc, p), list)]
        if lists:
            lst = _get(doc, ch.choice(lists))
            how = ch.choice(("drop", "append", "clear", "element"))
            if how == "drop" and lst:
                lst.pop()
            elif how == "append":
                lst.append(copy.deepcopy(lst[-1]) if lst else 1.0)
            elif how == "clear":
                lst.clear()
            elif lst:
                lst[ch.randint(0, len(lst) - 1)] = ch.choice(SPECIAL_FLOATS)
    elif op == "enum":
        enums = [p for p in paths if isinstance(p[-1], str) and p[-1] in ENUMS]
        target_path = ch.choice(enums) if enums else ("platform", "policy")
        table = _get(doc, target_path[:-1]) if enums else doc.setdefault("platform", {})
        if isinstance(table, dict):
            table[target_path[-1]] = ch.choice(ENUMS[target_path[-1]])
    elif op == "number":
        nums = [p for p in paths if isinstance(_get(doc, p), (int, float))
                and not isinstance(_get(doc, p), bool)]
        if nums:
            p = ch.choice(nums)
            _get(doc, p[:-1])[p[-1]] = _mutate_number(_get(doc, p), ch)
    return doc, op


# ----------------------------------------------------------------------------- file-level cases


def file_cases(tmp: Path) -> list[dict[str, Any]]:
    """The ``extends`` and ``--set`` cases of issues 16/18, as case dicts for :func:`run_case`."""
    tiny = SCENARIOS / "tiny.toml"
    (tmp / "self.toml").write_text('extends = "self.toml"\n')
    (tmp / "cyc_a.toml").write_text('extends = "cyc_b.toml"\n')
    (tmp / "cyc_b.toml").write_text('extends = "cyc_a.toml"\n')
    (tmp / "missing.toml").write_text('extends = "/nonexistent/base.toml"\n')
    (tmp / "adir").mkdir(exist_ok=True)
    (tmp / "to_dir.toml").write_text('extends = "adir"\n')
    (tmp / "blob.bin").write_bytes(bytes(range(256)) * 4)
    (tmp / "to_binary.toml").write_text('extends = "blob.bin"\n')
    (tmp / "to_empty.toml").write_text('extends = "empty.toml"\n')
    (tmp / "empty.toml").write_text("")
    (tmp / "nan_set.toml").write_text(f'extends = "{tiny}"\n')
    cases = [{"file": str(tmp / f), "op": f"extends:{f}", "overrides": []}
             for f in ("self.toml", "cyc_a.toml", "missing.toml", "to_dir.toml", "to_binary.toml",
                       "to_empty.toml")]
    for bad in ("drivers.count=[1,", "drivers.count=nan", "days=inf", "network.hours={",
                "market.mean_hourly_mileage=1e308", "drivers.count", "=3", "name=\"../../x\"",
                "network.places=[]", "drivers.count=10000000000", "days=\"many\"",
                "network.places.9.utility=1", "network.places.x.sigma=1", "drivers..count=3",
                "network.places.0.utility=nan", "market.mean_hourly_mileage=0.999999999"):
        cases.append({"file": str(tmp / "nan_set.toml"), "op": f"set:{bad}", "overrides": [bad]})
    return cases + data_cases(tmp)


def data_cases(tmp: Path) -> list[dict[str, Any]]:
    """Scenarios whose data files are unreadable (issue 18): a directory, an empty file, binary,
    not UTF-8, a malformed CSV, wrong columns, too short. ``validate`` catches the first two; the
    others must make the run exit 2 naming the field (op ``data:...``)."""
    files = {
        "dir": None, "empty.csv": b"", "binary.csv": bytes(range(256)) * 8,
        "latin1.csv": "time_ept,regd\n2020-07-16 00:00:00,0.5\u00e9\n".encode("latin-1"),
        "ragged.csv": b'a,b\n1,2\n3,4,5,6\n"unterminated\n',
        "columns.csv": b"x,y\n1,2\n3,4\n",
        "short.csv": b"time_ept,regd\n2020-07-16 00:00:00,0.1\n2020-07-16 00:00:02,0.2\n",
    }
    data = tmp / "data"
    data.mkdir(exist_ok=True)
    cases = []
    for name, content in files.items():
        path = data / name
        if content is None:
            path.mkdir(exist_ok=True)
        else:
            path.write_bytes(content)
        for field, body in (("price", f'prices = "pjm"\nprice_file = "{path}"\n'),
                            ("agc", f'agc = "pjm_regd"\nagc_files = ["{path}"]\n')):
            f = tmp / f"data_{field}_{name.replace('.', '_')}.toml"
            f.write_text(f'extends = "{SCENARIOS / "tiny.toml"}"\n[market]\n{body}')
            cases.append({"file": str(f), "op": f"data:{field}:{name}", "overrides": []})
    return cases


def random_cases(n: int, seed: int, tmp: Path, docs: dict[str, dict[str, Any]]) -> list[dict]:
    """``n`` mutated scenarios written under ``tmp`` (deterministic for a seed)."""
    rng = random.Random(seed)
    names = sorted(docs)
    out = []
    for i in range(n):
        base = rng.choice(names)
        doc, ops = docs[base], []
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            doc, op = mutate(doc, rng)
            ops.append(op)
        path = tmp / f"case{i:05d}.toml"
        path.write_text(to_toml(doc), encoding="utf-8")
        out.append({"file": str(path), "op": "+".join(ops), "base": base, "overrides": []})
    return out


# ----------------------------------------------------------------------------- one case


def _call(argv: list[str]) -> dict[str, Any]:
    """``cli.main(argv)`` with its output captured; an escaping exception is recorded."""
    from v2gsim.cli import main

    out, err = io.StringIO(), io.StringIO()
    rec: dict[str, Any] = {"argv": argv}
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rec["rc"] = main(argv)
        except SystemExit as exc:  # argparse usage errors
            rec["rc"] = exc.code if isinstance(exc.code, int) else 2
        except BaseException as exc:  # an escaping exception is what the fuzzer counts
            rec["rc"] = None
            rec["exception"] = f"{type(exc).__name__}: {exc}"[:500]
            rec["traceback"] = traceback.format_exc()[-3000:]
    rec["stdout"], rec["stderr"] = out.getvalue()[-4000:], err.getvalue()[-4000:]
    return rec


def _run_drivers(path: str) -> int | None:
    """Fleet size of the validated scenario when it exceeds :data:`RUN_DRIVERS`, else None."""
    from v2gsim.config import load_scenario

    count = load_scenario(path).drivers.count
    return count if count > RUN_DRIVERS else None


def run_case(case: dict[str, Any], out_dir: str) -> dict[str, Any]:
    """Validate the case; run it for one day when it is valid. Returns the records of both."""
    sets = [a for o in case.get("overrides", []) for a in ("--set", o)]
    res: dict[str, Any] = {"case": case, "validate": _call(["validate", case["file"], *sets])}
    if res["validate"].get("rc") == 0:
        if _run_drivers(case["file"]) is not None:
            sets += ["--set", f"drivers.count={RUN_DRIVERS}"]
        res["run"] = _call(["run", case["file"], "--days", "1", "--out", out_dir,
                            "--quiet", "--no-figures", *sets])
        shutil.rmtree(out_dir, ignore_errors=True)
    return res


def unnamed_lines(rec: dict[str, Any]) -> list[str]:
    """Lines of an exit-2 message that do not read ``FILE: dotted.field: message``."""
    if rec.get("rc") != 2:
        return []
    text = rec["stdout"] if rec["argv"][0] == "validate" else rec["stderr"]
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return [ln for ln in lines if not MESSAGE_LINE.match(ln)] or ([] if lines else ["(empty)"])


def escaped(rec: dict[str, Any] | None) -> bool:
    """An exception escaped ``main``, or a traceback was printed."""
    if rec is None:
        return False
    return "exception" in rec or "Traceback" in rec.get("stderr", "") + rec.get("stdout", "")


# ----------------------------------------------------------------------------- workers


def _worker(conn, out_dir: str) -> None:  # pragma: no cover - runs in a child process
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    while True:
        item = conn.recv()
        if item is None:
            return
        idx, case = item
        conn.send((idx, run_case(case, out_dir)))


class _Pool:
    """Worker processes that each run one case at a time; a case over ``timeout`` s is a hang."""

    def __init__(self, n: int, timeout: float, tmp: Path):
        self.ctx = mp.get_context("fork")
        self.timeout, self.tmp, self.n = timeout, tmp, 0
        self.slots = [self._start() for _ in range(n)]

    def _start(self):
        self.n += 1
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker, args=(child, str(self.tmp / f"run{self.n}")),
                                daemon=True)
        proc.start()
        return {"proc": proc, "conn": parent, "job": None, "t0": 0.0}

    def map(self, cases: list[dict]) -> list[dict]:
        results: list[dict | None] = [None] * len(cases)
        todo = list(enumerate(cases))[::-1]
        while todo or any(s["job"] is not None for s in self.slots):
            for s in self.slots:
                if s["job"] is None and todo:
                    s["job"] = todo.pop()
                    s["t0"] = time.monotonic()
                    s["conn"].send(s["job"])
            busy = [s for s in self.slots if s["job"] is not None]
            ready = wait([s["conn"] for s in busy], timeout=1.0)
            now = time.monotonic()
            for k, s in enumerate(self.slots):
                if s["job"] is None:
                    continue
                if s["conn"] in ready:
                    try:
                        idx, res = s["conn"].recv()
                    except EOFError:  # the worker died (e.g. killed for memory)
                        idx, res = s["job"][0], {"case": s["job"][1], "died": True}
                        self.slots[k] = self._start()
                    else:
                        s["job"] = None
                    results[idx] = res
                    if self.slots[k] is not s:
                        continue
                elif now - s["t0"] > self.timeout:
                    idx, case = s["job"]
                    results[idx] = {"case": case, "hang": True}
                    s["proc"].kill()
                    s["proc"].join()
                    self.slots[k] = self._start()
        return [r for r in results if r is not None]

    def close(self) -> None:
        for s in self.slots:
            with contextlib.suppress(OSError):
                s["conn"].send(None)
            s["proc"].join(timeout=5)
            if s["proc"].is_alive():
                s["proc"].kill()


# ----------------------------------------------------------------------------- summary


def summarize(results: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    """The counts of the module docstring, with up to five examples of every failure."""
    c: Counter[str] = Counter()
    by_op: Counter[str] = Counter()
    examples: dict[str, list[Any]] = {}

    def note(kind: str, item: Any) -> None:
        c[kind] += 1
        examples.setdefault(kind, [])
        if len(examples[kind]) < 5:
            examples[kind].append(item)

    for r in results:
        case = r["case"]
        by_op[case["op"].split(":")[0].split("+")[0]] += 1
        c["cases"] += 1
        if r.get("hang") or r.get("died"):
            note("hangs" if r.get("hang") else "worker_deaths", case)
            continue
        v, run = r["validate"], r.get("run")
        for rec in (v, run):
            if escaped(rec):
                note("tracebacks", {"case": case, "argv": rec["argv"],
                                    "exception": rec.get("exception"),
                                    "traceback": rec.get("traceback", rec.get("stderr"))})
            bad = unnamed_lines(rec) if rec is not None else []
            if rec is not None and rec.get("rc") == 2:
                text = rec["stdout"] if rec["argv"][0] == "validate" else rec["stderr"]
                c["exit2_lines_checked"] += sum(1 for ln in text.splitlines() if ln.strip())
            if bad:
                note("unnamed_messages", {"case": case, "lines": bad[:3]})
        if v.get("rc") == 0:
            c["valid"] += 1
            if run is not None and run.get("rc") == 0:
                c["run_ok"] += 1
            elif run is not None and run.get("rc") in (1, 2):
                c["run_failed_cleanly"] += 1
                if run["rc"] == 2:
                    kind = ("data_rejected_at_run" if case["op"].startswith("data:")
                            else "valid_but_run_rejected")
                    note(kind, {"case": case, "stderr": run["stderr"][-500:]})
        elif v.get("rc") == 2:
            c["rejected"] += 1
    keys = ("cases", "valid", "rejected", "run_ok", "run_failed_cleanly", "data_rejected_at_run",
            "valid_but_run_rejected", "tracebacks", "hangs", "worker_deaths", "unnamed_messages",
            "exit2_lines_checked")
    out: dict[str, Any] = {k: c[k] for k in keys}
    out["by_operator"] = dict(sorted(by_op.items()))
    out["wall_s"] = round(wall_s, 1)
    out["examples"] = examples
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the fuzz cases and print the summary as JSON (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000, help="random mutations (plus file cases)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the mutations")
    ap.add_argument("--workers", type=int, default=2, help="worker processes")
    ap.add_argument("--timeout", type=float, default=180.0, help="per-case timeout (s)")
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="v2gsim-fuzz-"))
    try:
        docs = base_documents()
        cases = file_cases(tmp) + random_cases(args.cases, args.seed, tmp, docs)
        pool = _Pool(max(1, args.workers), args.timeout, tmp)
        try:
            results = pool.map(cases)
        finally:
            pool.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary = summarize(results, time.perf_counter() - t0)
    text = json.dumps(summary, indent=2, default=str)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")
    return summary


if __name__ == "__main__":
    s = main()
    sys.exit(1 if s["tracebacks"] or s["hangs"] or s["unnamed_messages"] else 0)
