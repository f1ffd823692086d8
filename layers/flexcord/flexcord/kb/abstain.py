"""A learned abstain signal: logistic regression on the top scores and on known out-of-scope questions.

The mixed signal (``hybrid.abstain_signal``) asks only "how close is the nearest article?". Off-topic
questions that sound like the articles (a general assistant's "what's the dow at today" among
its 150 intents) come as close as in-scope ones do. What they are also close to is the
out-of-scope questions the tuning file already has, so the model adds that::

    p(in scope | q) = σ(b + Σ_i w_i · (x_i(q) − mean_i) / scale_i)

with the features ``FEATURES``: the top cosine, the top lexical share, the cosine to the nearest
tuning out-of-scope question and the mean cosine to its ``NEIGHBOURS`` nearest. It is fitted per
knowledge base at calibration time (``calibration``) with numpy only, and saved as plain numbers
with the out-of-scope questions' vectors; at query time it is one small matrix-vector product.

Calibration may add the features of a classifier trained on the articles' own lines
(``line_classifier.LineClassifier``, ``line_classifier.FEATURES``); the model then carries it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from flexcord.kb import line_classifier
from flexcord.kb.line_classifier import LineClassifier

FEATURES = ("top_cosine", "top_lexical_share", "nearest_out_of_scope", "near_out_of_scope_mean")
#: How many nearest out-of-scope questions the mean is over.
NEIGHBOURS = 10
#: Saved vectors are rounded to this many decimals (the JSON stays small; the model is fitted on
#: the rounded vectors, so the loaded model is the fitted one).
VECTOR_DECIMALS = 4
#: The L2 penalty on the standardised weights (not on the bias).
L2_PENALTY = 1.0
_NEWTON_STEPS = 30

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class AbstainModel:
    """A fitted model: ``probability`` is the abstain signal (abstain below the threshold)."""

    means: tuple[float, ...]
    scales: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    #: Unit vectors of the tuning out-of-scope questions.
    negatives: tuple[tuple[float, ...], ...]
    #: Its three features follow ``FEATURES`` when set.
    classifier: LineClassifier | None = None

    @property
    def features(self) -> tuple[str, ...]:
        return features_with(self.classifier)

    @property
    def description(self) -> str:
        """What calibration chose, as the CLI and the benchmarks print it."""
        return "learned model" + (" with the line classifier" if self.classifier is not None else "")

    @cached_property
    def _negative_matrix(self) -> npt.NDArray[np.float32]:
        return np.asarray(self.negatives, dtype=np.float32)

    def probability(
        self, top_cosine: float, top_share: float, query_vector: npt.NDArray[np.floating]
    ) -> float:
        return float(
            self.probabilities(np.array([top_cosine]), np.array([top_share]), query_vector[None, :])[0]
        )

    def probabilities(
        self, top_cosines: FloatArray, top_shares: FloatArray, query_vectors: npt.NDArray[np.floating]
    ) -> FloatArray:
        """``probability`` for many questions at once."""
        similarities = (query_vectors.astype(np.float32) @ self._negative_matrix.T).astype(np.float64)
        rows = with_classifier(
            feature_rows(top_cosines, top_shares, similarities), self.classifier, query_vectors
        )
        return self._probabilities(rows)

    def _probabilities(self, rows: FloatArray) -> FloatArray:
        standard = (rows - np.asarray(self.means)) / np.asarray(self.scales)
        return _sigmoid(standard @ np.asarray(self.weights) + self.bias)

    def to_document(self) -> dict[str, object]:
        return {
            "features": list(self.features),
            "means": list(self.means),
            "scales": list(self.scales),
            "weights": list(self.weights),
            "bias": self.bias,
            "negatives": [list(vector) for vector in self.negatives],
        }

    @classmethod
    def from_document(
        cls, document: dict[str, object], classifier: LineClassifier | None = None
    ) -> AbstainModel:
        """``classifier`` is the line classifier saved beside the document, if it names one."""
        features = tuple(str(name) for name in _list(document, "features"))
        if features != features_with(classifier):
            raise ValueError(f"abstain model features {features}, expected {features_with(classifier)}")
        model = cls(
            means=_floats(_list(document, "means")),
            scales=_floats(_list(document, "scales")),
            weights=_floats(_list(document, "weights")),
            bias=float(document["bias"]),  # type: ignore[arg-type]
            negatives=tuple(_floats(vector) for vector in _list(document, "negatives")),
            classifier=classifier,
        )
        if not len(model.means) == len(model.scales) == len(model.weights) == len(features):
            raise ValueError("abstain model: one mean, scale and weight per feature")
        dimensions = {len(vector) for vector in model.negatives} | (
            {classifier.dimension} if classifier is not None else set()
        )
        if len(dimensions) > 1:
            raise ValueError(f"abstain model: vectors of several dimensions {sorted(dimensions)}")
        return model


def features_with(classifier: LineClassifier | None) -> tuple[str, ...]:
    return FEATURES + (line_classifier.FEATURES if classifier is not None else ())


def with_classifier(
    rows: FloatArray, classifier: LineClassifier | None, query_vectors: npt.NDArray[np.floating]
) -> FloatArray:
    """``rows`` (``FEATURES``) followed by the classifier's features, if there is one."""
    if classifier is None:
        return rows
    return np.column_stack([rows, classifier.features(query_vectors)])


