"""The entry classifier: which script or FAQ entry a message embedding belongs to (no model, no index)."""

from __future__ import annotations

import numpy as np

from retrieval.classifier import EntryClassifier


def _clusters(rng: np.random.Generator, entries: int, per_entry: int, dimension: int = 16) -> tuple:
    centres = rng.normal(size=(entries, dimension))
    vectors = np.repeat(centres, per_entry, axis=0) + 0.3 * rng.normal(size=(entries * per_entry, dimension))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    owners = [f"script.{i}" for i in range(entries) for _ in range(per_entry)]
    return centres, vectors.astype(np.float32), owners


def test_entry_classifier_scores_the_owning_entry_highest() -> None:
    rng = np.random.default_rng(7)
    centres, vectors, owners = _clusters(rng, entries=12, per_entry=6)
    model = EntryClassifier()
    metrics = model.fit(vectors, owners)
    assert metrics["entries"] == 12 and metrics["n"] == 72
    query = centres[5] / np.linalg.norm(centres[5])
    log_p = model.log_probabilities(query)
    assert np.isclose(np.exp(log_p).sum(), 1.0, atol=1e-4)
    fit = model.fit_scores(log_p)
    assert len(fit) == len(model.entries) == len(set(owners))
    assert model.entries[int(fit.argmax())] == "script.5"
    assert ((fit >= 0.0) & (fit <= 1.0)).all()


def test_fit_scores_map_log_probabilities_linearly_onto_unit_interval() -> None:
    model = EntryClassifier()
    model.entries = ["a", "b", "c"]
    fit = model.fit_scores(np.array([0.0, EntryClassifier.LOG_FLOOR / 2, 3 * EntryClassifier.LOG_FLOOR]))
    assert fit.tolist() == [1.0, 0.5, 0.0]
