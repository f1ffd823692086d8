"""What `python -m devstack up` prints and files (devstack.stack_log): functions' stdout sorted
line by line per thread, their Python warnings filed, and a line per worker job."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from devstack.lambda_runtime import current_function
from devstack.stack_log import JOBS_LOGGER, FunctionStdout, JsonLines, _function_warnings_to, _log_each_job

EMF = {"_aws": {"Timestamp": 1, "CloudWatchMetrics": []}, "service": "flexcord"}


def test_what_functions_print_on_threads_at_once_is_sorted_whole_lines_per_thread(tmp_path: Path) -> None:
    terminal = io.StringIO()
    functions = JsonLines(tmp_path / "functions.jsonl")
    metrics = JsonLines(tmp_path / "metrics.jsonl")
    stdout = FunctionStdout(terminal, functions=functions, metrics=metrics)
    # Two invocations print a line each in halves, taking turns: a buffer shared by the threads
    # would splice one's half into the other's line.
    turns = threading.Barrier(2)
    lines = {
        "WorkerFunction": json.dumps({**EMF, "JobsCompleted": [1.0]}),
        "ChatbotFunction": json.dumps({"level": "INFO", "message": "hello"}),
    }

    def invoke(function: str) -> None:
        current_function.set(function)
        line = lines[function]
        half = len(line) // 2
        for piece in (line[:half], line[half:] + "\n", f"plain from {function}", "\n"):
            turns.wait()
            stdout.write(piece)
            turns.wait()

    threads = [threading.Thread(target=invoke, args=(name,)) for name in lines]
    for thread in threads:
        thread.start()
    stdout.write("the banner\n")  # not in a function: straight to the terminal
    for thread in threads:
        thread.join()

    assert (tmp_path / "metrics.jsonl").read_text() == lines["WorkerFunction"] + "\n"
    assert (tmp_path / "functions.jsonl").read_text() == lines["ChatbotFunction"] + "\n"
    printed = terminal.getvalue().splitlines()
    assert sorted(printed) == [
        "[ChatbotFunction] plain from ChatbotFunction",
        "[WorkerFunction] plain from WorkerFunction",
        "the banner",
    ]


def test_an_unfinished_line_ends_with_its_invocation(tmp_path: Path) -> None:
    terminal = io.StringIO()
    metrics = JsonLines(tmp_path / "metrics.jsonl")
    stdout = FunctionStdout(terminal, functions=JsonLines(tmp_path / "functions.jsonl"), metrics=metrics)
    running = current_function.set("SchedulerFunction")
    stdout.write(json.dumps(EMF))  # no newline
    current_function.reset(running)
    stdout.write("after\n")
    assert json.loads((tmp_path / "metrics.jsonl").read_text()) == EMF
    assert terminal.getvalue() == "after\n"


def test_a_functions_python_warning_is_filed_and_others_shown_as_before(tmp_path: Path) -> None:
    functions = JsonLines(tmp_path / "functions.jsonl")
    shown: list[str] = []
    show = _function_warnings_to(functions, lambda message, *rest: shown.append(str(message)))
    running = current_function.set("InteractionsFunction")
    show(UserWarning("No application metrics to publish."), UserWarning, "base.py", 213)
    current_function.reset(running)
    show(UserWarning("the stack's own"), UserWarning, "stack.py", 1)

    record = json.loads((tmp_path / "functions.jsonl").read_text())
    assert record["function_name"] == "InteractionsFunction"
    assert record["message"] == "UserWarning: No application metrics to publish."
    assert shown == ["the stack's own"]


def record(kind: str) -> Any:
    return SimpleNamespace(body=json.dumps({"kind": kind, "key": "k", "group": "g"}))


def test_each_job_is_a_line_with_its_kind_outcome_and_time(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from flexcord.jobs.worker import DeliveriesExhausted, JobWorker

    def process_record(worker: Any, job: Any) -> dict[str, Any]:
        kind = json.loads(job.body)["kind"]
        if kind == "case.create":
            raise RuntimeError("Discord said no\nsecond line")
        if kind == "case.update":
            raise DeliveriesExhausted("k")
        return {}

    monkeypatch.setattr(JobWorker, "process_record", process_record)
    monkeypatch.setattr(JobWorker, "record_skipped", lambda worker, job: None)
    undo = _log_each_job()
    worker: Any = object()
    try:
        with caplog.at_level(logging.INFO, logger=JOBS_LOGGER):
            assert JobWorker.process_record(worker, record("case.list")) == {}
            with pytest.raises(RuntimeError):
                JobWorker.process_record(worker, record("case.create"))
            with pytest.raises(DeliveriesExhausted):
                JobWorker.process_record(worker, record("case.update"))
            JobWorker.record_skipped(worker, record("case.show"))
            with pytest.raises(json.JSONDecodeError):
                JobWorker.process_record(worker, SimpleNamespace(body="not json"))
    finally:
        undo()
    assert JobWorker.process_record is process_record  # put back

    messages = [entry.getMessage() for entry in caplog.records if entry.name == JOBS_LOGGER]
    timed = r" \d+ ms"
    assert len(messages) == 5
    assert re.fullmatch(rf"job case\.list ok{timed}", messages[0])
    failed = rf"job case\.create failed{timed}: RuntimeError: Discord said no; retried later"
    assert re.fullmatch(failed, messages[1])
    given_up = rf"job case\.update given up{timed}: its last delivery; the member is told"
    assert re.fullmatch(given_up, messages[2])
    assert messages[3] == "job case.show skipped: behind the member's failed job; retried with it"
    assert re.fullmatch(rf"job \(unreadable\) failed{timed}: JSONDecodeError: .*; retried later", messages[4])
