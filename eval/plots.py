"""Plots for the HTML report, returned as embeddable ``data:image/png;base64`` URIs."""

from __future__ import annotations

import base64
import io
import itertools

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def _to_uri(figure) -> str:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def confusion(matrix: list[list[int]], labels: list[str]) -> str:
    data = np.array(matrix, dtype=float)
    size = max(4, 0.38 * len(labels) + 2)
    figure, axes = plt.subplots(figsize=(size, size))
    axes.imshow(data / np.maximum(data.sum(axis=1, keepdims=True), 1), cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    axes.set_yticks(range(len(labels)), labels, fontsize=7)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    for (i, j), value in np.ndenumerate(data):
        if value:
            axes.text(j, i, int(value), ha="center", va="center", fontsize=6)
    return _to_uri(figure)


def bars(values: dict[str, float], label: str) -> str:
    figure, axes = plt.subplots(figsize=(8, 0.25 * len(values) + 1.5))
    names = list(values)
    axes.barh(names, [values[n] for n in names], color="#3b7dd8")
    axes.set_xlim(0, 1)
    axes.set_xlabel(label)
    axes.tick_params(axis="y", labelsize=7)
    axes.invert_yaxis()
    return _to_uri(figure)


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> str:
    edges = np.linspace(0, 1, bins + 1)
    centres, accuracy = [], []
    for low, high in itertools.pairwise(edges):
        mask = (confidence > low) & (confidence <= high)
        if mask.any():
            centres.append(confidence[mask].mean())
            accuracy.append(correct[mask].mean())
    figure, axes = plt.subplots(figsize=(4.5, 4.5))
    axes.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    axes.plot(centres, accuracy, "o-", label="intent classifier")
    axes.set_xlabel("confidence")
    axes.set_ylabel("accuracy")
    axes.legend(loc="upper left")
    return _to_uri(figure)


def histograms(series: dict[str, list[float]]) -> str:
    figure, axes = plt.subplots(figsize=(7, 3.5))
    top = max(np.percentile(values, 99) for values in series.values())
    for name, values in series.items():
        axes.hist(np.clip(values, 0, top), bins=40, alpha=0.5, label=name)
    axes.set_xlabel("milliseconds")
    axes.legend()
    return _to_uri(figure)
