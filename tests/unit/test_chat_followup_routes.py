"""The endpoint's routes for the closing notice's buttons, the comment form and the after-hours
"Leave a message": what is queued, and that a malformed custom_id queues nothing."""

from __future__ import annotations

from typing import Any

import pytest

from flexcord.jobs.model import JobKind
from tests.unit.fakes import RecordingQueue
from tests.unit.test_interactions_endpoint import call, interaction, make_endpoint


def press(custom_id: str) -> dict[str, Any]:
    return interaction(3, {"custom_id": custom_id, "component_type": 2})


def submit(custom_id: str, **values: str) -> dict[str, Any]:
    return interaction(
        5,
        {
            "custom_id": custom_id,
            "components": [
                {"type": 18, "component": {"type": 4, "custom_id": key, "value": value}}
                for key, value in values.items()
            ],
        },
    )


def test_a_rating_is_queued_and_answered_with_a_deferred_update() -> None:
    queue = RecordingQueue()
    assert call(make_endpoint(queue), press("chat:rate:900:12:4")) == (200, {"type": 6})
    [job] = queue.jobs
    assert job.kind is JobKind.RATE_CHAT
    assert job.payload == {"server": "900", "number": 12, "stars": 4}
    assert job.interaction.user_id == "111"  # who pressed, from the signed payload


@pytest.mark.parametrize(
    "custom_id",
    [
        "chat:rate:900:12:6",
        "chat:rate:900:12:0",
        "chat:rate:900:0:3",
        "chat:rate:900:12",
        "chat:rate:x:12:3",
        "chat:rate:900:12:3:1",
        "chat:rate:900:²:3",
        "chat:transcript:900:",
        "chat:transcript:900:1:2",
        "chat:comment:../1",
    ],
)
def test_a_malformed_follow_up_id_queues_nothing(custom_id: str) -> None:
    queue = RecordingQueue()
    status, answer = call(make_endpoint(queue), press(custom_id))
    assert status == 200
    assert answer["type"] == 4
    assert answer["data"]["flags"] == 64
    assert queue.jobs == []


def test_the_transcript_button_is_queued() -> None:
    queue = RecordingQueue()
    assert call(make_endpoint(queue), press("chat:transcript:0:3"))[1]["type"] == 5
    [job] = queue.jobs
    assert (job.kind, job.payload) == (JobKind.SEND_TRANSCRIPT, {"server": "0", "number": 3})


def test_add_a_comment_opens_a_form_for_that_case_and_its_submission_is_queued() -> None:
    queue = RecordingQueue()
    answer = call(make_endpoint(queue), press("chat:comment:900:12"))[1]
    assert answer["type"] == 9
    assert answer["data"]["custom_id"] == "chat:comment:900:12"
    assert len(answer["data"]["title"]) <= 45
    assert queue.jobs == []
    assert call(make_endpoint(queue), submit("chat:comment:900:12", comment="  Great  "))[1]["type"] == 5
    [job] = queue.jobs
    assert (job.kind, job.payload) == (
        JobKind.COMMENT_CHAT,
        {"server": "900", "number": 12, "comment": "Great"},
    )


@pytest.mark.parametrize("comment", ["   ", "x" * 1001])
def test_an_empty_or_long_comment_is_explained_and_queues_nothing(comment: str) -> None:
    queue = RecordingQueue()
    answer = call(make_endpoint(queue), submit("chat:comment:900:12", comment=comment))[1]
    assert answer["type"] == 4
    assert queue.jobs == []


def test_leave_a_message_opens_a_form_and_its_submission_is_queued() -> None:
    queue = RecordingQueue()
    answer = call(make_endpoint(queue), press("chat:leave"))[1]
    assert answer["type"] == 9
    assert answer["data"]["custom_id"] == "chat:leave"
    inner = answer["data"]["components"][0]["component"]
    assert (inner["custom_id"], inner["style"]) == ("message", 2)
    assert call(make_endpoint(queue), submit("chat:leave", message=" Back tomorrow? "))[1]["type"] == 5
    [job] = queue.jobs
    assert (job.kind, job.payload) == (JobKind.LEAVE_MESSAGE, {"text": "Back tomorrow?"})
    assert call(make_endpoint(queue), submit("chat:leave", message="  "))[1]["type"] == 4
    assert len(queue.jobs) == 1
