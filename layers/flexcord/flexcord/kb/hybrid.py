"""Hybrid retrieval: the lexical scorer and sentence embeddings, fused, with a calibrated abstain.

Members ask in their own words. The lexical side (``retrieval.LocalKnowledgeBase``: BM25F with
synonyms and spelling fixes) is precise when the words match; an embedding (``embedding``) finds
"forgot my login" in "Recovering a lost account" when they do not. Each article is embedded as
several chunks (its title, the whole article, each paragraph) when the index is built, and
scores the best cosine of any of its chunks; a question is one embedding away from a score for
every article. The two are fused by weighted, normalised scores::

    fused(q, d) = w · lexical(q, d) / max_d' lexical(q, d')  +  (1 − w) · max_chunk cos(q, chunk)

or, with ``fusion="rrf"``, by reciprocal rank fusion ``1/(60 + rank_lexical) + 1/(60 + rank_dense)``
(measured, and kept only where it wins: docs/knowledge-base.md, "Method").

Whether to answer at all is a separate decision, on a signal that does not depend on the ranking:
``mix · top cosine + (1 − mix) · top lexical share``, or the probability of a learned model
(``abstain.AbstainModel``) where calibration found it abstains on more, against a threshold.
``w``, the fusion, the signal and the threshold are chosen per knowledge base by
``python -m flexcord.kb calibrate`` on that knowledge base's labelled tuning questions
(``calibration``) and saved next to its articles.

Everything a query does not change is done before: article vectors are computed by
``python -m flexcord.kb index`` and saved as ``vectors.npz`` (fp16), so a cold start reads them in
milliseconds; they are recomputed only when the articles or the embedder changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from flexcord.kb.abstain import AbstainModel
from flexcord.kb.articles import DEFAULT_LANGUAGE, Article
from flexcord.kb.embedding import Embedder
from flexcord.kb.index import (
    CALIBRATION_FILE_NAME,
    VECTORS_FILE_NAME,
    index_path,
    load_or_build,
    settings_for,
)
from flexcord.kb.line_classifier import LineClassifier, load_classifier, save_classifier
from flexcord.kb.retrieval import Hit, LexicalMatch, LocalKnowledgeBase, SearchResult

#: Bumped when the chunking changes: saved vectors made another way are stale.
_CHUNKING_VERSION = 1
#: Paragraphs are embedded up to this many characters: a static model's mean over a long text
#: drifts towards the average of the language.
_CHUNK_CHARACTERS = 1000
RRF_K = 60

_logger = logging.getLogger(__name__)

Fusion = Literal["weighted", "rrf"]


@dataclass(frozen=True)
class HybridSettings:
    """What calibration chooses (``calibration.json``). The defaults stand in for a folder that
    was never calibrated: values between those calibrated on the public collections
    (docs/knowledge-base.md, "Public data"), not a substitute for calibrating."""

    #: ``w`` above: the lexical score's weight in the fused score.
    lexical_weight: float = 0.3
    fusion: Fusion = "weighted"
    #: The abstain signal's weight on the top cosine (the rest on the top lexical share).
    abstain_mix: float = 0.5
    #: Abstain when the signal is below this.
    abstain_below: float = 0.45
    #: When set, the abstain signal is this model's probability instead of the mix.
    abstain_model: AbstainModel | None = None

    @classmethod
    def load(cls, path: Path) -> HybridSettings:
        return cls.from_document(json.loads(path.read_text(encoding="utf-8")), source=path)

    @classmethod
    def from_document(cls, document: dict[str, object], *, source: Path) -> HybridSettings:
        """The settings in a ``calibration.json`` already read (its provenance keys are ignored),
        with the line classifier it names beside it."""
        values = {name: document[name] for name in cls.__dataclass_fields__ if name in document}
        model = values.pop("abstain_model", None)
        if model is not None and not isinstance(model, dict):
            raise ValueError(f"{source}: abstain_model must be an object")
        try:
            classifier = _saved_classifier(document, source)
            abstain_model = AbstainModel.from_document(model, classifier) if model is not None else None
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{source}: invalid abstain_model ({error})") from None
        settings = cls(**values, abstain_model=abstain_model)  # type: ignore[arg-type]
        if settings.fusion not in ("weighted", "rrf") or not 0 <= settings.lexical_weight <= 1:
            raise ValueError(f"{source}: invalid settings {values}")
        return settings

    def save(self, path: Path, **provenance: object) -> None:
        """Writes ``path``, and the abstain model's line classifier beside it (``classifier_path``)."""
        document: dict[str, object] = {
            field.name: getattr(self, field.name) for field in fields(self) if field.name != "abstain_model"
        }
        classifier_file = classifier_path(path)
        if self.abstain_model is not None:
            document["abstain_model"] = self.abstain_model.to_document()
            if self.abstain_model.classifier is not None:
                digest = save_classifier(self.abstain_model.classifier, classifier_file)
                document[CLASSIFIER_KEY] = {"file": classifier_file.name, "sha256": digest}
        if CLASSIFIER_KEY not in document:
            classifier_file.unlink(missing_ok=True)  # an earlier calibration's, no longer used
        document.update(provenance)
        path.write_text(_one_line_number_lists(json.dumps(document, indent=2)) + "\n", encoding="utf-8")


