"""Choosing a hybrid knowledge base's settings on its labelled tuning questions.

``python -m flexcord.kb calibrate --kb DIR --queries tuning.jsonl --save`` runs this and writes
``DIR/calibration.json``; the assistant reads it with the articles. Two choices, in order:

1. **Ranking.** The fusion (weighted with ``w`` = 0, 0.1, …, 1, or reciprocal rank fusion) with
   the best MRR@10 on the in-scope questions (ties: the best Recall@1, then the first in that
   order).
2. **Abstaining.** For each mix of top cosine and top lexical share (0, 0.25, …, 1), the threshold
   ``metrics.calibrate_threshold`` picks: the one abstaining on the most out-of-scope questions
   while answering enough of the in-scope ones. The mix that abstains on most wins (ties: the
   one answering more, then the first in that order).

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

from flexcord.kb.hybrid import Fusion, HybridKnowledgeBase, HybridSettings, Signals, abstain_signal
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
    return HybridCalibration(settings=settings, ranking=best_metrics, abstaining=abstaining)


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
