"""The optional ONNX embedder, on models the tests generate (tests/support/onnx_models.py)."""

import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from flexcord.kb.embedding import (
    EmbedderUnavailable,
    StaticEmbedder,
    _safetensors_matrix,
    default_embedder,
    static_model_files,
)
from flexcord.kb.onnx_embedder import BATCH_SIZE, OnnxEmbedder
from tests.support.onnx_models import model_table, write_static_table_model, write_tiny_model

WORDS = ["raid", "pass", "refund", "purchase", "store", "language", "settings", "restart", "game", "arena"]


def tiny(folder: Path, **options: Any) -> OnnxEmbedder:
    options.setdefault("vocabulary", WORDS)
    return OnnxEmbedder.from_folder(write_tiny_model(folder, **options))


def rows_of(folder: Path, words: list[str]) -> npt.NDArray[np.float32]:
    """The model's table rows for words, as the tokenizer numbers them ([PAD], [UNK], WORDS...)."""
    return model_table(folder)[[2 + WORDS.index(word) for word in words]]


def unit(vector: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return vector / np.linalg.norm(vector)


def test_rows_are_float32_unit_vectors_and_a_text_without_words_is_zero(tmp_path):
    embedder = tiny(tmp_path / "m", dimension=16)
    vectors = embedder.embed(["Raid pass", "how do I get a refund", "", "   "])
    assert vectors.shape == (4, 16)
    assert embedder.dimension == 16
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-6)
    assert not vectors[2:].any()
    assert embedder.embed([]).shape == (0, 16)


def test_similar_texts_are_closer_than_unrelated_ones(tmp_path):
    embedder = tiny(tmp_path / "m", dimension=64)
    same, shared, disjoint, itself = embedder.embed(
        ["raid pass arena", "raid pass store", "language settings restart", "RAID pass   arena"]
    )
    assert float(same @ itself) == pytest.approx(1.0, abs=1e-6)
    assert float(same @ shared) > float(same @ disjoint) + 0.2


def test_cls_pooling_takes_the_first_token_and_mean_pooling_the_average(tmp_path):
    cls = tiny(tmp_path / "cls", pooling="cls")
    mean = tiny(tmp_path / "mean", pooling="mean")
    rows = rows_of(tmp_path / "cls", ["store", "refund", "game"])
    (cls_vector,) = cls.embed(["store refund game"])
    (mean_vector,) = mean.embed(["store refund game"])
    np.testing.assert_allclose(cls_vector, unit(rows[0]), atol=1e-6)
    np.testing.assert_allclose(mean_vector, unit(rows.mean(axis=0)), atol=1e-6)
    assert float(cls_vector @ mean_vector) < 0.99


@pytest.mark.parametrize("pooled_output", [False, True])
def test_padding_does_not_change_a_texts_vector(tmp_path, pooled_output):
    embedder = tiny(tmp_path / "m", pooled_output=pooled_output)
    long_text = " ".join(WORDS * 5)
    (alone,) = embedder.embed(["refund store"])
    in_batch = embedder.embed([long_text, "refund store", "game"])
    np.testing.assert_allclose(in_batch[1], alone, atol=1e-5)
    np.testing.assert_allclose(
        alone, unit(rows_of(tmp_path / "m", ["refund", "store"]).mean(axis=0)), atol=1e-6
    )


def test_a_pooled_sentence_embedding_output_is_used_as_it_is(tmp_path):
    folder = write_tiny_model(tmp_path / "m", vocabulary=WORDS, pooled_output=True, pooling="cls")
    embedder = OnnxEmbedder.from_folder(folder)
    (vector,) = embedder.embed(["store refund game"])
    # The graph pools by mean: the configured CLS pooling does not apply to a pooled output.
    np.testing.assert_allclose(
        vector, unit(rows_of(folder, ["store", "refund", "game"]).mean(axis=0)), atol=1e-6
    )


