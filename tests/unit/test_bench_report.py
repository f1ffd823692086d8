from __future__ import annotations

import json
from pathlib import Path

from scripts.bench_report import Figure, summary, write_report


def test_a_figure_says_whether_it_meets_its_budget() -> None:
    assert Figure("cold start", 300, "ms", "<= 350").met is True
    assert Figure("cold start", 351, "ms", "<= 350").met is False
    assert Figure("drain", 1.2, "x", "<= 1.1").met is False
    assert Figure("delivered", 2000, "msgs", ">= 2000").met is True
    assert Figure("size", 27.0, "MB").met is None


def test_the_report_holds_every_figure_with_its_verdict(tmp_path: Path) -> None:
    figures = [Figure("p99", 4.2, "ms", "<= 5", note="5,000 requests"), Figure("size", 27.0, "MB")]
    write_report(figures, tmp_path / "report.json")
    written = json.loads((tmp_path / "report.json").read_text())
    assert [(f["name"], f["value"], f["unit"], f["budget"], f["met"]) for f in written["figures"]] == [
        ("p99", 4.2, "ms", "<= 5", True),
        ("size", 27.0, "MB", None, None),
    ]
    lines = summary([Figure("p99", 6.5, "ms", "<= 5"), Figure("size", 27.0, "MB")]).splitlines()
    assert lines[0].split()[-1] == "MISSED"
    assert "budget <= 5 ms" in lines[0]
    assert "budget" not in lines[1]
