"""The optional ONNX embedder: a small transformer sentence model run with onnxruntime.

:class:`OnnxEmbedder` implements :class:`flexcord.kb.embedding.Embedder` with a sentence model
exported to ONNX, such as a quantised bge-small-en-v1.5, as the stronger (and slower, larger)
alternative to the default static model. It is used when ``KB_EMBEDDER=onnx``, from the folder
named by ``KB_ONNX_MODEL_DIR`` (:func:`flexcord.kb.embedding.default_embedder`).

The folder holds:

- ``model.onnx``: the model. Its inputs must be among ``input_ids``, ``attention_mask`` and
  ``token_type_ids`` (each fed only when the model declares it). If it has an output named
  ``sentence_embedding`` (batch, dim), that is taken as already pooled; otherwise its first output
  is taken as the last hidden state (batch, sequence, dim) and pooled as configured.
- ``tokenizer.json``: the Hugging Face ``tokenizers`` file that goes with the model. Its own
  padding and truncation settings are replaced: batches are padded to their longest text (with
  the tokenizer's pad token, else id 0) and truncated to ``max_length``.
- ``embedder.json`` (optional), every key optional::

      {"pooling": "cls",           # or "mean" (masked by attention); bge pools by CLS
       "max_length": 512,          # tokens per text, special tokens included
       "query_prefix": "",         # prepended by embed_queries() only, never by embed()
       "lowercase": false,         # lower-case texts before tokenizing (str.lower)
       "add_special_tokens": true, # let the tokenizer add [CLS], [SEP], <s>...
       "normalise": true}          # rows are always unit length; false is refused

The files are never downloaded at run time: the deployer supplies the folder at build time (in a
layer or the function's package), and a folder that is incomplete or invalid raises
:class:`~flexcord.kb.embedding.EmbedderUnavailable` at load, as a missing onnxruntime does.

Costs, as measured with the test suite's generated models (tests/support/onnx_models.py) on an
x86-64 development machine, one thread. These models are only an embedding lookup and a mean, so
the figures are onnxruntime's fixed overhead, not a transformer's:

- importing onnxruntime: about 40 ms once numpy is imported (about 0.18 s with numpy);
- loading: about 1 ms for a model of a few kilobytes; 0.14-0.17 s for the static model's table as
  a 33 MB float32 model, of which about 90 ms is reading its (Llama 2) tokenizer file;
- embedding one short question: about 0.1-0.2 ms, against about 0.1 ms for the static embedder;
- installed size: onnxruntime 1.32.0 for Linux aarch64 (cp313) is a 23 MB wheel that unpacks to
  59 MB (54 MB of it native libraries), plus its dependencies (protobuf, flatbuffers, packaging).

A real transformer adds its layers to every query and costs more as texts grow longer: for
all-MiniLM-L6-v2 quantised to int8 (23 MB, ``scripts/export_onnx_minilm.py``) about 2.6 ms per
question at the median and 3.8 ms at p95 on a 2-core x86-64 machine (docs/knowledge-base.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Encoding, Tokenizer

from flexcord.kb.embedding import EmbedderUnavailable, Vectors, normalise

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "embedder.json"
#: The output a model that pools by itself names its sentence vectors.
POOLED_OUTPUT = "sentence_embedding"
#: The inputs this embedder knows how to feed.
KNOWN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
#: Texts per call to the model.
BATCH_SIZE = 32
#: Pad tokens looked for when the tokenizer file configures no padding.
PAD_TOKENS = ("[PAD]", "<pad>", "<|pad|>", "<|padding|>")
_INPUT_TYPES: dict[str, type[np.signedinteger[Any]]] = {"tensor(int64)": np.int64, "tensor(int32)": np.int32}


@dataclass(frozen=True, kw_only=True)
class OnnxSettings:
    """``embedder.json``, checked."""

    pooling: str = "cls"
    max_length: int = 512
    query_prefix: str = ""
    lowercase: bool = False
    add_special_tokens: bool = True

    @classmethod
    def from_json(cls, raw: object, *, source: Path) -> OnnxSettings:
        if not isinstance(raw, dict):
            raise EmbedderUnavailable(f"{source}: expected a JSON object")
        known = {"pooling", "max_length", "query_prefix", "lowercase", "add_special_tokens", "normalise"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise EmbedderUnavailable(f"{source}: unknown keys {unknown} (known: {sorted(known)})")
        settings = cls()
        pooling = raw.get("pooling", settings.pooling)
        if pooling not in ("cls", "mean"):
            raise EmbedderUnavailable(f'{source}: "pooling" must be "cls" or "mean", not {pooling!r}')
        max_length = raw.get("max_length", settings.max_length)
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise EmbedderUnavailable(
                f'{source}: "max_length" must be a positive integer, not {max_length!r}'
            )
        query_prefix = raw.get("query_prefix", settings.query_prefix)
        if not isinstance(query_prefix, str):
            raise EmbedderUnavailable(f'{source}: "query_prefix" must be a string, not {query_prefix!r}')
        flags = {}
        for key in ("lowercase", "add_special_tokens"):
            flags[key] = raw.get(key, getattr(settings, key))
            if not isinstance(flags[key], bool):
                raise EmbedderUnavailable(f'{source}: "{key}" must be true or false, not {flags[key]!r}')
        if raw.get("normalise", True) is not True:
            raise EmbedderUnavailable(
                f'{source}: "normalise" can only be true (an embedder\'s rows are unit length)'
            )
        return cls(
            pooling=pooling,
            max_length=max_length,
            query_prefix=query_prefix,
            lowercase=flags["lowercase"],
            add_special_tokens=flags["add_special_tokens"],
        )


class OnnxEmbedder:
    """A sentence model in ONNX and its tokenizer, run with onnxruntime on the CPU."""

    def __init__(
        self,
        session: Any,
        tokenizer: Tokenizer,
        settings: OnnxSettings,
        *,
        identity: str,
        dimension: int | None = None,
    ) -> None:
        """``session`` is an ``onnxruntime.InferenceSession``; ``dimension`` is found by embedding
        a probe text when not given. Prefer :meth:`from_folder`, which checks the files."""
        self._session = session
        self._tokenizer = tokenizer
        self._settings = settings
        self._identity = identity
        declared = {entry.name: entry.type for entry in session.get_inputs()}
        unknown = sorted(set(declared) - set(KNOWN_INPUTS))
        if unknown or "input_ids" not in declared:
            raise EmbedderUnavailable(
                f"{identity}: the model's inputs are {sorted(declared)}; "
                f"it must take input_ids and may take only {list(KNOWN_INPUTS)}"
            )
        for name, declared_type in declared.items():
            if declared_type not in _INPUT_TYPES:
                raise EmbedderUnavailable(
                    f"{identity}: input {name} is {declared_type}, not an integer tensor"
                )
        self._inputs = {name: _INPUT_TYPES[declared_type] for name, declared_type in declared.items()}
        outputs = session.get_outputs()
        chosen = next((entry for entry in outputs if entry.name == POOLED_OUTPUT), outputs[0])
        self._output = str(chosen.name)
        self._pooled = self._output == POOLED_OUTPUT
        declared_dimension = chosen.shape[-1] if chosen.shape else None
        if dimension is None and isinstance(declared_dimension, int) and declared_dimension > 0:
            dimension = declared_dimension
        if dimension is None:
            # The declared shape is symbolic: embed a probe text to see it.
            dimension = int(self._forward(self._encode(["dimension probe"])).shape[1])
        self._dimension = dimension

    @classmethod
    def from_folder(cls, folder: Path) -> OnnxEmbedder:
        model_path, tokenizer_path = folder / MODEL_FILE, folder / TOKENIZER_FILE
        for path in (model_path, tokenizer_path):
            if not path.is_file():
                raise EmbedderUnavailable(f"ONNX embedder file missing: {path}")
        config_path = folder / CONFIG_FILE
        raw_config: object = {}
        if config_path.is_file():
            try:
                raw_config = json.loads(config_path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as error:
                raise EmbedderUnavailable(f"{config_path}: not valid JSON ({error})") from error
        settings = OnnxSettings.from_json(raw_config, source=config_path)
        try:
            import onnxruntime
        except ImportError as error:
            raise EmbedderUnavailable(
                f"KB_EMBEDDER=onnx needs onnxruntime, which is not installed ({error})"
            ) from error
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as error:
            raise EmbedderUnavailable(f"{tokenizer_path}: not a tokenizers file ({error})") from error
        # Vectors depend on the tokenizer and the settings as much as on the weights.
        digest = hashlib.sha256()
        for path in (model_path, tokenizer_path, config_path):
            digest.update(path.read_bytes() if path.is_file() else b"")
        options = onnxruntime.SessionOptions()
        # One thread each: a Lambda function has about one vCPU per 1,769 MB of memory, so more
        # threads would only contend for it (and onnxruntime's default is one per visible core).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            session = onnxruntime.InferenceSession(
                str(model_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime's errors derive from Exception only
            raise EmbedderUnavailable(f"{model_path}: onnxruntime cannot load it ({error})") from error
        _configure_tokenizer(tokenizer, settings)
        return cls(session, tokenizer, settings, identity=f"onnx:{folder.name}:{digest.hexdigest()[:16]}")

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def settings(self) -> OnnxSettings:
        return self._settings

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Texts to search among (and, for a model without a query prefix, questions)."""
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for start in range(0, len(texts), BATCH_SIZE):
            batch = list(texts[start : start + BATCH_SIZE])
            vectors[start : start + len(batch)] = self._embed_batch(batch)
        return normalise(vectors)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Questions, with the model's query prefix (bge-en-v1.5 suggests "Represent this sentence
        for searching relevant passages: "); :meth:`embed` when there is none."""
        prefix = self._settings.query_prefix
        return self.embed([prefix + text for text in texts] if prefix else texts)

    def _embed_batch(self, texts: list[str]) -> Vectors:
        """Unnormalised rows; a text with no tokens but special ones (an empty text) is a zero
        row and never reaches the model."""
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        encodings = self._encode(texts)
        rows = [row for row, encoding in enumerate(encodings) if _has_content(encoding)]
        if rows:
            vectors[rows] = self._forward([encodings[row] for row in rows])
        return vectors

    def _encode(self, texts: list[str]) -> list[Encoding]:
        if self._settings.lowercase:
            texts = [text.lower() for text in texts]
        return list(self._tokenizer.encode_batch(texts, add_special_tokens=self._settings.add_special_tokens))

    def _forward(self, encodings: list[Encoding]) -> Vectors:
        """The model's pooled vectors for a batch of encodings (padded alike), unnormalised."""
        attention = np.array([encoding.attention_mask for encoding in encodings], dtype=np.int64)
        columns = {
            "input_ids": [encoding.ids for encoding in encodings],
            "attention_mask": attention,
            "token_type_ids": [encoding.type_ids for encoding in encodings],
        }
        feeds = {name: np.asarray(columns[name], dtype=dtype) for name, dtype in self._inputs.items()}
        try:
            (output,) = self._session.run([self._output], feeds)
        except Exception as error:  # a model that cannot run on its own declared inputs
            raise EmbedderUnavailable(f"{self._identity}: the model failed to run ({error})") from error
        result = np.asarray(output, dtype=np.float32)
        if self._pooled:
            if result.ndim != 2:
                raise EmbedderUnavailable(f"{self._identity}: {self._output} has shape {result.shape}")
            return result
        if result.ndim != 3:
            raise EmbedderUnavailable(
                f"{self._identity}: output {self._output} has shape {result.shape}, "
                "not (batch, sequence, dimension)"
            )
        if self._settings.pooling == "cls":
            return np.ascontiguousarray(result[:, 0, :])
        mask = attention[:, :, None].astype(np.float32)
        counts = np.maximum(mask.sum(axis=1), 1.0)
        pooled: Vectors = ((result * mask).sum(axis=1) / counts).astype(np.float32, copy=False)
        return pooled


def _configure_tokenizer(tokenizer: Tokenizer, settings: OnnxSettings) -> None:
    """Pad each batch to its longest text and truncate to ``max_length``, whatever the file says."""
    configured = tokenizer.padding
    if configured is not None:
        pad_id, pad_token = int(configured["pad_id"]), str(configured["pad_token"])
        pad_type_id = int(configured.get("pad_type_id", 0))
    else:
        found = [(tokenizer.token_to_id(token), token) for token in PAD_TOKENS]
        known = [(token_id, token) for token_id, token in found if token_id is not None]
        pad_id, pad_token = known[0] if known else (0, tokenizer.id_to_token(0) or "[PAD]")
        pad_type_id = 0
    tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token, pad_type_id=pad_type_id)
    tokenizer.enable_truncation(max_length=settings.max_length)


def _has_content(encoding: Encoding) -> bool:
    """Whether an encoding holds a token the tokenizer did not add itself (padding, [CLS]...)."""
    return any(
        attended and not special
        for attended, special in zip(encoding.attention_mask, encoding.special_tokens_mask, strict=True)
    )
