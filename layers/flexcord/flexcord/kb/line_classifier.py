"""Which article does this line come from? A small classifier whose confidence is an abstain feature.

The abstain model (``abstain``) otherwise asks how close a question is to the nearest article and
to known out-of-scope questions. Off-topic questions phrased like the articles' (CLINC150's "what's
the dow at today" among a general assistant's intents) come as close as in-scope ones. A
classifier trained to tell the articles apart from their own lines tells them apart better: it is
confident on a question one article answers and spread over several on one none does (Hendrycks
& Gimpel 2017; Liu et al. 2020, energy scores), and the question's distance to the nearest
article in its hidden layer adds what a Mahalanobis detector sees (Lee et al. 2018; Podolskiy
et al. 2021). Measured on the public collections in docs/knowledge-base.md, "Public data".

It sees nothing but the articles (no tuning question), so calibration trains it once and
cross-validates the abstain model on top of it without a leak. One hidden layer (ReLU, dropout)
and a softmax over the articles, trained with Adam in numpy at calibration time; at query time
it is three small matrix products (``features``). Saved next to ``calibration.json`` as an
``.npz`` (``save_classifier``/``load_classifier``): its weights grow with the articles, too many
numbers for JSON.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt

from flexcord.kb.articles import Article

FEATURES = ("line_log_top_probability", "line_log_sum_exp", "line_hidden_distance")
HIDDEN = 256
EPOCHS = 30
#: A small knowledge base's 30 epochs are a few hundred steps, too few to learn from: it gets
#: more epochs, up to this many steps (CLINC150's 15,000 lines make 7,000 in 30 epochs).
MIN_STEPS = 2000
#: Covariance shrinkage towards its mean variance (some articles have few lines).
SHRINKAGE = 0.1
_BATCH = 64
_LEARNING_RATE = 1e-3
_WEIGHT_DECAY = 1e-4
_DROPOUT = 0.1
#: Every saved array, in this order.
_ARRAYS = ("w1", "b1", "w2", "b2", "hidden_means", "hidden_precision")

Matrix = npt.NDArray[np.float64]
#: Texts to unit vectors: ``Embedder.embed``.
Embed = Callable[[list[str]], npt.NDArray[np.floating]]


def article_lines(articles: Sequence[Article]) -> tuple[list[str], list[int]]:
    """Each non-empty line of each article's body, with the article's number (for an intent
    collection, each line is one example question): what the classifier learns from."""
    lines, owners = [], []
    for number, article in enumerate(articles):
        for line in article.body.splitlines():
            if line.strip():
                lines.append(line.strip())
                owners.append(number)
    return lines, owners


@dataclass(frozen=True, eq=False)
class LineClassifier:
    w1: Matrix
    b1: Matrix
    w2: Matrix
    b2: Matrix
    #: Each article's mean line in the hidden layer, and the inverse of one shared covariance.
    hidden_means: Matrix
    hidden_precision: Matrix

    @classmethod
    def train(
        cls,
        vectors: npt.NDArray[np.floating],
        owners: Sequence[int] | npt.NDArray[np.integer],
        *,
        hidden: int = HIDDEN,
        epochs: int = EPOCHS,
        seed: int = 0,
    ) -> LineClassifier:
        """Fitted on line vectors and the article each came from (every article needs a line)."""
        inputs = np.asarray(vectors, dtype=np.float64)
        labels = np.asarray(owners, dtype=np.int64)
        if len(inputs) != len(labels) or not len(labels):
            raise ValueError("a line classifier needs one article number per line vector")
        classes, width = int(labels.max()) + 1, inputs.shape[1]
        if classes < 2 or len(np.unique(labels)) != classes:
            raise ValueError("a line classifier needs two articles or more, each with a line")
        random = np.random.default_rng(seed)
        parameters = [
            random.normal(0, width**-0.5, (width, hidden)),
            np.zeros(hidden),
            random.normal(0, hidden**-0.5, (hidden, classes)),
            np.zeros(classes),
        ]
        first = [np.zeros_like(parameter) for parameter in parameters]
        second = [np.zeros_like(parameter) for parameter in parameters]
        step = 0
        batches = -(-len(inputs) // _BATCH)
        for _ in range(max(epochs, -(-MIN_STEPS // batches))):
            order = random.permutation(len(inputs))
            for start in range(0, len(inputs), _BATCH):
                batch = order[start : start + _BATCH]
                w1, b1, w2, b2 = parameters
                x, y = inputs[batch], labels[batch]
                before = x @ w1 + b1
                keep = (random.random(before.shape) > _DROPOUT) / (1 - _DROPOUT)
                activations = np.maximum(before, 0) * keep
                error = _softmax(activations @ w2 + b2)
                error[np.arange(len(y)), y] -= 1
                error /= len(y)
                back = (error @ w2.T) * keep * (before > 0)
                gradients = [
                    x.T @ back + _WEIGHT_DECAY * w1,
                    back.sum(0),
                    activations.T @ error + _WEIGHT_DECAY * w2,
                    error.sum(0),
                ]
                step += 1
                for index, gradient in enumerate(gradients):
                    first[index] = 0.9 * first[index] + 0.1 * gradient
                    second[index] = 0.999 * second[index] + 0.001 * gradient**2
                    moment = first[index] / (1 - 0.9**step)
                    scale = second[index] / (1 - 0.999**step)
                    parameters[index] = parameters[index] - _LEARNING_RATE * moment / (np.sqrt(scale) + 1e-8)
        w1, b1, w2, b2 = parameters
        nearest = NearestArticleMean.fit(np.maximum(inputs @ w1 + b1, 0), labels)
        arrays = (w1, b1, w2, b2, nearest.means, nearest.precision)
        # Rounded to float32 as saved: the loaded classifier is the one the abstain model was fitted on.
        return cls(*(np.asarray(array, np.float32).astype(np.float64) for array in arrays))

    @classmethod
    def for_articles(cls, articles: Sequence[Article], embed: Embed) -> LineClassifier | None:
        """Trained on the articles' lines; None where fewer than two articles have a line."""
        lines, owners = article_lines(articles)
        numbered = sorted(set(owners))
        if len(numbered) < 2:
            return None
        # An article without a line is no class: the others are numbered without gaps.
        renumbered = {article: position for position, article in enumerate(numbered)}
        return cls.train(embed(lines), [renumbered[owner] for owner in owners])

    def features(self, vectors: npt.NDArray[np.floating]) -> Matrix:
        """``FEATURES`` for each row of ``vectors``: the log of the top class probability, the
        log-sum-exp of the scores, and the log of the squared Mahalanobis distance to the
        nearest article's mean in the hidden layer."""
        hidden = np.maximum(np.asarray(vectors, dtype=np.float64) @ self.w1 + self.b1, 0)
        scores = hidden @ self.w2 + self.b2
        top = scores.max(axis=1)
        log_sum_exp = top + np.log(np.exp(scores - top[:, None]).sum(axis=1))
        return np.column_stack([top - log_sum_exp, log_sum_exp, self._hidden_distance.log_nearest(hidden)])

    @cached_property
    def _hidden_distance(self) -> NearestArticleMean:
        return NearestArticleMean(self.hidden_means, self.hidden_precision)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        as_float32 = {name: np.asarray(getattr(self, name), np.float32) for name in _ARRAYS}
        np.savez(buffer, **as_float32)  # type: ignore[arg-type]  # numpy's stub misreads **kwargs
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> LineClassifier:
        with np.load(io.BytesIO(data), allow_pickle=False) as saved:
            missing = [name for name in _ARRAYS if name not in saved.files]
            if missing:
                raise ValueError(f"line classifier: missing {', '.join(missing)}")
            arrays = {name: saved[name].astype(np.float64) for name in _ARRAYS}
        classifier = cls(**arrays)
        classifier.check_shapes()
        return classifier

    def check_shapes(self) -> None:
        hidden = self.w1.shape[1]
        classes = self.w2.shape[1]
        expected = {
            "b1": (hidden,),
            "w2": (hidden, classes),
            "b2": (classes,),
            "hidden_means": (classes, hidden),
            "hidden_precision": (hidden, hidden),
        }
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"line classifier: {name} is {getattr(self, name).shape}, expected {shape}")

    @property
    def dimension(self) -> int:
        return int(self.w1.shape[0])


