"""The endpoint's side of triage: what each control, form and command queues, and what it
refuses at once. Whether the member may do it is the worker's check (tests/e2e/test_case_triage.py)."""

from __future__ import annotations

from typing import Any

import pytest

from flexcord.interactions.custom_ids import parse_case_control, parse_show_case
from flexcord.jobs.model import JobKind
from tests.unit.fakes import RecordingQueue
from tests.unit.test_interactions_endpoint import call, interaction, make_endpoint


def subcommand(name: str, **options: Any) -> dict[str, Any]:
    return {
        "name": "case",
        "options": [
            {"type": 1, "name": name, "options": [{"name": k, "value": v} for k, v in options.items()]}
        ],
    }


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


def test_case_show_update_and_add_are_queued_with_what_was_asked(queue: RecordingQueue) -> None:
    endpoint = make_endpoint(queue)
    call(endpoint, interaction(2, subcommand("show", number=12)))
    call(endpoint, interaction(2, subcommand("update", number=12, status="resolved", note=" fixed "), id="2"))
    call(endpoint, interaction(2, subcommand("add", number=12, details="on iPad"), id="3"))
    assert [(job.kind, job.payload) for job in queue.jobs] == [
        (JobKind.SHOW_CASE, {"number": 12}),
        (JobKind.UPDATE_CASE, {"number": 12, "action": "status", "status": "resolved", "note": "fixed"}),
        (JobKind.ADD_CASE_DETAILS, {"number": 12, "details": "on iPad"}),
    ]


@pytest.mark.parametrize(
    "data",
    [
        subcommand("update", number=12, status="duplicate"),  # needs the original: the post's form
        subcommand("update", number=12, status="closed"),
        subcommand("update", number=12, status="resolved", note="x" * 1001),
        subcommand("add", number=12),
        subcommand("add", number=12, details="   "),
        subcommand("show", number=0),
    ],
)
def test_bad_case_commands_are_explained_and_queue_nothing(
    queue: RecordingQueue, data: dict[str, Any]
) -> None:
    status, answer = call(make_endpoint(queue), interaction(2, data))
    assert (status, answer["type"], answer["data"]["flags"]) == (200, 4, 64)
    assert queue.jobs == []


def test_cases_is_for_servers_and_keeps_only_known_filters(queue: RecordingQueue) -> None:
    endpoint = make_endpoint(queue)
    options = [
        {"name": "kind", "value": "feature"},
        {"name": "sort", "value": "support"},
        {"name": "x", "value": "y"},
    ]
    call(endpoint, interaction(2, {"name": "cases", "options": options}))
    assert queue.jobs[0].kind is JobKind.LIST_SERVER_CASES
    assert queue.jobs[0].payload == {"kind": "feature", "sort": "support"}
    in_dm = interaction(2, {"name": "cases"}, id="2", user={"id": "111", "username": "alice"})
    del in_dm["member"], in_dm["guild_id"]
    assert "in your server" in call(endpoint, in_dm)[1]["data"]["content"]
    assert len(queue.jobs) == 1


def test_post_controls_queue_jobs_or_open_forms(queue: RecordingQueue) -> None:
    endpoint = make_endpoint(queue)
    select = {"custom_id": "case:status:7", "component_type": 3, "values": ["triaged"]}
    assert call(endpoint, interaction(3, select))[1] == {"type": 5, "data": {"flags": 64}}
    call(endpoint, interaction(3, {"custom_id": "case:assign:7", "component_type": 2}, id="2"))
    call(endpoint, interaction(3, {"custom_id": "case:metoo:7", "component_type": 2}, id="3"))
    assert [(job.kind, job.payload) for job in queue.jobs] == [
        (JobKind.UPDATE_CASE, {"number": 7, "action": "status", "status": "triaged"}),
        (JobKind.UPDATE_CASE, {"number": 7, "action": "assign"}),
        (JobKind.SUPPORT_CASE, {"number": 7}),
    ]
    _, form = call(endpoint, interaction(3, {"custom_id": "case:dup:7", "component_type": 2}, id="4"))
    assert form["type"] == 9
    assert form["data"]["custom_id"] == "case:dup:7"
    assert len(form["data"]["title"]) <= 45


@pytest.mark.parametrize(
    "data",
    [
        {"custom_id": "case:status:7", "component_type": 3, "values": ["closed"]},
        {"custom_id": "case:status:7", "component_type": 3, "values": ["open", "resolved"]},
        {"custom_id": "case:status:07", "component_type": 3, "values": ["open"]},
        {"custom_id": "case:explode:7", "component_type": 2},
        {"custom_id": "case:assign:²", "component_type": 2},
    ],
)
def test_forged_or_stale_controls_queue_nothing(queue: RecordingQueue, data: dict[str, Any]) -> None:
    _, answer = call(make_endpoint(queue), interaction(3, data))
    assert answer["type"] == 4
    assert queue.jobs == []


def test_submitted_forms_are_validated_before_they_are_queued(queue: RecordingQueue) -> None:
    endpoint = make_endpoint(queue)

    def form(custom_id: str, value: str, interaction_id: str) -> dict[str, Any]:
        component = {"type": 4, "custom_id": "value", "value": value}
        return interaction(
            5,
            {"custom_id": custom_id, "components": [{"type": 18, "component": component}]},
            id=interaction_id,
        )

    assert call(endpoint, form("case:dup:7", "twelve", "1"))[1]["type"] == 4
    call(endpoint, form("case:dup:7", "#12", "2"))
    call(endpoint, form("case:tell:7", "Fixed in 1.4.2", "3"))
    call(endpoint, form("case:note:7", "Audio team", "4"))
    assert [job.payload for job in queue.jobs] == [
        {"number": 7, "action": "duplicate", "original": 12},
        {"number": 7, "action": "note", "note": "Fixed in 1.4.2", "tell_reporter": True},
        {"number": 7, "action": "note", "note": "Audio team", "tell_reporter": False},
    ]


def test_custom_id_parsers_take_ascii_numbers_only() -> None:
    assert parse_case_control("case:metoo:12") is not None
    assert parse_case_control("case:metoo:-1") is None
    assert parse_case_control("case:metoo:1 ") is None
    assert parse_show_case("case:show:12") == (None, 12)
    assert parse_show_case("case:show:900:12") == ("900", 12)
    assert parse_show_case("case:show:900:") is None
