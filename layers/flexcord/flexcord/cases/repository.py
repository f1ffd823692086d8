"""The port the case service needs from storage. The DynamoDB adapter lives in adapters/storage."""

from __future__ import annotations

from typing import Protocol

from flexcord.cases.model import Case, CaseDraft, CaseStatus


class VersionConflict(RuntimeError):
    """The case changed since it was read; read it again and redo the change."""


class CaseRepository(Protocol):
    def create(self, draft: CaseDraft, *, source_id: str, now: str) -> Case:
        """Give the draft the next case number of its server and store it.

        Idempotent on ``source_id`` (the Discord interaction that asked for it): a second call with
        the same source returns the case the first one created instead of numbering a new one.
        """
        ...

    def get(self, server: str, number: int) -> Case | None: ...

    def created_by(self, source_id: str) -> Case | None:
        """The case opened by ``source_id``, if one was."""
        ...

    def list_by_reporter(self, user_id: str, *, limit: int) -> list[Case]:
        """The reporter's cases in every server, newest first."""
        ...

    def list_by_status(self, server: str, status: CaseStatus) -> list[Case]:
        """The server's cases with this status."""
        ...

    def save(self, case: Case) -> Case:
        """Store this version of a case if the stored one is still ``case.version``; returns it
        with its new version. Raises VersionConflict when another save came first."""
        ...
