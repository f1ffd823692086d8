"""Searching the knowledge base: the interface the assistant uses, and the local implementation.

``KnowledgeBase.search(query, k)`` returns the best articles with a score in [0, 1] and whether
to *abstain*: to say "I don't have an article for that" and offer a human rather than suggest
something irrelevant. The local implementation is BM25F over title, tags and body (``index``)
with three additions that help with how members actually write:

- the synonym table turns "sign in", "log in" and "login" into one concept, in articles and
  questions alike (``synonyms``);
- unknown words are corrected against the articles' vocabulary (``spelling``);
- the score is normalised by what the question could have scored, so scores of different
  questions are comparable and one threshold can decide for all of them (though long questions,
  with more words no article uses, still score lower on average: docs/knowledge-base.md).

The score of an article is the share of the question's weight it matches::

    score(q, d) = Σ_{t in q} idf(t) · sat(t, d)  /  Σ_{t in q} idf(t)

where ``sat`` is the BM25F saturation in [0, 1) and a word no article contains counts with the
idf of an unseen term. A question about the game's raid passes scores high on the raids
article; "what's the weather tomorrow" matches nothing and scores 0; "refund on Steam" matches
"refund" but not "steam" and scores low. The search abstains when the best score is below a
threshold calibrated on labelled questions (``metrics.calibrate_threshold``).
"""

from __future__ import annotations

import heapq
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Protocol

from flexcord.kb.articles import DEFAULT_ARTICLES_DIR, DEFAULT_LANGUAGE, Article, language_of
from flexcord.kb.index import (
    FIELDED_SETTINGS,
    PLAIN_BM25_SETTINGS,
    Index,
    IndexSettings,
    article_languages,
    load_or_build,
    settings_for,
)
from flexcord.kb.spelling import SpellingCorrector
from flexcord.kb.text import words

_logger = logging.getLogger(__name__)

#: Calibrated on the default KB's tuning queries (docs/knowledge-base.md, "Calibration"):
#: ``python -m flexcord.kb calibrate`` prints it.
DEFAULT_ABSTAIN_BELOW = 0.3375
#: Calibrated the same way for the plain BM25 baseline, so the comparison is fair.
PLAIN_BM25_ABSTAIN_BELOW = 0.1838


class EmbedderUnavailable(RuntimeError):
    """The embedder's files are not there (``flexcord.kb.embedding``; defined here, where code
    without numpy can catch it)."""


@dataclass(frozen=True)
class Hit:
    article: Article
    score: float


@dataclass(frozen=True)
class SearchResult:
    """The best articles, best first, and whether to abstain.

    The hits are returned even when abstaining, so a caller can log or show the near misses; a
    caller that abstains should not present them as answers.
    """

    hits: list[Hit]
    abstain: bool


class KnowledgeBase(Protocol):
    def search(self, query: str, k: int = 10, *, locale: str | None = None) -> SearchResult:
        """The ``k`` best articles for ``query``, with scores in [0, 1], best first; articles
        in the member's ``locale`` (a Discord locale such as ``pt-BR``) first where there are
        any (``MultilingualKnowledgeBase``)."""
        ...


@dataclass(frozen=True)
class LexicalMatch:
    """How a question matched the articles lexically: article number → share in (0, 1]."""

    shares: dict[int, float]
    #: Whether every term the articles know is a number: such a question is never answered.
    only_numbers: bool


@dataclass(frozen=True)
class QueryTerms:
    """A question as the index sees it: its terms, and the words that were corrected."""

    terms: list[str]
    corrections: dict[str, str]


class LocalKnowledgeBase:
    """BM25F with synonyms and spelling fixes over a folder of articles, in memory."""

    def __init__(
        self, index: Index, *, abstain_below: float = DEFAULT_ABSTAIN_BELOW, correct_spelling: bool = True
    ) -> None:
        self.index = index
        self.abstain_below = abstain_below
        self.correct_spelling = correct_spelling

    @classmethod
    def from_articles(
        cls,
        articles: Sequence[Article],
        settings: IndexSettings = FIELDED_SETTINGS,
        *,
        abstain_below: float = DEFAULT_ABSTAIN_BELOW,
        correct_spelling: bool = True,
    ) -> LocalKnowledgeBase:
        return cls(
            Index.build(articles, settings), abstain_below=abstain_below, correct_spelling=correct_spelling
        )

    @classmethod
    def from_folder(
        cls,
        directory: Path,
        *,
        abstain_below: float = DEFAULT_ABSTAIN_BELOW,
        language: str = DEFAULT_LANGUAGE,
    ) -> LocalKnowledgeBase:
        """The articles in ``directory`` in ``language``, from its saved index when current."""
        return cls(load_or_build(directory, settings_for(language)), abstain_below=abstain_below)

    @property
    def articles(self) -> list[Article]:
        return self.index.articles

    def search(self, query: str, k: int = 10, *, locale: str | None = None) -> SearchResult:
        """``locale`` is accepted and ignored: this is one language's articles."""
        match = self.match(query)
        if match is None or k <= 0:
            return SearchResult(hits=[], abstain=True)
        best = heapq.nlargest(k, match.shares.items(), key=lambda item: (item[1], -item[0]))
        hits = [Hit(self.index.articles[number], share) for number, share in best]
        abstain = not hits or match.only_numbers or hits[0].score < self.abstain_below
        return SearchResult(hits=hits, abstain=abstain)

    def match(self, query: str) -> LexicalMatch | None:
        """Each matching article's share of the question (see the module's docstring); None when
        the question has no terms at all."""
        terms = self.analyse(query).terms
        if not terms:
            return None
        index = self.index
        idf = index.idf
        possible = sum(idf.get(term, index.unseen_idf) for term in terms)
        totals = index.scores((term, 1.0) for term in terms)
        # A number alone says nothing about the topic ("what's 2+2" is not about error 2). Judged
        # on the terms the articles know, if any: a question none of whose words they use is not
        # a number, and the hybrid's dense side may still know what it means.
        known = [term for term in terms if term in idf] or terms
        return LexicalMatch(
            shares={number: total / possible for number, total in totals.items()},
            only_numbers=all(term.isdigit() for term in known),
        )

    def analyse(self, query: str) -> QueryTerms:
        """The question's terms (stems and synonym concepts, each once), after spelling fixes."""
        folded = words(query)
        corrections: dict[str, str] = {}
        if self.correct_spelling:
            fixed: list[str] = []
            for word in folded:
                replacement = None if self._is_known(word) else self._speller.correct(word)
                if replacement:
                    corrections[word] = replacement
                    fixed.extend(replacement.split())
                else:
                    fixed.append(word)
            folded = fixed
        return QueryTerms(terms=list(dict.fromkeys(self.index.analyse(folded))), corrections=corrections)

    def _is_known(self, word: str) -> bool:
        """Whether a word is one the articles or the synonym table use, in any inflection:
        such a word is never "corrected" ("cheated" is a form of "cheat", not "created")."""
        table = self.index.synonyms
        if word in table.stopwords or word in self.index.word_counts or word in table.words:
            return True
        if not word.isalpha():
            return True
        stemmed = self.index.synonyms.stem(word)
        return stemmed in self.index.idf or stemmed in self.index.synonyms.stems

    @cached_property
    def _speller(self) -> SpellingCorrector:
        vocabulary = dict.fromkeys(self.index.synonyms.words, 1) | self.index.word_counts
        return SpellingCorrector(vocabulary)


