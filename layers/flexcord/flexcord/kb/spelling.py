"""Fixing members' typos against the articles' own vocabulary.

Members type fast on phones: "acount", "recieve", "raidpass". A word the articles never use
matches nothing, and worse, counts as an unanswered part of the question when deciding whether
to abstain. So before a query is scored, each unknown word is replaced by the known word one
edit away (a letter added, dropped, changed, or two neighbours swapped), the most frequent if
several are, or split into two known words when it is two run together.

Candidates are found with a deletion index (as in SymSpell): every known word is filed under
itself and each of its one-letter deletions, and an unknown word is looked up the same way.
Two words one edit apart always share an entry, so no word is compared with the whole
vocabulary. The index is built on the first unknown word, not at cold start.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

#: Shorter words are left alone: one edit away from a short word is usually another real word
#: ("love" and "move", "mount" and "count"), not a typo.
MIN_CORRECTED_LENGTH = 6
MIN_SPLIT_PART_LENGTH = 3


class SpellingCorrector:
    def __init__(self, word_counts: Mapping[str, int]) -> None:
        self._counts = word_counts

    def correct(self, word: str) -> str | None:
        """The known word (or two, space-separated) ``word`` was probably meant to be, or None."""
        if word in self._counts or len(word) < MIN_CORRECTED_LENGTH or not word.isalpha():
            return None
        return self._nearest(word) or self._split(word)

    @cached_property
    def _by_deletion(self) -> dict[str, list[str]]:
        entries: dict[str, list[str]] = {}
        for word in self._counts:
            if len(word) < MIN_CORRECTED_LENGTH - 1 or not word.isalpha():
                continue
            for key in {word, *_deletions(word)}:
                entries.setdefault(key, []).append(word)
        return entries

    def _nearest(self, word: str) -> str | None:
        index = self._by_deletion
        candidates: set[str] = set()
        for key in (word, *_deletions(word)):
            candidates.update(index.get(key, ()))
        close = [candidate for candidate in candidates if _one_edit_apart(word, candidate)]
        if not close:
            return None
        return max(close, key=lambda candidate: (self._counts[candidate], candidate))

    def _split(self, word: str) -> str | None:
        best: tuple[int, str] | None = None
        for cut in range(MIN_SPLIT_PART_LENGTH, len(word) - MIN_SPLIT_PART_LENGTH + 1):
            left, right = word[:cut], word[cut:]
            if left in self._counts and right in self._counts:
                score = min(self._counts[left], self._counts[right])
                if best is None or score > best[0]:
                    best = (score, f"{left} {right}")
        return best[1] if best else None


def _deletions(word: str) -> set[str]:
    return {word[:index] + word[index + 1 :] for index in range(len(word))}


def _one_edit_apart(first: str, second: str) -> bool:
    """Whether one insertion, deletion, substitution or swap of neighbours turns one into the other."""
    if first == second or abs(len(first) - len(second)) > 1:
        return False
    if len(first) > len(second):
        first, second = second, first
    start = 0
    while start < len(first) and first[start] == second[start]:
        start += 1
    if len(first) < len(second):
        return first[start:] == second[start + 1 :]
    if first[start + 1 :] == second[start + 1 :]:
        return True
    return (
        start + 1 < len(first)
        and first[start] == second[start + 1]
        and first[start + 1] == second[start]
        and first[start + 2 :] == second[start + 2 :]
    )
