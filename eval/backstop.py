"""Choose the learned escalation backstop's threshold: ``python -m eval backstop``.

The backstop learns from the library's labelled escalation examples (scripts_library/escalation_examples.yaml),
so its figures on them would be in-sample. This leaves each writer (`source`) out in turn: a model trained on
the other writers' examples reads the left-out writer's turns through the whole pipeline, rules first. For each
threshold it prints escalation recall, precision and right team over all examples, and how many escalations the
backstop adds and how many of those are false alarms. The rules themselves were written with these turns in
view, so the rules-only row flatters them; the backstop's additions are out of sample. Writes ``choice.json``
with the lowest threshold whose precision stays within ``--precision-slack`` of the rules alone; copy it into
``retrieval/settings.py`` (``escalation_backstop_at``) and the README.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from retrieval.backstop import fit_backstop, team_probabilities
from retrieval.classifier import HybridClassifier
from retrieval.escalation import LEARNED_RULE_ID
from retrieval.pipeline import Assistant
from retrieval.types import MessageInput
from scripts_library.loader import Library
from scripts_library.schema import EscalationExample
from scripts_library.text import normalize

Embed = Callable[[list[str]], np.ndarray]
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0)  # 1.0: the rules alone


@dataclass(frozen=True)
class Reading:
    """One left-out example: what the rules said, what the backstop would add, and how sure it is."""

    gold_team: str | None
    rule_team: str | None
    learned_team: str | None  # the team the backstop names where no rule fired and the policy allows one
    chance: float  # the left-out model's chance that the turn needs any team


def read_left_out(assistant: Assistant, library: Library) -> list[Reading]:
    """Every example read by a backstop trained without its writer, through the whole pipeline (the assistant's
    index serves each writer's left-out model in turn)."""
    examples = library.escalation_examples
    texts = [normalize(e.text, library.rewrite).text for e in examples]
    vectors = dict(zip(texts, assistant.encoder.encode(texts), strict=True))

    def embed(batch: list[str]) -> np.ndarray:
        return np.stack([vectors[t] if t in vectors else assistant.encoder.encode([t])[0] for t in batch])

    always = assistant.thresholds.model_copy(update={"escalation_backstop_at": 0.0})
    probe = Assistant(assistant.encoder, assistant.index, assistant.weights, always)
    readings = []
    for source in sorted({e.source for e in examples}):
        held_out = [e for e in examples if e.source == source]
        fitted = fit_backstop([e for e in examples if e.source != source], embed, library.rewrite)
        if fitted is None:
            raise SystemExit("the examples left after removing one writer name no team: add more")
        assistant.index.escalation_model = fitted[0]
        readings += [_reading(probe, fitted[0], e, embed, library) for e in held_out]
    return readings


def _reading(
    probe: Assistant, model: HybridClassifier, example: EscalationExample, embed: Embed, library: Library
) -> Reading:
    escalation = probe.classify(MessageInput(message=example.text)).escalation
    learned = escalation.rule_id == LEARNED_RULE_ID
    message = normalize(example.text, library.rewrite)
    chance = sum(team_probabilities(model, message, embed([message.text])[0]).values())
    return Reading(
        example.team,
        escalation.team if escalation.required and not learned else None,
        escalation.team if learned else None,
        chance,
    )


def scores(readings: list[Reading], threshold: float) -> dict:
    """Escalation recall, precision and right team when the backstop speaks from ``threshold``."""
    teams = [r.rule_team or (r.learned_team if r.chance >= threshold and threshold < 1 else None) for r in readings]
    found = [(r, t) for r, t in zip(readings, teams, strict=True) if t is not None]
    right = sum(1 for r, _ in found if r.gold_team is not None)
    added = [r for r, t in zip(readings, teams, strict=True) if t is not None and r.rule_team is None]
    gold = sum(1 for r in readings if r.gold_team is not None)
    return {
        "threshold": threshold,
        "recall": round(right / gold, 4) if gold else 0.0,
        "precision": round(right / len(found), 4) if found else 0.0,
        "right_team": round(sum(1 for r, t in found if r.gold_team == t) / right, 4) if right else 0.0,
        "added": len(added),
        "added_false_alarms": sum(1 for r in added if r.gold_team is None),
    }


def choose(rows: list[dict], precision_slack: float) -> dict:
    """The lowest threshold whose precision stays within ``precision_slack`` of the rules alone."""
    rules_alone = next(r for r in rows if r["threshold"] >= 1.0)
    allowed = [r for r in rows if r["precision"] >= rules_alone["precision"] - precision_slack]
    return min(allowed, key=lambda r: r["threshold"])


def run(assistant: Assistant, library: Library, out_dir: Path, precision_slack: float) -> dict:
    readings = read_left_out(assistant, library)
    rows = [scores(readings, t) for t in THRESHOLDS]
    print(f"{len(readings)} examples, each read by a backstop trained without its writer")
    print(f"{'threshold':>9}{'recall':>8}{'prec':>7}{'team':>7}{'added':>7}{'false':>7}")
    for r in rows:
        print(
            f"{r['threshold']:9.2f}{r['recall']:8.3f}{r['precision']:7.3f}{r['right_team']:7.3f}"
            f"{r['added']:7d}{r['added_false_alarms']:7d}"
        )
    chosen = choose(rows, precision_slack)
    print(f"chosen: escalation_backstop_at {chosen['threshold']}")
    out = out_dir / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-backstop"
    out.mkdir(parents=True, exist_ok=True)
    (out / "choice.json").write_text(json.dumps({"rows": rows, "chosen": chosen}, indent=2), encoding="utf-8")
    print(f"wrote {out / 'choice.json'}")
    return chosen


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--precision-slack", type=float, default=0.01, help="precision the backstop may cost against the rules alone"
    )
