"""The public evaluation data (benchmarks/kb_public/) as scripts/kb_public.py reads and splits it,
and the evaluation scripts/bench_kb_public.py runs on it, end to end on small slices.

The full benchmark takes half a minute and is not run here: `make bench-kb` runs it.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from flexcord.kb.calibration import calibrate_hybrid
from flexcord.kb.embedding import default_embedder
from flexcord.kb.hybrid import HybridKnowledgeBase
from flexcord.kb.line_classifier import LineClassifier
from flexcord.kb.metrics import Judged, LabelledQuery, judge
from flexcord.kb.retrieval import Hit, LocalKnowledgeBase, SearchResult
from scripts import bench_kb_public, explore_kb_abstain, fetch_kb_public_data
from scripts.bench_kb_public import (
    SHIPPED,
    Retriever,
    answered_off_topic,
    at_threshold,
    best_answered_at,
    evaluate,
    print_benchmark,
    print_summary,
)
from scripts.kb_public import (
    IN_SCOPE,
    NEAR_DOMAIN,
    OFF_TOPIC,
    SOURCE_FILES,
    check_files,
    collections_named,
    load_collections,
    split_by_article,
)


@pytest.fixture(scope="module")
def collections():
    return {collection.name: collection for collection in load_collections()}


def test_the_scripts_pick_collections_by_name_and_refuse_unknown_ones():
    assert [collection.name for collection in collections_named(None)] == [
        "StackFAQ",
        "CLINC150",
        "Banking77",
    ]
    assert [collection.name for collection in collections_named(["Banking77", "StackFAQ"])] == [
        "StackFAQ",
        "Banking77",
    ]
    with pytest.raises(SystemExit, match=r"no collection named Clinc150 \(there are StackFAQ, CLINC150"):
        collections_named(["CLINC150", "Clinc150"])


def test_the_shipped_files_are_the_recorded_bytes():
    assert check_files() == []
    assert sum(source.size for source in SOURCE_FILES) < 5_000_000


def test_clinc150_is_150_intent_articles_with_4500_questions_and_1200_off_topic(collections):
    clinc = collections["CLINC150"]
    assert len(clinc.topics) == 150
    assert all(len(topic.body.splitlines()) == 100 for topic in clinc.topics)  # the train utterances
    assert all(len(topic.questions) == 30 for topic in clinc.topics)
    assert sum(len(topic.questions) for topic in clinc.topics) == 4500
    assert len(clinc.off_topic) == 1000
    # oos_train and oos_val tune only; none is a question the report half could be asked
    assert len(clinc.tuning_off_topic) == 200
    assert not set(clinc.tuning_off_topic) & set(clinc.off_topic)
    assert next(topic.title for topic in clinc.topics if topic.id == "are_you_a_bot") == "Are you a bot"


def test_stackfaq_is_125_threads_with_1249_human_rephrasings(collections):
    stackfaq = collections["StackFAQ"]
    assert len(stackfaq.topics) == 125
    assert sum(len(topic.questions) for topic in stackfaq.topics) == 1249
    assert all(question.strip() not in {"", "*"} for topic in stackfaq.topics for question in topic.questions)
    assert all(topic.title and topic.body for topic in stackfaq.topics)
    assert stackfaq.off_topic == collections["CLINC150"].off_topic
    assert stackfaq.tuning_off_topic == collections["CLINC150"].tuning_off_topic


def test_banking77_is_77_intents_from_train_with_the_test_questions(collections):
    banking = collections["Banking77"]
    assert len(banking.topics) == 77
    assert sum(len(topic.body.splitlines()) for topic in banking.topics) == 10_003
    assert sum(len(topic.questions) for topic in banking.topics) == 3080


@pytest.mark.parametrize("name", ["StackFAQ", "CLINC150", "Banking77"])
def test_the_split_keeps_each_article_and_its_questions_in_one_half(collections, name):
    collection = collections[name]
    benchmark = split_by_article(collection)
    tuning, report = benchmark.halves
    all_topics = {topic.id for topic in collection.topics}
    assert not tuning.topics & report.topics
    assert tuning.topics | report.topics == all_topics
    assert abs(len(tuning.topics) - len(report.topics)) <= 1

    held_out = tuning.held_out | report.held_out
    assert {article.stem for article in benchmark.articles} == all_topics - held_out
    for half in benchmark.halves:
        assert half.held_out <= half.topics
        for query in half.of_kind(IN_SCOPE):
            assert query.relevant <= half.topics - half.held_out
        for query in half.of_kind(NEAR_DOMAIN):
            assert not query.relevant
            assert query.id.rsplit(":", 1)[0] in half.held_out
        assert all(not query.relevant for query in half.of_kind(OFF_TOPIC))
    # every question is in exactly one half
    questions = sum(len(topic.questions) for topic in collection.topics)
    in_halves = [query for half in benchmark.halves for query in half.queries if query.split != OFF_TOPIC]
    assert len(in_halves) == questions
    off_topic = [query.query for half in benchmark.halves for query in half.of_kind(OFF_TOPIC)]
    assert sorted(off_topic) == sorted(collection.off_topic + collection.tuning_off_topic)
    assert set(collection.tuning_off_topic) <= {query.query for query in tuning.of_kind(OFF_TOPIC)}
    assert not set(collection.tuning_off_topic) & {query.query for query in report.of_kind(OFF_TOPIC)}
    assert len(report.of_kind(OFF_TOPIC)) == len(collection.off_topic) // 2
    assert not {query.id for query in tuning.queries} & {query.id for query in report.queries}
    if collection.hold_out_every:
        assert tuning.held_out
        assert report.held_out
        assert tuning.of_kind(NEAR_DOMAIN)
    else:
        assert not held_out


def test_the_split_is_deterministic_and_depends_on_the_seed(collections):
    stackfaq = collections["StackFAQ"]
    first, again = split_by_article(stackfaq), split_by_article(stackfaq)
    assert first == again
    other = split_by_article(stackfaq, seed=11)
    assert other.tuning.topics != first.tuning.topics


class RandomKnowledgeBase:
    """Sabotage: random articles with random scores, never abstaining."""

    def __init__(self, articles):
        self.articles = list(articles)
        self.rng = random.Random(7)

    def search(self, query, k=10, *, locale=None):
        chosen = self.rng.sample(self.articles, min(k, len(self.articles)))
        scores = sorted((self.rng.random() for _ in chosen), reverse=True)
        return SearchResult(
            hits=[Hit(article, score) for article, score in zip(chosen, scores, strict=True)], abstain=False
        )


RANDOM = Retriever("random articles", RandomKnowledgeBase)


def _rates(figures):
    metrics = figures.metrics
    return [
        metrics.recall_at_1,
        metrics.recall_at_3,
        metrics.mrr_at_10,
        metrics.in_scope_answer_rate,
        figures.off_topic_abstained,
        figures.near_domain_abstained,
    ]


@pytest.mark.parametrize("name", ["StackFAQ", "CLINC150", "Banking77"])
def test_the_evaluation_runs_end_to_end_on_a_slice_and_sabotage_scores_lower(collections, name):
    benchmark = split_by_article(collections[name].sliced(topics=20, off_topic=60))
    assert len(benchmark.tuning.topics) == len(benchmark.report.topics) == 10
    shipped = evaluate(benchmark, SHIPPED)
    sabotaged = evaluate(benchmark, RANDOM, time_queries=False)
    for result in (shipped, sabotaged):
        for figures in (result.tuning, result.report):
            rates = _rates(figures)
            assert all(rate is None or 0.0 <= rate <= 1.0 for rate in rates)
            assert (figures.near_domain_abstained is None) == (name != "Banking77")
        assert 0.0 <= result.threshold <= 1.0
    assert shipped.latency_ms is not None
    assert 0 < shipped.latency_ms[0] <= shipped.latency_ms[1]
    for half in ("tuning", "report"):
        ours, theirs = getattr(shipped, half).metrics, getattr(sabotaged, half).metrics
        assert theirs.recall_at_3 < ours.recall_at_3
        assert theirs.mrr_at_10 < ours.mrr_at_10


def test_the_threshold_comes_from_the_tuning_half_only(collections):
    benchmark = split_by_article(collections["CLINC150"].sliced(topics=20, off_topic=60))
    result = evaluate(benchmark, SHIPPED, time_queries=False)
    # Changing the report half's questions changes no threshold; changing the tuning half's does.
    emptied_report = replace(
        benchmark, report=replace(benchmark.report, queries=benchmark.report.queries[:5])
    )
    assert evaluate(emptied_report, SHIPPED, time_queries=False).threshold == result.threshold
    in_scope = [query for query in benchmark.tuning.queries if query.in_scope]
    off_topic = [query for query in benchmark.tuning.queries if not query.in_scope]
    # keep only the in-scope questions the shipped retriever scores best: the threshold moves up
    knowledge_base = LocalKnowledgeBase.from_articles(benchmark.articles, abstain_below=0.0)
    easiest = sorted(judge(knowledge_base, in_scope), key=lambda item: -item.top_score)[:20]
    easy_tuning = replace(benchmark.tuning, queries=(*(item.query for item in easiest), *off_topic))
    assert evaluate(replace(benchmark, tuning=easy_tuning), SHIPPED, time_queries=False).threshold > (
        result.threshold
    )


def test_applying_a_threshold_equals_searching_with_it(collections):
    benchmark = split_by_article(collections["StackFAQ"].sliced(topics=20, off_topic=60))
    queries = benchmark.report.queries
    at_zero = judge(LocalKnowledgeBase.from_articles(benchmark.articles, abstain_below=0.0), queries)
    for threshold in (0.0, 0.2, 0.35, 0.6):
        searched = judge(
            LocalKnowledgeBase.from_articles(benchmark.articles, abstain_below=threshold), queries
        )
        assert at_threshold(at_zero, threshold) == searched


def _judged(score, kind):
    relevant = frozenset({"a"}) if kind == IN_SCOPE else frozenset()
    query = LabelledQuery(id=f"{kind}{score}", query="q", relevant=relevant, split=kind)
    return Judged(query=query, ranked=["a"], abstain=score is None, top_score=score or 0.0)


def test_best_answered_at_finds_the_lowest_threshold_abstaining_on_enough_off_topic():
    in_scope = [_judged(score, IN_SCOPE) for score in (0.9, 0.8, 0.7, 0.5, 0.3)]
    off_topic = [_judged(score, OFF_TOPIC) for score in (None, 0.1, 0.2, 0.3, 0.6)]
    # 80% abstained needs a threshold above 0.3: answers 0.9, 0.8, 0.7, 0.5 (0.3 ties, abstained)
    assert best_answered_at(in_scope + off_topic, min_abstained=0.8) == 0.8
    # every off-topic question abstained needs a threshold above 0.6
    assert best_answered_at(in_scope + off_topic, min_abstained=1.0) == 0.6
    assert best_answered_at(in_scope + off_topic, min_abstained=0.2) == 1.0
    assert best_answered_at(in_scope) is None


def test_answered_off_topic_lists_only_the_off_topic_questions_answered_highest_score_first():
    judged = [
        _judged(0.9, IN_SCOPE),
        _judged(None, OFF_TOPIC),
        _judged(0.4, OFF_TOPIC),
        _judged(0.7, OFF_TOPIC),
        _judged(0.5, NEAR_DOMAIN),
    ]
    lexical = object()  # not a hybrid: the top score is what decided
    assert [score for score, _, _ in answered_off_topic(judged, lexical)] == [0.7, 0.4]


def test_the_printed_report_labels_both_halves_and_the_targets(collections, capsys):
    benchmark = split_by_article(collections["Banking77"].sliced(topics=20, off_topic=60))
    results = [evaluate(benchmark, retriever) for retriever in bench_kb_public.RETRIEVERS]
    print_benchmark(benchmark, results, load_ms=1.0)
    print_summary(results)
    output = capsys.readouterr().out
    assert "tuning half: 10 topics" in output
    details, summary = output.split("Summary: report halves only")
    assert details.count("hybrid (shipped)        tuning") == 1
    assert details.count("hybrid (shipped)        report") == 1
    assert details.count("hybrid, RRF fusion      report") == 1
    assert summary.count("hybrid (shipped)        report") == 1
    assert "tuning  " not in summary  # no tuning-half row
    assert "near-domain abstained" in summary
    # A missed target points to the fine-tuned encoder's benchmark, and only a missed one does.
    assert ("make bench-kb-fine-tuned" in summary) == ("MISSED" in summary)
    shipped = next(result for result in results if result.retriever == bench_kb_public.SHIPPED.name)
    report_off_topic = [query.query for query in benchmark.report.of_kind(OFF_TOPIC)]
    assert all(question in report_off_topic for _, _, question in shipped.answered_off_topic)
    answered = round(len(report_off_topic) * (1 - shipped.report.off_topic_abstained))
    assert len(shipped.answered_off_topic) == answered
    # Each was answered because its abstain signal reached the threshold: that is the score shown.
    assert all(score >= shipped.threshold for score, _, _ in shipped.answered_off_topic)
    assert f"hybrid (shipped), report half: {answered} off-topic questions answered" in details


class _Response:
    def __init__(self, content):
        self.content = content

    def raise_for_status(self):
        return None


def test_the_fetch_script_writes_only_files_with_the_recorded_checksums(tmp_path, monkeypatch):
    shipped = {
        source.url: (fetch_kb_public_data.DATA_DIR / source.local).read_bytes() for source in SOURCE_FILES
    }
    requested = []

    def fake_get(url, timeout):
        requested.append(url)
        return _Response(shipped[url])

    monkeypatch.setattr(fetch_kb_public_data.requests, "get", fake_get)
    fetch_kb_public_data.fetch(tmp_path / "good")
    assert check_files(tmp_path / "good") == []
    assert all(
        url.startswith(f"https://raw.githubusercontent.com/{source.repository}/{source.commit}/")
        for url, source in zip(requested, SOURCE_FILES, strict=True)
    )

    tampered = dict(shipped)
    last = SOURCE_FILES[-1].url
    tampered[last] = tampered[last] + b"\n"
    monkeypatch.setattr(fetch_kb_public_data.requests, "get", lambda url, timeout: _Response(tampered[url]))
    with pytest.raises(fetch_kb_public_data.ChecksumMismatch):
        fetch_kb_public_data.fetch(tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_the_abstain_exploration_reproduces_the_plain_learned_model_and_measures_each_feature_set(
    collections, monkeypatch
):
    """Its "plain" row must be what calibration's own cross-validation finds for the learned
    model without the line classifier, or the other rows, measured the same way, would not
    compare with it."""
    benchmark = split_by_article(collections["Banking77"].sliced(topics=24, off_topic=80))
    embedder = default_embedder()
    explored = explore_kb_abstain.explore(benchmark, embedder)
    assert list(explored) == ["plain", "+ lines", "+ mahalanobis", "+ classifier", "+ all three"]

    knowledge_base = HybridKnowledgeBase.from_articles(benchmark.articles, embedder)
    # Calibration without its line-classifier candidate: the plain learned model or the mix.
    monkeypatch.setattr(LineClassifier, "for_articles", classmethod(lambda cls, articles, embed: None))
    calibration = calibrate_hybrid(knowledge_base, list(benchmark.tuning.queries))
    assert calibration.settings.abstain_model is not None
    shipped = explored["plain"]
    assert shipped.cross_validated_answered == calibration.abstaining.in_scope_answer_rate
    assert shipped.cross_validated_abstained == calibration.abstaining.out_of_scope_abstain_rate
    report = judge(knowledge_base.with_settings(calibration.settings), benchmark.report.queries)
    off_topic = [item.abstain for item in report if item.query.split == OFF_TOPIC]
    assert shipped.report_off_topic == pytest.approx(sum(off_topic) / len(off_topic))
    assert all(figures.report_near_domain is not None for figures in explored.values())
