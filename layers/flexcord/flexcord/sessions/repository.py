"""The port the session logic needs from storage."""

from __future__ import annotations

from typing import Protocol

from flexcord.sessions.model import SupportSession


class SessionRepository(Protocol):
    def open(self, session: SupportSession) -> SupportSession:
        """Store a new session unless the member already has one; return the one that is stored
        (so two concurrent /helpme end with one session)."""
        ...

    def for_member(self, user_id: str) -> SupportSession | None: ...

    def for_conversation(self, conversation_sid: str) -> SupportSession | None: ...

    def save(self, session: SupportSession) -> None:
        """Store the session's state; the relay marks are left as they are (only their own
        ``record_`` methods move them, and only forwards)."""
        ...

    def record_relayed(self, conversation_sid: str, index: int) -> None:
        """The agent's message ``index`` is in the member's chat (``relayed_through``). One write,
        which never moves the mark back; nothing happens once the session has ended."""
        ...

    def record_member_relayed(self, session: SupportSession, interaction_id: int) -> None:
        """The member's message of the interaction ``interaction_id`` is in the conversation
        (``member_relayed_through``). One write, which never moves the mark back; nothing happens
        once this session has ended (even if the member has opened another)."""
        ...

    def end(self, session: SupportSession) -> None:
        """The chat is over: the member has no open session any more."""
        ...
