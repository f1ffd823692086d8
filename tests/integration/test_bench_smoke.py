"""`make bench`'s script in its quick mode (2 runs, 200 requests; the package sizes, which need a
`sam build`, are checked in test_sam_template.py on its build): it writes a report with every
figure the issue asks for, each a number, with the budget the issue gives. The values themselves
are not checked: they are timings on a shared machine."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUICK = ["--quick", "--skip-relay", "--skip-burst", "--skip-packages"]
FUNCTIONS = [
    "interactions",
    "worker",
    "conversation_events",
    "chatbot",
    "commands",
    "scheduler",
    "announcements_webhook",
]
COLD_STARTS = [
    "interactions.first_pong",
    "interactions.first_enqueue",
    "worker.first_relay",
    "conversation_events.first_webhook",
    "chatbot.first_answer",
]
#: Every figure of the sections here, with its budget (None: the issue gives none).
EXPECTED: dict[str, str | None] = {
    "cold_start.bare_interpreter": None,
    **{f"cold_start.{name}": None for name in COLD_STARTS},
    **{f"cold_start.{name}.vs_bare": None for name in COLD_STARTS},
    "cold_start.interactions.first_pong.vs_bare": "<= 6",
    "cold_start.interactions.first_enqueue": "<= 350",
    "warm.interactions.ping.p50": None,
    "warm.interactions.ping.p99": "<= 5",
    "warm.interactions.bug_modal.p50": None,
    "warm.interactions.bug_modal.p99": "<= 5",
    "warm.interactions.enqueue.p50": None,
    "warm.interactions.enqueue.p99": "<= 15",
    **{f"import.{name}": None for name in FUNCTIONS},
}


def test_the_quick_run_reports_every_figure_with_its_budget(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    completed = subprocess.run(  # noqa: PLW1510 - the return code is asserted with the output shown
        [sys.executable, "scripts/bench.py", *QUICK, "--report", str(report)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,  # a bound against a wedged run, not a timing assertion
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    figures = {figure["name"]: figure for figure in json.loads(report.read_text())["figures"]}
    assert set(figures) == set(EXPECTED)
    for name, budget in EXPECTED.items():
        figure = figures[name]
        assert isinstance(figure["value"], int | float), name
        assert math.isfinite(figure["value"]), name
        assert figure["value"] > 0, name
        assert figure["unit"], name
        assert figure["budget"] == budget, name
        assert figure["met"] in ((None,) if budget is None else (True, False)), name
    # The summary prints every figure next to its budget.
    for name in EXPECTED:
        assert name in completed.stdout
