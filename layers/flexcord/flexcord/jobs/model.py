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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InteractionContext:
        return cls(**{**data, "roles": tuple(data.get("roles", ()))})


@dataclass(frozen=True)
class Job:
    kind: JobKind
    context: InteractionContext
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def deduplication_id(self) -> str:
        # One interaction produces at most one job; SQS FIFO drops a repeat within five minutes.
        return self.context.interaction_id

    @property
    def group_id(self) -> str:
        # Jobs of one member run in order; different members never wait for each other.
        return self.context.user_id

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> Job:
        return cls.from_dict(json.loads(body))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        return cls(
            kind=JobKind(data["kind"]),
            context=InteractionContext.from_dict(data["context"]),
            payload=dict(data.get("payload") or {}),
        )