#: The key of ``calibration.json`` that names its line classifier's file and fingerprint.
CLASSIFIER_KEY = "line_classifier"


def classifier_path(calibration: Path) -> Path:
    """``calibration.classifier.npz`` beside ``calibration.json`` (``calibration.de.classifier.npz``
    beside ``calibration.de.json``)."""
    return calibration.with_name(f"{calibration.stem}.classifier.npz")


def _saved_classifier(document: dict[str, object], source: Path) -> LineClassifier | None:
    entry = document.get(CLASSIFIER_KEY)
    if entry is None:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str) or "sha256" not in entry:
        raise ValueError(f"{CLASSIFIER_KEY} must be an object with file and sha256")
    name = entry["file"]
    if Path(name).name != name or name in ("", ".", ".."):
        raise ValueError(f"{CLASSIFIER_KEY} file must be a name beside {source.name}, not {name!r}")
    return load_classifier(source.parent / name, str(entry["sha256"]))


def _one_line_number_lists(text: str) -> str:
    """A list of numbers on one line: an abstain model's vectors are not hundreds of lines each."""
    return re.sub(
        r"\[([-+0-9.eE,\s]+)\]",
        lambda found: "[" + ", ".join(item.strip() for item in found[1].split(",")) + "]",
        text,
    )


def article_chunks(article: Article) -> list[str]:
    """The texts an article is embedded as: its title (with its tags), the whole article, and
    each paragraph (headings joined to the paragraph after them)."""
    heading = article.title + (" (" + ", ".join(article.tags) + ")" if article.tags else "")
    chunks = [heading, f"{article.title}\n{article.body}"[: _CHUNK_CHARACTERS * 4]]
    pending = ""
    for raw_block in re.split(r"\n\s*\n", article.body):
        block = raw_block.strip()
        if not block:
            continue
        if block.startswith("#") and "\n" not in block:
            pending = f"{pending} {block.lstrip('# ')}".strip()
            continue
        chunks.append(
            f"{pending}\n{block}".strip()[:_CHUNK_CHARACTERS] if pending else block[:_CHUNK_CHARACTERS]
        )
        pending = ""
    if pending:
        chunks.append(pending)
    return chunks


@dataclass(frozen=True)
class ArticleVectors:
    """Chunk vectors of a list of articles: ``chunks[starts[n]:starts[n+1]]`` are article n's."""

    chunks: npt.NDArray[np.float16]
    starts: npt.NDArray[np.int64]
    embedder: str
    fingerprint: str

    @classmethod
    def build(
        cls, articles: Sequence[Article], embedder: Embedder, *, fingerprint: str = ""
    ) -> ArticleVectors:
        texts: list[str] = []
        starts: list[int] = []
        for article in articles:
            starts.append(len(texts))
            texts.extend(article_chunks(article))
        vectors = embedder.embed(texts) if texts else np.zeros((0, embedder.dimension), np.float32)
        return cls(
            chunks=vectors.astype(np.float16),
            starts=np.asarray(starts, dtype=np.int64),
            embedder=embedder.identity,
            fingerprint=fingerprint,
        )

    def save(self, path: Path) -> None:
        with path.open("wb") as file:
            np.savez(
                file,
                chunks=self.chunks,
                starts=self.starts,
                embedder=np.array(self.embedder),
                fingerprint=np.array(self.fingerprint),
            )

    @classmethod
    def load(cls, path: Path) -> ArticleVectors:
        with np.load(path, allow_pickle=False) as saved:
            return cls(
                chunks=saved["chunks"],
                starts=saved["starts"],
                embedder=str(saved["embedder"]),
                fingerprint=str(saved["fingerprint"]),
            )


