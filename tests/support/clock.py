"""A clock tests set by hand: call it for the time, assign ``now`` to move it."""

from __future__ import annotations


class FixedClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
