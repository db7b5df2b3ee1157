"""Run evaluation configs into ``eval/runs/<timestamp>-<name>/`` and compare runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from jinja2 import Environment, FileSystemLoader, select_autoescape
from ruamel.yaml import YAML

from eval.suites import SUITES, SuiteResult
from retrieval.pipeline import Assistant

RUNS_DIR = Path(__file__).parent / "runs"
TEMPLATES = Path(__file__).parent / "templates"
# Per-item scores that compare bootstraps over: suite → (metric name, item → score).
PAIRED = {
    "classification": {
        "intent_accuracy": lambda r: float(r["intent"] == r["gold_intent"]),
        "emotion_accuracy": lambda r: float(r["emotion"] == r["gold_emotion"]),
    },
    "suggestion": {"hit@3": lambda r: float(r["rank"] is not None and r["rank"] <= 3)},
}


class ConfigError(ValueError):
    """The evaluation config is malformed; the message names the problem."""


def suite_kinds(config: dict) -> dict[str, str]:
    """Run name → suite kind: a run's `suite:` option, else its name (``classification: {...}``)."""
    return {name: (options or {}).get("suite", name) for name, options in config["suites"].items()}


def load_config(path: Path) -> dict:
    config = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    if not config.get("name") or not config.get("suites"):
        raise ConfigError(f"{path}: needs `name` and `suites`")
    unknown = {name: kind for name, kind in suite_kinds(config).items() if kind not in SUITES}
    if unknown:
        raise ConfigError(f"{path}: unknown suites {unknown}; known: {sorted(SUITES)}")
    return config


def lookup(metrics: dict, dotted: str) -> float:
    node: object = metrics
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return float(node)


def check_gate(metrics: dict, gate: dict) -> list[str]:
    """Messages for every gate threshold the metrics miss (empty when the gate passes)."""
    failures = []
    for dotted, bounds in gate.items():
        value = lookup(metrics, dotted)
        if "min" in bounds and value < bounds["min"]:
            failures.append(f"{dotted} = {value:.4f} is below the floor {bounds['min']}")
        if "max" in bounds and value > bounds["max"]:
            failures.append(f"{dotted} = {value:.4f} is above the ceiling {bounds['max']}")
    return failures


@dataclass
class Run:
    path: Path
    metrics: dict
    failures: list[str]


def run(config_path: Path, assistant: Assistant, runs_dir: Path = RUNS_DIR, quiet: bool = False) -> Run:
    config = load_config(config_path)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = runs_dir / f"{stamp}-{config['name']}"
    out.mkdir(parents=True, exist_ok=True)
    kinds = suite_kinds(config)
    results: dict[str, SuiteResult] = {}
    for name, options in config["suites"].items():
        options = {k: v for k, v in (options or {}).items() if k != "suite"}
        results[name] = SUITES[kinds[name]](assistant, **options, quiet=quiet)
    metrics = {name: r.metrics for name, r in results.items()}
    metrics["_run"] = {
        "config": config["name"],
        "index_version": assistant.index.version,
        "model_id": assistant.encoder.model_id,
        "at": stamp,
        "kinds": kinds,
    }
    failures = check_gate(metrics, config.get("gate", {}))
    (out / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
    with (out / "predictions.jsonl").open("w", encoding="utf-8") as fh:
        for name, r in results.items():
            for row in r.predictions:
                fh.write(json.dumps({"suite": name, **row}, ensure_ascii=False) + "\n")
    render_report(out / "report.html", config["name"], metrics, results, failures)
    return Run(out, metrics, failures)


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def render_report(path: Path, name: str, metrics: dict, results: dict[str, SuiteResult], failures: list[str]) -> None:
    html = (
        _environment()
        .get_template("report.html")
        .render(
            name=name,
            metrics=metrics,
            results=results,
            failures=failures,
            run=metrics["_run"],
            kinds=metrics["_run"]["kinds"],
        )
    )
    path.write_text(html, encoding="utf-8")


def _flatten(metrics: dict, prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        if key.startswith("_") or key in ("published", "confusion", "labels"):
            continue
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= _flatten(value, dotted + ".")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[dotted] = float(value)
    return flat


def _predictions(run_dir: Path) -> dict[str, dict[str, dict]]:
    by_suite: dict[str, dict[str, dict]] = {}
    with (run_dir / "predictions.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            by_suite.setdefault(row["suite"], {})[row["id"]] = row
    return by_suite


def bootstrap_delta(a: np.ndarray, b: np.ndarray, samples: int = 2000, seed: int = 7) -> tuple[float, float, float]:
    """Mean of b − a over paired items with a 95% bootstrap confidence interval."""
    rng = np.random.default_rng(seed)
    diff = b - a
    means = diff[rng.integers(0, len(diff), (samples, len(diff)))].mean(axis=1)
    return float(diff.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def compare(run_a: Path, run_b: Path) -> dict:
    """Deltas of every metric, with bootstrap CIs (and regression flags) where items are paired."""
    a = json.loads((run_a / "metrics.json").read_text(encoding="utf-8"))
    b = json.loads((run_b / "metrics.json").read_text(encoding="utf-8"))
    flat_a, flat_b = _flatten(a), _flatten(b)
    deltas = {
        k: {"a": flat_a[k], "b": flat_b[k], "delta": flat_b[k] - flat_a[k]} for k in flat_a.keys() & flat_b.keys()
    }
    paired = []
    preds_a, preds_b = _predictions(run_a), _predictions(run_b)
    kinds = b["_run"].get("kinds", {})
    for suite in sorted(preds_a.keys() & preds_b.keys()):
        scorers = PAIRED.get(kinds.get(suite, suite), {})
        common = sorted(preds_a[suite].keys() & preds_b[suite].keys())
        for metric, score in scorers.items():
            if not common:
                continue
            xa = np.array([score(preds_a[suite][i]) for i in common])
            xb = np.array([score(preds_b[suite][i]) for i in common])
            mean, low, high = bootstrap_delta(xa, xb)
            paired.append(
                {
                    "metric": f"{suite}.{metric}",
                    "n": len(common),
                    "delta": mean,
                    "ci95": [low, high],
                    "regression": high < 0,
                    "improvement": low > 0,
                }
            )
    return {"a": str(run_a), "b": str(run_b), "deltas": dict(sorted(deltas.items())), "paired": paired}


def render_comparison(path: Path, comparison: dict) -> None:
    path.write_text(_environment().get_template("compare.html").render(c=comparison), encoding="utf-8")
