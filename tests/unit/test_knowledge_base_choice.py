"""Which knowledge base the functions answer from is configuration: the shipped help centre by
default (hybrid, or lexical when asked), a folder, or Bedrock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flexcord import wiring
from flexcord.kb import LocalKnowledgeBase
from flexcord.kb.bedrock import BedrockKnowledgeBase
from flexcord.kb.hybrid import HybridKnowledgeBase


@pytest.fixture(autouse=True)
def fresh_choice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("KB_DIR", raising=False)
    monkeypatch.delenv("KB_BEDROCK_KNOWLEDGE_BASE_ID", raising=False)
    wiring.knowledge_base.cache_clear()
    yield
    wiring.knowledge_base.cache_clear()


def test_the_shipped_help_centre_by_default() -> None:
    kb = wiring.knowledge_base()
    assert isinstance(kb, HybridKnowledgeBase)
    assert not kb.search("my raid pass disappeared", k=3).abstain


def test_the_lexical_search_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_RETRIEVER", "lexical")
    kb = wiring.knowledge_base()
    assert isinstance(kb, LocalKnowledgeBase)
    assert not kb.search("my raid pass disappeared", k=3).abstain


def test_a_folder_of_articles(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "lost-pets.md").write_text(
        "---\ntitle: Finding a lost pet\nurl: https://help.example/lost-pets\ntags: [pets]\n---\n"
        "If your pet wandered off, check the pet tracker in the menu and call it home.\n"
    )
    monkeypatch.setenv("KB_DIR", str(tmp_path))
    result = wiring.knowledge_base().search("my pet wandered off", k=3)
    assert [hit.article.stem for hit in result.hits][:1] == ["lost-pets"]


def test_bedrock_when_a_knowledge_base_id_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_BEDROCK_KNOWLEDGE_BASE_ID", "KB12345678")
    kb = wiring.knowledge_base()
    assert isinstance(kb, BedrockKnowledgeBase)
    assert kb.knowledge_base_id == "KB12345678"
