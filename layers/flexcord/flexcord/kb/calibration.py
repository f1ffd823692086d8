"""Choosing a hybrid knowledge base's settings on its labelled tuning questions.

``python -m flexcord.kb calibrate --kb DIR --queries tuning.jsonl --save`` runs this and writes
``DIR/calibration.json``; the assistant reads it with the articles. Two choices, in order:

1. **Ranking.** The fusion (weighted with ``w`` = 0, 0.1, …, 1, or reciprocal rank fusion) with
   the best MRR@10 on the in-scope questions (ties: the best Recall@1, then the first in that
   order).
2. **Abstaining.** For each mix of top cosine and top lexical share (0, 0.25, …, 1), the threshold
   ``metrics.calibrate_threshold`` picks: the one abstaining on the most out-of-scope questions
   while answering enough of the in-scope ones. The mix that abstains on most wins (ties: the
   one answering more, then the first in that order). Where there are enough questions of both
   kinds, a learned model (``abstain.AbstainModel``) competes too, judged by
   ``FOLDS``-fold cross-validation: its threshold is chosen on probabilities each question got
   from a model fitted without its fold, and it replaces the mix only if it abstains on more
   out-of-scope questions that way. The same model with the features of a classifier trained on
   the articles' own lines (``line_classifier``) competes in the same way and replaces the plain
   one only if it abstains on more; the classifier sees no question, so one trained before the
   folds leaks nothing into them.

"Enough" has a margin: the share answered on the tuning questions must be high enough that the
target (``min_answer_rate``, 97%) holds with 95% confidence (one-sided Wilson lower bound,
``required_answer_rate``). A threshold that answers exactly 97% of the tuning questions answers
about 97% of new ones only on average, so half the time fewer: with 1,200 tuning questions the
margin asks for 97.8%, with 100 for all of them.

Each question is embedded and matched once; every candidate is then a few array operations.
The tuning questions must include out-of-scope ones (questions the articles do not answer):
without them every threshold abstains on nothing and the lowest is chosen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from flexcord.kb.abstain import AbstainModel, fit_abstain_model
from flexcord.kb.hybrid import Fusion, HybridKnowledgeBase, HybridSettings, Signals, abstain_signal
from flexcord.kb.line_classifier import LineClassifier
from flexcord.kb.metrics import (
    CALIBRATION_MIN_ANSWER_RATE,
    MRR_DEPTH,
    Calibration,
    Judged,
    LabelledQuery,
    Metrics,
    calibrate_threshold,
    compute_metrics,
)

LEXICAL_WEIGHTS = tuple(step / 10 for step in range(11))
ABSTAIN_MIXES = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Cross-validation folds for the learned abstain model.
FOLDS = 5
#: Fewer labelled questions of either kind than this: no learned model, the mix alone.
MIN_QUESTIONS_PER_KIND = 20


@dataclass(frozen=True)
class HybridCalibration:
    settings: HybridSettings
    #: The tuning questions' figures at those settings.
    ranking: Metrics
    abstaining: Calibration


def calibrate_hybrid(
    knowledge_base: HybridKnowledgeBase,
    queries: Sequence[LabelledQuery],
    *,
    min_answer_rate: float = CALIBRATION_MIN_ANSWER_RATE,
    fusions: Sequence[Fusion] = ("weighted", "rrf"),
) -> HybridCalibration:
    """``fusions`` limits the candidates (the benchmark measures each fusion on its own)."""
    if not any(query.in_scope for query in queries):
        raise ValueError("calibration needs in-scope questions")
    signals = [knowledge_base.signals(query.query) for query in queries]

    required = required_answer_rate(min_answer_rate, sum(query.in_scope for query in queries))
    candidates: list[HybridSettings] = []
    if "weighted" in fusions:
        candidates.extend(HybridSettings(lexical_weight=weight) for weight in LEXICAL_WEIGHTS)
    if "rrf" in fusions:
        candidates.append(HybridSettings(fusion="rrf"))
    if not candidates:
        raise ValueError(f"no fusion to calibrate among {fusions}")
    ranked = [
        (compute_metrics(_judged(knowledge_base, queries, signals, option)), option) for option in candidates
    ]
    best_metrics, best_ranking = max(
        ranked,
        key=lambda pair: (pair[0].mrr_at_10 or 0.0, pair[0].recall_at_1 or 0.0, -candidates.index(pair[1])),
    )

    # The ranking is settled: only the abstain signal changes with the mix.
    ranked_best = _judged(knowledge_base, queries, signals, best_ranking)
    choices = []
    for order, mix in enumerate(ABSTAIN_MIXES):
        judged = [
            replace(item, top_score=abstain_signal(signal, replace(best_ranking, abstain_mix=mix)))
            for item, signal in zip(ranked_best, signals, strict=True)
        ]
        choice = calibrate_threshold(judged, min_answer_rate=required)
        choices.append(((choice.out_of_scope_abstain_rate, choice.in_scope_answer_rate, -order), mix, choice))
    _, mix, abstaining = max(choices, key=lambda entry: entry[0])
    settings = replace(best_ranking, abstain_mix=mix, abstain_below=abstaining.threshold)
    learned = best_learned_abstaining(knowledge_base, ranked_best, queries, signals, required)
    if learned is not None and _abstains_more(learned[1], abstaining):
        model, abstaining = learned
        settings = replace(settings, abstain_model=model, abstain_below=abstaining.threshold)
    return HybridCalibration(settings=settings, ranking=best_metrics, abstaining=abstaining)


def _abstains_more(challenger: Calibration, holder: Calibration) -> bool:
    return (challenger.out_of_scope_abstain_rate, challenger.in_scope_answer_rate) > (
        holder.out_of_scope_abstain_rate,
        holder.in_scope_answer_rate,
    )


def best_learned_abstaining(
    knowledge_base: HybridKnowledgeBase,
    judged: Sequence[Judged],
    queries: Sequence[LabelledQuery],
    signals: Sequence[Signals],
    required: float,
) -> tuple[AbstainModel, Calibration] | None:
    """The learned model without the line classifier's features, or with them if that abstains on
    more (cross-validated); None with too few questions of either kind."""
    plain = learned_abstaining(judged, queries, signals, required)
    if plain is None:
        return None
    classifier = LineClassifier.for_articles(knowledge_base.articles, knowledge_base.embedder.embed)
    if classifier is None:
        return plain
    with_lines = learned_abstaining(judged, queries, signals, required, classifier=classifier)
    return with_lines if with_lines is not None and _abstains_more(with_lines[1], plain[1]) else plain


def learned_abstaining(
    judged: Sequence[Judged],
    queries: Sequence[LabelledQuery],
    signals: Sequence[Signals],
    required: float,
    *,
    classifier: LineClassifier | None = None,
) -> tuple[AbstainModel, Calibration] | None:
    """The abstain model fitted on every question, with the threshold and figures of its
    cross-validated probabilities; None with too few questions of either kind."""
    usable = [not item.abstain for item in judged]
    in_scope = np.array([query.in_scope for query in queries])
    if min(int((in_scope & usable).sum()), int((~in_scope & usable).sum())) < MIN_QUESTIONS_PER_KIND:
        return None
    top_cosines = np.array([float(signal.dense.max(initial=0.0)) for signal in signals])
    top_shares = np.array([float(signal.lexical.max(initial=0.0)) for signal in signals])
    vectors = np.array([signal.query_vector for signal in signals], dtype=np.float32)
    folds = fold_numbers(queries)
    probabilities = np.zeros(len(queries))
    for fold in range(FOLDS):
        train = (folds != fold) & np.array(usable)
        if in_scope[train].all() or not in_scope[train].any():
            return None
        model = fit_abstain_model(
            top_cosines[train], top_shares[train], vectors[train], in_scope[train], classifier
        )
        held_out = folds == fold
        probabilities[held_out] = model.probabilities(
            top_cosines[held_out], top_shares[held_out], vectors[held_out]
        )
    cross_validated = [
        replace(item, top_score=float(probability))
        for item, probability in zip(judged, probabilities, strict=True)
    ]
    calibration = calibrate_threshold(cross_validated, min_answer_rate=required)
    everything = np.array(usable)
    model = fit_abstain_model(
        top_cosines[everything], top_shares[everything], vectors[everything], in_scope[everything], classifier
    )
    return model, calibration


def fold_numbers(queries: Sequence[LabelledQuery]) -> np.ndarray:
    """Each question's cross-validation fold. In-scope questions go by the articles that answer
    them, so that a fold's articles have no questions in the others (as new articles' questions
    would not); out-of-scope questions take turns."""
    topics: dict[frozenset[str], int] = {}
    folds, out_of_scope = [], 0
    for query in queries:
        if query.in_scope:
            folds.append(topics.setdefault(query.relevant, len(topics)) % FOLDS)
        else:
            folds.append(out_of_scope % FOLDS)
            out_of_scope += 1
    return np.array(folds)


#: One-sided 95%: the target holds on new questions with this confidence.
CONFIDENCE_Z = 1.645


def required_answer_rate(target: float, questions: int, *, z: float = CONFIDENCE_Z) -> float:
    """The smallest share of ``questions`` in-scope tuning questions to answer so that the Wilson
    score interval's lower bound is still at least ``target``."""
    for answered in range(questions + 1):
        share = answered / questions
        centre = share + z * z / (2 * questions)
        spread = z * math.sqrt(share * (1 - share) / questions + z * z / (4 * questions * questions))
        if (centre - spread) / (1 + z * z / questions) >= target:
            return share
    return 1.0


def _judged(
    knowledge_base: HybridKnowledgeBase,
    queries: Sequence[LabelledQuery],
    signals: Sequence[Signals],
    settings: HybridSettings,
) -> list[Judged]:
    # A threshold of minus infinity: only the decisions no threshold makes (nothing to go on,
    # numbers only) are abstentions, as calibrate_threshold expects.
    open_settings = replace(settings, abstain_below=float("-inf"))
    return [
        Judged.of(query, knowledge_base.decide(signal, MRR_DEPTH, open_settings))
        for query, signal in zip(queries, signals, strict=True)
    ]
