"""ONNX embedding models generated for tests (never downloaded), in the folder layout
``flexcord.kb.onnx_embedder.OnnxEmbedder.from_folder`` reads: ``model.onnx``, ``tokenizer.json``
and ``embedder.json``.

The models are an embedding lookup (Gather over a float32 table), optionally followed by a masked
mean inside the graph: no attention, so a text's vector is known in advance from the table, and
tests can check pooling, padding and batching exactly.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

#: An opset and IR version onnxruntime 1.32 runs.
OPSET = 17
IR_VERSION = 9
PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"


def write_tiny_model(
    folder: Path,
    *,
    vocabulary: Sequence[str],
    dimension: int = 8,
    pooling: str = "mean",
    with_token_type_ids: bool = False,
    pooled_output: bool = False,
    symbolic_dimension: bool = False,
    seed: int = 0,
) -> Path:
    """A model over ``vocabulary`` (lower-cased words, after ``[PAD]`` = 0 and ``[UNK]`` = 1) with
    a seeded random table: ``last_hidden_state`` (batch, sequence, dimension) = the words' rows, or
    with ``pooled_output`` their masked mean as ``sentence_embedding``. ``token_type_ids`` is
    declared (and required by onnxruntime) but unused; ``symbolic_dimension`` declares the output's
    last axis by name instead of by size. Returns ``folder``."""
    words = [PAD_TOKEN, UNK_TOKEN, *dict.fromkeys(word.lower() for word in vocabulary)]
    table = np.random.default_rng(seed).standard_normal((len(words), dimension)).astype(np.float32)
    extra_inputs = ["token_type_ids"] if with_token_type_ids else []
    dim: int | str = "dimension" if symbolic_dimension else dimension
    _save_model(folder, table, pooled_output=pooled_output, extra_inputs=extra_inputs, output_dimension=dim)
    tokenizer = Tokenizer(
        models.WordLevel({word: index for index, word in enumerate(words)}, unk_token=UNK_TOKEN)
    )
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.add_special_tokens([PAD_TOKEN, UNK_TOKEN])
    tokenizer.enable_padding(pad_id=0, pad_token=PAD_TOKEN)
    tokenizer.save(str(folder / "tokenizer.json"))
    _write_config(folder, {"pooling": pooling})
    return folder


def write_static_table_model(folder: Path, table: npt.NDArray[np.floating], tokenizer_file: Path) -> Path:
    """A pooled model giving the static embedder's vectors: Gather over ``table`` (as float32) and
    a masked mean, with a copy of the static model's tokenizer, texts lower-cased and no special
    tokens added (as ``StaticEmbedder.embed`` does). Returns ``folder``."""
    _save_model(
        folder,
        np.asarray(table, dtype=np.float32),
        pooled_output=True,
        extra_inputs=[],
        output_dimension=int(table.shape[1]),
    )
    shutil.copyfile(tokenizer_file, folder / "tokenizer.json")
    _write_config(folder, {"pooling": "mean", "lowercase": True, "add_special_tokens": False})
    return folder


def model_table(folder: Path) -> npt.NDArray[np.float32]:
    """The embedding table inside a generated model."""
    model = onnx.load(str(folder / "model.onnx"))
    (initializer,) = (entry for entry in model.graph.initializer if entry.name == "table")
    return np.asarray(numpy_helper.to_array(initializer), dtype=np.float32)


def _save_model(
    folder: Path,
    table: npt.NDArray[np.float32],
    *,
    pooled_output: bool,
    extra_inputs: Sequence[str],
    output_dimension: int | str,
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    token_shape = ["batch", "sequence"]
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, token_shape)
        for name in ("input_ids", "attention_mask", *extra_inputs)
    ]
    initializers = [numpy_helper.from_array(table, name="table")]
    if pooled_output:
        nodes = [
            helper.make_node("Gather", ["table", "input_ids"], ["hidden"], axis=0),
            *_masked_mean_nodes(),
        ]
        initializers += [
            numpy_helper.from_array(np.array([-1], dtype=np.int64), name="last_axis"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), name="sequence_axis"),
            numpy_helper.from_array(np.array(1e-9, dtype=np.float32), name="epsilon"),
        ]
        output = helper.make_tensor_value_info(
            "sentence_embedding", TensorProto.FLOAT, ["batch", output_dimension]
        )
    else:
        nodes = [helper.make_node("Gather", ["table", "input_ids"], ["last_hidden_state"], axis=0)]
        output = helper.make_tensor_value_info(
            "last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", output_dimension]
        )
    graph = helper.make_graph(nodes, "tiny_embedder", inputs, [output], initializer=initializers)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="flexcord-tests"
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / "model.onnx"))


def _masked_mean_nodes() -> list[onnx.NodeProto]:
    """hidden (batch, sequence, dim) and attention_mask -> sentence_embedding (batch, dim)."""
    return [
        helper.make_node("Cast", ["attention_mask"], ["mask"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask", "last_axis"], ["mask3"]),
        helper.make_node("Mul", ["hidden", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "sequence_axis"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask3", "sequence_axis"], ["count"], keepdims=0),
        helper.make_node("Max", ["count", "epsilon"], ["safe_count"]),
        helper.make_node("Div", ["summed", "safe_count"], ["sentence_embedding"]),
    ]


def _write_config(folder: Path, config: dict[str, object]) -> None:
    (folder / "embedder.json").write_text(json.dumps(config), encoding="utf-8")
