"""Intent and emotion classifiers: sentence embedding + character n-grams, calibrated.

Each classifier combines two logistic regressions — one on the message's sentence embedding (the
same vector retrieval uses, so the message is embedded once) plus a few cue features, one on
character n-grams of the normalised text — by averaging their log-probabilities, then calibrates
the result with a temperature fitted on out-of-fold predictions. Trained at index-build time from
the library, stored in the index artifact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from scripts_library.text import NormalizedMessage

# Cue families that matter in service chats; they are features the model weighs, not rules. A threat or an
# insult that is denied (不会投诉的, 不给差评) is no cue; a plain time question (什么时候发) is no urgency.
_NOT_DENIED = r"(?<![不没别])(?<!不会)(?<!不是)(?<!不给)(?<!不会给)"
_CUES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p)
    for p in (
        # threats; not a lawyer who buys (我是律师, 律师事务所), an alarm (报警器) or a camera's exposure (曝光补偿)
        _NOT_DENIED
        + r"(?:差评|投诉|12315|曝光(?!补偿|过度|不足)|举报|(?<!我是)律师(?!事务所|朋友)|起诉|报警(?!器)|消协|工商)",
        # insults, rage; not 滚 in 滚筒 (a washing drum) or 滚动
        _NOT_DENIED
        + r"(?:垃圾|骗子|骗人|破|坑|有病|滚(?!筒|动|轮|珠|烫)|妈的|tm|tmd|靠|气死|恶心|无良|黑店"
        + r"|智障|脑残|弱智|搞毛|什么玩意)|😡|🤬|💢|😠",
        r"急|快点|尽快|赶紧|催|马上|还要多久|怎么还|等不及|赶时间|在吗在吗",  # urgency
        r"唉|哎|失望|算了|好吧|呵呵|无语|就这|行吧|不如|说好的|郁闷|心累|😞|😔|🙄",  # resignation, sarcasm
        r"谢谢|感谢|好评|棒|赞|满意|辛苦|喜欢|不错|给力|蟹蟹|xiexie|👍|❤|😊|🌹|😄",  # thanks, praise
    )
)


def cue_features(message: NormalizedMessage) -> np.ndarray:
    """Counts of cue families and punctuation signals, squashed to [0, 1]."""
    counts = [len(p.findall(message.text)) for p in _CUES]
    signals = [message.exclamations, message.questions, message.repeated_segments]
    return np.tanh(np.array(counts + signals, dtype=np.float32) / 2.0)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable log-softmax in numpy (scipy's costs ~40 µs a call in argument handling alone)."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.exp(log_softmax(x, axis))


@dataclass(frozen=True)
class LinearHead:
    """A fitted multinomial logistic regression kept as its linear map: log-probabilities by numpy alone."""

    weights: np.ndarray  # (features, classes)
    bias: np.ndarray  # (classes,)

    @classmethod
    def of(cls, model: LogisticRegression) -> LinearHead:
        weights, bias = model.coef_.astype(np.float64), model.intercept_.astype(np.float64)
        if len(model.classes_) == 2:  # binary: P(second) = sigmoid(w·x + b) = softmax([0, w·x + b])
            weights, bias = np.vstack([np.zeros_like(weights), weights]), np.concatenate([[0.0], bias])
        return cls(np.ascontiguousarray(weights.T), bias)

    def log_probabilities(self, x: np.ndarray) -> np.ndarray:
        return log_softmax(x @ self.weights + self.bias, axis=1)


_WHITESPACE_RUN = re.compile(r"\s\s+")


@dataclass(frozen=True)
class CharNgrams:
    """A fitted character n-gram TF-IDF vectoriser (sublinear tf, l2 norm), as a vocabulary and idf weights.

    Reproduces scikit-learn's ``TfidfVectorizer(analyzer="char", sublinear_tf=True)`` for one short text in
    microseconds instead of its per-call validation overhead; ``tests/test_classifier.py`` holds them equal.
    """

    vocabulary: dict[str, int]
    idf: np.ndarray
    ngram_range: tuple[int, int]

    @classmethod
    def of(cls, vectorizer: TfidfVectorizer) -> CharNgrams:
        return cls(dict(vectorizer.vocabulary_), vectorizer.idf_.astype(np.float64), tuple(vectorizer.ngram_range))

    def grams(self, text: str) -> list[str]:
        text = _WHITESPACE_RUN.sub(" ", text.lower())
        low, high = self.ngram_range
        found = list(text) if low == 1 else []
        for n in range(max(low, 2), min(high, len(text)) + 1):
            found += [text[i : i + n] for i in range(len(text) - n + 1)]
        return found

    def transform(self, texts: Sequence[str], head: LinearHead) -> np.ndarray:
        """``head``'s logits for each text's TF-IDF vector, without building the sparse matrix."""
        out = np.tile(head.bias, (len(texts), 1))
        for row, text in enumerate(texts):
            counts: dict[int, int] = {}
            for gram in self.grams(text):
                column = self.vocabulary.get(gram)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            if not counts:
                continue
            columns = np.fromiter(counts, dtype=np.int64)
            values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64))) * self.idf[columns]
            values /= np.linalg.norm(values)
            out[row] += values @ head.weights[columns]
        return out


@dataclass
class Prediction:
    label: str
    confidence: float
    probabilities: dict[str, float]


class HybridClassifier:
    """Dense (embedding + cues) and lexical (char n-gram) logistic regressions, calibrated together."""

    def __init__(
        self,
        c_dense: float = 8.0,
        c_lexical: float = 8.0,
        class_weight: str | None = "balanced",
        ngram_range: tuple[int, int] = (1, 3),
        use_cues: bool = True,
    ) -> None:
        self.use_cues = use_cues
        self.c_dense = c_dense
        self.c_lexical = c_lexical
        self.ngram_range = ngram_range
        self.class_weight = class_weight
        self.temperature = 1.0
        self.labels: list[str] = []

    def _new_models(self) -> tuple[LogisticRegression, TfidfVectorizer, LogisticRegression]:
        dense = LogisticRegression(C=self.c_dense, max_iter=2000, class_weight=self.class_weight)
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=self.ngram_range, sublinear_tf=True, min_df=1)
        lexical = LogisticRegression(C=self.c_lexical, max_iter=2000, class_weight=self.class_weight)
        return dense, vectorizer, lexical

    @staticmethod
    def _fit_parts(parts, texts: Sequence[str], dense_x: np.ndarray, y: np.ndarray, weights: np.ndarray):
        dense, vectorizer, lexical = parts
        dense.fit(dense_x, y, sample_weight=weights)
        lexical.fit(vectorizer.fit_transform(texts), y, sample_weight=weights)
        return parts

    @staticmethod
    def _fold_logits(parts, texts: Sequence[str], dense_x: np.ndarray) -> np.ndarray:
        dense, vectorizer, lexical = parts
        return (dense.predict_log_proba(dense_x) + lexical.predict_log_proba(vectorizer.transform(texts))) / 2

    def _logits(self, texts: Sequence[str], dense_x: np.ndarray) -> np.ndarray:
        lexical = log_softmax(self._ngrams.transform(texts, self._lexical), axis=1)
        return (self._dense.log_probabilities(np.asarray(dense_x, dtype=np.float64)) + lexical) / 2

    def fit(
        self,
        texts: Sequence[str],
        dense_x: np.ndarray,
        labels: Sequence[str],
        weights: Sequence[float] | None = None,
        folds: int = 4,
    ) -> dict:
        """Fit on all data; calibrate the temperature on out-of-fold predictions. Returns CV metrics."""
        self.labels = sorted(set(labels))
        y = np.array([self.labels.index(label) for label in labels])
        w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
        texts = list(texts)
        oof = np.zeros((len(y), len(self.labels)))
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=13).split(texts, y):
            parts = self._fit_parts(self._new_models(), [texts[i] for i in train], dense_x[train], y[train], w[train])
            fold = np.full((len(test), len(self.labels)), -30.0)
            fold[:, parts[0].classes_] = self._fold_logits(parts, [texts[i] for i in test], dense_x[test])
            oof[test] = fold

        def nll(temperature: float) -> float:
            return -log_softmax(oof / temperature, axis=1)[np.arange(len(y)), y].mean()

        self.temperature = float(minimize_scalar(nll, bounds=(0.05, 5.0), method="bounded").x)
        dense, vectorizer, lexical = self._fit_parts(self._new_models(), texts, dense_x, y, w)
        # Serving keeps only the linear maps: a request costs two small products, not scikit-learn's checks.
        self._dense, self._ngrams, self._lexical = (
            LinearHead.of(dense),
            CharNgrams.of(vectorizer),
            LinearHead.of(lexical),
        )
        accuracy = float((oof.argmax(axis=1) == y).mean())
        return {"cv_accuracy": round(accuracy, 4), "temperature": round(self.temperature, 4), "n": len(y)}

    def predict_proba(self, texts: Sequence[str], dense_x: np.ndarray) -> np.ndarray:
        return softmax(self._logits(texts, dense_x) / self.temperature, axis=1)

    def lexical_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities from the character n-gram half alone: cheap enough for every clause of a message."""
        return softmax(self._ngrams.transform(texts, self._lexical), axis=1)

    def predict(self, text: str, dense: np.ndarray) -> Prediction:
        probabilities = self.predict_proba([text], dense.reshape(1, -1))[0]
        best = int(probabilities.argmax())
        return Prediction(
            self.labels[best],
            float(probabilities[best]),
            {label: float(p) for label, p in zip(self.labels, probabilities, strict=True)},
        )


