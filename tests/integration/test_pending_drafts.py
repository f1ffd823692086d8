"""Drafts held for a duplicate question, in DynamoDB on moto (the table built from template.yaml):
kept once, the first press's choice wins, and the item expires with the table's TTL."""

from __future__ import annotations

import boto3
import pytest

from devstack.aws_resources import LocalResources
from devstack.template import load_template
from flexcord.adapters.storage.dynamodb import dynamodb_client
from flexcord.adapters.storage.pending_drafts import DynamoPendingDrafts
from flexcord.cases.model import Attachment, CaseDraft, CaseKind, CaseSection, Reporter
from flexcord.cases.pending import FILE_MINE, Offered, PendingDraft


def pending(draft_id: str = "1300000000000000001", **changes: object) -> PendingDraft:
    draft = CaseDraft(
        kind=CaseKind.FEATURE,
        title="Trade history",
        sections=(CaseSection("What problem would it solve?", "I forget trades — “souvent”."),),
        reporter=Reporter("111", "alice", "Alice"),
        guild_id="900",
        channel_id="901",
        attachments=(Attachment("s.png", "image/png", 68, "https://cdn/s.png"),),
    )
    values: dict[str, object] = {
        "draft_id": draft_id,
        "draft": draft,
        "offered": (Offered(12, "Trade log"), Offered(3, "History of trades")),
        "expires_at": 1_796_086_400,
    }
    return PendingDraft(**{**values, **changes})  # type: ignore[arg-type]


@pytest.fixture
def drafts(aws: LocalResources) -> DynamoPendingDrafts:
    return DynamoPendingDrafts(dynamodb_client(), aws.table_name)


def test_a_draft_round_trips_and_is_kept_once(drafts: DynamoPendingDrafts, aws: LocalResources) -> None:
    held = pending()
    assert drafts.keep(held) == held
    assert drafts.get(held.draft_id) == held
    # A redelivered submit keeps what was stored first.
    assert drafts.keep(pending(offered=(Offered(99, "Other"),))) == held
    item = boto3.client("dynamodb").get_item(
        TableName=aws.table_name, Key={"pk": {"S": f"DRAFT#{held.draft_id}"}, "sk": {"S": "DRAFT"}}
    )["Item"]
    assert item["expires_at"] == {"N": "1796086400"}
    assert drafts.get("404") is None


def test_the_first_press_chooses_and_only_it_may_write_again(drafts: DynamoPendingDrafts) -> None:
    held = drafts.keep(pending())
    first = drafts.decide(held.draft_id, 12, press_id="p1")
    assert first is not None
    assert (first.choice, first.decided_by) == (12, "p1")
    # Another press, another choice: the first one stands.
    other = drafts.decide(held.draft_id, FILE_MINE, press_id="p2")
    assert other is not None
    assert (other.choice, other.decided_by) == (12, "p1")
    # The first press delivered again writes the same.
    again = drafts.decide(held.draft_id, 12, press_id="p1")
    assert again == first
    assert drafts.get(held.draft_id) == first
    assert drafts.decide("404", 12, press_id="p1") is None


def test_the_table_expires_held_drafts_by_their_ttl_attribute() -> None:
    resources = load_template()["Resources"]
    table = resources["FlexcordTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_the_worker_may_do_what_the_adapter_does() -> None:
    """The adapter's calls are PutItem, GetItem and UpdateItem on the table: the worker's role
    allows them (the interactions endpoint never touches a draft)."""
    statements = load_template()["Resources"]["WorkerFunction"]["Properties"]["Policies"][0]["Statement"]
    [table] = [s for s in statements if s["Sid"] == "TableReadWrite"]
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"} <= set(table["Action"])
