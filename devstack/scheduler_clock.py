"""The local stand-in for SchedulerFunction's EventBridge rule, with a clock that can be moved.

EventBridge invokes the function each minute with the minute in the event's ``time``; here
``tick()`` does the same with ``now()``: the real time plus an offset that ``advance()`` moves, so
a post scheduled for tomorrow can go out in a test or a demo without waiting a day. What else
follows the clock (the sample feeds) registers with ``on_advance``. ``start_ticking`` runs a
tick every ``every`` seconds of real time for ``make local``; ``stop()`` ends it at once.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from devstack.lambda_runtime import Handler, LocalLambdaContext

log = logging.getLogger("devstack.scheduler")


class LocalScheduler:
    def __init__(
        self, handler: Handler, *, timeout_seconds: int, function_name: str = "SchedulerFunction"
    ) -> None:
        self._handler = handler
        self._timeout_seconds = timeout_seconds
        self._function_name = function_name
        self._offset = 0.0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._followers: list[Callable[[float], None]] = []

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self._offset, UTC)

    def on_advance(self, follower: Callable[[float], None]) -> None:
        """Call ``follower(seconds)`` whenever the clock moves forward."""
        self._followers.append(follower)

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        for follower in self._followers:
            follower(seconds)
        return self.now()

    def tick(self) -> dict[str, Any]:
        """One scheduled invocation, as EventBridge sends it, at ``now()``."""
        with self._lock:  # like the rule's one invocation a minute, never two at once here
            result: dict[str, Any] = self._handler(
                scheduled_event(self.now()),
                LocalLambdaContext(function_name=self._function_name, timeout_seconds=self._timeout_seconds),
            )
        return result

    def start_ticking(self, every: float = 60.0) -> None:
        self._thread = threading.Thread(target=self._run, args=(every,), name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self, every: float) -> None:
        while not self._stopping.wait(every):
            try:
                self.tick()
            except Exception:
                log.exception("scheduled run failed (the next one picks up what it missed)")


def scheduled_event(moment: datetime) -> dict[str, Any]:
    """An EventBridge "Scheduled Event", as a rule's target receives it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:000000000000:rule/flexcord-local-EveryMinute"],
        "detail": {},
    }
