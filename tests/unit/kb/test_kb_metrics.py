"""The evaluation maths on a hand-made example, the labelled format, and calibration."""

import pytest

from flexcord.kb.articles import Article
from flexcord.kb.metrics import (
    Judged,
    LabelledQuery,
    LabelledQueryError,
    calibrate_threshold,
    compute_metrics,
    format_report,
    metrics_by_split,
    read_labelled_queries,
)


def judged(relevant, ranked, *, abstain=False, score=0.5, split=None):
    query = LabelledQuery(id="q", query="q", relevant=frozenset(relevant), split=split)
    return Judged(query=query, ranked=list(ranked), abstain=abstain, top_score=score)


def test_metrics_on_a_hand_made_example():
    items = [
        judged({"a"}, ["a", "b", "c"]),  # rank 1
        judged({"b"}, ["a", "b", "c"]),  # rank 2
        judged({"c", "d"}, ["a", "b", "e", "d"], abstain=True),  # rank 4, not answered
        judged({"z"}, ["a", "b", "c"]),  # not found
        judged(set(), ["a"], abstain=True),  # out of scope, abstained
        judged(set(), ["b"]),  # out of scope, answered
    ]
    metrics = compute_metrics(items)
    assert (metrics.queries, metrics.in_scope, metrics.out_of_scope) == (6, 4, 2)
    assert metrics.recall_at_1 == 1 / 4
    assert metrics.recall_at_3 == 2 / 4
    assert metrics.mrr_at_10 == pytest.approx((1 + 1 / 2 + 1 / 4 + 0) / 4)
    assert metrics.in_scope_answer_rate == 3 / 4
    assert metrics.out_of_scope_abstain_rate == 1 / 2


def test_mrr_stops_at_rank_10():
    assert compute_metrics([judged({"k"}, [*"abcdefghij", "k"])]).mrr_at_10 == 0


def test_rates_without_questions_of_a_kind_are_not_available():
    metrics = compute_metrics([judged(set(), ["a"], abstain=True)])
    assert metrics.recall_at_1 is None
    assert metrics.in_scope_answer_rate is None
    assert metrics.out_of_scope_abstain_rate == 1
    assert "recall@1                   n/a" in format_report(metrics)


def test_the_report_format():
    items = [judged({"a"}, ["a"], split="short"), judged(set(), ["a"], abstain=True, split="out_of_scope")]
    report = format_report(compute_metrics(items), metrics_by_split(items))
    assert report.splitlines()[:6] == [
        "queries 2 (in scope 1, out of scope 1)",
        "recall@1                   1.000",
        "recall@3                   1.000",
        "mrr@10                     1.000",
        "in_scope_answer_rate       1.000",
        "out_of_scope_abstain_rate  1.000",
    ]
    assert "split out_of_scope: queries 1 (in scope 0, out of scope 1)" in report
    assert "  recall@1                   n/a" in report


def test_reading_labelled_queries():
    lines = [
        "# a comment",
        "",
        '{"id": "q1", "query": "raid pass gone", "article": "raids", "split": "short"}',
        '{"id": 2, "query": "which one", "articles": ["a", "b"]}',
        '{"query": "weather", "article": null}',
    ]
    first, second, third = read_labelled_queries(lines)
    assert (first.id, first.relevant, first.split, first.in_scope) == (
        "q1",
        frozenset({"raids"}),
        "short",
        True,
    )
    assert (second.id, second.relevant) == ("2", frozenset({"a", "b"}))
    assert (third.id, third.relevant, third.in_scope) == ("3", frozenset(), False)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", r"labelled:1: not JSON"),
        ('{"id": 1}', r"labelled:1: expected an object with a string 'query'"),
        ('{"id": 1, "query": "x"}', r"query 1 has no 'article' or 'articles'"),
        ('{"id": 1, "query": "x", "articles": "a"}', r"'articles' must be a list"),
    ],
)
def test_a_malformed_labelled_line_is_named(line, message):
    with pytest.raises(LabelledQueryError, match=message):
        read_labelled_queries([line], source="labelled")


def test_calibration_abstains_on_the_most_out_of_scope_questions_it_can():
    in_scope = [
        judged({"a"}, ["a"], score=score) for score in (0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.35, 0.3, 0.25, 0.2)
    ]
    out_of_scope = [judged(set(), ["a"], score=score) for score in (0.45, 0.28, 0.1, 0.05)]
    # Answering at least 80% of the in-scope ones allows a threshold up to 0.3, which abstains
    # on three of the four out-of-scope ones; it sits midway between 0.28 and 0.3.
    calibration = calibrate_threshold(in_scope + out_of_scope, min_answer_rate=0.8)
    assert calibration.threshold == 0.29
    assert (calibration.in_scope_answer_rate, calibration.out_of_scope_abstain_rate) == (0.8, 0.75)


def test_calibration_leaves_decided_abstentions_alone():
    items = [judged({"a"}, ["a"], score=0.9), judged(set(), ["a"], score=0.95, abstain=True)]
    calibration = calibrate_threshold(items, min_answer_rate=1.0)
    assert calibration.out_of_scope_abstain_rate == 1
    assert calibration.threshold <= 0.9


def test_articles_are_what_hits_point_at():
    assert Article("s", "T", "u", (), "b").snippet == "b"
