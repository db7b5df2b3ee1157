"""Choose classifier thresholds on the tuning split and the boundary set: ``python -m eval tune``.

Two small grids, each searched exhaustively, never on the blind or real sets. The emotion knobs are chosen on
``eval/data/tune/messages.jsonl`` alone: the boundary set's emotion labels train the emotion model, so its
predictions there are in-sample. The intent knobs are chosen on the tuning split and the boundary set together,
since neither trains the intent model. The emotion knobs: how far to shift toward the traffic prior, when to
call a message angry, the traffic share of angry messages. The intent knobs: below which confidence a turn is
`other`, from which confidence a clause counts as a further request. The emotion objective is macro-F1 less the
shortfalls from the angry targets (recall 0.92, precision 0.85, neutral shown as angry 3%); the intent
objective is accuracy plus a fifth of the recall of second requests. Prints the top settings and writes
``choice.json``; copy the chosen values into ``retrieval/settings.py`` (``ClassifierSettings``) and the README.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from eval.classification import Labelled, classification_metrics, predict_all
from eval.suites import read_labelled
from retrieval.pipeline import Assistant
from retrieval.settings import ClassifierSettings

TUNE_SET = Path("eval/data/tune/messages.jsonl")
BOUNDARY_SET = Path("eval/data/boundaries/messages.jsonl")
EMOTION_GRID = {
    "prior_strength": [0.5, 0.75, 1.0],
    "angry_at": [0.22, 0.3, 0.4, 0.5],
    "angry_share": [0.14, 0.10, 0.07],  # the traffic prior's share of angry messages
}
INTENT_GRID = {
    "other_below": [0.15, 0.25, 0.35],
    "segment_min": [0.5, 0.6, 0.7, 0.8, 1.01],
    "first_request_below": [0.0, 0.5, 0.7, 0.8, 0.95, 1.0],
}
ANGRY_RECALL_TARGET = 0.92
ANGRY_PRECISION_TARGET = 0.85
NEUTRAL_AS_ANGRY_TARGET = 0.03


def emotion_score(m: dict) -> float:
    """Macro-F1, less every shortfall from the angry targets (missing anger and crying wolf both cost)."""
    e = m["emotion"]
    shortfall = (
        max(0.0, ANGRY_RECALL_TARGET - e["per_class"]["angry"]["recall"])
        + max(0.0, ANGRY_PRECISION_TARGET - e["angry_precision"])
        + max(0.0, e["neutral_as_angry"] - NEUTRAL_AS_ANGRY_TARGET)
    )
    return e["macro_f1"] - shortfall


def intent_score(m: dict) -> float:
    """Accuracy first; finding a turn's second request is worth a fifth as much."""
    secondary = m["intent"].get("secondary_intent_recall", {}).get("recall", 0.0)
    return m["intent"]["accuracy"] + 0.2 * secondary


def with_knobs(thresholds: ClassifierSettings, knobs: dict) -> ClassifierSettings:
    """``thresholds`` with the grid's values; ``angry_share`` sets the traffic prior's share of angry messages."""
    update = {k: v for k, v in knobs.items() if k != "angry_share"}
    if "angry_share" in knobs:
        update["emotion_traffic_share"] = thresholds.emotion_traffic_share | {"angry": knobs["angry_share"]}
    return thresholds.model_copy(update=update)


def search(
    assistant: Assistant, items: list[Labelled], grid: dict[str, list], score: Callable[[dict], float]
) -> list[dict]:
    base = assistant.thresholds
    tried = []
    for values in itertools.product(*grid.values()):
        knobs = dict(zip(grid, values, strict=True))
        assistant.thresholds = with_knobs(base, knobs)
        metrics = classification_metrics(predict_all(assistant, items))
        tried.append({"knobs": knobs, "score": score(metrics), "metrics": _summary(metrics)})
    assistant.thresholds = base
    return sorted(tried, key=lambda t: t["score"], reverse=True)


def _summary(m: dict) -> dict:
    e, i = m["emotion"], m["intent"]
    return {
        "intent_accuracy": round(i["accuracy"], 4),
        "secondary_recall": round(i.get("secondary_intent_recall", {}).get("recall", 0.0), 4),
        "emotion_macro_f1": round(e["macro_f1"], 4),
        "angry_recall": round(e["per_class"]["angry"]["recall"], 4),
        "angry_precision": round(e["angry_precision"], 4),
        "neutral_as_angry": round(e["neutral_as_angry"], 4),
    }


def run(assistant: Assistant, emotion_data: Path, intent_data: list[Path], out_dir: Path) -> dict:
    emotion_items = read_labelled(str(emotion_data))
    emotion = search(assistant, emotion_items, EMOTION_GRID, emotion_score)
    best_emotion = emotion[0]["knobs"]
    assistant.thresholds = with_knobs(assistant.thresholds, best_emotion)
    intent_items = read_labelled([str(p) for p in intent_data])
    intent = search(assistant, intent_items, INTENT_GRID, intent_score)
    data = {"emotion": str(emotion_data), "intent": [str(p) for p in intent_data]}
    choice = {"emotion": best_emotion, "intent": intent[0]["knobs"], "data": data}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = out_dir / f"{stamp}-tune"
    out.mkdir(parents=True, exist_ok=True)
    report = {"choice": choice, "emotion_top": emotion[:10], "intent_top": intent[:10]}
    (out / "choice.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    for title, rows, items in (("emotion", emotion, emotion_items), ("intent", intent, intent_items)):
        print(f"== {title} knobs, best first ({len(rows)} tried on {len(items)} messages)")
        for row in rows[:8]:
            print(f"  {row['score']:.4f}  {row['knobs']}  {row['metrics']}")
    print(f"chosen: {choice}\nwrote {out / 'choice.json'}")
    return choice


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--emotion-data", type=Path, default=TUNE_SET, help="the emotion knobs' set")
    parser.add_argument(
        "--intent-data", type=Path, nargs="+", default=[TUNE_SET, BOUNDARY_SET], help="the intent knobs' sets, pooled"
    )
