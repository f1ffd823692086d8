"""Time as Twilio writes it, plus a clock tests can move forward (for conversation timers)."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime


class Clock:
    """Wall-clock time plus an offset that :meth:`advance` grows, so a test can age conversations
    past their ``Timers.Inactive`` / ``Timers.Closed`` without waiting minutes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0

    def now(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds


def iso_seconds(timestamp: float) -> str:
    """REST resources: ``2015-12-16T22:18:37Z``."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(timestamp: float) -> str:
    """Webhook form fields: ``2020-03-26T18:31:01.513Z``."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)
_UNIT_SECONDS = {"weeks": 604800.0, "days": 86400.0, "hours": 3600.0, "minutes": 60.0, "seconds": 1.0}


def parse_iso8601_duration(text: str) -> float | None:
    """``PT10M`` → 600.0; None when ``text`` is not an ISO 8601 duration (years and months are
    refused: their length in seconds is ambiguous, and Twilio's examples never use them)."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or text.strip() in ("P", "PT") or text.strip().endswith("T"):
        return None
    return sum(float(value) * _UNIT_SECONDS[unit] for unit, value in match.groupdict().items() if value)
