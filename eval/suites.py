"""Evaluation suites. Each returns a ``SuiteResult``: metrics, per-item predictions and plots."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import f1_score
from tqdm import tqdm

from eval import plots
from eval.classification import Labelled, classification_metrics, predict_all
from eval.data_sources import PUBLISHED_STS, SHARED_DATA, read_ecd_labelled, read_jsonl, read_pairs
from eval.sts import sts_spearman
from retrieval.pipeline import Assistant
from scripts_library.compliance import ComplianceChecker
from scripts_library.lint import lint_entry
from scripts_library.loader import load_library


@dataclass
class SuiteResult:
    metrics: dict
    predictions: list[dict] = field(default_factory=list)
    plots: dict[str, str] = field(default_factory=dict)  # title → data: URI (PNG)


def read_labelled(data: str | list[str], source: str = "jsonl") -> list[Labelled]:
    """Labelled messages: our JSONL files, or (``source: ecd``) our labels of the real ECD chat turns.

    ``data`` is one file or several pooled into one set (two blind samples scored as one).
    """
    paths = [Path(data)] if isinstance(data, str) else [Path(p) for p in data]
    read = read_ecd_labelled if source == "ecd" else read_jsonl
    items = [Labelled.from_row(row) for path in paths for row in read(path)]
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError(f"pooled sets {data} share message ids: give each set its own id prefix")
    return items


def classification(
    assistant: Assistant, data: str | list[str], source: str = "jsonl", quiet: bool = False
) -> SuiteResult:
    items = read_labelled(data, source)
    predictions = predict_all(assistant, tqdm(items, desc="classify", disable=quiet))
    m = classification_metrics(predictions)
    rows = [
        {
            "id": p.item.id,
            "message": p.item.message,
            "gold_intent": p.item.intent,
            "intent": p.result.intent.id,
            "confidence": p.result.intent.confidence,
            "gold_emotion": p.item.emotion,
            "emotion": p.result.emotion.id,
            "gold_escalate": p.item.escalate,
            "escalate": p.result.escalation.required,
            "gold_team": p.item.team,
            "team": p.result.escalation.team,
            "intents": [i.id for i in p.result.intents],
            "ms": round(p.millis, 3),
        }
        for p in predictions
    ]
    confidence = np.array([r["confidence"] for r in rows])
    correct = np.array([r["intent"] == r["gold_intent"] for r in rows], dtype=float)
    return SuiteResult(
        m,
        rows,
        {
            "Intent confusion matrix": plots.confusion(m["intent"]["confusion"], m["intent"]["labels"]),
            "Emotion confusion matrix": plots.confusion(m["emotion"]["confusion"], m["emotion"]["labels"]),
            "Per-intent F1": plots.bars({k: v["f1"] for k, v in m["intent"]["per_class"].items()}, "F1"),
            "Intent confidence reliability": plots.reliability(confidence, correct),
        },
    )


def _compliance_audit(assistant: Assistant, library_dir: str) -> tuple[ComplianceChecker, list[str]]:
    """The rules of the library on disk (not the artifact's copy) and the served entries that break them.

    Independent of the pipeline: its runtime filter drops a rendered reply with forbidden wording, so
    counting what it lets through could never be non-zero. An entry with a lint error in the served
    index means the indexer let it in — the failure this figure exists to catch.
    """
    library = load_library(Path(library_dir))
    checker = ComplianceChecker(library.compliance)
    served = assistant.index.candidates.values()
    entries = [c.script or c.faq for c in served]
    bad = [e.id for e in entries if any(p.severity == "error" for p in lint_entry(e, library, checker))]
    return checker, bad


def suggestion(
    assistant: Assistant, data: str, gold: str, library: str = "scripts_library", quiet: bool = False
) -> SuiteResult:
    items = {item.id: item for item in read_labelled(data)}
    checker, bad_entries = _compliance_audit(assistant, library)
    rows, bad_replies = [], 0
    for g in tqdm(read_jsonl(Path(gold)), desc="suggest", disable=quiet):
        item = items[g["id"]]
        result = assistant.suggest(item.as_input(top_k=5))
        ids = [s.script_id for s in result.suggestions]
        for s in result.suggestions:  # every rule for the moods the reply claims to suit, as the linter applies them
            suited = assistant.index.candidates[s.script_id].emotions
            bad_replies += any(v.severity == "error" for v in checker.check(s.text, suited))
        ranks = [i for i, sid in enumerate(ids) if sid in set(g["gold"])]
        first = ranks[0] + 1 if ranks else None
        fits = [s.emotion_fit == 1.0 for s in result.suggestions[:1]]
        rows.append(
            {
                "id": item.id,
                "message": item.message,
                "emotion": item.emotion,
                "gold": g["gold"],
                "suggested": ids,
                "rank": first,
                "top_fits_emotion": bool(fits and fits[0]),
            }
        )
    n = max(len(rows), 1)

    def hit(k: int) -> float:
        return sum(r["rank"] is not None and r["rank"] <= k for r in rows) / n

    ndcg = sum(1 / np.log2(r["rank"] + 1) for r in rows if r["rank"] and r["rank"] <= 5) / n
    angry = [r for r in rows if r["emotion"] == "angry"]
    metrics = {
        "n": len(rows),
        "hit@1": hit(1),
        "hit@3": hit(3),
        "hit@5": hit(5),
        "mrr": sum(1 / r["rank"] for r in rows if r["rank"]) / n,
        "ndcg@5": float(ndcg),
        "compliance_violations": bad_replies + len(bad_entries),
        "non_compliant_replies": bad_replies,
        "served_entries_with_lint_errors": bad_entries,
        "emotion_fit_rate": sum(r["top_fits_emotion"] for r in rows) / n,
        "angry_first_is_apology": sum(r["top_fits_emotion"] for r in angry) / max(len(angry), 1),
    }
    return SuiteResult(metrics, rows)


def sts(assistant: Assistant, sets: list[str], limit: int | None = None, quiet: bool = False) -> SuiteResult:
    ours = {name: sts_spearman(assistant.encoder, name, limit) for name in tqdm(sets, desc="sts", disable=quiet)}
    return SuiteResult({"spearman": ours, "published": PUBLISHED_STS, "pairs_per_set": limit})


def _bm25(corpus: list[str], queries: list[str], k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    vectorizer = CountVectorizer(analyzer="char", ngram_range=(1, 2))
    docs = vectorizer.fit_transform(corpus).astype(np.float32).tocsr()
    lengths = np.asarray(docs.sum(axis=1)).ravel()
    idf = np.log(1 + (docs.shape[0] - (docs > 0).sum(0).A1 + 0.5) / ((docs > 0).sum(0).A1 + 0.5))
    docs = docs.tocoo()
    denominator = docs.data + k1 * (1 - b + b * lengths[docs.row] / lengths.mean())
    weights = sparse.csr_matrix(
        (docs.data * (k1 + 1) / denominator * idf[docs.col], (docs.row, docs.col)), shape=docs.shape
    )
    query_terms = (vectorizer.transform(queries) > 0).astype(np.float32)
    return (query_terms @ weights.T).toarray()


def _retrieval_metrics(scores: np.ndarray, gold: np.ndarray) -> dict:
    order = np.argsort(-scores, axis=1)
    ranks = np.argmax(order == gold[:, None], axis=1) + 1
    return {
        "recall@1": float((ranks <= 1).mean()),
        "recall@5": float((ranks <= 5).mean()),
        "recall@10": float((ranks <= 10).mean()),
        "mrr": float((1 / ranks).mean()),
    }


def faq_retrieval(
    assistant: Assistant, dataset: str = "LCQMC", limit: int = 3000, alpha: float = 0.5, quiet: bool = False
) -> SuiteResult:
    """Positive pairs → one side is the FAQ, the other the queries; dense vs lexical (BM25) vs hybrid."""
    pairs = [p for p in read_pairs(dataset) if p.score >= 1][:limit]
    corpus = list(dict.fromkeys(p.a for p in pairs))
    position = {text: i for i, text in enumerate(corpus)}
    queries = [p.b for p in pairs]
    gold = np.array([position[p.a] for p in pairs])
    dense = assistant.encoder.encode(queries, batch_size=64) @ assistant.encoder.encode(corpus, batch_size=64).T
    lexical = _bm25(corpus, queries)

    def standardise(x: np.ndarray) -> np.ndarray:
        return (x - x.mean(axis=1, keepdims=True)) / (x.std(axis=1, keepdims=True) + 1e-9)

    hybrid = standardise(dense) + alpha * standardise(lexical)
    metrics = {
        "dataset": dataset,
        "queries": len(queries),
        "faq_size": len(corpus),
        "dense": _retrieval_metrics(dense, gold),
        "lexical_bm25": _retrieval_metrics(lexical, gold),
        "hybrid": _retrieval_metrics(hybrid, gold),
        "hybrid_alpha": alpha,
    }
    return SuiteResult(metrics)


EWECT_MAP = {"angry": "angry", "fear": "anxious", "sad": "dissatisfied", "happy": "positive", "neutral": "neutral"}


def emotion_public(assistant: Assistant, limit: int = 2000, quiet: bool = False) -> SuiteResult:
    rows = json.loads((SHARED_DATA / "ewect_usual_eval.json").read_text(encoding="utf-8"))
    rows = [r for r in rows if r["label"] in EWECT_MAP][:limit]
    gold, pred = [], []
    for row in tqdm(rows, desc="emotion-public", disable=quiet):
        gold.append(EWECT_MAP[row["label"]])
        pred.append(
            assistant.classify(
                Labelled(str(row["id"]), row["content"][:2000] or "。", "", "", False).as_input()
            ).emotion.id
        )
    labels = ["angry", "anxious", "dissatisfied", "neutral", "positive"]
    return SuiteResult(
        {
            "n": len(rows),
            "macro_f1": float(f1_score(gold, pred, labels=labels, average="macro")),
            "accuracy": float(np.mean([g == p for g, p in zip(gold, pred, strict=True)])),
        }
    )


def latency(assistant: Assistant, data: str, messages: int = 200, quiet: bool = False) -> SuiteResult:
    texts = [item.message for item in read_labelled(data)][:messages]

    def timed(call: Callable[[str], object]) -> list[float]:
        out = []
        for text in texts:
            assistant.clear_embedding_cache()
            started = time.perf_counter()
            call(text)
            out.append((time.perf_counter() - started) * 1000)
        return out

    encode = timed(lambda t: assistant.encoder.encode([t]))
    classify = timed(lambda t: assistant.classify(Labelled("", t, "", "", False).as_input()))
    suggest = timed(lambda t: assistant.suggest(Labelled("", t, "", "", False).as_input()))

    def summary(xs: list[float]) -> dict:
        p50, p90, p99 = np.percentile(xs, [50, 90, 99])
        return {"p50": float(p50), "p90": float(p90), "p99": float(p99)}

    metrics = {"encode_ms": summary(encode), "classify_ms": summary(classify), "suggest_ms": summary(suggest)}
    metrics["classify_over_encode_p50_ms"] = metrics["classify_ms"]["p50"] - metrics["encode_ms"]["p50"]
    metrics["suggest_over_encode_ratio_p50"] = metrics["suggest_ms"]["p50"] / metrics["encode_ms"]["p50"]
    return SuiteResult(
        metrics, plots={"Latency (ms)": plots.histograms({"encode": encode, "classify": classify, "suggest": suggest})}
    )


SUITES = {
    "classification": classification,
    "suggestion": suggestion,
    "sts": sts,
    "faq_retrieval": faq_retrieval,
    "emotion_public": emotion_public,
    "latency": latency,
}
