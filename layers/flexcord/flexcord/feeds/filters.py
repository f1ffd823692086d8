"""Which entries of a feed get announced: include and exclude terms that staff type in.

Terms are comma-separated. A plain term is a word or phrase matched case-insensitively as a whole
("patch" matches "Patch notes" but not "dispatcher"; "patch notes" matches across any spacing);
a term written ``/like this/`` is a case-insensitive regular expression, for when words are not
enough (``/v\\d+\\.\\d+/``). Both are matched against the entry's title and summary.

An entry is announced when it matches at least one include term (or there are none) and no
exclude term.

Commas inside a regular expression's ``{2,5}``, ``[,;]`` or ``(a,b)`` do not split it, so the
usual patterns can be typed as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from flexcord.feeds.model import FeedEntry

MAX_TERMS = 20
MAX_TERM_LENGTH = 100


@dataclass(frozen=True)
class FeedFilters:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def accepts(self, entry: FeedEntry) -> bool:
        text = f"{entry.title} {entry.summary}".strip()
        if self.include and not any(_matches(term, text) for term in self.include):
            return False
        return not any(_matches(term, text) for term in self.exclude)


def parse_filter_terms(text: str) -> tuple[str, ...]:
    """The terms in ``text``, blanks and repeats dropped. Raises ``ValueError`` with a message
    for staff when there are too many, one is too long, or a regular expression is invalid."""
    terms: list[str] = []
    for term in _split_terms(text):
        if term and term.casefold() not in (known.casefold() for known in terms):
            terms.append(term)
    if len(terms) > MAX_TERMS:
        raise ValueError(f"Use at most {MAX_TERMS} filter terms (there are {len(terms)}).")
    for term in terms:
        if len(term) > MAX_TERM_LENGTH:
            raise ValueError(f"“{term[:40]}…” is longer than {MAX_TERM_LENGTH} characters.")
        if _is_regex(term):
            _check_regex(term)
    return tuple(terms)


def _split_terms(text: str) -> list[str]:
    pieces = text.split(",")
    terms: list[str] = []
    index = 0
    while index < len(pieces):
        term = pieces[index].strip()
        # A regex cut at a comma inside its brackets: join pieces until it closes.
        if term.startswith("/") and not _is_regex(term) and _has_open_bracket(term):
            for end in range(index + 1, len(pieces)):
                joined = ",".join(pieces[index : end + 1]).strip()
                if _is_regex(joined):
                    term, index = joined, end
                    break
        terms.append(term)
        index += 1
    return terms


def _has_open_bracket(text: str) -> bool:
    return any(text.count(opening) > text.count(closing) for opening, closing in ("{}", "[]", "()"))


def _check_regex(term: str) -> None:
    pattern = term[1:-1]
    if not pattern:
        raise ValueError(f"{term} is an empty regular expression.")
    try:
        re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        raise ValueError(f"{term} is not a valid regular expression: {error.msg}.") from None


def _is_regex(term: str) -> bool:
    return len(term) >= 2 and term.startswith("/") and term.endswith("/")


def _matches(term: str, text: str) -> bool:
    pattern = _compiled(term)
    return pattern is not None and pattern.search(text) is not None


@lru_cache(maxsize=512)
def _compiled(term: str) -> re.Pattern[str] | None:
    """The term's pattern; None for a term that cannot match (an invalid stored regex should not
    stop the whole feed, and ``parse_filter_terms`` keeps new ones out)."""
    if _is_regex(term):
        try:
            return re.compile(term[1:-1], re.IGNORECASE) if len(term) > 2 else None
        except re.error:
            return None
    words = term.split()
    if not words:
        return None
    # Lookarounds rather than \b, so terms that start or end with a symbol ("c++", "#patch")
    # still need a whole word: \b would demand a word character next to the symbol.
    phrase = r"\s+".join(re.escape(word) for word in words)
    return re.compile(rf"(?<!\w){phrase}(?!\w)", re.IGNORECASE)
