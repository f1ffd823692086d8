"""Searching: the right article for clear questions, abstaining on nonsense, saved indexes."""

import json
import shutil

import pytest

from flexcord.kb import DEFAULT_ARTICLES_DIR, LocalKnowledgeBase, load_knowledge_base
from flexcord.kb.articles import load_articles
from flexcord.kb.index import FIELDED_SETTINGS, INDEX_FILE_NAME, Index, fingerprint, load_or_build, save_index
from flexcord.kb.retrieval import default_knowledge_base, plain_bm25


@pytest.fixture(scope="module")
def kb():
    return default_knowledge_base()


@pytest.mark.parametrize(
    ("query", "stem"),
    [
        ("my pokéstop is missing", "waystones-and-map-points"),
        ("raid pass gone??", "raids-and-raid-passes"),
        ("How do I get a refund?", "purchases-and-refunds"),
        ("the game keeps crashing", "crashes-and-freezes"),
        ("how do I change the email on my account", "changing-your-email-address"),
        ("my acount was hakced", "recovering-a-lost-account"),  # two typos
        ("appeal my ban", "cheating-bans-and-appeals"),
        ("cancel my trailblazer subscription", "trailblazer-pass-subscription"),
    ],
)
def test_a_clear_question_ranks_its_article_first(kb, query, stem):
    result = kb.search(query, k=3)
    assert result.hits[0].article.stem == stem
    assert not result.abstain


@pytest.mark.parametrize(
    "query",
    ["", "   ", "?!", "asdfghjkl qwerty", "the weather in paris tomorrow", "what's 2+2", "hi, how are you?"],
)
def test_nonsense_and_chit_chat_abstain(kb, query):
    assert kb.search(query).abstain


def test_hits_are_best_first_with_scores_between_0_and_1_and_at_most_k(kb):
    result = kb.search("trade limits and stardust cost for special trades", k=4)
    scores = [hit.score for hit in result.hits]
    assert len(result.hits) == 4
    assert scores == sorted(scores, reverse=True)
    assert all(0 < score <= 1 for score in scores)
    assert kb.search("trade", k=0).hits == []


def test_hits_carry_what_the_assistant_shows(kb):
    article = kb.search("notifications not working", k=1).hits[0].article
    assert article.title == "Notifications not working"
    assert article.url == "https://help.example-game.com/articles/notifications"
    assert article.snippet.startswith("Critterra can notify you")


def test_abstaining_still_returns_the_near_misses():
    knowledge_base = LocalKnowledgeBase.from_articles(load_articles(), abstain_below=1.0)
    result = knowledge_base.search("raid pass")
    assert result.abstain
    assert result.hits[0].article.stem == "raids-and-raid-passes"


def test_analyse_shows_terms_and_corrections(kb):
    analysed = kb.analyse("I cant sign in to my acount")
    assert analysed.terms == ["~log_in", "~account"]
    assert analysed.corrections == {"acount": "account"}
    # An inflection of a word the synonym table knows is not a typo.
    assert kb.analyse("i never cheated").corrections == {}


def test_the_baseline_is_plain_bm25_with_no_synonyms_or_spelling():
    baseline = plain_bm25(load_articles())
    assert baseline.analyse("sign in to my acount").terms == ["sign", "acount"]
    assert baseline.index.settings.fields[0].name == "all"


def test_a_saved_index_scores_exactly_like_a_built_one(tmp_path, tiny_kb):
    built = LocalKnowledgeBase(Index.build(load_articles(tiny_kb)))
    save_index(tiny_kb)
    loaded = LocalKnowledgeBase(Index.load(tiny_kb / INDEX_FILE_NAME))
    for query in ("raid pass refunded", "refund from the store", "change language"):
        assert loaded.search(query) == built.search(query)


def test_a_stale_saved_index_is_not_used(tiny_kb):
    save_index(tiny_kb)
    (tiny_kb / "trading.md").write_text(
        "---\ntitle: Trading\n---\nTrade critters with friends.", encoding="utf-8"
    )
    index = load_or_build(tiny_kb)
    assert [article.stem for article in index.articles] == ["language", "raid-passes", "refunds", "trading"]
    assert index.fingerprint == fingerprint(tiny_kb, FIELDED_SETTINGS)


def test_an_unreadable_saved_index_is_rebuilt(tiny_kb):
    (tiny_kb / INDEX_FILE_NAME).write_text(json.dumps({"format": 0}), encoding="utf-8")
    assert len(load_or_build(tiny_kb).articles) == 3


def test_the_shipped_index_is_current():
    saved = Index.load(DEFAULT_ARTICLES_DIR / INDEX_FILE_NAME)
    assert saved.fingerprint == fingerprint(DEFAULT_ARTICLES_DIR, FIELDED_SETTINGS), (
        "the articles, the synonym table or the analysis code changed: run "
        "PYTHONPATH=layers/flexcord python -m flexcord.kb index"
    )


def test_the_default_knowledge_base_is_loaded_once(tmp_path):
    assert load_knowledge_base() is load_knowledge_base(DEFAULT_ARTICLES_DIR)
    assert default_knowledge_base() is default_knowledge_base()
    copy = tmp_path / "copy"
    shutil.copytree(DEFAULT_ARTICLES_DIR, copy)
    assert load_knowledge_base(copy) is not load_knowledge_base()


def test_the_assistant_is_lexical_when_asked_and_the_shipped_one_is_shared(monkeypatch):
    monkeypatch.setenv("KB_RETRIEVER", "lexical")
    assert load_knowledge_base() is default_knowledge_base()
    monkeypatch.setenv("KB_RETRIEVER", "dense")
    with pytest.raises(ValueError, match="KB_RETRIEVER must be hybrid or lexical"):
        load_knowledge_base()


def test_without_the_embedding_model_the_assistant_searches_lexically_and_says_so(
    monkeypatch, tmp_path, caplog
):
    from flexcord.kb.embedding import default_embedder

    default_embedder.cache_clear()
    monkeypatch.setenv("KB_EMBEDDING_MODEL_DIR", str(tmp_path / "nowhere"))
    copy = tmp_path / "copy"
    shutil.copytree(DEFAULT_ARTICLES_DIR, copy)
    try:
        knowledge_base = load_knowledge_base(copy)
    finally:
        default_embedder.cache_clear()
    assert isinstance(knowledge_base, LocalKnowledgeBase)
    assert "lexical search only (embedding model file missing" in caplog.text
    assert knowledge_base.search("raid pass", 3).hits[0].article.stem == "raids-and-raid-passes"
