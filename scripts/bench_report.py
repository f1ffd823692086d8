"""The benchmark's report: each figure with its name, value, unit and budget, written to
``.bench/report.json`` and printed as a table, every figure next to its budget.

Every section of ``make bench`` returns a list of :class:`Figure`; :func:`write_report` gathers
them. A budget is ``"<= 350"`` style (the comparison and the bound, in the figure's unit), or
``None`` for a figure reported without one.
"""

from __future__ import annotations

import json
import operator
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / ".bench" / "report.json"
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
    "==": operator.eq,
}


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    budget: str | None = None
    #: How it was measured, in a few words (runs, sample size, what was excluded).
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.budget is None:
            return None
        comparison, bound = self.budget.split(maxsplit=1)
        return COMPARISONS[comparison](self.value, float(bound))


def write_report(figures: Iterable[Figure], path: Path = REPORT) -> dict[str, object]:
    shown = list(figures)
    report: dict[str, object] = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "figures": [{**asdict(figure), "met": figure.met} for figure in shown],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return report


def summary(figures: Iterable[Figure]) -> str:
    """One line per figure: name, value and unit, budget, and whether it is met."""
    lines = []
    for figure in figures:
        verdict = {None: "", True: "ok", False: "MISSED"}[figure.met]
        budget = f"budget {figure.budget} {figure.unit}" if figure.budget else ""
        value = _shown(figure.value)
        lines.append(f"{figure.name:<58} {value:>12} {figure.unit:<6} {budget:<22} {verdict}")
    return "\n".join(lines)


def _shown(value: float) -> str:
    """Two decimals, or three significant digits for a value under 0.1 (a cost per message)."""
    if value and abs(value) < 0.1:
        return f"{value:.3g}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def markdown(figures: Iterable[Figure]) -> str:
    """The figures as a Markdown table, for docs/performance.md and the README."""
    lines = ["| figure | value | budget |", "|---|---|---|"]
    for figure in figures:
        budget = ""
        if figure.budget:
            verdict = "met" if figure.met else "**missed**"
            budget = f"{figure.budget} {figure.unit}: {verdict}"
        lines.append(f"| {figure.name} | {_shown(figure.value)} {figure.unit} | {budget} |")
    return "\n".join(lines)


def read_report(path: Path = REPORT) -> tuple[dict[str, object], list[Figure]]:
    """A written report: its header (when, where) and its figures."""
    report = json.loads(path.read_text())
    figures = [
        Figure(entry["name"], entry["value"], entry["unit"], entry.get("budget"), entry.get("note", ""))
        for entry in report["figures"]
    ]
    return report, figures


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Print the last `make bench` report again.")
    parser.add_argument("report", nargs="?", type=Path, default=REPORT, help="default: %(default)s")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table instead of text")
    arguments = parser.parse_args(argv)
    report, figures = read_report(arguments.report)
    print(f"measured {report['measured_at']} on {report['machine']}")
    print(markdown(figures) if arguments.markdown else summary(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