def feature_rows(top_cosines: FloatArray, top_shares: FloatArray, similarities: FloatArray) -> FloatArray:
    """``FEATURES`` per question; ``similarities[n]`` are question n's cosines to the negatives
    (``-inf`` where a negative must not count, e.g. the question itself)."""
    count = len(top_cosines)
    if similarities.shape[1] == 0:
        nearest = mean_near = np.zeros(count)
    else:
        neighbours = min(NEIGHBOURS, similarities.shape[1])
        closest = -np.partition(-similarities, neighbours - 1, axis=1)[:, :neighbours]
        counted = np.isfinite(closest)
        nearest = np.where(counted, closest, -1.0).max(axis=1)
        mean_near = np.where(counted, closest, 0.0).sum(axis=1) / np.maximum(counted.sum(axis=1), 1)
    return np.column_stack([top_cosines, top_shares, nearest, mean_near]).astype(np.float64)


def fit_abstain_model(
    top_cosines: Sequence[float],
    top_shares: Sequence[float],
    query_vectors: npt.NDArray[np.floating],
    in_scope: Sequence[bool],
    classifier: LineClassifier | None = None,
) -> AbstainModel:
    """The model fitted on labelled questions; their out-of-scope ones become the negatives.

    Each question's own vector is left out of its negatives, as a new question's would be.
    Both classes weigh the same in total (there are usually far fewer out-of-scope questions).
    """
    labels = np.asarray(in_scope, dtype=np.float64)
    if labels.all() or not labels.any():
        raise ValueError("an abstain model needs in-scope and out-of-scope questions")
    vectors = np.round(np.asarray(query_vectors, dtype=np.float64), VECTOR_DECIMALS)
    negative_rows = np.flatnonzero(labels == 0)
    negatives = vectors[negative_rows].astype(np.float32)
    similarities = (vectors.astype(np.float32) @ negatives.T).astype(np.float64)
    similarities[negative_rows, np.arange(len(negative_rows))] = -np.inf
    rows = with_classifier(
        feature_rows(np.asarray(top_cosines, np.float64), np.asarray(top_shares, np.float64), similarities),
        classifier,
        vectors,
    )
    means, scales = rows.mean(axis=0), rows.std(axis=0)
    scales[scales == 0] = 1.0
    weights, bias = _logistic_regression((rows - means) / scales, labels)
    return AbstainModel(
        means=_floats(means),
        scales=_floats(scales),
        weights=_floats(weights),
        bias=bias,
        negatives=tuple(_floats(vector) for vector in vectors[negative_rows]),
        classifier=classifier,
    )


def _logistic_regression(rows: FloatArray, labels: FloatArray) -> tuple[FloatArray, float]:
    """L2-penalised, class-balanced logistic regression by Newton's method."""
    design = np.column_stack([rows, np.ones(len(rows))])
    balance = np.where(labels == 1, 0.5 / labels.mean(), 0.5 / (1 - labels.mean()))
    penalty = np.diag([L2_PENALTY] * rows.shape[1] + [0.0])
    coefficients = np.zeros(design.shape[1])
    for _ in range(_NEWTON_STEPS):
        predicted = _sigmoid(design @ coefficients)
        gradient = design.T @ (balance * (predicted - labels)) + penalty @ coefficients
        hessian = (design * (balance * predicted * (1 - predicted))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(coefficients)), gradient)
        coefficients -= step
        if np.abs(step).max() < 1e-10:
            break
    return coefficients[:-1], float(coefficients[-1])


def _sigmoid(values: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-np.clip(values, -500, 500)))


def _list(document: dict[str, object], key: str) -> list[object]:
    value = document[key]
    if not isinstance(value, list):
        raise ValueError(f"abstain model: {key} must be a list")
    return value


def _floats(values: object) -> tuple[float, ...]:
    return tuple(float(value) for value in values)  # type: ignore[attr-defined]
