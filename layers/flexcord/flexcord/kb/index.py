"""The inverted index: BM25F over an article's fields, with the per-document work done up front.

BM25F (Robertson et al., "Simple BM25 extension to multiple weighted fields", 2004) combines a
term's frequencies in the title, tags and body *before* saturating them, so a word in the title
counts more than one in the body without a long body drowning it::

    tf'(t, d)   = Σ_field weight_f · tf_f(t, d) / (1 − b_f + b_f · len_f(d) / avglen_f)
    score(q, d) = Σ_{t in q} idf(t) · tf'(t, d) / (k1 + tf'(t, d))
    idf(t)      = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))          (Lucene's BM25 idf)

With one field of weight 1 this is exactly Lucene's BM25, which is how the plain baseline is
built. Everything but the query's terms is known at build time, so each posting stores the
saturation ``tf' / (k1 + tf')`` and a query only multiplies and adds: that keeps a search over a
thousand articles within a few milliseconds in plain Python.

Building means stemming every word of every article: tens of milliseconds for the default
articles on a Lambda's share of a CPU. So an index can be saved as JSON next to its articles
(``python -m flexcord.kb index``) and ``load_or_build`` reads it back in a few milliseconds, but
only if its fingerprint still matches: the article files, the synonym table, the settings and
the source of the analysis code. A stale index is never used; the articles are indexed again.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from flexcord.kb import stemmer
from flexcord.kb.articles import DEFAULT_LANGUAGE, Article, load_articles
from flexcord.kb.synonyms import DEFAULT_SYNONYMS_PATH, SynonymTable
from flexcord.kb.text import words

#: The file ``load_or_build`` looks for in a folder of articles.
INDEX_FILE_NAME = "index.json"
#: The hybrid's article vectors and calibrated settings, saved next to the index
#: (``flexcord.kb.hybrid``; named here so that code without numpy can name them).
VECTORS_FILE_NAME = "vectors.npz"
CALIBRATION_FILE_NAME = "calibration.json"
_FORMAT_VERSION = 2
#: Saturations are rounded when built, so a saved index scores exactly like a fresh one.
_SATURATION_DIGITS = 6
#: The modules whose code decides what an index contains: a change to any makes saved ones stale.
_ANALYSIS_SOURCES = ("text.py", "stemmer.py", "synonyms.py", "index.py")


@dataclass(frozen=True)
class FieldSpec:
    """One field of an article as BM25F sees it: where its text comes from, and its weights."""

    name: str  # "title", "tags", "body", or "all" (the three together, for plain BM25)
    weight: float
    b: float


@dataclass(frozen=True)
class IndexSettings:
    fields: tuple[FieldSpec, ...]
    k1: float = 1.2
    #: Whether the synonym table's phrases become concept terms, in articles and queries alike.
    synonyms: bool = True
    #: The index holds the folder's articles in this language, stemmed with its stemmer.
    language: str = DEFAULT_LANGUAGE


#: Title and tags say what an article is about in a few words: a match there is worth more than
#: one in passing in the body. Short fields are length-normalised less (a lower b). These are
#: common starting values; the tuning queries showed no setting clearly better
#: (docs/knowledge-base.md, "Tuning").
FIELDED_SETTINGS = IndexSettings(
    fields=(FieldSpec("title", 2.5, 0.3), FieldSpec("tags", 2.0, 0.3), FieldSpec("body", 1.0, 0.75)),
)


def settings_for(language: str) -> IndexSettings:
    """The shipped settings for articles in ``language``: the synonym table is English, so other
    languages' articles are matched by their own stems only."""
    if language == DEFAULT_LANGUAGE:
        return FIELDED_SETTINGS
    return replace(FIELDED_SETTINGS, synonyms=False, language=language)


#: Lucene's defaults over one field holding the whole article: the baseline to beat.
PLAIN_BM25_SETTINGS = IndexSettings(fields=(FieldSpec("all", 1.0, 0.75),), synonyms=False)


_FIELDS = ("title", "tags", "body")


