"""The job message: what the endpoint enqueues and the worker reads back.

A job carries the interaction's context (who, where, and the token that lets the worker edit the
deferred reply) and a kind-specific payload. It is plain JSON on the queue.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class JobKind(StrEnum):
    CREATE_CASE = "case.create"
    SHOW_CASE = "case.show"
    LIST_CASES = "case.list"
    LIST_SERVER_CASES = "case.list_server"
    UPDATE_CASE = "case.update"
    ADD_CASE_DETAILS = "case.add_details"
    SUPPORT_CASE = "case.support"
    OPEN_CHAT = "chat.open"
    MEMBER_MESSAGE = "chat.message"
    REQUEST_AGENT = "chat.agent"
    END_CHAT = "chat.end"
    ASSISTANT_HELPED = "assistant.helped"
    ASSISTANT_REPLY = "assistant.reply"
    CONVERSATION_EVENT = "twilio.conversation_event"
    RATE_CHAT = "chat.rate"
    COMMENT_CHAT = "chat.comment"
    SEND_TRANSCRIPT = "chat.transcript"
    LEAVE_MESSAGE = "chat.leave_message"
    DUPLICATE_CHOICE = "case.duplicate_choice"
    SETUP_SHOW = "setup.show"
    SETUP_CHANGE = "setup.change"
    POST_ANNOUNCEMENT = "announcement.post"
    REVIEW_DECIDE = "announcement.review_decide"
    REVIEW_EDIT = "announcement.review_edit"
    ANNOUNCE_DRAFT = "announcement.draft"
    ANNOUNCE_DECIDE = "announcement.decide"
    ANNOUNCE_LIST = "announcement.list"
    ANNOUNCE_CANCEL = "announcement.cancel"
    FEEDS_ADD = "feeds.add"
    FEEDS_LIST = "feeds.list"
    FEEDS_TEST = "feeds.test"
    FEEDS_REMOVE = "feeds.remove"
    FEEDS_RESUME = "feeds.resume"
    FEED_POLL = "feeds.poll"


@dataclass(frozen=True)
class InteractionContext:
    """The parts of a Discord interaction the worker needs, taken from the signed payload."""

    interaction_id: str
    application_id: str
    token: str
    user_id: str
    username: str
    display_name: str
    roles: tuple[str, ...]
    guild_id: str | None
    channel_id: str | None
    locale: str
    #: The member's permissions in the channel (Discord computes them into the signed payload);
    #: "0" in a DM.
    permissions: str = "0"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InteractionContext:
        return cls(**{**data, "roles": tuple(data.get("roles", ()))})


@dataclass(frozen=True)
class Job:
    """One unit of work for the worker.

    ``key`` identifies what asked for it (a Discord interaction id, a Twilio webhook delivery):
    it is the FIFO deduplication id and the idempotency key, so one request is acted on once.
    ``group`` is the FIFO message group: jobs in one group run in order, groups run side by side.
    ``context`` is set when a member's interaction asked for the job, so the worker can answer.
    ``attempt`` is which delivery this is (SQS's receive count): set by the worker, never queued.
    A job on a later attempt may find its earlier attempt's writes done, and must not redo them.
    """

    kind: JobKind
    key: str
    group: str
    context: InteractionContext | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    attempt: int = 1

    @property
    def is_retry(self) -> bool:
        return self.attempt > 1

    @classmethod
    def for_interaction(
        cls, kind: JobKind, context: InteractionContext, payload: dict[str, Any] | None = None
    ) -> Job:
        # One interaction, one job; a member's jobs run in the order they asked.
        return cls(
            kind, key=context.interaction_id, group=context.user_id, context=context, payload=payload or {}
        )

    @property
    def interaction(self) -> InteractionContext:
        """The member's interaction; only jobs made by ``for_interaction`` have one."""
        if self.context is None:
            raise ValueError(f"a {self.kind} job carries no interaction")
        return self.context

    def to_json(self) -> str:
        document = asdict(self)
        del document["attempt"]
        return json.dumps(document, separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> Job:
        return cls.from_dict(json.loads(body))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        context = data.get("context")
        return cls(
            kind=JobKind(data["kind"]),
            key=str(data["key"]),
            group=str(data["group"]),
            context=InteractionContext.from_dict(context) if context else None,
            payload=dict(data.get("payload") or {}),
            attempt=int(data.get("attempt") or 1),
        )
