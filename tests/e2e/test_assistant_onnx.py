"""The assistant on the optional ONNX embedder, set up as a deployer would: a model folder
(generated here: the static model's table as an ONNX graph, so the answers can be compared), the
help centre indexed and calibrated with it, and the functions told KB_EMBEDDER=onnx."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.discord_emulator import DiscordEmulator
from devstack.stack import LocalStack
from flexcord.kb.articles import DEFAULT_ARTICLES_DIR
from flexcord.kb.embedding import _safetensors_matrix, default_embedder, static_model_files
from tests.e2e.conftest import final_reply, wait_until
from tests.support.kb_cli import run_kb
from tests.support.onnx_models import write_static_table_model

ROOT = Path(__file__).resolve().parents[2]
TUNING = ROOT / "layers" / "flexcord" / "flexcord" / "kb" / "eval" / "tuning.jsonl"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    scratch = tmp_path_factory.mktemp("onnx-help-centre")
    weights, tokenizer = static_model_files()
    model = write_static_table_model(scratch / "model", _safetensors_matrix(weights)[0], tokenizer)
    articles = scratch / "articles"
    shutil.copytree(DEFAULT_ARTICLES_DIR, articles)
    environment = {"KB_EMBEDDER": "onnx", "KB_ONNX_MODEL_DIR": str(model)}
    run_kb("index", "--kb", articles, environment=environment)
    run_kb("calibrate", "--kb", articles, "--queries", TUNING, "--save", environment=environment)
    calibration = json.loads((articles / "calibration.json").read_text(encoding="utf-8"))
    assert calibration["embedder"].startswith("onnx:model:")

    with pytest.MonkeyPatch.context() as patch:
        for name in ("KB_EMBEDDER", "KB_ONNX_MODEL_DIR"):
            patch.setenv(name, environment[name])
        patch.setenv("KB_DIR", str(articles))
        default_embedder.cache_clear()
        try:
            with LocalStack() as running:
                yield running
        finally:
            default_embedder.cache_clear()


def chat(discord: DiscordEmulator, user: str) -> list[dict[str, Any]]:
    return discord.messages(discord.dm_channel_id(user))


def test_the_onnx_embedder_answers_and_abstains(stack: LocalStack) -> None:
    from flexcord import wiring
    from flexcord.kb.hybrid import HybridKnowledgeBase

    discord = stack.discord
    assert discord is not None
    discord.add_user("noor")
    final_reply(
        discord, discord.run_command("noor", "helpme", {"question": "my raid pass disappeared"}).token
    )
    answer = wait_until(lambda: next((m for m in chat(discord, "noor") if m.get("embeds")), None))
    assert "raids-and-raid-passes" in answer["embeds"][0]["fields"][0]["value"]

    knowledge_base = wiring.knowledge_base()
    assert isinstance(knowledge_base, HybridKnowledgeBase)
    assert knowledge_base.embedder.identity.startswith("onnx:model:")
    assert knowledge_base.vectors.embedder == knowledge_base.embedder.identity

    discord.add_user("sam")
    final_reply(
        discord, discord.run_command("sam", "helpme", {"question": "what is the capital of peru"}).token
    )
    reply = wait_until(
        lambda: next(
            (m for m in chat(discord, "sam") if "not sure I have an answer" in m.get("content", "")), None
        )
    )
    assert not reply.get("embeds")