def plain_bm25(
    articles: Sequence[Article], *, abstain_below: float = PLAIN_BM25_ABSTAIN_BELOW
) -> LocalKnowledgeBase:
    """The baseline: Lucene-style BM25 over title, tags and body as one field, with the same
    words, stopwords and stemmer, and no field weights, synonyms or spelling fixes."""
    return LocalKnowledgeBase.from_articles(
        articles, PLAIN_BM25_SETTINGS, abstain_below=abstain_below, correct_spelling=False
    )


@cache
def default_knowledge_base() -> LocalKnowledgeBase:
    """The lexical knowledge base of the articles shipped with Flexcord, loaded once per process
    (the duplicate check ranks cases with its vocabulary)."""
    return LocalKnowledgeBase.from_folder(DEFAULT_ARTICLES_DIR)


#: ``hybrid`` (the default: lexical and dense, ``flexcord.kb.hybrid``) or ``lexical``.
RETRIEVER_VARIABLE = "KB_RETRIEVER"


def load_knowledge_base(folder: Path | None = None, *, retriever: str | None = None) -> KnowledgeBase:
    """The knowledge base the assistant answers from: the articles in ``folder`` (the shipped
    ones when None), hybrid unless ``KB_RETRIEVER=lexical`` (or ``retriever``). Loaded once per
    process and folder; a folder with articles in several languages gives a
    ``MultilingualKnowledgeBase``.

    Hybrid search needs numpy, ``tokenizers`` and the embedding model (the knowledge layer);
    without them the search is lexical, and a warning says why: a function deployed without the
    layer still answers, less well.
    """
    chosen = retriever or os.environ.get(RETRIEVER_VARIABLE, "hybrid")
    return _load((folder or DEFAULT_ARTICLES_DIR).resolve(), chosen)


class MultilingualKnowledgeBase:
    """A help centre in several languages: one knowledge base per language, each with its own
    stemmer (and, for a multilingual embedder, its own vectors). A member is answered from the
    articles in their locale's language when those answer the question, else from the default
    language's; a member whose language has no articles gets the default language's."""

    def __init__(
        self, by_language: dict[str, KnowledgeBase], default_language: str = DEFAULT_LANGUAGE
    ) -> None:
        if not by_language:
            raise ValueError("a knowledge base needs articles in at least one language")
        self.by_language = by_language
        self.default_language = default_language if default_language in by_language else min(by_language)

    def search(self, query: str, k: int = 10, *, locale: str | None = None) -> SearchResult:
        language = language_of(locale)
        if language != self.default_language and language in self.by_language:
            result = self.by_language[language].search(query, k)
            if not result.abstain:
                return result
        return self.by_language[self.default_language].search(query, k)


@cache
def _load(folder: Path, retriever: str) -> KnowledgeBase:
    if retriever not in ("hybrid", "lexical"):
        raise ValueError(f"{RETRIEVER_VARIABLE} must be hybrid or lexical, not {retriever!r}")
    # An empty folder is an English knowledge base with no articles: it abstains on everything.
    languages = article_languages(folder) or [DEFAULT_LANGUAGE]
    by_language = {language: _load_language(folder, retriever, language) for language in languages}
    if len(by_language) == 1:
        return next(iter(by_language.values()))
    return MultilingualKnowledgeBase(by_language)


def _load_language(folder: Path, retriever: str, language: str) -> KnowledgeBase:
    if retriever == "hybrid":
        try:
            from flexcord.kb.embedding import default_embedder
            from flexcord.kb.hybrid import load_hybrid
        except ImportError as error:
            _logger.warning("knowledge base: lexical search only, hybrid needs %s", error.name)
        else:
            try:
                return load_hybrid(folder, default_embedder(), language=language)
            except EmbedderUnavailable as error:
                _logger.warning("knowledge base: lexical search only (%s)", error)
    if folder == DEFAULT_ARTICLES_DIR.resolve() and language == DEFAULT_LANGUAGE:
        return default_knowledge_base()
    return LocalKnowledgeBase.from_folder(folder, language=language)
