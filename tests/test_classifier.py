"""HybridClassifier: dense + character n-gram logistic regressions, calibrated by a fitted temperature."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from retrieval.classifier import HybridClassifier, cue_features, dense_features
from scripts_library.text import normalize

TEXTS = {
    "invoice": ["发票怎么开", "开发票", "电子发票在哪", "发票抬头", "专票", "发票税号", "能开票吗", "发票多久"],
    "logistics": ["快递到哪了", "物流不动", "包裹没到", "快递丢了", "物流卡住", "几号到", "快递单号", "派送中"],
}


def _data(rng: np.random.Generator) -> tuple[list[str], np.ndarray, list[str]]:
    texts = [t for label in TEXTS for t in TEXTS[label]]
    labels = [label for label in TEXTS for _ in TEXTS[label]]
    centres = {"invoice": np.eye(8)[0], "logistics": np.eye(8)[1]}
    dense = np.stack([centres[label] + 0.2 * rng.normal(size=8) for label in labels]).astype(np.float32)
    return texts, dense, labels


def test_fit_reports_cross_validation_and_predicts_calibrated_probabilities():
    texts, dense, labels = _data(np.random.default_rng(3))
    model = HybridClassifier(use_cues=False)
    metrics = model.fit(texts, dense, labels)
    assert metrics["n"] == 16 and metrics["cv_accuracy"] >= 0.9 and 0.05 <= model.temperature <= 5.0
    assert model.labels == ["invoice", "logistics"]
    sure = model.predict("发票怎么开具", np.eye(8, dtype=np.float32)[0])
    assert sure.label == "invoice" and sure.confidence > 0.8
    assert abs(sum(sure.probabilities.values()) - 1.0) < 1e-6
    torn = model.predict("发票快递", np.full(8, 0.35, np.float32))  # both vocabularies, between the centres
    assert torn.confidence < sure.confidence


def test_a_trained_classifier_survives_the_artifact_round_trip():
    texts, dense, labels = _data(np.random.default_rng(5))
    model = HybridClassifier(use_cues=False)
    model.fit(texts, dense, labels)
    copy = pickle.loads(pickle.dumps(model))
    probe = np.eye(8, dtype=np.float32)[1]
    assert copy.predict("快递呢", probe).probabilities == model.predict("快递呢", probe).probabilities


def test_cue_features_count_mood_signals_and_are_appended_for_emotion_models():
    angry = cue_features(normalize("垃圾店!!! 我要投诉"))
    calm = cue_features(normalize("请问发票怎么开"))
    assert angry[0] > 0 and angry[1] > 0 and angry[5] > 0 and calm[:6].sum() == 0
    vectors = np.zeros((2, 4), np.float32)
    messages = [normalize("好的"), normalize("气死了")]
    assert dense_features(vectors, messages, use_cues=True).shape == (2, 4 + len(angry))
    assert dense_features(vectors, messages, use_cues=False).shape == (2, 4)


@pytest.mark.parametrize(
    ("message", "insult"),
    [("怎么还不发搞毛啊😠", True), ("说好的返券呢 骗人", True), ("客服是智障吗", True), ("滚筒脱水跳得厉害", False)],
)
def test_insults_and_rage_are_cues_but_a_washing_drum_is_not(message, insult):
    assert (cue_features(normalize(message))[1] > 0) == insult


def test_the_serving_path_reproduces_scikit_learn_exactly():
    """The classifier serves from its linear maps; they must give scikit-learn's own numbers."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from retrieval.classifier import CharNgrams, LinearHead

    texts, dense, labels = _data(np.random.default_rng(11))
    texts3 = [*texts, "退款到哪了", "退款多久到账", "钱退了吗", "退款被拒"]
    labels3 = [*labels, *["refund"] * 4]
    probes = [*texts3, "发票  快递 ！", "ＡＢＣ abc", "", "没见过的字"]
    for ngram_range in ((1, 3), (2, 3)):
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=ngram_range, sublinear_tf=True)
        model = LogisticRegression(C=8.0, max_iter=2000).fit(vectorizer.fit_transform(texts3), labels3)
        expected = model.decision_function(vectorizer.transform(probes))
        ours = CharNgrams.of(vectorizer).transform(probes, LinearHead.of(model))
        np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-9)
    head = LinearHead.of(LogisticRegression(C=8.0, max_iter=2000).fit(dense, labels))
    reference = LogisticRegression(C=8.0, max_iter=2000).fit(dense, labels)
    np.testing.assert_allclose(np.exp(head.log_probabilities(dense)), reference.predict_proba(dense), rtol=1e-5)
