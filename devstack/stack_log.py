"""What `python -m devstack up` shows in its terminal, and where the rest of its output goes.

The functions run in this process as they would in Lambda: Powertools Logger writes each record as
a JSON line, and Powertools Metrics prints each flush as an EMF JSON document to stdout, for
CloudWatch. Here both go to files in the state directory, ``logs/functions.jsonl`` and
``logs/metrics.jsonl``, and the terminal gets one readable line per request through the gateway
(``devstack.gateway``) and per worker job, the stack's own messages, and the functions' warnings
and errors in a line each. ``verbose`` also prints the JSON lines to the terminal, as CloudWatch
would show them.

How the output is told apart, with requests and jobs on several threads at once:

- the Logger's handler writes to ``functions.jsonl`` (its stream is set here; the handler is
  the Powertools one, so the records are exactly what Lambda would log);
- ``sys.stdout`` becomes a router, installed once: what a thread writes while it runs a function
  (``devstack.lambda_runtime.current_function`` is set, per thread) is collected line by line per
  thread, and each line goes to ``metrics.jsonl`` (an EMF document, the ``_aws`` key), to
  ``functions.jsonl`` (any other JSON) or, plain text, to the terminal; what is written outside
  a function goes straight to the terminal. (``contextlib.redirect_stdout`` would swap the one
  global stdout for every thread at once.)

Nothing here changes the functions: only the local process's handlers and stdout.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO

from devstack.lambda_runtime import current_function

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

FUNCTIONS_LOG = "functions.jsonl"
METRICS_LOG = "metrics.jsonl"
#: Where the job lines are logged (one per job the worker ran, skipped or gave up).
JOBS_LOGGER = "devstack.jobs"
TIME_FORMAT = "%H:%M:%S"


class JsonLines:
    """A file of JSON lines that several threads write to (and, verbose, the terminal too).

    Also a stream for ``logging.StreamHandler``, which writes a whole record per call."""

    def __init__(self, path: Path, *, echo: IO[str] | None = None) -> None:
        self.path = path
        self._file = path.open("w", encoding="utf-8")
        self._echo = echo
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            if self._file.closed:
                return len(text)
            self._file.write(text)
            self._file.flush()
            if self._echo is not None:
                self._echo.write(text)
                self._echo.flush()
        return len(text)

    def flush(self) -> None:
        """Each write is flushed already."""

    def close(self) -> None:
        with self._lock:
            self._file.close()


class FunctionStdout(io.TextIOBase):
    """``sys.stdout`` while the stack runs (see the module's docstring)."""

    def __init__(self, terminal: TextIO, *, functions: JsonLines, metrics: JsonLines) -> None:
        super().__init__()
        self.terminal = terminal
        self._functions = functions
        self._metrics = metrics
        self._pending = threading.local()

    def write(self, text: str) -> int:
        function = current_function.get()
        pending: tuple[str, str] | None = getattr(self._pending, "line", None)
        if pending is not None and pending[0] != function:
            # An unfinished line of an earlier invocation on this thread: it ends there.
            self._pending.line = None
            self._route(pending[0], pending[1])
            pending = None
        if function is None:
            return self.terminal.write(text)
        lines = ((pending[1] if pending else "") + text).split("\n")
        self._pending.line = (function, lines[-1]) if lines[-1] else None
        for line in lines[:-1]:
            self._route(function, line)
        return len(text)

    def flush(self) -> None:
        self.terminal.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.terminal.isatty()

    def fileno(self) -> int:
        return self.terminal.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.terminal.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.terminal.errors

    def _route(self, function: str, line: str) -> None:
        if not line.strip():
            return
        try:
            document = json.loads(line)
        except ValueError:
            document = None
        if isinstance(document, dict):
            (self._metrics if "_aws" in document else self._functions).write(line + "\n")
        else:
            # A plain print() in a function: the developer wants to see it.
            self.terminal.write(f"[{function}] {line}\n")
            self.terminal.flush()


class ReadableFormatter(logging.Formatter):
    """``12:00:01 POST /discord/interactions 200 41 ms``; warnings and errors get their level,
    their logger (and function) and, with ``full_tracebacks`` off, only the exception's last line
    (the whole record is in functions.jsonl)."""

    def __init__(self, *, full_tracebacks: bool) -> None:
        super().__init__(datefmt=TIME_FORMAT)
        self._full_tracebacks = full_tracebacks

    def format(self, record: logging.LogRecord) -> str:
        text = f"{self.formatTime(record, self.datefmt)} "
        if record.levelno >= logging.WARNING:
            function = current_function.get()
            where = f" [{function}]" if function else ""
            text += f"{record.levelname} {record.name}{where}: "
        text += record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            if self._full_tracebacks:
                text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            else:
                text += " (" + _one_line(record.exc_info[1]) + ")"
        return text


@dataclass
class StackLogs:
    directory: Path
    functions: JsonLines
    metrics: JsonLines
    _undo: list[Callable[[], None]]

    def close(self) -> None:
        """Puts stdout, the handlers and the worker back, and closes the files."""
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        self.functions.close()
        self.metrics.close()


def configure(directory: Path, *, verbose: bool = False) -> StackLogs:
    """Sets up the terminal and the log files for ``up`` (once, in its process)."""
    from flexcord.observability import logger as function_logger

    directory.mkdir(parents=True, exist_ok=True)
    terminal = sys.stdout
    echo = terminal if verbose else None
    functions = JsonLines(directory / FUNCTIONS_LOG, echo=echo)
    metrics = JsonLines(directory / METRICS_LOG, echo=echo)
    undo: list[Callable[[], None]] = []

    # The functions' Logger: its own (Powertools) handler, into the file.
    handler = function_logger.logger_handler
    if isinstance(handler, logging.StreamHandler):
        previous_stream = handler.setStream(functions)
        undo.append(lambda: handler.setStream(previous_stream))
    functions_logger = logging.getLogger(function_logger.service)
    functions_logger.propagate = False  # only its handlers; none of the terminal's below
    undo.append(lambda: setattr(functions_logger, "propagate", True))
    if not verbose:
        warnings_here = logging.StreamHandler(terminal)
        warnings_here.setLevel(logging.WARNING)
        warnings_here.setFormatter(ReadableFormatter(full_tracebacks=False))
        functions_logger.addHandler(warnings_here)
        undo.append(lambda: functions_logger.removeHandler(warnings_here))

    # Everything else that logs: the stack's own lines at INFO, others' warnings and errors.
    readable = logging.StreamHandler(terminal)
    readable.setFormatter(ReadableFormatter(full_tracebacks=True))
    logging.basicConfig(level=logging.WARNING, handlers=[readable], force=True)
    logging.getLogger("devstack").setLevel(logging.INFO)

    router = FunctionStdout(terminal, functions=functions, metrics=metrics)
    sys.stdout = router
    show_warning = warnings.showwarning

    def put_back() -> None:
        sys.stdout = terminal
        warnings.showwarning = show_warning

    undo.append(put_back)
    warnings.showwarning = _function_warnings_to(functions, show_warning)
    undo.append(_log_each_job())
    return StackLogs(directory, functions, metrics, undo)


def _function_warnings_to(functions: JsonLines, show_warning: Any) -> Any:
    """A Python warning a function raises (e.g. Powertools' "No application metrics to publish")
    is a line of functions.jsonl, as it is a line of its CloudWatch log in Lambda."""

    def show(  # noqa: PLR0917 - warnings.showwarning's signature
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: IO[str] | None = None,
        line: str | None = None,
    ) -> None:
        function = current_function.get()
        if function is None or file is not None:
            show_warning(message, category, filename, lineno, file, line)
            return
        record = {
            "level": "WARNING",
            "location": f"{filename}:{lineno}",
            "message": f"{category.__name__}: {message}",
            "function_name": function,
        }
        functions.write(json.dumps(record) + "\n")

    return show


def _log_each_job() -> Callable[[], None]:
    """One line per job the worker runs (or skips): its kind, what came of it, how long it took.

    The worker takes a batch per invocation, so a job's time is only seen inside it: the worker's
    per-record methods are wrapped, in this process only. Returns what undoes it."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    from flexcord.jobs.worker import DeliveriesExhausted, JobWorker, NotEnoughTimeLeft

    jobs = logging.getLogger(JOBS_LOGGER)
    process_record, record_skipped = JobWorker.process_record, JobWorker.record_skipped

    def outcome_of(failure: BaseException) -> tuple[str, str]:
        if isinstance(failure, IdempotencyAlreadyInProgressError):
            return "locked", "another delivery holds it; retried when its lock expires"
        if isinstance(failure, NotEnoughTimeLeft):
            return "not started", "too little time left in the invocation; retried"
        if isinstance(failure, DeliveriesExhausted):
            return "given up", "its last delivery; the member is told"
        return "failed", f"{_one_line(failure)}; retried later"

    def timed(worker: JobWorker, record: SQSRecord) -> dict[str, Any]:
        began = time.perf_counter()
        outcome, detail = "ok", ""
        try:
            result = process_record(worker, record)
            if isinstance(result, dict) and result.get("completed_earlier"):
                detail = "done by an earlier delivery"
            return result
        except BaseException as failure:
            outcome, detail = outcome_of(failure)
            raise
        finally:
            milliseconds = (time.perf_counter() - began) * 1000
            line = f"job {_job_kind(record)} {outcome} {milliseconds:.0f} ms"
            jobs.info(f"{line}: {detail}" if detail else line)

    def skipped(worker: JobWorker, record: SQSRecord) -> None:
        record_skipped(worker, record)
        jobs.info("job %s skipped: behind the member's failed job; retried with it", _job_kind(record))

    JobWorker.process_record = timed  # type: ignore[method-assign, assignment]
    JobWorker.record_skipped = skipped  # type: ignore[method-assign, assignment]

    def undo() -> None:
        JobWorker.process_record = process_record  # type: ignore[method-assign]
        JobWorker.record_skipped = record_skipped  # type: ignore[method-assign]

    return undo


def _job_kind(record: Any) -> str:
    try:
        return str(json.loads(record.body)["kind"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return "(unreadable)"


def _one_line(failure: BaseException) -> str:
    text = str(failure).strip().splitlines()
    summary = f"{type(failure).__name__}: {text[0]}" if text else type(failure).__name__
    return summary if len(summary) <= 200 else summary[:199] + "…"
