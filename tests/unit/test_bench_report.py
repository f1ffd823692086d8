from __future__ import annotations

import json
from pathlib import Path

from scripts.bench_report import Figure, markdown, read_report, summary, write_report


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


def test_a_written_report_reads_back_and_prints_as_markdown(tmp_path: Path) -> None:
    figures = [
        Figure("first enqueue", 391.6, "ms", "<= 350", note="median of 15"),
        Figure("global 429s", 0, "responses", "== 0"),
        Figure("cost per 1,000", 0.00557, "USD"),
    ]
    write_report(figures, tmp_path / "report.json")

    _, read = read_report(tmp_path / "report.json")
    table = markdown(read).splitlines()

    assert read == figures
    assert table[:2] == ["| figure | value | budget |", "|---|---|---|"]
    assert table[2] == "| first enqueue | 391.6 ms | <= 350 ms: **missed** |"
    assert table[3] == "| global 429s | 0 responses | == 0 responses: met |"
    assert table[4] == "| cost per 1,000 | 0.00557 USD |  |"
