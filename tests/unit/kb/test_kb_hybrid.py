"""Hybrid retrieval: fusion, abstaining, saved vectors and calibration, on a fake embedder whose
vectors the tests choose, then on the shipped articles with the real static model."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from flexcord.kb.articles import DEFAULT_ARTICLES_DIR, Article
from flexcord.kb.calibration import calibrate_hybrid, required_answer_rate
from flexcord.kb.embedding import default_embedder
from flexcord.kb.hybrid import (
    ArticleVectors,
    HybridKnowledgeBase,
    HybridSettings,
    article_chunks,
    load_hybrid,
    save_vectors,
    vectors_fingerprint,
)
from flexcord.kb.index import VECTORS_FILE_NAME, load_or_build
from flexcord.kb.metrics import LabelledQuery

# Three topics, one axis each: a text's vector is the sum of the axes its keywords name.
AXES = {
    "raid": 0,
    "arena": 0,
    "boss": 0,
    "fight": 0,
    "refund": 1,
    "money": 1,
    "paid": 1,
    "language": 2,
    "french": 2,
}


class KeywordEmbedder:
    """A fake embedder: each text is the normalised count of its topic keywords."""

    identity = "fake:keywords:1"
    dimension = 3

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        vectors = np.zeros((len(texts), 3), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().replace("?", " ").split():
                if word in AXES:
                    vectors[row, AXES[word]] += 1
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed(texts)


ARTICLES = [
    Article("raids", "Raid passes", "", ("raids",), "Join a raid at an arena.\n\nBeat the boss."),
    Article("refunds", "Purchases and refunds", "", (), "The store decides refunds for money you paid."),
    Article("language", "Changing the language", "", (), "Pick French or another language."),
]


@pytest.fixture
def hybrid() -> HybridKnowledgeBase:
    return HybridKnowledgeBase.from_articles(ARTICLES, KeywordEmbedder(), HybridSettings(abstain_below=0.0))


def stems(result):
    return [hit.article.stem for hit in result.hits]


def test_an_article_is_embedded_as_its_title_the_whole_and_each_paragraph():
    article = Article("a", "Title", "", ("one", "two"), "# Heading\n\nFirst paragraph.\n\nSecond.")
    assert article_chunks(article) == [
        "Title (one, two)",
        "Title\n# Heading\n\nFirst paragraph.\n\nSecond.",
        "Heading\nFirst paragraph.",
        "Second.",
    ]


def test_the_dense_side_finds_an_article_no_word_of_the_question_is_in(hybrid):
    # "fight" is in no article; its meaning (the raid axis) is the raids article's.
    assert not any("fight" in article_chunks(article)[1].lower() for article in ARTICLES)
    signals = hybrid.signals("fight?")
    assert not signals.lexical.any()
    assert stems(hybrid.search("fight?", k=3))[0] == "raids"
    assert signals.dense[0] == pytest.approx(1.0, abs=1e-3)
    # No word the articles use is not a number alone: the dense side's answer stands.
    assert not signals.only_numbers
    assert not hybrid.search("fight?", k=3).abstain


def test_the_lexical_weight_decides_which_side_ranks(hybrid):
    # Lexically "Changing the language" wins ("changing" is only there); by meaning, refunds.
    query = "changing money"
    lexical_only = hybrid.with_settings(HybridSettings(lexical_weight=1.0, abstain_below=0.0))
    dense_only = hybrid.with_settings(HybridSettings(lexical_weight=0.0, abstain_below=0.0))
    assert stems(lexical_only.search(query, k=1)) == ["language"]
    assert stems(dense_only.search(query, k=1)) == ["refunds"]


def test_reciprocal_rank_fusion_ranks_by_both_sides(hybrid):
    rrf = hybrid.with_settings(HybridSettings(fusion="rrf", abstain_below=0.0))
    result = rrf.search("raid arena", k=3)
    assert stems(result)[0] == "raids"
    # Two first places: 2 / (60 + 1).
    assert result.hits[0].score == pytest.approx(2 / 61)


def test_abstaining_uses_the_mixed_signal_against_the_threshold(hybrid):
    signals = hybrid.signals("raid")
    top_cosine, top_share = float(signals.dense.max()), float(signals.lexical.max())
    assert top_cosine == pytest.approx(1.0, abs=1e-3)
    assert 0 < top_share < 1
    only_cosine = HybridSettings(abstain_mix=1.0, abstain_below=0.99)
    only_share = HybridSettings(abstain_mix=0.0, abstain_below=top_share + 0.01)
    assert not hybrid.decide(signals, 3, only_cosine).abstain
    assert hybrid.decide(signals, 3, only_share).abstain
    assert not hybrid.decide(signals, 3, replace(only_share, abstain_below=top_share - 0.01)).abstain


def test_nothing_to_go_on_abstains_with_no_hits(hybrid):
    assert hybrid.search("", k=3).hits == []
    assert hybrid.search("", k=3).abstain
    assert hybrid.search("zzz qqq", k=3).abstain


def test_a_number_alone_never_answers(hybrid):
    article = Article("errors", "Error 2", "", (), "Error 2 means the raid failed.")
    knowledge_base = HybridKnowledgeBase.from_articles(
        [*ARTICLES, article], KeywordEmbedder(), HybridSettings(abstain_below=0.0)
    )
    assert knowledge_base.search("2", k=3).abstain
    assert knowledge_base.search("what about 2 raids", k=3).abstain is False
    assert knowledge_base.search("17", k=3).abstain  # a number no article has is still a number


def test_vectors_from_another_embedder_are_refused():
    vectors = ArticleVectors.build(ARTICLES, KeywordEmbedder())
    other = KeywordEmbedder()
    other.identity = "fake:keywords:2"  # type: ignore[misc]
    lexical = HybridKnowledgeBase.from_articles(ARTICLES, KeywordEmbedder()).lexical
    with pytest.raises(ValueError, match="made by fake:keywords:1, not by fake:keywords:2"):
        HybridKnowledgeBase(lexical, vectors, other)


def test_saved_vectors_are_used_while_current_and_rebuilt_when_stale(tiny_kb):
    embedder = KeywordEmbedder()
    path = save_vectors(tiny_kb, embedder)
    assert path == tiny_kb / VECTORS_FILE_NAME
    calls = embedder.calls
    loaded = load_hybrid(tiny_kb, embedder)
    assert embedder.calls == calls  # read, not embedded again
    assert loaded.vectors.fingerprint == vectors_fingerprint(load_or_build(tiny_kb).fingerprint, embedder)

    (tiny_kb / "raid-passes.md").write_text(
        (tiny_kb / "raid-passes.md").read_text(encoding="utf-8") + "\nA boss waits.\n", encoding="utf-8"
    )
    reloaded = load_hybrid(tiny_kb, embedder)
    assert embedder.calls == calls + 1  # the articles changed: embedded again
    assert reloaded.vectors.fingerprint != loaded.vectors.fingerprint

    (tiny_kb / VECTORS_FILE_NAME).write_bytes(b"not a numpy file")
    assert len(load_hybrid(tiny_kb, embedder).vectors.starts) == 3


def test_calibration_picks_the_fusion_that_ranks_best_and_a_threshold_between_the_questions(hybrid):
    queries = [
        LabelledQuery("1", "changing money", frozenset({"refunds"})),
        LabelledQuery("2", "money paid", frozenset({"refunds"})),
        LabelledQuery("3", "raid boss", frozenset({"raids"})),
        LabelledQuery("4", "french", frozenset({"language"})),
        LabelledQuery("5", "what is the capital of peru", frozenset()),
    ]
    result = calibrate_hybrid(hybrid, queries, min_answer_rate=1.0)
    # Only a mostly-dense fusion ranks "changing money" right (the lexical side prefers language).
    assert result.ranking.recall_at_1 == 1.0
    assert result.settings.lexical_weight <= 0.5
    assert result.abstaining.in_scope_answer_rate == 1.0
    assert result.abstaining.out_of_scope_abstain_rate == 1.0
    calibrated = hybrid.with_settings(result.settings)
    assert [calibrated.search(query.query, 3).abstain for query in queries] == [False] * 4 + [True]


def test_calibration_needs_in_scope_questions(hybrid):
    with pytest.raises(ValueError, match="in-scope"):
        calibrate_hybrid(hybrid, [LabelledQuery("1", "peru", frozenset())])


def test_settings_round_trip_and_bad_ones_are_refused(tmp_path):
    path = tmp_path / "calibration.json"
    settings = HybridSettings(lexical_weight=0.4, fusion="rrf", abstain_mix=0.25, abstain_below=0.31)
    settings.save(path, tuned_on="x.jsonl")
    assert HybridSettings.load(path) == settings
    path.write_text('{"lexical_weight": 1.5}', encoding="utf-8")
    with pytest.raises(ValueError, match="invalid settings"):
        HybridSettings.load(path)


def test_the_shipped_vectors_are_current():
    index = load_or_build(DEFAULT_ARTICLES_DIR)
    saved = ArticleVectors.load(DEFAULT_ARTICLES_DIR / VECTORS_FILE_NAME)
    assert saved.fingerprint == vectors_fingerprint(index.fingerprint, default_embedder()), (
        "the articles or the embedder changed: run PYTHONPATH=layers/flexcord python -m flexcord.kb index"
    )


@pytest.mark.parametrize(
    ("question", "lexical_first", "expected"),
    [
        # Tuning questions the lexical side alone gets wrong at rank 1 and the hybrid right.
        ("what info do you need to give my account back", "gems-and-stardust", "recovering-a-lost-account"),
        ("do you sell my location data", "cheating-bans-and-appeals", "privacy-and-your-data"),
    ],
)
def test_the_hybrid_answers_paraphrases_the_lexical_side_misses(tmp_path, question, lexical_first, expected):
    copy = tmp_path / "kb"
    shutil.copytree(DEFAULT_ARTICLES_DIR, copy)
    hybrid = load_hybrid(copy, default_embedder())
    assert hybrid.lexical.search(question, 1).hits[0].article.stem == lexical_first
    assert stems(hybrid.search(question, 3))[0] == expected


def test_the_answer_rate_required_on_tuning_questions_has_a_margin_that_shrinks_with_their_number():
    assert required_answer_rate(0.97, 100) == 1.0
    assert required_answer_rate(0.97, 1200) == pytest.approx(0.9783, abs=1e-4)
    assert required_answer_rate(0.97, 100_000) == pytest.approx(0.9709, abs=1e-3)
    assert required_answer_rate(0.5, 10) == 0.8


def test_an_uncalibrated_folder_uses_the_defaults_and_says_so(tiny_kb, caplog):
    assert load_hybrid(tiny_kb, KeywordEmbedder()).settings == HybridSettings()
    assert "has no calibration.json: using default settings" in caplog.text
    HybridSettings(lexical_weight=0.9).save(tiny_kb / "calibration.json", embedder="fake:keywords:1")
    caplog.clear()
    assert load_hybrid(tiny_kb, KeywordEmbedder()).settings.lexical_weight == 0.9
    assert "calibration" not in caplog.text
