"""scripts/bench_burst.py on a small burst: separate worker processes drain it through the
emulated Discord's real limits. Nothing about time is asserted (the machine is shared); what is
asserted is what a burst must never do: lose, repeat or reorder a message, or pass the global
limit."""

from __future__ import annotations

import pytest

from scripts.bench_burst import run

pytestmark = pytest.mark.slow


def test_a_burst_past_each_channels_limit_arrives_once_in_order_without_a_global_429() -> None:
    # Ten messages for each of four members: twice a DM channel's five per five seconds, so the
    # workers hand members' jobs back to the queue until their buckets reset.
    result = run(messages=40, members=4, instances=2)
    figures = {figure.name.rsplit(": ", 1)[1]: figure for figure in result.figures}

    assert figures["delivered"].value == 40
    assert figures["members with every message once, in order"].value == 4
    assert figures["global-limit 429s"].value == 0
    assert figures["dead-lettered"].value == 0
    assert figures["left in the queue"].value == 0
    assert figures["drain time"].value > 0
