"""Announcement reviews in DynamoDB on moto (the table built from template.yaml): the first
submission wins, one press decides (or the same press again, a retried job), edits only while
pending, and the item is where keys.py says."""

from __future__ import annotations

from dataclasses import replace
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from devstack.aws_resources import LocalResources
from flexcord.adapters.storage.case_repository import StorageError
from flexcord.adapters.storage.dynamodb import dynamodb_client
from flexcord.adapters.storage.reviews import DynamoAnnouncementReviews
from flexcord.announcements.review import AnnouncementReview, ReviewState

FEED_ID = f"feed-1300000000000000001-{'ab' * 12}"
PAYLOAD = {
    "announcement_id": FEED_ID,
    "server": "100",
    "channel_id": "502",
    "title": "New post",
    "text": "Read it: https://example.com/p",
    "url": "https://example.com/p",
    "image_url": None,
    "role_id": "66",
    "source": "feed",
    "feed_id": "1300000000000000001",
    "review_first": True,
}


def review(**changes: object) -> AnnouncementReview:
    return replace(AnnouncementReview(FEED_ID, "100", dict(PAYLOAD)), **changes)  # type: ignore[arg-type]


def test_the_first_submission_wins_and_reads_back_whole(aws: LocalResources) -> None:
    reviews = DynamoAnnouncementReviews(dynamodb_client(), aws.table_name)
    assert reviews.get(FEED_ID) is None
    assert reviews.submit(review()) == review()
    # A second submission (a retried job, or the entry queued again) gets the first one back.
    second = review(job_payload={**PAYLOAD, "title": "Another title"})
    assert reviews.submit(second) == review()
    reviews.set_message(FEED_ID, "701", "9001")
    stored = reviews.get(FEED_ID)
    assert stored == review(channel_id="701", message_id="9001")
    assert stored is not None
    assert stored.job_payload == PAYLOAD
    item = dynamodb_client().get_item(
        TableName=aws.table_name, Key={"pk": {"S": f"REVIEW#{FEED_ID}"}, "sk": {"S": "REVIEW"}}
    )["Item"]
    assert item["state"] == {"S": "pending"}
    assert item["title"] == {"S": "New post"}


def test_one_press_decides_and_the_same_press_may_finish(aws: LocalResources) -> None:
    reviews = DynamoAnnouncementReviews(dynamodb_client(), aws.table_name)
    reviews.submit(review())
    approved = reviews.decide(FEED_ID, ReviewState.APPROVED, by="111", press="p1")
    assert approved is not None
    assert (approved.state, approved.decided_by, approved.decided_press) == (
        ReviewState.APPROVED,
        "111",
        "p1",
    )
    # Another press, even the opposite decision: the stored review, unchanged.
    other = reviews.decide(FEED_ID, ReviewState.REJECTED, by="222", press="p2")
    assert other == approved
    # The deciding job delivered again: its own decision, so it goes on.
    again = reviews.decide(FEED_ID, ReviewState.APPROVED, by="111", press="p1")
    assert again is not None
    assert again.decided_press == "p1"
    assert reviews.decide("unknown", ReviewState.APPROVED, by="111", press="p3") is None


def test_release_reopens_only_for_the_deciding_press(aws: LocalResources) -> None:
    reviews = DynamoAnnouncementReviews(dynamodb_client(), aws.table_name)
    reviews.submit(review())
    reviews.decide(FEED_ID, ReviewState.APPROVED, by="111", press="p1")
    reviews.release(FEED_ID, press="p2")  # not its decision: nothing happens
    stored = reviews.get(FEED_ID)
    assert stored is not None
    assert stored.state is ReviewState.APPROVED
    reviews.release(FEED_ID, press="p1")
    stored = reviews.get(FEED_ID)
    assert stored is not None
    assert (stored.state, stored.decided_by, stored.decided_press) == (ReviewState.PENDING, None, None)
    decided = reviews.decide(FEED_ID, ReviewState.APPROVED, by="222", press="p2")
    assert decided is not None
    assert decided.decided_press == "p2"


def test_edits_replace_title_and_text_while_pending_only(aws: LocalResources) -> None:
    reviews = DynamoAnnouncementReviews(dynamodb_client(), aws.table_name)
    reviews.submit(review())
    edited = reviews.edit(FEED_ID, title="Better title", text="Better text", by="333")
    assert edited is not None
    assert edited.job_payload == {**PAYLOAD, "title": "Better title", "text": "Better text"}
    assert edited.edited_by == "333"
    assert reviews.get(FEED_ID) == edited
    reviews.decide(FEED_ID, ReviewState.REJECTED, by="111", press="p1")
    assert reviews.edit(FEED_ID, title="Too late", text="x", by="333") is None
    stored = reviews.get(FEED_ID)
    assert stored is not None
    assert stored.title == "Better title"
    assert reviews.edit("unknown", title="t", text="x", by="333") is None


def test_a_dynamodb_failure_is_a_storage_error(aws: LocalResources) -> None:
    client = dynamodb_client()
    reviews = DynamoAnnouncementReviews(client, aws.table_name)
    failure = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem")
    with mock.patch.object(client, "update_item", side_effect=failure), pytest.raises(StorageError):
        reviews.decide(FEED_ID, ReviewState.APPROVED, by="111", press="p1")
    with mock.patch.object(client, "get_item", side_effect=failure), pytest.raises(StorageError):
        reviews.get(FEED_ID)
