"""The synonym table: phrases members and articles use for the same thing.

The table is data (``synonyms.txt`` next to this module): one group per line, phrases separated
by ``|``, ``#`` starting a comment::

    log in | login | sign in | signin

Every phrase of a group, in an article or in a question, becomes the same *concept term*
(``~log_in``), so "I can't sign in" finds an article about logging in. Matching is on stems, so
listing one form of a word covers its inflections ("sign in" also matches "signed in"). Longer
phrases win over shorter ones at the same place ("remote raid pass" before "raid pass").

Words of a phrase may have filler between them: "report a bug" also matches "report the bug".
A phrase may belong to one group only: a word meaning two things ("pass" for raids and for the
subscription) is better left out than guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any

from flexcord.kb.articles import DEFAULT_LANGUAGE
from flexcord.kb.stemmer import stemmer_for, stopwords_for
from flexcord.kb.text import STOPWORDS, words

DEFAULT_SYNONYMS_PATH = Path(__file__).with_name("synonyms.txt")

#: Concept terms start with a character no word can contain, so they never collide with one.
CONCEPT_PREFIX = "~"


class SynonymTableError(ValueError):
    """The synonym table is malformed; the message names the line."""


#: At most this many filler words may sit between two words of a phrase for it to match loosely
#: ("report the bug" for "report a bug", "give my account back" for "give back").
MAX_FILLER_WORDS = 2


class SynonymTable:
    """Finds the table's phrases in a sequence of words and names their concept."""

    def __init__(self, groups: Iterable[Iterable[str]], *, language: str = DEFAULT_LANGUAGE) -> None:
        #: The language of the phrases and of the words ``terms`` is given: its stemmer is used.
        self.language = language
        self.stem = stemmer_for(language)
        self.stopwords = stopwords_for(language)
        stem = self.stem
        self._concept_of: dict[tuple[str, ...], str] = {}
        self._content_of: dict[tuple[str, ...], tuple[str, ...]] = {}
        # first stem → [(phrase stems, concept)]: the phrase exactly, stopwords included
        self._exact: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        # first content stem → [(phrase stems, content stems, concept)]: phrases of two content
        # words or more, matched on their content words with some filler allowed between them
        self._loose: dict[str, list[tuple[tuple[str, ...], tuple[str, ...], str]]] = {}
        known_words: set[str] = set()
        group_of: dict[tuple[str, ...], int] = {}  # phrase stems → the group that lists them
        for number, group in enumerate(groups):
            phrases = [phrase for phrase in (tuple(words(text)) for text in group) if phrase]
            if not phrases:
                continue
            concept = CONCEPT_PREFIX + "_".join(stem(word) for word in phrases[0])
            for phrase in phrases:
                if all(word in STOPWORDS for word in phrase):
                    raise SynonymTableError(
                        f"{' '.join(phrase)!r} has only stopwords: it would never be seen"
                    )
                stems = tuple(stem(word) for word in phrase)
                if group_of.setdefault(stems, number) != number:
                    raise SynonymTableError(
                        f"{' '.join(phrase)!r} is in two groups "
                        f"({self._concept_of[stems][1:]} and {concept[1:]})"
                    )
                content = tuple(stem(word) for word in phrase if word not in STOPWORDS)
                self._add(stems, content, concept)
                known_words.update(phrase)
        self.words = frozenset(known_words)

    def _add(self, stems: tuple[str, ...], content: tuple[str, ...], concept: str) -> None:
        """File a phrase: its stems for exact matches, its content stems (those of its words
        that are not stopwords) for loose ones."""
        self._concept_of[stems] = concept
        self._content_of[stems] = content
        self._exact.setdefault(stems[0], []).append((stems, concept))
        if len(content) >= 2:
            self._loose.setdefault(content[0], []).append((stems, content, concept))

    @classmethod
    def parse(cls, text: str, *, source: str = "synonyms") -> SynonymTable:
        groups = []
        for number, raw_line in enumerate(text.splitlines(), start=1):
            line = raw_line.split("#", 1)[0].strip()
            if not line:
                continue
            phrases = [phrase.strip() for phrase in line.split("|")]
            if len(phrases) < 2 or not all(phrases):
                raise SynonymTableError(f"{source}:{number}: a group needs two or more phrases: {raw_line!r}")
            groups.append(phrases)
        try:
            return cls(groups)
        except SynonymTableError as error:
            raise SynonymTableError(f"{source}: {error}") from None

    @classmethod
    def load(cls, path: Path = DEFAULT_SYNONYMS_PATH) -> SynonymTable:
        return cls.parse(path.read_text(encoding="utf-8"), source=str(path))

    @classmethod
    def empty(cls, language: str = DEFAULT_LANGUAGE) -> SynonymTable:
        """No phrases: words are only stemmed (with ``language``'s stemmer)."""
        return cls((), language=language)

    def to_json(self) -> dict[str, object]:
        """The compiled table (phrases as stems), so a saved index needs no stemming to load."""
        return {
            "phrases": [
                [list(stems), list(self._content_of[stems]), concept]
                for stems, concept in self._concept_of.items()
            ],
            "words": sorted(self.words),
            "language": self.language,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SynonymTable:
        table = cls((), language=data.get("language", DEFAULT_LANGUAGE))
        for stems, content, concept in data["phrases"]:
            table._add(tuple(stems), tuple(content), concept)
        table.words = frozenset(data["words"])
        return table

    @cached_property
    def stems(self) -> frozenset[str]:
        """Every stem of every phrase: a word with one of these stems is not a typo."""
        return frozenset(word for phrase in self._concept_of for word in phrase)

    @property
    def phrases(self) -> dict[tuple[str, ...], str]:
        """Every phrase (as stems) and its concept term; for audits and tests."""
        return dict(self._concept_of)

    def terms(self, folded_words: list[str]) -> list[str]:
        """Stems of the non-stopwords, with each phrase of the table replaced by its concept.

        Phrases are matched before stopwords are dropped, so "log in" and "sign in" are seen.
        At each word the phrase with the most content words wins ("remote raid pass" over "raid
        pass"), an exact match over a loose one. Concept terms start with ``CONCEPT_PREFIX``.
        """
        return [term for term, _ in self._scan(folded_words)]

    def phrases_in(self, folded_words: list[str]) -> list[tuple[str, ...]]:
        """The table's phrases (as stems) that ``terms`` finds in some words; for audits."""
        return [phrase for _, phrase in self._scan(folded_words) if phrase is not None]

    def _scan(self, folded_words: list[str]) -> list[tuple[str, tuple[str, ...] | None]]:
        """Each term, with the phrase it stands for when it is a concept."""
        stems = [self.stem(word) for word in folded_words]
        is_stop = [word in self.stopwords for word in folded_words]
        found: list[tuple[str, tuple[str, ...] | None]] = []
        position = 0
        exact, loose = self._exact, self._loose
        while position < len(stems):
            current = stems[position]
            match = self._match_at(stems, is_stop, position) if current in exact or current in loose else None
            if match is not None:
                phrase, concept, position = match
                found.append((concept, phrase))
                continue
            if not is_stop[position]:
                found.append((current, None))
            position += 1
        return found

    def _match_at(
        self, stems: list[str], is_stop: list[bool], start: int
    ) -> tuple[tuple[str, ...], str, int] | None:
        """The best phrase starting at ``start``, its concept, and where it ends."""
        # (content words, exact, end, phrase, concept): the first three decide
        best: tuple[int, int, int, tuple[str, ...], str] | None = None
        for phrase, concept in self._exact.get(stems[start], ()):
            end = start + len(phrase)
            if tuple(stems[start:end]) == phrase:
                content_count = sum(not stop for stop in is_stop[start:end])
                candidate = (content_count, 1, end, phrase, concept)
                if best is None or candidate[:3] > best[:3]:
                    best = candidate
        if not is_stop[start]:
            for phrase, content, concept in self._loose.get(stems[start], ()):
                loose_end = _loose_end(stems, is_stop, start, content)
                if loose_end is not None:
                    candidate = (len(content), 0, loose_end, phrase, concept)
                    if best is None or candidate[:3] > best[:3]:
                        best = candidate
        return (best[3], best[4], best[2]) if best else None


def _loose_end(stems: list[str], is_stop: list[bool], start: int, content: tuple[str, ...]) -> int | None:
    """Where ``content`` ends if its words follow ``start`` with only a little filler between."""
    position = start + 1
    for expected in content[1:]:
        skipped = 0
        while position < len(stems) and is_stop[position] and skipped < MAX_FILLER_WORDS:
            position += 1
            skipped += 1
        if position >= len(stems) or is_stop[position] or stems[position] != expected:
            return None
        position += 1
    return position
