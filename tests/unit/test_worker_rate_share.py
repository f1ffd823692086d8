"""Workers share Discord's global limit (defect 13): with at most WORKER_MAX_CONCURRENCY workers at
once, each takes an equal share of the bot's 50 requests a second."""

from __future__ import annotations

import pytest

from flexcord.config import ConfigurationError
from flexcord.wiring import worker_share_of_global_limit


@pytest.mark.parametrize(
    ("workers", "share"), [("", 50), ("1", 50), ("5", 10), ("7", 7), ("50", 1), ("80", 1)]
)
def test_each_worker_takes_its_share_of_the_global_limit(
    monkeypatch: pytest.MonkeyPatch, workers: str, share: int
) -> None:
    monkeypatch.setenv("WORKER_MAX_CONCURRENCY", workers)
    assert worker_share_of_global_limit() == share


def test_a_malformed_concurrency_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_MAX_CONCURRENCY", "five")
    with pytest.raises(ConfigurationError, match="WORKER_MAX_CONCURRENCY"):
        worker_share_of_global_limit()
