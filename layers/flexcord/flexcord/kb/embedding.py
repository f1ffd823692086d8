"""Sentence embeddings for the knowledge base: the interface, and the default static model.

An :class:`Embedder` turns texts into unit vectors, so that the cosine of a question and an
article chunk is a dot product. Two implementations share the interface:

- :class:`StaticEmbedder` (the default): a static embedding model, one vector per token, a text's
  vector the normalised mean of its tokens' vectors. It needs only numpy and ``tokenizers``, no
  torch and no network, and embeds a question in about 0.1 ms. The model is WordLlama's 256-d
  ``l2_supercat`` (MIT; trained from Llama 2 and Phi-3 token embeddings, docs/knowledge-base.md,
  "The embedder"), two files: ``l2_supercat_256.safetensors`` (fp16, 32,000 x 256) and
  ``l2_supercat_tokenizer_config.json`` (the Llama 2 tokenizer).
- ``flexcord.kb.onnx_embedder.OnnxEmbedder`` (optional): a transformer sentence model such as
  bge-small-en-v1.5 run with onnxruntime, from files the deployer supplies at build time.

Where the static model's files are found, first match wins (:func:`static_model_files`):

1. ``KB_EMBEDDING_MODEL_DIR``, a folder holding the two files;
2. the ``flexcord_embedding_model`` folder on ``sys.path``: the knowledge layer, whose build
   (layers/knowledge/Makefile) copies the files from the ``wordllama`` wheel;
3. the installed ``wordllama`` package (development): it is located, never imported. Importing it
   costs 0.6 s and calls ``logging.basicConfig``, and its own loader (0.4.0.post1) looks for the
   tokenizer in ``tokenizer/`` instead of ``tokenizers/`` and then tries to download it.

numpy and ``tokenizers`` are imported here at module level: import this module only on the
assistant's path (``flexcord.kb.hybrid`` does), never at a cold start that does not search.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import struct
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

from flexcord.kb.retrieval import EmbedderUnavailable

#: The static model's files, as the wordllama package names them.
STATIC_WEIGHTS_FILE = "l2_supercat_256.safetensors"
STATIC_TOKENIZER_FILE = "l2_supercat_tokenizer_config.json"
#: The folder the knowledge layer puts them in (``/opt/python/flexcord_embedding_model``).
LAYER_MODEL_FOLDER = "flexcord_embedding_model"
MODEL_DIR_VARIABLE = "KB_EMBEDDING_MODEL_DIR"

Vectors = npt.NDArray[np.float32]
__all__ = ["Embedder", "EmbedderUnavailable", "StaticEmbedder", "default_embedder", "normalise"]


class Embedder(Protocol):
    @property
    def identity(self) -> str:
        """Names the model and its exact weights: vectors made by one identity are never
        compared with vectors made by another (a saved index records it)."""
        ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One row per text, float32, each of unit length (a text with no known token gives a
        zero row, which is similar to nothing)."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """As ``embed``, for questions: some models want them marked (bge's query prefix)."""
        ...


class StaticEmbedder:
    """A static embedding model: a token table and a tokenizer, run with numpy."""

    def __init__(self, table: npt.NDArray[np.floating], tokenizer: Tokenizer, identity: str) -> None:
        # The table stays fp16: only the rows a text uses are converted (the whole table as
        # float32 would cost 33 MB and 30-60 ms at every cold start).
        self._table = table
        self._tokenizer = tokenizer
        self._identity = identity

    @classmethod
    def from_files(cls, weights: Path, tokenizer_file: Path) -> StaticEmbedder:
        for path in (weights, tokenizer_file):
            if not path.is_file():
                raise EmbedderUnavailable(f"embedding model file missing: {path}")
        table, header = _safetensors_matrix(weights)
        tokenizer_json = tokenizer_file.read_bytes()
        tokenizer = Tokenizer.from_str(tokenizer_json.decode("utf-8"))
        tokenizer.no_padding()
        tokenizer.no_truncation()
        identity = f"static:{weights.stem}:{_fingerprint(weights, header, tokenizer_json)}"
        return cls(table, tokenizer, identity=identity)

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def dimension(self) -> int:
        return int(self._table.shape[1])

    def embed(self, texts: Sequence[str]) -> Vectors:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # The model is cased; lower-casing both sides measured better on public FAQ questions,
        # which members type in any case.
        encodings = self._tokenizer.encode_batch([text.lower() for text in texts], add_special_tokens=False)
        for row, encoding in enumerate(encodings):
            if encoding.ids:
                vectors[row] = self._table[encoding.ids].astype(np.float32).mean(axis=0)
        return normalise(vectors)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self.embed(texts)


def normalise(vectors: Vectors) -> Vectors:
    """Rows scaled to unit length; zero rows stay zero."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def _safetensors_matrix(path: Path) -> tuple[npt.NDArray[np.floating], bytes]:
    """The single 2-D tensor of a safetensors file, memory-mapped (only the rows questions use are
    ever read from disk), and the file's header. The format is an 8-byte header length, a JSON
    header, then the raw little-endian data."""
    with path.open("rb") as file:
        header_length = struct.unpack("<Q", file.read(8))[0]
        header_bytes = file.read(header_length)
    header = json.loads(header_bytes)
    tensors = {name: spec for name, spec in header.items() if name != "__metadata__"}
    if len(tensors) != 1:
        raise EmbedderUnavailable(f"{path}: expected one tensor, found {sorted(tensors)}")
    spec = next(iter(tensors.values()))
    dtypes = {"F16": np.float16, "F32": np.float32}
    if spec["dtype"] not in dtypes or len(spec["shape"]) != 2:
        raise EmbedderUnavailable(f"{path}: unsupported tensor {spec['dtype']} {spec['shape']}")
    start, end = spec["data_offsets"]
    dtype = np.dtype(dtypes[spec["dtype"]])
    rows, columns = spec["shape"]
    data_start = 8 + header_length + start
    if end - start != rows * columns * dtype.itemsize or data_start + end - start > path.stat().st_size:
        raise EmbedderUnavailable(f"{path}: the tensor's data does not match its shape {spec['shape']}")
    table = np.memmap(path, dtype=dtype, mode="r", offset=data_start, shape=(rows, columns))
    return table, header_bytes


#: Bytes of the weights the fingerprint reads, spread evenly through the file.
_FINGERPRINT_SAMPLES = 256
_FINGERPRINT_SAMPLE_BYTES = 64


def _fingerprint(weights: Path, header: bytes, tokenizer_json: bytes) -> str:
    """Names the model's exact files without reading all 16 MB at every cold start (a SHA-256 of
    the whole file costs 12-45 ms there): the weights' header, size and 256 samples of 64 bytes,
    and the whole tokenizer. Another model, or the same one retrained, differs in these. The
    knowledge layer's build checks the full SHA-256 of both files (layers/knowledge/Makefile)."""
    digest = hashlib.sha256(header + b"\0" + tokenizer_json)
    size = weights.stat().st_size
    digest.update(str(size).encode())
    with weights.open("rb") as file:
        for number in range(_FINGERPRINT_SAMPLES):
            file.seek(number * max(size - _FINGERPRINT_SAMPLE_BYTES, 0) // (_FINGERPRINT_SAMPLES - 1))
            digest.update(file.read(_FINGERPRINT_SAMPLE_BYTES))
    return digest.hexdigest()[:16]


def static_model_files() -> tuple[Path, Path]:
    """The static model's weights and tokenizer files (see the module's docstring for where they
    are looked for)."""
    configured = os.environ.get(MODEL_DIR_VARIABLE)
    if configured:
        return Path(configured) / STATIC_WEIGHTS_FILE, Path(configured) / STATIC_TOKENIZER_FILE
    in_layer = _on_path(LAYER_MODEL_FOLDER)
    if in_layer is not None:
        return in_layer / STATIC_WEIGHTS_FILE, in_layer / STATIC_TOKENIZER_FILE
    spec = importlib.util.find_spec("wordllama")
    if spec is not None and spec.origin:
        package = Path(spec.origin).parent
        return package / "weights" / STATIC_WEIGHTS_FILE, package / "tokenizers" / STATIC_TOKENIZER_FILE
    raise EmbedderUnavailable(
        f"no embedding model: set {MODEL_DIR_VARIABLE}, add the knowledge layer, or pip install wordllama"
    )


#: The folder the knowledge layer puts a deployer's ONNX model in (layers/knowledge/Makefile).
LAYER_ONNX_FOLDER = "flexcord_onnx_model"


@cache
def default_embedder() -> Embedder:
    """The embedder the assistant uses, loaded once per process. ``KB_EMBEDDER`` is ``static``
    (the static model), ``onnx`` (the ONNX model in ``KB_ONNX_MODEL_DIR``, or the one the
    knowledge layer was built with), or, unset, whichever the knowledge layer carries."""
    onnx_in_layer = _on_path(LAYER_ONNX_FOLDER)
    choice = os.environ.get("KB_EMBEDDER") or ("onnx" if onnx_in_layer else "static")
    if choice not in ("static", "onnx"):
        raise EmbedderUnavailable(f"KB_EMBEDDER must be static or onnx, not {choice!r}")
    if choice == "onnx":
        from flexcord.kb.onnx_embedder import OnnxEmbedder

        configured = os.environ.get("KB_ONNX_MODEL_DIR")
        model_dir = Path(configured) if configured else onnx_in_layer
        if model_dir is None:
            raise EmbedderUnavailable(
                "KB_EMBEDDER=onnx needs KB_ONNX_MODEL_DIR or a layer built with KB_ONNX_MODEL"
            )
        return OnnxEmbedder.from_folder(model_dir)
    return StaticEmbedder.from_files(*static_model_files())


def _on_path(name: str) -> Path | None:
    """A folder called ``name`` in a ``sys.path`` entry (a layer's ``/opt/python``), or None."""
    for entry in sys.path:
        candidate = Path(entry or ".") / name
        if candidate.is_dir():
            return candidate
    return None
