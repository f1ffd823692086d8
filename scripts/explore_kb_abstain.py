"""Candidate features for the learned abstain decision, measured on the public collections.

    .venv/bin/python scripts/explore_kb_abstain.py [--collections CLINC150 Banking77]   (about 2 minutes)

The learned abstain model (``flexcord.kb.abstain``) with its four plain features misses the off-
topic target on CLINC150 (docs/knowledge-base.md, "Public data"). This script measures what other
features would add, the same way calibration judges the learned model: a class-balanced logistic
regression per feature set, its threshold chosen by ``calibrate_threshold`` (with the margin of
``required_answer_rate``) on probabilities from 5-fold cross-validation within the **tuning**
half, folded by article (``calibration.fold_numbers``). The cross-validated figures are the ones
to choose on; the report half's, from a model fitted on the whole tuning half, are printed for the
record. Of these feature sets, calibration also offers ``classifier``
(``flexcord.kb.line_classifier``). A second cross-validated column folds near-domain questions by
their topic (``near_domain_by_topic``), which calibration cannot do, and shows how much of a near-
domain gain is the folds' leak.

Feature sets, each added to the plain four (top cosine, top lexical share, and the cosines to
the nearest and the ten nearest out-of-scope tuning questions):

- ``lines``: the best cosine to any single line of any article (for the intent collections, one
  example question), and the mean of the best 5 and 20: nearest-neighbour distance to what the
  articles say, line by line (Sun et al. 2022, "Out-of-distribution detection with deep nearest
  neighbors").
- ``mahalanobis``: the smallest Mahalanobis distance from the question to an article's mean line
  vector, with one covariance shared by every article (Lee et al. 2018; Podolskiy et al. 2021
  found it the best out-of-domain score for intent classifiers).
- ``classifier``: a one-hidden-layer network trained to tell the articles apart from their own
  lines (no question of either half), its log top probability and log-sum-exp of its scores
  (Hendrycks & Gimpel 2017; Liu et al. 2020), and the Mahalanobis distance in its hidden layer.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT / "layers" / "flexcord"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from flexcord.kb.abstain import _logistic_regression, feature_rows  # noqa: E402
from flexcord.kb.articles import Article  # noqa: E402
from flexcord.kb.calibration import FOLDS, fold_numbers, required_answer_rate  # noqa: E402
from flexcord.kb.embedding import Embedder, default_embedder  # noqa: E402
from flexcord.kb.hybrid import HybridKnowledgeBase  # noqa: E402
from flexcord.kb.line_classifier import LineClassifier, NearestArticleMean, article_lines  # noqa: E402
from flexcord.kb.metrics import (  # noqa: E402
    CALIBRATION_MIN_ANSWER_RATE,
    Calibration,
    Judged,
    LabelledQuery,
    calibrate_threshold,
)
from scripts.kb_public import (  # noqa: E402
    IN_SCOPE,
    NEAR_DOMAIN,
    OFF_TOPIC,
    SEED,
    Benchmark,
    collections_named,
    split_by_article,
)

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class HalfSignals:
    queries: tuple[LabelledQuery, ...]
    vectors: Matrix
    top_cosines: Matrix
    top_shares: Matrix
    #: Nothing to go on, or only numbers matched: abstained on before any signal.
    decided: npt.NDArray[np.bool_]

    @property
    def in_scope(self) -> npt.NDArray[np.bool_]:
        return np.array([query.in_scope for query in self.queries])

    def of_kind(self, kind: str) -> npt.NDArray[np.bool_]:
        return np.array([query.split == kind for query in self.queries])


def half_signals(knowledge_base: HybridKnowledgeBase, queries: Sequence[LabelledQuery]) -> HalfSignals:
    signals = [knowledge_base.signals(query.query) for query in queries]
    return HalfSignals(
        queries=tuple(queries),
        vectors=np.array([signal.query_vector for signal in signals], dtype=np.float64),
        top_cosines=np.array([float(signal.dense.max(initial=0.0)) for signal in signals]),
        top_shares=np.array([float(signal.lexical.max(initial=0.0)) for signal in signals]),
        decided=np.array([signal.empty or signal.only_numbers for signal in signals]),
    )


@dataclass(frozen=True)
class ArticleLines:
    vectors: Matrix
    owners: npt.NDArray[np.int64]

    @classmethod
    def embed(cls, articles: Sequence[Article], embedder: Embedder) -> ArticleLines:
        texts, owners = article_lines(articles)
        return cls(embedder.embed(texts).astype(np.float64), np.array(owners, dtype=np.int64))


def top_mean(similarities: Matrix, count: int) -> Matrix:
    count = min(count, similarities.shape[1])
    return np.asarray(-np.partition(-similarities, count - 1, axis=1)[:, :count].mean(axis=1))


#: Extra columns for a half's questions, from the collection's article lines.
ExtraFeatures = Callable[[HalfSignals], Matrix]


def shipped_features(
    half: HalfSignals, negatives: Matrix, *, leave_out: npt.NDArray[np.int64] | None = None
) -> Matrix:
    """The plain model's four features (``abstain.feature_rows``), ``leave_out[n]`` being the
    negative that question n is (-1: none), so that it is not its own neighbour."""
    similarities = half.vectors @ negatives.T
    if leave_out is not None:
        rows = np.flatnonzero(leave_out >= 0)
        similarities[rows, leave_out[rows]] = -np.inf
    return feature_rows(half.top_cosines, half.top_shares, similarities)


def feature_sets(lines: ArticleLines) -> dict[str, ExtraFeatures]:
    mahalanobis = NearestArticleMean.fit(lines.vectors, lines.owners)
    classifier = LineClassifier.train(lines.vectors, lines.owners)

    def nearest_lines(half: HalfSignals) -> Matrix:
        similarities = half.vectors @ lines.vectors.T
        return np.column_stack(
            [top_mean(similarities, 1), top_mean(similarities, 5), top_mean(similarities, 20)]
        )

    return {
        "plain": lambda half: np.zeros((len(half.queries), 0)),
        "+ lines": nearest_lines,
        "+ mahalanobis": lambda half: mahalanobis.log_nearest(half.vectors)[:, None],
        "+ classifier": lambda half: classifier.features(half.vectors),
        "+ all three": lambda half: np.column_stack(
            [nearest_lines(half), mahalanobis.log_nearest(half.vectors), classifier.features(half.vectors)]
        ),
    }


@dataclass(frozen=True)
class Figures:
    cross_validated_answered: float
    cross_validated_abstained: float
    #: The same with near-domain questions folded by topic (see ``near_domain_by_topic``).
    cross_validated_abstained_by_topic: float
    report_answered: float
    report_off_topic: float
    report_near_domain: float | None


class Model:
    def __init__(self, rows: Matrix, in_scope: npt.NDArray[np.bool_]) -> None:
        self.means = rows.mean(axis=0)
        self.scales = np.where(rows.std(axis=0) > 0, rows.std(axis=0), 1.0)
        self.weights, self.bias = _logistic_regression(
            (rows - self.means) / self.scales, in_scope.astype(np.float64)
        )

    def probabilities(self, rows: Matrix) -> Matrix:
        return np.asarray(
            1
            / (1 + np.exp(-np.clip((rows - self.means) / self.scales @ self.weights + self.bias, -500, 500)))
        )


def near_domain_by_topic(queries: Sequence[LabelledQuery]) -> npt.NDArray[np.int64]:
    """Calibration's folds (``fold_numbers``), except that near-domain questions go by their
    topic (the collection's id before the colon), as in-scope ones go by their article.

    Calibration deals out-of-scope questions in turns: a brand's tuning file names no topic for
    them. But then a near-domain question is held out while others of its topic stay among the
    model's negatives, which a new topic's questions would not have: its figure is optimistic.
    """
    folds = fold_numbers(queries).copy()
    topics: dict[str, int] = {}
    for number, query in enumerate(queries):
        if query.split == NEAR_DOMAIN:
            folds[number] = topics.setdefault(query.id.split(":")[0], len(topics)) % FOLDS
    return folds


def measure(tuning: HalfSignals, report: HalfSignals, extra: ExtraFeatures) -> Figures:
    usable = ~tuning.decided
    in_scope = tuning.in_scope
    tuning_extra, report_extra = extra(tuning), extra(report)

    def rows(
        half: HalfSignals, extra_rows: Matrix, negative_rows: npt.NDArray[np.int64], *, own: bool
    ) -> Matrix:
        leave_out = None
        if own:  # a negative of the tuning half is not its own neighbour
            leave_out = np.full(len(half.queries), -1)
            leave_out[negative_rows] = np.arange(len(negative_rows))
        return np.column_stack(
            [shipped_features(half, tuning.vectors[negative_rows], leave_out=leave_out), extra_rows]
        )

    def cross_validated(folds: npt.NDArray[np.int64]) -> Calibration:
        probabilities = np.zeros(len(tuning.queries))
        for fold in range(FOLDS):
            train = (folds != fold) & usable
            negatives = np.flatnonzero(train & ~in_scope)
            model = Model(rows(tuning, tuning_extra, negatives, own=True)[train], in_scope[train])
            held_out = folds == fold
            probabilities[held_out] = model.probabilities(
                rows(tuning, tuning_extra, negatives, own=False)[held_out]
            )
        required = required_answer_rate(CALIBRATION_MIN_ANSWER_RATE, int(in_scope.sum()))
        judged = [
            Judged(query=query, ranked=[], abstain=bool(decided), top_score=float(probability))
            for query, decided, probability in zip(tuning.queries, tuning.decided, probabilities, strict=True)
        ]
        return calibrate_threshold(judged, min_answer_rate=required)

    calibration = cross_validated(fold_numbers(tuning.queries))
    by_topic = cross_validated(near_domain_by_topic(tuning.queries))

    negatives = np.flatnonzero(usable & ~in_scope)
    model = Model(rows(tuning, tuning_extra, negatives, own=True)[usable], in_scope[usable])
    abstained = report.decided | (
        model.probabilities(rows(report, report_extra, negatives, own=False)) < calibration.threshold
    )
    near_domain = report.of_kind(NEAR_DOMAIN)
    return Figures(
        cross_validated_answered=calibration.in_scope_answer_rate,
        cross_validated_abstained=calibration.out_of_scope_abstain_rate,
        cross_validated_abstained_by_topic=by_topic.out_of_scope_abstain_rate,
        report_answered=float(1 - abstained[report.of_kind(IN_SCOPE)].mean()),
        report_off_topic=float(abstained[report.of_kind(OFF_TOPIC)].mean()),
        report_near_domain=float(abstained[near_domain].mean()) if near_domain.any() else None,
    )


def explore(benchmark: Benchmark, embedder: Embedder) -> dict[str, Figures]:
    knowledge_base = HybridKnowledgeBase.from_articles(benchmark.articles, embedder)
    tuning = half_signals(knowledge_base, benchmark.tuning.queries)
    report = half_signals(knowledge_base, benchmark.report.queries)
    sets = feature_sets(ArticleLines.embed(benchmark.articles, embedder))
    return {name: measure(tuning, report, extra) for name, extra in sets.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collections", nargs="*", help="names, e.g. CLINC150 (default: all three)")
    parser.add_argument("--seed", type=int, default=SEED)
    arguments = parser.parse_args()
    embedder = default_embedder()
    print(
        "tuning half: 5-fold cross-validated (what to choose on; 'by topic': near-domain questions "
        "folded by topic); report half: for the record"
    )
    columns = (
        ("cv answered", 12),
        ("cv abstained", 13),
        ("by topic", 10),
        ("  answered", 12),
        ("off-topic", 10),
        ("near-dom.", 10),
    )
    print(f"  {'collection':<11}{'features':<16}" + "".join(f"{name:>{width}}" for name, width in columns))
    for collection in collections_named(arguments.collections):
        for name, figures in explore(split_by_article(collection, arguments.seed), embedder).items():
            near = "n/a" if figures.report_near_domain is None else f"{figures.report_near_domain:.3f}"
            print(
                f"  {collection.name:<11}{name:<16}{figures.cross_validated_answered:>12.3f}"
                f"{figures.cross_validated_abstained:>13.3f}{figures.cross_validated_abstained_by_topic:>10.3f}"
                f"   {figures.report_answered:>9.3f}"
                f"{figures.report_off_topic:>10.3f}{near:>10}",
                flush=True,
            )


if __name__ == "__main__":
    main()
