"""A seeded slice of the chaos run (scripts/chaos.py) through the whole local stack: a few members
chat with their agents while Discord, Twilio, SQS, DynamoDB and the worker misbehave. Nothing may
be lost, duplicated or reordered, and the one poisoned job must reach the dead-letter queue with
its member told. ``make chaos`` runs the full size (50 members, 1,000 messages)."""

from __future__ import annotations

import pytest

from scripts.chaos import ChaosConfig, format_figures, run_chaos

SLICE = ChaosConfig(
    seed=7,
    members=5,
    # Five interactions a member (/helpme, /agent, three /reply): well under the per-member limit
    # of twenty a minute, so nobody is asked to slow down.
    messages_per_member=3,
    # The template's default: four runs, then the notice on the fifth delivery.
    max_receive_count=5,
    # The worker's 30, 60, 120, 240 s retries become 2, 3, 6, 12 s, and the crashed batch's return
    # (AWS: the 360 s visibility timeout) 5 s. The worker keeps the template's 60 s Lambda timeout:
    # nothing here leaves an idempotency record in progress past its delivery (see below), and a
    # batch has the time to start all of its jobs.
    time_scale=0.05,
    worker_concurrency=4,
    pace=(0.2, 0.6),
    stagger_seconds=2.0,
    # Denser Discord and SQS faults than the full run, so a small slice still meets each kind.
    # (Twilio's stay at the full run's rates: opening a chat takes six Twilio calls, and denser
    # faults dead-letter it however well the worker retries.)
    discord_429=0.06,
    discord_5xx=0.05,
    discord_timeout=0.01,
    twilio_5xx=0.03,
    twilio_timeout=0.01,
    worker_crashes=1,
    crash_rate=0.5,
    crash_return_seconds=5,
    sqs_expired_visibility=0.05,
    sqs_lost_delete=0.05,
    dynamodb_throttle=0.04,
    # Only throttling that botocore's retries absorb: a burst that exhausts them can leave an
    # idempotency record in progress until the Lambda timeout, which outlasts retries compressed
    # this much (AWS's real timings do not). The full run, at a time scale that keeps the ratio,
    # injects them.
    dynamodb_exhausted_share=0.0,
    setup_timeout=40.0,
    drain_timeout=60.0,
)


@pytest.mark.slow
def test_a_seeded_chaos_slice_loses_duplicates_and_reorders_nothing() -> None:
    figures = run_chaos(SLICE)
    report = format_figures(figures)
    print(report)  # shown with -s, or when the test fails

    assert figures["drained"], report
    assert not figures["member_problems"], report
    assert figures["sent"] == 2 * SLICE.members * SLICE.messages_per_member, report
    assert figures["lost"] == 0, report
    assert figures["duplicated"] == 0, report
    assert figures["out_of_order"] == 0, report
    assert figures["poison_dead_lettered"], report
    assert figures["poison_member_told"], report
    # Only the poisoned job is dead-lettered, and only its member is told.
    assert figures["dead_lettered"] == 1, report
    assert figures["members_told"] == 1, report
    # The faults really happened.
    faults = figures["faults"]
    assert faults.get("twilio webhook extra deliveries", 0) > 0, report
    assert figures["retries"] > 0, report
