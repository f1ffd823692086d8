"""The line classifier: what it learns, its features, saving it beside calibration.json, and
calibration's choice of the abstain model that uses it."""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from flexcord.kb.abstain import FEATURES, fit_abstain_model
from flexcord.kb.articles import Article
from flexcord.kb.calibration import best_learned_abstaining, learned_abstaining
from flexcord.kb.embedding import default_embedder
from flexcord.kb.hybrid import CLASSIFIER_KEY, HybridSettings, Signals, classifier_path, load_hybrid
from flexcord.kb.line_classifier import FEATURES as LINE_FEATURES
from flexcord.kb.line_classifier import LineClassifier, article_lines
from flexcord.kb.metrics import Judged, LabelledQuery

DIMENSION = 16
ARTICLES = 12


def _unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def _around(axes: np.ndarray, seed: int, spread: float = 0.1) -> np.ndarray:
    """One unit vector near each of ``axes`` (a row of weights per axis)."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(0.0, spread, (len(axes), DIMENSION))
    vectors[:, :ARTICLES] += axes
    return _unit(vectors)


def _one_hot(articles: np.ndarray) -> np.ndarray:
    return np.eye(ARTICLES)[articles]


def _between(count: int, seed: int) -> np.ndarray:
    """Weights halfway between two different articles, a random pair each."""
    rng = np.random.default_rng(seed)
    weights = np.zeros((count, ARTICLES))
    for row in weights:
        first, second = rng.choice(ARTICLES, 2, replace=False)
        row[first] = row[second] = 0.75
    return weights


@pytest.fixture(scope="module")
def lines() -> tuple[np.ndarray, np.ndarray]:
    owners = np.repeat(np.arange(ARTICLES), 20)
    return _around(_one_hot(owners), seed=1), owners


@pytest.fixture(scope="module")
def classifier(lines) -> LineClassifier:
    return LineClassifier.train(*lines)


def test_a_question_like_one_articles_lines_gets_a_confident_close_answer(classifier):
    like_one = _around(_one_hot(np.array([3, 7])), seed=2)
    between_two = _around(_between(2, seed=3), seed=4)
    confident, spread = classifier.features(like_one), classifier.features(between_two)
    log_top, _, distance = range(len(LINE_FEATURES))
    assert confident[:, log_top].min() > spread[:, log_top].max()
    assert confident[:, distance].max() < spread[:, distance].min()


def test_the_classifier_needs_two_articles_with_lines(lines):
    vectors, _ = lines
    with pytest.raises(ValueError, match="two articles"):
        LineClassifier.train(vectors[:5], [0] * 5)
    with pytest.raises(ValueError, match="one article number per line"):
        LineClassifier.train(vectors[:5], [0, 1])


def _article(stem: str, body: str) -> Article:
    return Article(stem=stem, title=stem.title(), url=f"https://help.example/{stem}", tags=(), body=body)


def test_every_non_empty_line_is_one_example_of_its_article():
    articles = [
        _article("raids", "Join a raid.\n\n  Raid passes  \n"),
        _article("empty", ""),
        _article("gems", "Buy gems"),
    ]
    assert article_lines(articles) == (["Join a raid.", "Raid passes", "Buy gems"], [0, 0, 2])


def test_articles_without_lines_are_left_out_and_one_article_is_not_enough():
    def embed(texts: list[str]) -> np.ndarray:
        return _around(_one_hot(np.array([0 if "raid" in text else 1 for text in texts])), seed=len(texts))

    one = [_article("raids", "raid one\nraid two"), _article("empty", "")]
    assert LineClassifier.for_articles(one, embed) is None
    two = [*one, _article("gems", "gems one\ngems two")]
    classifier = LineClassifier.for_articles(two, embed)
    assert classifier is not None
    assert classifier.w2.shape[1] == 2  # "empty" is no class


def _saved(tmp_path, lines, classifier):
    vectors = np.vstack([_around(_one_hot(np.arange(60) % ARTICLES), 5), _around(_between(40, 6), 7)])
    in_scope = [True] * 60 + [False] * 40
    rng = np.random.default_rng(8)
    model = fit_abstain_model(
        rng.uniform(0.3, 0.8, 100), rng.uniform(0.2, 0.9, 100), vectors, in_scope, classifier
    )
    settings = HybridSettings(abstain_below=0.5, abstain_model=model)
    path = tmp_path / "calibration.json"
    settings.save(path, tuned_on="x.jsonl")
    return model, path


def test_the_classifier_is_saved_beside_calibration_json_and_loads_as_fitted(tmp_path, lines, classifier):
    model, path = _saved(tmp_path, lines, classifier)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document[CLASSIFIER_KEY]["file"] == "calibration.classifier.npz"
    assert document["abstain_model"]["features"] == [*FEATURES, *LINE_FEATURES]
    assert classifier_path(path).exists()
    loaded = HybridSettings.load(path).abstain_model
    assert loaded is not None
    assert loaded.classifier is not None
    question = _around(_between(1, 9), 10)[0]
    assert loaded.probability(0.6, 0.4, question) == model.probability(0.6, 0.4, question)
    assert loaded.description == "learned model with the line classifier"
    assert replace(loaded, classifier=None).description == "learned model"


def test_a_language_has_its_own_classifier_file(tmp_path):
    assert classifier_path(tmp_path / "calibration.de.json").name == "calibration.de.classifier.npz"


def test_a_changed_or_missing_classifier_file_is_refused(tmp_path, lines, classifier):
    _, path = _saved(tmp_path, lines, classifier)
    saved = classifier_path(path)
    other = LineClassifier.train(*lines, seed=1)
    saved.write_bytes(other.to_bytes())
    with pytest.raises(ValueError, match="not the one calibrated"):
        HybridSettings.load(path)
    saved.unlink()
    with pytest.raises(ValueError, match="unreadable"):
        HybridSettings.load(path)


def test_a_classifier_file_outside_the_folder_is_refused(tmp_path, lines, classifier):
    _, path = _saved(tmp_path, lines, classifier)
    document = json.loads(path.read_text(encoding="utf-8"))
    document[CLASSIFIER_KEY]["file"] = "../elsewhere.npz"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ValueError, match=r"a name beside calibration\.json"):
        HybridSettings.load(path)


def test_a_model_without_its_classifier_is_refused(tmp_path, lines, classifier):
    _, path = _saved(tmp_path, lines, classifier)
    document = json.loads(path.read_text(encoding="utf-8"))
    del document[CLASSIFIER_KEY]
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ValueError, match="invalid abstain_model"):
        HybridSettings.load(path)


def test_saving_settings_without_a_classifier_removes_an_earlier_one(tmp_path, lines, classifier):
    _, path = _saved(tmp_path, lines, classifier)
    HybridSettings(abstain_below=0.3).save(path)
    assert not classifier_path(path).exists()
    assert HybridSettings.load(path).abstain_model is None


def _labelled_between_articles() -> tuple[list[LabelledQuery], list[Judged], list[Signals]]:
    """In-scope questions near one article each, out-of-scope ones halfway between two: the same
    spread of top scores, and each out-of-scope question as close to in-scope ones as to the
    other out-of-scope ones. Only "which article?" tells them apart."""
    rng = np.random.default_rng(11)
    articles = np.arange(120) % ARTICLES
    vectors = np.vstack([_around(_one_hot(articles), 12), _around(_between(80, 13), 14)])
    in_scope = [True] * 120 + [False] * 80
    queries = [
        LabelledQuery(str(n), "q", frozenset({f"article-{articles[n]}"}) if inside else frozenset())
        for n, inside in enumerate(in_scope)
    ]
    signals = [
        Signals(np.array([share]), np.array([cosine], np.float32), vector, only_numbers=False, empty=False)
        for cosine, share, vector in zip(
            rng.uniform(0.3, 0.8, 200), rng.uniform(0.2, 0.9, 200), vectors, strict=True
        )
    ]
    return queries, [Judged(query, [], False, 0.0) for query in queries], signals


def test_calibration_takes_the_classifiers_features_where_they_abstain_on_more(lines):
    queries, judged, signals = _labelled_between_articles()
    plain = learned_abstaining(judged, queries, signals, required=0.95)
    assert plain is not None
    line_vectors, owners = lines
    texts = [f"line {n}" for n in range(len(owners))]
    by_text = dict(zip(texts, line_vectors, strict=True))
    knowledge_base = SimpleNamespace(
        articles=[
            _article(
                f"article-{number}",
                "\n".join(text for text, owner in zip(texts, owners, strict=True) if owner == number),
            )
            for number in range(ARTICLES)
        ],
        embedder=SimpleNamespace(embed=lambda batch: np.array([by_text[text] for text in batch])),
    )
    best = best_learned_abstaining(knowledge_base, judged, queries, signals, required=0.95)  # type: ignore[arg-type]
    assert best is not None
    model, cross_validated = best
    assert model.classifier is not None
    assert cross_validated.in_scope_answer_rate >= 0.95
    assert cross_validated.out_of_scope_abstain_rate >= 0.9
    assert cross_validated.out_of_scope_abstain_rate > plain[1].out_of_scope_abstain_rate + 0.2


def test_a_folder_calibrated_with_a_classifier_answers_with_it(tiny_kb):
    embedder = default_embedder()
    knowledge_base = load_hybrid(tiny_kb, embedder)
    classifier = LineClassifier.for_articles(knowledge_base.articles, embedder.embed)
    assert classifier is not None
    in_scope = ["how do raid passes work", "can I get a refund", "change the game language", "join a raid"]
    off_topic = [
        "what is the weather tomorrow",
        "book a table for two",
        "who won the match",
        "play some jazz",
    ]
    questions = in_scope + off_topic
    signals = [knowledge_base.signals(question) for question in questions]
    model = fit_abstain_model(
        [float(signal.dense.max()) for signal in signals],
        [float(signal.lexical.max(initial=0.0)) for signal in signals],
        np.array([signal.query_vector for signal in signals]),
        [question in in_scope for question in questions],
        classifier,
    )
    threshold = 0.5
    HybridSettings(abstain_below=threshold, abstain_model=model).save(
        tiny_kb / "calibration.json", embedder=embedder.identity
    )

    loaded = load_hybrid(tiny_kb, embedder)
    assert loaded.settings.abstain_model is not None
    assert loaded.settings.abstain_model.classifier is not None
    for question, signal in zip(questions, signals, strict=True):
        top_cosine, top_share = float(signal.dense.max()), float(signal.lexical.max(initial=0.0))
        expected = (
            signal.only_numbers or model.probability(top_cosine, top_share, signal.query_vector) < threshold
        )
        assert loaded.search(question).abstain == expected, question


def test_a_folder_whose_classifier_file_is_missing_answers_with_the_defaults_and_says_so(
    tiny_kb, lines, classifier, caplog
):
    _, path = _saved(tiny_kb, lines, classifier)
    classifier_path(path).unlink()
    loaded = load_hybrid(tiny_kb, default_embedder())
    assert loaded.settings == HybridSettings()
    assert "using default settings" in caplog.text
    assert "calibration.classifier.npz unreadable" in caplog.text