def test_token_type_ids_are_fed_when_the_model_declares_them(tmp_path):
    with_types = tiny(tmp_path / "with", with_token_type_ids=True)
    without = tiny(tmp_path / "without")
    assert "token_type_ids" in {entry.name for entry in with_types._session.get_inputs()}
    # onnxruntime refuses a run that misses a declared input, or feeds an undeclared one.
    np.testing.assert_array_equal(with_types.embed(["raid pass"]), without.embed(["raid pass"]))


def test_a_symbolic_output_size_is_found_by_a_probe(tmp_path):
    embedder = tiny(tmp_path / "m", dimension=12, symbolic_dimension=True)
    assert embedder.dimension == 12
    assert embedder.embed(["game"]).shape == (1, 12)


def test_texts_are_embedded_in_batches_with_the_same_result(tmp_path):
    embedder = tiny(tmp_path / "m")
    texts = [" ".join(WORDS[: 1 + index % len(WORDS)]) for index in range(2 * BATCH_SIZE + 5)]
    together = embedder.embed(texts)
    one_by_one = np.vstack([embedder.embed([text]) for text in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)


def test_max_length_truncates_and_the_query_prefix_is_only_for_queries(tmp_path):
    folder = write_tiny_model(tmp_path / "m", vocabulary=WORDS)
    (folder / "embedder.json").write_text(
        json.dumps({"pooling": "mean", "max_length": 2, "query_prefix": "raid "})
    )
    embedder = OnnxEmbedder.from_folder(folder)
    truncated, first_two = embedder.embed(["store refund game", "store refund"])
    np.testing.assert_allclose(truncated, first_two, atol=1e-6)
    (query,) = embedder.embed_queries(["game arena"])
    np.testing.assert_allclose(query, embedder.embed(["raid game"])[0], atol=1e-6)


def test_identity_names_the_folder_and_changes_with_the_model_bytes(tmp_path):
    first = tiny(tmp_path / "bge-small", seed=1)
    assert re.fullmatch(r"onnx:bge-small:[0-9a-f]{16}", first.identity)
    assert OnnxEmbedder.from_folder(tmp_path / "bge-small").identity == first.identity
    changed = tiny(tmp_path / "bge-small", seed=2)
    assert changed.identity != first.identity
    assert changed.identity.startswith("onnx:bge-small:")


@pytest.mark.parametrize("missing", ["model.onnx", "tokenizer.json"])
def test_a_missing_file_makes_the_embedder_unavailable(tmp_path, missing):
    folder = write_tiny_model(tmp_path / "m", vocabulary=WORDS)
    (folder / missing).unlink()
    with pytest.raises(EmbedderUnavailable, match=re.escape(missing)):
        OnnxEmbedder.from_folder(folder)


def test_the_configuration_file_is_optional(tmp_path):
    folder = write_tiny_model(tmp_path / "m", vocabulary=WORDS)
    (folder / "embedder.json").unlink()
    embedder = OnnxEmbedder.from_folder(folder)
    assert embedder.settings.pooling == "cls"
    assert embedder.settings.max_length == 512
    np.testing.assert_allclose(
        embedder.embed(["game raid"])[0], unit(rows_of(folder, ["game"])[0]), atol=1e-6
    )


@pytest.mark.parametrize(
    "config",
    [
        "{not json",
        "[]",
        '{"pooling": "max"}',
        '{"max_length": 0}',
        '{"max_length": true}',
        '{"query_prefix": 3}',
        '{"lowercase": "yes"}',
        '{"add_special_tokens": 1}',
        '{"normalise": false}',
        '{"poolin": "mean"}',
    ],
)
def test_an_invalid_configuration_makes_the_embedder_unavailable(tmp_path, config):
    folder = write_tiny_model(tmp_path / "m", vocabulary=WORDS)
    (folder / "embedder.json").write_text(config)
    with pytest.raises(EmbedderUnavailable, match=r"embedder\.json"):
        OnnxEmbedder.from_folder(folder)


@pytest.mark.parametrize(
    ("file", "content"), [("model.onnx", b"not a model"), ("tokenizer.json", b'{"not": "a tokenizer"}')]
)
def test_an_unreadable_file_makes_the_embedder_unavailable(tmp_path, file, content):
    folder = write_tiny_model(tmp_path / "m", vocabulary=WORDS)
    (folder / file).write_bytes(content)
    with pytest.raises(EmbedderUnavailable, match=re.escape(file)):
        OnnxEmbedder.from_folder(folder)


def test_without_onnxruntime_the_embedder_is_unavailable(tmp_path, monkeypatch):
    folder = write_tiny_model(tmp_path / "m", vocabulary=WORDS)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(EmbedderUnavailable, match="onnxruntime"):
        OnnxEmbedder.from_folder(folder)


@pytest.fixture(scope="module")
def static_pair(tmp_path_factory):
    weights, tokenizer_file = static_model_files()
    static = StaticEmbedder.from_files(weights, tokenizer_file)
    table, _ = _safetensors_matrix(weights)
    folder = write_static_table_model(
        tmp_path_factory.mktemp("static") / "static-onnx", table, tokenizer_file
    )
    return static, OnnxEmbedder.from_folder(folder)


def test_the_static_table_model_gives_the_static_embedders_vectors(static_pair):
    static, onnx = static_pair
    sentences = [
        "How do I get a REFUND?",
        "my pokéstop is missing",
        "Raid pass gone??",
        "",
        "the game keeps crashing after the update, what can I do",
    ]
    expected = static.embed(sentences)
    actual = onnx.embed(sentences)
    assert onnx.dimension == static.dimension == 256
    np.testing.assert_allclose(actual, expected, atol=1e-5)
    assert not actual[3].any()
    assert onnx.identity != static.identity


def test_default_embedder_loads_the_onnx_model_when_asked(tmp_path, monkeypatch):
    folder = write_tiny_model(tmp_path / "m", vocabulary=WORDS)
    monkeypatch.setenv("KB_EMBEDDER", "onnx")
    monkeypatch.setenv("KB_ONNX_MODEL_DIR", str(folder))
    default_embedder.cache_clear()
    try:
        embedder = default_embedder()
        assert isinstance(embedder, OnnxEmbedder)
        assert embedder.identity.startswith("onnx:m:")
        assert default_embedder() is embedder
        monkeypatch.delenv("KB_ONNX_MODEL_DIR")
        default_embedder.cache_clear()
        with pytest.raises(EmbedderUnavailable, match="KB_ONNX_MODEL_DIR"):
            default_embedder()
    finally:
        default_embedder.cache_clear()


def test_a_knowledge_layer_built_with_an_onnx_model_makes_it_the_default(tmp_path, monkeypatch):
    layer = tmp_path / "opt-python"
    write_tiny_model(layer / "flexcord_onnx_model", vocabulary=WORDS)
    monkeypatch.delenv("KB_EMBEDDER", raising=False)
    monkeypatch.delenv("KB_ONNX_MODEL_DIR", raising=False)
    default_embedder.cache_clear()
    try:
        assert isinstance(default_embedder(), StaticEmbedder)  # no such layer: the static model
        monkeypatch.syspath_prepend(str(layer))
        default_embedder.cache_clear()
        embedder = default_embedder()
        assert isinstance(embedder, OnnxEmbedder)
        assert embedder.identity.startswith("onnx:flexcord_onnx_model:")
        monkeypatch.setenv("KB_EMBEDDER", "static")  # an explicit choice still wins
        default_embedder.cache_clear()
        assert isinstance(default_embedder(), StaticEmbedder)
        monkeypatch.setenv("KB_EMBEDDER", "ONNX")
        default_embedder.cache_clear()
        with pytest.raises(EmbedderUnavailable, match="must be static or onnx, not 'ONNX'"):
            default_embedder()
    finally:
        default_embedder.cache_clear()