class EntryClassifier:
    """Which library entry (script or FAQ) a message belongs to, from its sentence embedding.

    A multinomial logistic regression over the vectors of the searchable examples, one class per entry.
    Nearest-example similarity only sees the single closest example; this model weighs all of an entry's
    examples against its neighbours', which separates sibling scripts of one intent (查退款 vs 退款慢)
    better. Trained at build time from the index's own vectors, so it costs no extra embedding.
    """

    LOG_FLOOR = -10.0  # log-probabilities at or below this map to fit 0

    def __init__(self, c: float = 32.0) -> None:
        self.c = c
        self.entries: list[str] = []
        self._weights = np.zeros((0, 0), np.float32)
        self._bias = np.zeros(0, np.float32)

    def fit(self, vectors: np.ndarray, owners: Sequence[str]) -> dict:
        """Fit on every example vector labelled with the entry it belongs to. Returns size metrics."""
        self.entries = sorted(set(owners))
        position = {entry: i for i, entry in enumerate(self.entries)}
        model = LogisticRegression(C=self.c, max_iter=2000)
        with threadpool_limits(1):  # a small problem: BLAS threads only contend with each other here
            model.fit(np.asarray(vectors, dtype=np.float32), np.array([position[o] for o in owners]))
        # Only the linear map is kept: scoring is one small matrix-vector product per request.
        self._weights = model.coef_.astype(np.float32)
        self._bias = model.intercept_.astype(np.float32)
        return {"entries": len(self.entries), "n": len(owners), "iterations": int(model.n_iter_[0])}

    def log_probabilities(self, vector: np.ndarray) -> np.ndarray:
        """Log-probability of each entry (in ``entries`` order) for one message vector."""
        return log_softmax(self._weights @ vector.astype(np.float32) + self._bias)

    def fit_scores(self, log_p: np.ndarray) -> np.ndarray:
        """Per entry (in ``entries`` order), its log-probability mapped linearly from [LOG_FLOOR, 0] onto [0, 1]:
        how strongly the message belongs to it, a ranking feature."""
        return np.clip(1.0 - log_p / self.LOG_FLOOR, 0.0, 1.0)


def dense_features(vectors: np.ndarray, messages: Sequence[NormalizedMessage], use_cues: bool = True) -> np.ndarray:
    """Embedding vectors, with the cue features appended when the model uses them (emotion does)."""
    if not use_cues:
        return np.asarray(vectors, dtype=np.float32)
    cues = np.stack([cue_features(m) for m in messages]) if messages else np.zeros((0, 8), np.float32)
    return np.hstack([vectors, cues]).astype(np.float32)
