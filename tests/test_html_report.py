"""`v2gsim report DIR` writes a self-contained report.html for a run, a sweep and a comparison."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from v2gsim.cli import main
from v2gsim.experiments.html import directory_kind, write_html_report


def _images(text: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text)]


def _check(path: Path, kind: str, headline: str) -> str:
    assert directory_kind(path) == kind
    text = (path / "report.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    imgs = _images(text)
    assert imgs and all(b.startswith(b"\x89PNG\r\n\x1a\n") for b in imgs)  # embedded, decodable PNGs
    assert "Resolved scenario" in text and headline in text
    assert "src='figures/" not in text  # nothing refers to a file beside it
    return text


def test_run_sweep_compare(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["run", "tiny", "--days", "2", "--out", str(run), "--quiet"]) == 0
    assert main(["report", str(run)]) == 0
    text = _check(run, "run", "profit")
    summary = json.loads((run / "summary.json").read_text())
    assert f"{summary['profit']:.4g}" in text
    assert len(_images(text)) == len(list((run / "figures").glob("*.png")))

    sw = tmp_path / "sweep"
    assert main(["sweep", "tiny", "--set", "drivers.count=10,20", "--set", "days=2",
                 "--replications", "2", "--out", str(sw), "--quiet"]) == 0
    assert main(["report", str(sw)]) == 0
    text = _check(sw, "sweep", "drivers.count")
    assert "report.csv" in capsys.readouterr().out

    cmp_dir = tmp_path / "cmp"
    assert main(["compare", "tiny", "--days", "2", "--policies", "naive,chance", "--replications", "2",
                 "--out", str(cmp_dir), "--quiet"]) == 0
    assert main(["report", str(cmp_dir)]) == 0
    text = _check(cmp_dir, "compare", "diff_mean")
    assert len(_images(text)) == 3


def test_not_a_directory_of_results(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a run, sweep or compare directory"):
        write_html_report(tmp_path)
