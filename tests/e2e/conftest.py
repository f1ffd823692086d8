from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devstack.discord_emulator import DiscordEmulator
from devstack.stack import LocalStack

LOADING = 1 << 7


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # Two deliveries before the dead-letter queue keeps the failure tests short; the template's
    # default (5) is what deploys use.
    with LocalStack(parameters={"JobMaxReceiveCount": 2}) as running:
        yield running


@pytest.fixture
def discord(stack: LocalStack) -> DiscordEmulator:
    assert stack.discord is not None
    stack.discord.clear_faults()
    return stack.discord


def final_reply(discord: DiscordEmulator, token: str, timeout: float = 20.0) -> dict[str, Any]:
    """The deferred reply once the worker has edited it (no longer "thinking…")."""

    def edited() -> dict[str, Any] | None:
        message = discord.original_response(token)
        return message if message and not message.get("flags", 0) & LOADING else None

    return discord.wait_for(edited, timeout=timeout)


@pytest.fixture
def recorded_metrics(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the metrics the functions add (still emitted as EMF), for assertions that
    must not depend on when a batch's metrics are flushed to stdout."""
    from flexcord.observability import metrics

    names: list[str] = []
    add_metric = metrics.add_metric

    def recording(*args: Any, **kwargs: Any) -> None:
        names.append(str(kwargs.get("name", args[0] if args else "")))
        add_metric(*args, **kwargs)

    monkeypatch.setattr(metrics, "add_metric", recording)
    return names
