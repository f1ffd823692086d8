"""The learned abstain model: fitting, its features, saving it, and calibration's choice of it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from flexcord.kb.abstain import NEIGHBOURS, AbstainModel, feature_rows, fit_abstain_model
from flexcord.kb.calibration import fold_numbers, learned_abstaining
from flexcord.kb.hybrid import HybridSettings, Signals, abstain_signal
from flexcord.kb.metrics import Judged, LabelledQuery, calibrate_threshold

DIMENSION = 16


def _unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def _questions(count: int, centre: int, seed: int) -> np.ndarray:
    """Unit vectors around axis ``centre``: questions on one subject."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(0.0, 0.3, (count, DIMENSION))
    vectors[:, centre] += 1.0
    return _unit(vectors)


@pytest.fixture
def labelled() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """In-scope questions (axis 0) and out-of-scope ones (axis 1) with the same spread of top
    cosines and lexical shares: only the out-of-scope questions' neighbourhood tells them apart."""
    rng = np.random.default_rng(7)
    vectors = np.vstack([_questions(60, 0, 1), _questions(40, 1, 2)])
    in_scope = np.array([True] * 60 + [False] * 40)
    return rng.uniform(0.3, 0.8, 100), rng.uniform(0.2, 0.9, 100), vectors, in_scope


def test_a_question_like_known_out_of_scope_ones_scores_lower_at_the_same_top_scores(labelled):
    model = fit_abstain_model(*labelled)
    like_in_scope, like_out_of_scope = _questions(1, 0, 3)[0], _questions(1, 1, 4)[0]
    assert model.probability(0.6, 0.5, like_in_scope) > 0.5 > model.probability(0.6, 0.5, like_out_of_scope)
    # Still a score of closeness to the articles: a higher top cosine never lowers it.
    assert model.probability(0.8, 0.5, like_out_of_scope) > model.probability(0.4, 0.5, like_out_of_scope)


def test_fitting_leaves_each_out_of_scope_question_out_of_its_own_neighbours():
    similarities = np.array([[-np.inf, 0.5, 0.1], [0.9, 0.2, 0.3]])
    rows = feature_rows(np.array([0.7, 0.6]), np.array([0.2, 0.1]), similarities)
    assert rows.tolist() == [pytest.approx([0.7, 0.2, 0.5, 0.3]), pytest.approx([0.6, 0.1, 0.9, 1.4 / 3])]


def test_the_mean_is_over_the_nearest_out_of_scope_questions_only():
    similarities = np.linspace(0.0, 1.0, NEIGHBOURS + 5)[None, :]
    rows = feature_rows(np.array([0.5]), np.array([0.5]), similarities)
    assert rows[0, 3] == pytest.approx(similarities[0, -NEIGHBOURS:].mean())


def test_the_model_needs_both_kinds_of_question(labelled):
    cosines, shares, vectors, _ = labelled
    with pytest.raises(ValueError, match="in-scope and out-of-scope"):
        fit_abstain_model(cosines, shares, vectors, [True] * len(cosines))


def test_the_saved_model_is_the_fitted_one(labelled, tmp_path):
    model = fit_abstain_model(*labelled)
    settings = HybridSettings(abstain_below=0.42, abstain_model=model)
    path = tmp_path / "calibration.json"
    settings.save(path, tuned_on="x.jsonl")
    loaded = HybridSettings.load(path)
    assert loaded == settings
    question = _questions(1, 1, 5)[0]
    assert loaded.abstain_model is not None
    assert loaded.abstain_model.probability(0.5, 0.5, question) == model.probability(0.5, 0.5, question)


def test_a_saved_model_with_other_features_is_refused(labelled, tmp_path):
    document = fit_abstain_model(*labelled).to_document()
    document["features"] = ["top_cosine"]
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"abstain_model": document}), encoding="utf-8")
    with pytest.raises(ValueError, match="invalid abstain_model"):
        HybridSettings.load(path)


def test_the_abstain_signal_is_the_models_probability_when_there_is_one(labelled):
    model = fit_abstain_model(*labelled)
    question = _questions(1, 1, 6)[0]
    signals = Signals(
        lexical=np.array([0.3, 0.1]),
        dense=np.array([0.2, 0.7], dtype=np.float32),
        query_vector=question,
        only_numbers=False,
        empty=False,
    )
    assert abstain_signal(signals, HybridSettings(abstain_model=model)) == pytest.approx(
        model.probability(0.7, 0.3, question), abs=1e-6
    )
    assert abstain_signal(signals, HybridSettings(abstain_mix=0.5)) == pytest.approx(0.5)


def test_questions_of_one_article_share_a_fold_and_out_of_scope_ones_take_turns():
    queries = [
        LabelledQuery("1", "a", frozenset({"raids"})),
        LabelledQuery("2", "b", frozenset({"refunds"})),
        LabelledQuery("3", "c", frozenset({"raids"})),
        *(LabelledQuery(f"x{n}", "x", frozenset()) for n in range(6)),
    ]
    assert fold_numbers(queries).tolist() == [0, 1, 0, 0, 1, 2, 3, 4, 0]


def _judged_and_signals(
    cosines: np.ndarray, shares: np.ndarray, vectors: np.ndarray, in_scope: np.ndarray
) -> tuple[list[LabelledQuery], list[Judged], list[Signals]]:
    queries = [
        LabelledQuery(str(n), "q", frozenset({f"article-{n % 10}"}) if inside else frozenset())
        for n, inside in enumerate(in_scope)
    ]
    signals = [
        Signals(np.array([share]), np.array([cosine], np.float32), vector, only_numbers=False, empty=False)
        for cosine, share, vector in zip(cosines, shares, vectors, strict=True)
    ]
    judged = [Judged(query, [], False, 0.0) for query in queries]
    return queries, judged, signals


def test_calibration_finds_the_learned_model_abstains_where_the_top_scores_cannot(labelled):
    queries, judged, signals = _judged_and_signals(*labelled)
    learned = learned_abstaining(judged, queries, signals, required=0.95)
    assert learned is not None
    model, cross_validated = learned
    assert isinstance(model, AbstainModel)
    assert cross_validated.in_scope_answer_rate >= 0.95
    assert cross_validated.out_of_scope_abstain_rate >= 0.9
    by_top_cosine = [
        Judged(item.query, [], False, float(signal.dense.max()))
        for item, signal in zip(judged, signals, strict=True)
    ]
    assert calibrate_threshold(by_top_cosine, min_answer_rate=0.95).out_of_scope_abstain_rate < 0.5


def test_too_few_out_of_scope_questions_leave_the_mix_alone(labelled):
    cosines, shares, vectors, in_scope = labelled
    keep = np.r_[np.arange(60), np.arange(60, 75)]  # 15 out-of-scope questions
    queries, judged, signals = _judged_and_signals(cosines[keep], shares[keep], vectors[keep], in_scope[keep])
    assert learned_abstaining(judged, queries, signals, required=0.95) is None


def test_a_saved_model_keeps_each_vector_on_one_line(labelled, tmp_path):
    path = tmp_path / "calibration.json"
    HybridSettings(abstain_model=fit_abstain_model(*labelled)).save(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert sum(line.strip().startswith("[") for line in lines) == 40  # one per out-of-scope question
    assert len(lines) < 40 + 25  # not one line per number: 40 x 16 of them
