"""scripts/bench_relay.py paces its messages by one worker instance's share of Discord's global
limit, so that the relay, not the limiter, is what it times."""

from __future__ import annotations

import pytest

from devstack.stack import LocalStack
from scripts.bench_relay import SPACING_MARGIN_SECONDS, message_spacing


@pytest.mark.parametrize(("instances", "share_per_second"), [(5, 10), (1, 50), (2, 25), (100, 1)])
def test_spacing_follows_the_worker_share(instances: int, share_per_second: int) -> None:
    stack = LocalStack(parameters={"WorkerMaxConcurrency": instances})

    assert message_spacing(stack) == pytest.approx(1 / share_per_second + SPACING_MARGIN_SECONDS)


def test_the_template_default_spaces_messages_a_tenth_of_a_second_apart_plus_the_margin() -> None:
    assert message_spacing(LocalStack()) == pytest.approx(0.1 + SPACING_MARGIN_SECONDS)