def field_text(article: Article, field: str) -> str:
    if field == "title":
        return article.title
    if field == "tags":
        return " , ".join(article.tags)
    if field == "body":
        return article.body
    if field == "all":
        return "\n".join((article.title, " , ".join(article.tags), article.body))
    raise ValueError(f"unknown field {field!r}")


#: A term's postings: the numbers of the articles that contain it, and its saturation in each.
Postings = tuple[list[int], list[float]]


class Index:
    """Articles, and for each term the articles containing it with their saturation."""

    def __init__(
        self,
        *,
        articles: Sequence[Article],
        settings: IndexSettings,
        postings: dict[str, Postings],
        word_counts: dict[str, int],
        synonyms: SynonymTable,
        fingerprint: str = "",
    ) -> None:
        self.articles = list(articles)
        self.settings = settings
        self.synonyms = synonyms
        self.postings = postings
        #: How often each folded word occurs in the articles: the vocabulary spelling fixes use.
        self.word_counts = word_counts
        #: What the index was built from (``fingerprint``); empty when not built from files.
        self.fingerprint = fingerprint
        count = len(self.articles)
        self.idf = {term: _idf(count, len(documents)) for term, (documents, _) in postings.items()}
        #: The idf of a term no article has: what an unknown word weighs in the abstain decision.
        self.unseen_idf = _idf(count, 0)

    @classmethod
    def build(
        cls,
        articles: Iterable[Article],
        settings: IndexSettings = FIELDED_SETTINGS,
        *,
        synonyms: SynonymTable | None = None,
        fingerprint: str = "",
    ) -> Index:
        articles = list(articles)
        table = (
            (synonyms or SynonymTable.load()) if settings.synonyms else SynonymTable.empty(settings.language)
        )
        field_words = {name: [words(field_text(article, name)) for article in articles] for name in _FIELDS}
        # "all" is the three fields one after the other; their separators are not words
        field_words["all"] = [
            [*title, *tags, *body] for title, tags, body in zip(*field_words.values(), strict=True)
        ]
        word_counts: Counter[str] = Counter()
        for folded in field_words["all"]:
            word_counts.update(folded)

        combined: list[dict[str, float]] = [{} for _ in articles]
        for spec in settings.fields:
            counters = [Counter(table.terms(folded)) for folded in field_words[spec.name]]
            lengths = [counter.total() for counter in counters]
            average = (sum(lengths) / len(lengths)) if lengths else 0.0
            for number, counter in enumerate(counters):
                norm = 1 - spec.b + spec.b * (lengths[number] / average if average else 0.0)
                weights = combined[number]
                for term, frequency in counter.items():
                    weights[term] = weights.get(term, 0.0) + spec.weight * frequency / norm

        postings: dict[str, Postings] = {}
        for number, weights in enumerate(combined):
            for term, pseudo_frequency in weights.items():
                documents, saturations = postings.setdefault(term, ([], []))
                documents.append(number)
                saturations.append(
                    round(pseudo_frequency / (settings.k1 + pseudo_frequency), _SATURATION_DIGITS)
                )
        return cls(
            articles=articles,
            settings=settings,
            postings=postings,
            word_counts=dict(word_counts),
            synonyms=table,
            fingerprint=fingerprint,
        )

    def save(self, path: Path) -> None:
        """Write the index as JSON, for ``load`` (or ``load_or_build``) to read back."""
        document = {
            "format": _FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "settings": asdict(self.settings),
            "articles": [asdict(article) for article in self.articles],
            "synonyms": self.synonyms.to_json(),
            "word_counts": self.word_counts,
            "postings": {
                term: [documents, saturations] for term, (documents, saturations) in self.postings.items()
            },
        }
        path.write_text(json.dumps(document, separators=(",", ":"), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Index:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != _FORMAT_VERSION:
            raise ValueError(f"{path}: index format {document.get('format')!r}, expected {_FORMAT_VERSION}")
        raw_settings = document["settings"]
        settings = IndexSettings(
            fields=tuple(FieldSpec(**spec) for spec in raw_settings["fields"]),
            k1=raw_settings["k1"],
            synonyms=raw_settings["synonyms"],
            language=raw_settings["language"],
        )
        return cls(
            articles=[Article(**{**raw, "tags": tuple(raw["tags"])}) for raw in document["articles"]],
            settings=settings,
            postings={term: (entries[0], entries[1]) for term, entries in document["postings"].items()},
            word_counts=document["word_counts"],
            synonyms=SynonymTable.from_json(document["synonyms"]),
            fingerprint=document.get("fingerprint", ""),
        )

    def analyse(self, folded_words: list[str]) -> list[str]:
        """The terms of some words, as this index's articles were analysed."""
        return self.synonyms.terms(folded_words)

    def scores(self, weighted_terms: Iterable[tuple[str, float]]) -> dict[int, float]:
        """Each matching article's BM25F score for terms with query weights."""
        totals: dict[int, float] = {}
        get = totals.get
        for term, weight in weighted_terms:
            entries = self.postings.get(term)
            if entries is None:
                continue
            factor = weight * self.idf[term]
            for document, saturation in zip(*entries, strict=True):
                totals[document] = get(document, 0.0) + factor * saturation
        return totals


def fingerprint(
    directory: Path, settings: IndexSettings, *, synonyms_path: Path = DEFAULT_SYNONYMS_PATH
) -> str:
    """A hash of everything an index of ``directory`` depends on; reading it costs a millisecond."""
    digest = hashlib.sha256(f"{_FORMAT_VERSION}|{settings!r}|{stemmer.signature()}".encode())
    for path in sorted(directory.glob("*.md")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    if settings.synonyms:
        digest.update(synonyms_path.read_bytes())
    here = Path(__file__).parent
    for name in _ANALYSIS_SOURCES:
        source = here / name
        # The layer ships sources next to their bytecode; if one were missing, no saved index
        # could be trusted, and the fingerprint would never match one.
        digest.update(source.read_bytes() if source.exists() else b"missing")
    return digest.hexdigest()


def index_path(directory: Path, language: str = DEFAULT_LANGUAGE, name: str = INDEX_FILE_NAME) -> Path:
    """Where a folder's saved file for one language lives: ``index.json`` for the default
    language, ``index.de.json`` for German articles (the same for vectors and calibration)."""
    if language == DEFAULT_LANGUAGE:
        return directory / name
    stem, dot, suffix = name.partition(".")
    return directory / f"{stem}.{language}{dot}{suffix}"


def article_languages(directory: Path) -> list[str]:
    """The languages of a folder's articles, the default first."""
    found = {article.language for article in load_articles(directory)}
    return sorted(found, key=lambda language: (language != DEFAULT_LANGUAGE, language))


def load_or_build(directory: Path, settings: IndexSettings = FIELDED_SETTINGS) -> Index:
    """The saved index of ``directory``'s articles in ``settings.language`` if it is current,
    else a new one built from them."""
    current = fingerprint(directory, settings)
    saved = index_path(directory, settings.language)
    if saved.exists():
        try:
            index = Index.load(saved)
        except (ValueError, KeyError, TypeError):
            index = None  # unreadable or an older format: build instead
        if index is not None and index.fingerprint == current:
            return index
    return Index.build(_in_language(directory, settings.language), settings, fingerprint=current)


def save_index(directory: Path, settings: IndexSettings = FIELDED_SETTINGS) -> Path:
    """Build the index of ``directory``'s articles in ``settings.language`` and save it where
    ``load_or_build`` looks for it."""
    target = index_path(directory, settings.language)
    Index.build(
        _in_language(directory, settings.language), settings, fingerprint=fingerprint(directory, settings)
    ).save(target)
    return target


def _in_language(directory: Path, language: str) -> list[Article]:
    return [article for article in load_articles(directory) if article.language == language]


def _idf(article_count: int, document_frequency: int) -> float:
    return math.log(1 + (article_count - document_frequency + 0.5) / (document_frequency + 0.5))