def vectors_fingerprint(index_fingerprint: str, embedder: Embedder) -> str:
    """What saved vectors depend on: the articles (through the index's fingerprint), the
    chunking and the embedder's exact weights."""
    return hashlib.sha256(f"{index_fingerprint}|{_CHUNKING_VERSION}|{embedder.identity}".encode()).hexdigest()


class LexicalMatcher(Protocol):
    """The lexical side: ``LocalKnowledgeBase`` (BM25F), or any scorer of the same shape."""

    @property
    def articles(self) -> list[Article]: ...

    def match(self, query: str) -> LexicalMatch | None: ...


@dataclass(frozen=True)
class Signals:
    """Everything a ranking or an abstain decision needs about one question, per article."""

    lexical: npt.NDArray[np.float64]  # share of the question matched, 0 where nothing matched
    dense: npt.NDArray[np.float32]  # best chunk cosine
    query_vector: npt.NDArray[np.float32]
    only_numbers: bool
    #: No lexical term and no known token: nothing to go on.
    empty: bool


class HybridKnowledgeBase:
    """Lexical and dense retrieval over the same articles, fused (see the module's docstring)."""

    def __init__(
        self,
        lexical: LexicalMatcher,
        vectors: ArticleVectors,
        embedder: Embedder,
        settings: HybridSettings = HybridSettings(),
    ) -> None:
        if vectors.embedder != embedder.identity:
            raise ValueError(f"article vectors made by {vectors.embedder}, not by {embedder.identity}")
        if len(vectors.starts) != len(lexical.articles):
            raise ValueError("article vectors and articles differ in number")
        self.lexical = lexical
        self.vectors = vectors
        self.embedder = embedder
        self.settings = settings
        # float32 for the product: numpy has no fast fp16 matrix-vector product on most CPUs.
        self._chunks = vectors.chunks.astype(np.float32)

    @classmethod
    def from_articles(
        cls,
        articles: Sequence[Article],
        embedder: Embedder,
        settings: HybridSettings = HybridSettings(),
    ) -> HybridKnowledgeBase:
        lexical = LocalKnowledgeBase.from_articles(articles, abstain_below=0.0)
        return cls(lexical, ArticleVectors.build(lexical.articles, embedder), embedder, settings)

    @property
    def articles(self) -> list[Article]:
        return self.lexical.articles

    def with_settings(self, settings: HybridSettings) -> HybridKnowledgeBase:
        return HybridKnowledgeBase(self.lexical, self.vectors, self.embedder, settings)

    def signals(self, query: str) -> Signals:
        count = len(self.articles)
        lexical = np.zeros(count, dtype=np.float64)
        match = self.lexical.match(query)
        if match is not None:
            for number, share in match.shares.items():
                lexical[number] = share
        query_vector = self.embedder.embed_queries([query])[0]
        dense = np.zeros(count, dtype=np.float32)
        if count and self._chunks.shape[0]:
            dense = np.maximum.reduceat(self._chunks @ query_vector, self.vectors.starts)
        return Signals(
            lexical=lexical,
            dense=dense,
            query_vector=query_vector,
            only_numbers=match is not None and match.only_numbers,
            empty=not lexical.any() and not query_vector.any(),
        )

    def search(self, query: str, k: int = 10, *, locale: str | None = None) -> SearchResult:
        """``locale`` is accepted and ignored: this is one language's articles."""
        return self.decide(self.signals(query), k)

    def decide(self, signals: Signals, k: int, settings: HybridSettings | None = None) -> SearchResult:
        """The ranking and the abstain decision for a question's signals (calibration calls this
        with candidate settings on signals it computed once)."""
        chosen = settings or self.settings
        if signals.empty or k <= 0 or not len(self.articles):
            return SearchResult(hits=[], abstain=True)
        fused = fuse(signals, chosen)
        order = np.lexsort((np.arange(len(fused)), -fused))[:k]
        hits = [Hit(self.articles[number], float(max(fused[number], 0.0))) for number in order]
        abstain = signals.only_numbers or abstain_signal(signals, chosen) < chosen.abstain_below
        return SearchResult(hits=hits, abstain=abstain)


