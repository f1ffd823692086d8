"""Discord snowflake ids and the timestamps Discord derives from them.

A snowflake is 42 bits of milliseconds since the Discord epoch (2015-01-01), then 5 bits of worker
id, 5 bits of process id and a 12-bit per-process increment. Ids are returned as strings, as the
API does (they do not fit in a JavaScript number).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeGenerator:
    """Thread-safe generator of strictly increasing, timestamp-based snowflakes."""

    def __init__(self, worker_id: int = 1, process_id: int = 0) -> None:
        self._worker_id = worker_id & 0x1F
        self._process_id = process_id & 0x1F
        self._lock = threading.Lock()
        self._last_ms = 0
        self._increment = 0

    def next_id(self) -> str:
        with self._lock:
            now_ms = int(time.time() * 1000)
            if now_ms <= self._last_ms:
                # Same millisecond (or the clock stepped back): keep ids unique and increasing by
                # bumping the increment, borrowing the next millisecond when it wraps.
                self._increment = (self._increment + 1) & 0xFFF
                if self._increment == 0:
                    self._last_ms += 1
                now_ms = self._last_ms
            else:
                self._increment = 0
                self._last_ms = now_ms
            value = (
                ((now_ms - DISCORD_EPOCH_MS) << 22)
                | (self._worker_id << 17)
                | (self._process_id << 12)
                | self._increment
            )
            return str(value)


def snowflake_datetime(snowflake: str) -> datetime:
    """The creation time encoded in a snowflake."""
    milliseconds = (int(snowflake) >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)


def iso_timestamp(moment: datetime) -> str:
    """ISO-8601 as Discord writes it: ``2021-07-22T15:42:57.744000+00:00``."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def utc_now_iso() -> str:
    return iso_timestamp(datetime.now(UTC))
