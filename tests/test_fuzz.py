"""Issue 16 item 2: fuzzing the shipped scenarios through ``v2gsim.cli.main`` lets no exception escape.

Hypothesis draws the choices of the mutation engine of ``analysis/fuzz_scenarios.py`` (delete,
insert or rename keys; swap types; NaN, inf, huge, negative, empty, unicode values; hourly lists of
the wrong length; enumerated fields set to other allowed values), so a failure shrinks to a small
mutation. Each example goes through ``validate`` and, when valid, a 1-day run of at most
``RUN_DRIVERS`` EVs: every exit status 0/1/2 is fine as long as nothing escapes and every exit-2
line reads ``FILE: dotted.field: message``. The examples are derandomized (the suite's
hypothesis profile, ``tests/conftest.py``); 400 examples take about 20 s. The script itself runs
>= 1,000 cases.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from conftest import load_script
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = load_script("analysis/fuzz_scenarios.py")
DOCS = FUZZ.base_documents()


class _Draws:
    """The fuzzer's :class:`Chooser` backed by hypothesis' ``data.draw`` (so failures shrink)."""

    def __init__(self, data: st.DataObject):
        self.data = data

    def choice(self, seq: Any) -> Any:
        return self.data.draw(st.sampled_from(list(seq)))

    def randint(self, a: int, b: int) -> int:
        return self.data.draw(st.integers(a, b))


def _check(res: dict[str, Any]) -> None:
    for rec in (res["validate"], res.get("run")):
        if rec is None:
            continue
        assert not FUZZ.escaped(rec), rec.get("traceback", rec)
        assert rec["rc"] in (0, 1, 2), rec
        assert FUZZ.unnamed_lines(rec) == [], rec


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), base=st.sampled_from(sorted(DOCS)), n=st.integers(1, 3))
def test_mutated_shipped_scenarios_never_escape(data, base, n):
    doc = DOCS[base]
    ch = _Draws(data)
    for _ in range(n):
        doc, _op = FUZZ.mutate(doc, ch)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.toml"
        path.write_text(FUZZ.to_toml(doc), encoding="utf-8")
        _check(FUZZ.run_case({"file": str(path), "op": "hypothesis", "overrides": []},
                             str(Path(tmp) / "run")))


def test_file_level_cases_never_escape(tmp_path):
    """The ``extends``, ``--set`` and data-file cases of the issues, every one of them."""
    cases = FUZZ.file_cases(tmp_path)
    kinds = {c["op"].split(":")[0] for c in cases}
    assert kinds == {"extends", "set", "data"}
    results = [FUZZ.run_case(c, str(tmp_path / "run")) for c in cases]
    for res in results:
        _check(res)
    summary = FUZZ.summarize(results, 0.0)
    assert summary["tracebacks"] == summary["hangs"] == summary["unnamed_messages"] == 0
    assert summary["valid_but_run_rejected"] == 0
    # every data case is refused: by validate (directory, empty file) or by the run (the readers)
    data = [r for r in results if r["case"]["op"].startswith("data:")]
    assert all(r["validate"]["rc"] == 2 or r["run"]["rc"] == 2 for r in data)
    assert summary["data_rejected_at_run"] == sum(r["validate"]["rc"] == 0 for r in data) == 10


def test_toml_writer_round_trips_the_shipped_scenarios():
    import math
    import tomllib

    for doc in DOCS.values():
        assert tomllib.loads(FUZZ.to_toml(doc)) == doc
    odd = {"a b": [math.inf, -0.0, 5e-324], "k": "\x00\x7f\"\\ü🚗", "t": {"": [{}]}}
    back = tomllib.loads(FUZZ.to_toml(odd))
    assert back["k"] == odd["k"] and back["t"] == odd["t"] and back["a b"][0] == math.inf