def fuse(signals: Signals, settings: HybridSettings) -> npt.NDArray[np.float64]:
    """Each article's fused score (higher is better)."""
    lexical, dense = signals.lexical, signals.dense.astype(np.float64)
    if settings.fusion == "rrf":
        return _reciprocal_rank(lexical, matched=lexical > 0) + _reciprocal_rank(dense, matched=None)
    top = lexical.max(initial=0.0)
    normalised = lexical / top if top > 0 else lexical
    return settings.lexical_weight * normalised + (1 - settings.lexical_weight) * dense


def abstain_signal(signals: Signals, settings: HybridSettings) -> float:
    top_cosine = float(signals.dense.max(initial=0.0))
    top_share = float(signals.lexical.max(initial=0.0))
    if settings.abstain_model is not None:
        return settings.abstain_model.probability(top_cosine, top_share, signals.query_vector)
    return settings.abstain_mix * top_cosine + (1 - settings.abstain_mix) * top_share


def _reciprocal_rank(
    scores: npt.NDArray[np.float64], *, matched: npt.NDArray[np.bool_] | None
) -> npt.NDArray[np.float64]:
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    contribution = 1.0 / (RRF_K + ranks)
    # An article the words did not match at all gets no lexical vote, whatever its position.
    return np.where(matched, contribution, 0.0) if matched is not None else contribution


def load_hybrid(
    directory: Path, embedder: Embedder, *, language: str = DEFAULT_LANGUAGE
) -> HybridKnowledgeBase:
    """The articles in ``directory`` in ``language`` with their saved index, vectors and
    calibration, each used only if current (otherwise rebuilt in memory; the defaults stand in
    for a missing calibration). A language with no calibration of its own (``calibration.de.json``)
    uses the folder's (``calibration.json``)."""
    lexical = LocalKnowledgeBase(load_or_build(directory, settings_for(language)), abstain_below=0.0)
    vectors = _load_or_build_vectors(
        index_path(directory, language, VECTORS_FILE_NAME),
        lexical.index.fingerprint,
        lexical.articles,
        embedder,
    )
    settings = HybridSettings()
    # The language's own calibration, else the folder's (one and the same for the default language).
    for calibration in dict.fromkeys(
        (index_path(directory, language, CALIBRATION_FILE_NAME), directory / CALIBRATION_FILE_NAME)
    ):
        if calibration.exists():
            document = json.loads(calibration.read_text(encoding="utf-8"))
            try:
                settings = HybridSettings.from_document(document, source=calibration)
            except ValueError as error:
                # Answers with the defaults beat no answers: the deployer sees the error in the logs.
                _logger.error("%s: using default settings (%s)", calibration, error)
                break
            calibrated_with = document.get("embedder")
            if calibrated_with not in (None, embedder.identity):
                # Still the best settings there are; a deployer re-runs calibrate to fix it.
                _logger.warning(
                    "%s was calibrated with %s, not %s: run python -m flexcord.kb calibrate --save",
                    calibration,
                    calibrated_with,
                    embedder.identity,
                )
            break
    else:
        _logger.warning(
            "%s has no %s: using default settings; run python -m flexcord.kb calibrate --save",
            directory,
            CALIBRATION_FILE_NAME,
        )
    return HybridKnowledgeBase(lexical, vectors, embedder, settings)


def save_vectors(directory: Path, embedder: Embedder, *, language: str = DEFAULT_LANGUAGE) -> Path:
    """Embed the articles of ``directory`` in ``language`` and save the vectors where
    ``load_hybrid`` looks."""
    index = load_or_build(directory, settings_for(language))
    target = index_path(directory, language, VECTORS_FILE_NAME)
    ArticleVectors.build(
        index.articles, embedder, fingerprint=vectors_fingerprint(index.fingerprint, embedder)
    ).save(target)
    return target


def _load_or_build_vectors(
    saved: Path, index_fingerprint: str, articles: Sequence[Article], embedder: Embedder
) -> ArticleVectors:
    current = vectors_fingerprint(index_fingerprint, embedder)
    if saved.exists() and index_fingerprint:
        try:
            vectors = ArticleVectors.load(saved)
        except (OSError, ValueError, KeyError):
            vectors = None  # unreadable: embed instead
        if vectors is not None and vectors.fingerprint == current:
            return vectors
    return ArticleVectors.build(articles, embedder, fingerprint=current)