@dataclass(frozen=True, eq=False)
class NearestArticleMean:
    """Squared Mahalanobis distance to the nearest article's mean vector, with one covariance
    shared by every article and shrunk towards its mean variance (Lee et al. 2018)."""

    means: Matrix
    precision: Matrix

    @classmethod
    def fit(cls, vectors: Matrix, owners: npt.NDArray[np.int64]) -> NearestArticleMean:
        """From line vectors and the article (0, 1, ...) each came from."""
        means = np.array(
            [vectors[owners == article].mean(axis=0) for article in range(int(owners.max()) + 1)]
        )
        residuals = vectors - means[owners]
        covariance = residuals.T @ residuals / len(residuals)
        spread = np.trace(covariance) / len(covariance) or 1.0
        covariance = (1 - SHRINKAGE) * covariance + SHRINKAGE * spread * np.eye(len(covariance))
        return cls(means, np.linalg.inv(covariance))

    def log_nearest(self, vectors: Matrix) -> Matrix:
        """The log of the squared distance from each row of ``vectors`` to the nearest mean."""
        # (v - m)ᵀ P (v - m) for every mean m, expanded so that what depends on the means only is
        # computed once (``_projected_means``, ``_mean_terms``), not per question.
        distances = (
            np.einsum("ij,jk,ik->i", vectors, self.precision, vectors)[:, None]
            - 2 * vectors @ self._projected_means.T
            + self._mean_terms[None, :]
        )
        return np.asarray(np.log(np.maximum(distances.min(axis=1), 1e-9)))

    @cached_property
    def _projected_means(self) -> Matrix:
        return np.asarray(self.means @ self.precision)

    @cached_property
    def _mean_terms(self) -> Matrix:
        return np.asarray(np.einsum("ij,ij->i", self._projected_means, self.means))


def fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_classifier(classifier: LineClassifier, path: Path) -> str:
    """Writes the classifier and returns its fingerprint (what ``calibration.json`` records)."""
    data = classifier.to_bytes()
    path.write_bytes(data)
    return fingerprint(data)


def load_classifier(path: Path, expected_fingerprint: str) -> LineClassifier:
    """The classifier saved at ``path``; ValueError if it is not the one calibration saved."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(f"line classifier {path.name} unreadable ({error.strerror})") from None
    if fingerprint(data) != expected_fingerprint:
        raise ValueError(f"line classifier {path.name} is not the one calibrated: re-run calibrate --save")
    return LineClassifier.from_bytes(data)


def _softmax(scores: Matrix) -> Matrix:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True))
