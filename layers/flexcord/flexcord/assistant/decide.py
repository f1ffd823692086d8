"""What the assistant does with one member message. Pure logic: the knowledge base is passed in,
and the result says what to show and whether to hand off."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

ARTICLES_SHOWN = 3
#: Two answers in a row that the knowledge base could not give: a human takes over.
MISSES_BEFORE_HANDOFF = 2

# Phrases members use to ask for a person, or to say the suggestion did not help. Word
# boundaries keep "agent" from matching "reagent", and "human" from "humanity".
_WANTS_HUMAN = re.compile(
    r"\b(human|real person|a person|someone real|agent|representative|staff|support team"
    r"|talk to (someone|somebody))\b",
    re.IGNORECASE,
)
_DID_NOT_HELP = re.compile(
    r"\b(did ?n[o']?t help|does ?n[o']?t help|not helpful|no help|useless|that'?s not it"
    r"|still (broken|not working)|did ?n[o']?t work|does ?n[o']?t work)\b",
    re.IGNORECASE,
)


class ArticleLike(Protocol):
    @property
    def stem(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def snippet(self) -> str: ...


class HitLike(Protocol):
    @property
    def article(self) -> ArticleLike: ...
    @property
    def score(self) -> float: ...


class SearchResultLike(Protocol):
    @property
    def hits(self) -> Sequence[HitLike]: ...
    @property
    def abstain(self) -> bool: ...


class KnowledgeBase(Protocol):
    def search(self, query: str, k: int = 10, *, locale: str | None = None) -> SearchResultLike: ...


class LazyKnowledgeBase:
    """A knowledge base loaded at its first search: a worker that runs other jobs never pays for
    numpy and the embedding model (about 0.3 s) at its cold start."""

    def __init__(self, load: Callable[[], KnowledgeBase]) -> None:
        self._load = load

    def search(self, query: str, k: int = 10, *, locale: str | None = None) -> SearchResultLike:
        return self._load().search(query, k, locale=locale)


@dataclass(frozen=True)
class Suggestion:
    stem: str
    title: str
    url: str
    snippet: str
    score: float


@dataclass(frozen=True)
class Decision:
    """``reply`` is what the member is told; ``handoff`` sends the chat to a human;
    ``misses`` is the new count of consecutive questions the knowledge base could not answer."""

    handoff: bool
    reply: str
    misses: int
    reason: str
    articles: list[Suggestion] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return bool(self.articles)


def decide(
    message: str, *, knowledge_base: KnowledgeBase, misses: int, locale: str | None = None
) -> Decision:
    """``locale`` is the member's Discord locale: articles in their language come first."""
    text = message.strip()
    if _WANTS_HUMAN.search(text):
        return Decision(True, "Sure, let me get you a human.", misses, "asked_for_human")
    if _DID_NOT_HELP.search(text):
        return Decision(True, "Sorry that didn't help. Let me get you a human.", misses, "did_not_help")
    result = knowledge_base.search(text, k=ARTICLES_SHOWN, locale=locale)
    if result.abstain or not result.hits:
        missed = misses + 1
        if missed >= MISSES_BEFORE_HANDOFF:
            return Decision(
                True, "I couldn't find an answer to that. Let me get you a human.", missed, "abstained_twice"
            )
        return Decision(
            False,
            "I'm not sure I have an answer to that. Could you say it another way? "
            "Or press **Talk to a human**.",
            missed,
            "abstained",
        )
    suggestions = [
        Suggestion(
            hit.article.stem, hit.article.title, hit.article.url, hit.article.snippet, float(hit.score)
        )
        for hit in result.hits[:ARTICLES_SHOWN]
    ]
    return Decision(False, "These articles might help:", 0, "answered", suggestions)
