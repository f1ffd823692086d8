"""Quality regression on the shipped holdout questions, which were never used for tuning.

The targets are Recall@3 >= 0.93, MRR@10 >= 0.87, in-scope answer rate >= 0.95 and out-of-scope
abstain rate >= 0.80. The hybrid the assistant uses meets all four. The lexical retriever (the
fallback without the knowledge layer) meets the first three and answers 0.907, which is what is
asserted for it (docs/knowledge-base.md, "Results"). scripts/bench_kb.py prints all of it.
"""

from pathlib import Path

import pytest

from flexcord.kb import load_knowledge_base
from flexcord.kb.articles import load_articles
from flexcord.kb.calibration import calibrate_hybrid
from flexcord.kb.hybrid import HybridKnowledgeBase
from flexcord.kb.metrics import calibrate_threshold, compute_metrics, judge, read_labelled_queries
from flexcord.kb.retrieval import (
    DEFAULT_ABSTAIN_BELOW,
    PLAIN_BM25_ABSTAIN_BELOW,
    LocalKnowledgeBase,
    default_knowledge_base,
    plain_bm25,
)

EVAL = Path(__file__).resolve().parents[3] / "layers" / "flexcord" / "flexcord" / "kb" / "eval"


def labelled(name):
    with (EVAL / name).open(encoding="utf-8") as lines:
        return read_labelled_queries(lines, source=name)


@pytest.fixture(scope="module")
def holdout_metrics():
    return compute_metrics(judge(load_knowledge_base(), labelled("holdout.jsonl")))


@pytest.fixture(scope="module")
def lexical_holdout_metrics():
    return compute_metrics(judge(default_knowledge_base(), labelled("holdout.jsonl")))


def test_the_assistant_searches_hybrid():
    assert isinstance(load_knowledge_base(), HybridKnowledgeBase)


@pytest.mark.parametrize("retriever", ["hybrid", "lexical"])
def test_holdout_retrieval_meets_the_targets(retriever, holdout_metrics, lexical_holdout_metrics):
    metrics = holdout_metrics if retriever == "hybrid" else lexical_holdout_metrics
    assert metrics.recall_at_3 >= 0.93
    assert metrics.mrr_at_10 >= 0.87
    assert metrics.out_of_scope_abstain_rate >= 0.80


def test_holdout_answers_in_scope_questions(holdout_metrics, lexical_holdout_metrics):
    assert holdout_metrics.in_scope_answer_rate >= 0.95
    # The lexical threshold, calibrated without a margin, reached 68 of 75.
    assert lexical_holdout_metrics.in_scope_answer_rate >= 0.90


def test_the_hybrid_ranks_better_than_the_lexical_retriever_alone(holdout_metrics, lexical_holdout_metrics):
    assert holdout_metrics.recall_at_1 > lexical_holdout_metrics.recall_at_1
    assert holdout_metrics.mrr_at_10 > lexical_holdout_metrics.mrr_at_10


def test_the_retriever_beats_plain_bm25_on_the_holdout(lexical_holdout_metrics):
    baseline = compute_metrics(judge(plain_bm25(load_articles()), labelled("holdout.jsonl")))
    assert lexical_holdout_metrics.recall_at_3 > baseline.recall_at_3
    assert lexical_holdout_metrics.mrr_at_10 > baseline.mrr_at_10
    assert lexical_holdout_metrics.out_of_scope_abstain_rate > baseline.out_of_scope_abstain_rate


def test_the_shipped_calibration_is_the_one_calibrate_gives_on_the_tuning_set():
    hybrid = load_knowledge_base()
    assert isinstance(hybrid, HybridKnowledgeBase)
    assert calibrate_hybrid(hybrid, labelled("tuning.jsonl")).settings == hybrid.settings, (
        "recalibrate: PYTHONPATH=layers/flexcord python -m flexcord.kb calibrate "
        "--queries layers/flexcord/flexcord/kb/eval/tuning.jsonl --save"
    )


def test_the_shipped_thresholds_are_the_ones_calibration_gives_on_the_tuning_set():
    tuning = labelled("tuning.jsonl")
    ours = LocalKnowledgeBase.from_articles(load_articles(), abstain_below=0.0)
    baseline = plain_bm25(load_articles(), abstain_below=0.0)
    assert calibrate_threshold(judge(ours, tuning)).threshold == DEFAULT_ABSTAIN_BELOW
    assert calibrate_threshold(judge(baseline, tuning)).threshold == PLAIN_BM25_ABSTAIN_BELOW


def test_the_labelled_sets_cover_every_article_and_out_of_scope_questions():
    stems = {article.stem for article in load_articles()}
    for name, per_article, out_of_scope in (("tuning.jsonl", 4, 25), ("holdout.jsonl", 3, 30)):
        queries = labelled(name)
        assert all(query.relevant <= stems for query in queries), name
        assert sum(not query.in_scope for query in queries) == out_of_scope
        for stem in stems:
            assert sum(stem in query.relevant for query in queries) >= per_article, (name, stem)
