"""Evaluation commands: ``python -m eval classify|sts|feedback-report|run|compare|tune|backstop|reliability``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.settings import Settings
from eval.classification import Labelled, classification_metrics, predict_all, worst_errors
from eval.data_sources import PUBLISHED_STS, STS_FILES, read_jsonl


def _table(metrics: dict, key: str) -> str:
    block = metrics[key]
    lines = [f"{'class':22}{'prec':>7}{'recall':>8}{'f1':>7}{'n':>6}"]
    for label, m in block["per_class"].items():
        lines.append(f"{label:22}{m['precision']:7.3f}{m['recall']:8.3f}{m['f1']:7.3f}{m['support']:6d}")
    return "\n".join(lines)


def _confusion(metrics: dict, key: str) -> str:
    labels = metrics[key]["labels"]
    short = [label[:5] for label in labels]
    lines = [" " * 22 + "".join(f"{s:>6}" for s in short)]
    for label, row in zip(labels, metrics[key]["confusion"], strict=True):
        lines.append(f"{label:22}" + "".join(f"{v:6d}" for v in row))
    return "\n".join(lines)


def cmd_classify(args: argparse.Namespace) -> int:
    from retrieval.pipeline import load_assistant

    assistant = load_assistant(Settings())
    items = [Labelled.from_row(r) for r in read_jsonl(args.data)]
    predictions = predict_all(assistant, items)
    m = classification_metrics(predictions)
    print(f"{args.data}: {m['n']} messages, index {assistant.index.version}\n")
    print(
        f"intent    accuracy {m['intent']['accuracy']:.3f}  macro-F1 {m['intent']['macro_f1']:.3f}  "
        f"ECE {m['intent']['ece']:.3f}"
    )
    angry = m["emotion"]["per_class"]["angry"]["recall"]
    print(
        f"emotion   accuracy {m['emotion']['accuracy']:.3f}  macro-F1 {m['emotion']['macro_f1']:.3f}  "
        f"angry recall {angry:.3f}"
    )
    print(
        f"escalate  recall {m['escalation']['recall']:.3f}  precision {m['escalation']['precision']:.3f}  "
        f"(n={m['escalation']['support']})"
    )
    print(f"classify latency p50 {m['latency_ms']['p50']:.2f} ms  p99 {m['latency_ms']['p99']:.2f} ms\n")
    if args.verbose:
        print(_table(m, "intent"), "\n")
        print(_table(m, "emotion"), "\n")
        print("intent confusion (rows gold, columns predicted)")
        print(_confusion(m, "intent"), "\n")
        print("emotion confusion")
        print(_confusion(m, "emotion"), "\n")
        print("20 worst intent errors (most confident first)")
        for p in worst_errors(predictions):
            print(f"  {p.item.intent:20} → {p.result.intent.id:20} {p.result.intent.confidence:.2f}  {p.item.message}")
    return 0


def cmd_sts(args: argparse.Namespace) -> int:
    from eval.sts import sts_spearman
    from retrieval.encoder import configured_encoder

    settings = Settings()
    published = PUBLISHED_STS
    print(f"cosine Spearman ×100 (first {args.limit or 'all'} pairs); published C-MTEB figures beside\n")
    header = f"{'set':8}" + "".join(f"{b:>12}" for b in args.backends) + "".join(f"{m[:12]:>14}" for m in published)
    print(header)
    encoders = {b: configured_encoder(settings, b) for b in args.backends}
    for name in STS_FILES:
        ours = "".join(f"{sts_spearman(encoders[b], name, args.limit):12.2f}" for b in args.backends)
        theirs = "".join(f"{published[m][name]:14.2f}" for m in published)
        print(f"{name:8}{ours}{theirs}")
    return 0


def cmd_feedback_report(args: argparse.Namespace) -> int:
    from app.reports import most_edited, scripts_to_write
    from app.store import Store
    from scripts_library.loader import load_library

    settings = Settings()
    store = Store(args.database or settings.effective_database_url)
    store.create_schema()
    edited = store.edited_texts(limit=args.limit)
    none_fit = store.none_fit_messages(limit=args.limit)
    store.close()
    print(f"== most-edited scripts ({len(edited)} recent edits; texts are PII-redacted)")
    for script in most_edited(edited, load_library(settings.library_dir), limit=20):
        print(f"{script.edits:4d}  {script.script_id}  now: {script.template}")
        for text in script.texts[:3]:
            print(f"        → {text}")
    print(f"\n== messages where no suggestion fitted ({len(none_fit)}), by intent: scripts to write")
    for group in scripts_to_write(none_fit, limit_per_intent=3):
        print(f"{group.count:4d}  {group.intent:22} e.g. {' | '.join(group.messages)}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from eval.runner import run
    from retrieval.pipeline import load_assistant

    result = run(args.config, load_assistant(Settings()), quiet=args.quiet)
    print(f"wrote {result.path}/metrics.json, predictions.jsonl, report.html")
    for suite, metrics in result.metrics.items():
        if not suite.startswith("_"):
            print(f"{suite}: {_headline(metrics)}")
    for failure in result.failures:
        print(f"GATE FAILED: {failure}", file=sys.stderr)
    return 1 if result.failures else 0


def _headline(metrics: dict) -> str:
    keys = ("hit@3", "compliance_violations", "macro_f1", "spearman", "hybrid", "suggest_ms")
    if "intent" in metrics:
        i, e, x = metrics["intent"], metrics["emotion"], metrics["escalation"]
        subsets = "".join(
            f", {name} {i[name]['accuracy']:.3f}" for name in ("clear_turns", "turns_needing_history") if name in i
        )
        return (
            f"n {metrics['n']}; intent acc {i['accuracy']:.3f} (macro-F1 {i['macro_f1']:.3f}{subsets}); "
            f"emotion macro-F1 {e['macro_f1']:.3f}, angry R {e['per_class']['angry']['recall']:.3f} "
            f"P {e['angry_precision']:.3f}, neutral→angry {e['neutral_as_angry']:.3f}; "
            f"escalation R {x['recall']:.3f} P {x['precision']:.3f} team {x['right_team']:.3f} "
            f"share {x['escalated_share']:.3f}"
        )
    return ", ".join(f"{k} {metrics[k]}" for k in keys if k in metrics)


def cmd_compare(args: argparse.Namespace) -> int:
    from eval.runner import compare, render_comparison

    comparison = compare(args.run_a, args.run_b)
    for p in comparison["paired"]:
        verdict = "REGRESSION" if p["regression"] else "improvement" if p["improvement"] else "within noise"
        print(f"{p['metric']:32} {p['delta']:+.4f}  95% CI [{p['ci95'][0]:+.4f}, {p['ci95'][1]:+.4f}]  {verdict}")
    for key, d in comparison["deltas"].items():
        if abs(d["delta"]) > 1e-9:
            print(f"  {key:48} {d['a']:10.4f} → {d['b']:10.4f}  ({d['delta']:+.4f})")
    out = args.run_b / f"compare-{args.run_a.name}.html"
    render_comparison(out, comparison)
    print(f"wrote {out}")
    return 1 if any(p["regression"] for p in comparison["paired"]) else 0


def cmd_tune(args: argparse.Namespace) -> int:
    from eval.runner import RUNS_DIR
    from eval.tune import run
    from retrieval.pipeline import load_assistant

    run(load_assistant(Settings()), args.emotion_data, args.intent_data, RUNS_DIR)
    return 0


def cmd_backstop(args: argparse.Namespace) -> int:
    from eval.backstop import run
    from eval.runner import RUNS_DIR
    from retrieval.pipeline import load_assistant
    from scripts_library.loader import load_library

    settings = Settings()
    run(load_assistant(settings), load_library(settings.library_dir), RUNS_DIR, args.precision_slack)
    return 0


def cmd_reliability(args: argparse.Namespace) -> int:
    from eval.reliability import run

    return run(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval", description="offline evaluation")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("classify", help="intent/emotion/escalation metrics on a labelled JSONL file")
    p.add_argument("--data", type=Path, default=Path("eval/data/dev_messages.jsonl"))
    p.add_argument("-v", "--verbose", action="store_true", help="per-class tables, confusion, worst errors")
    p.set_defaults(func=cmd_classify)
    p = sub.add_parser("sts", help="Spearman on Chinese STS sets vs published figures")
    p.add_argument("--limit", type=int, default=3000, help="pairs per set (0 = all)")
    p.add_argument("--backends", nargs="+", default=["onnx-int8"], choices=["onnx-int8", "onnx", "torch"])
    p.set_defaults(func=cmd_sts)
    p = sub.add_parser("feedback-report", help="most-edited scripts and none_fit messages, for trainers")
    p.add_argument("--database", default=None, help="SQLAlchemy URL (default: the service's database)")
    p.add_argument("--limit", type=int, default=1000)
    p.set_defaults(func=cmd_feedback_report)
    p = sub.add_parser("run", help="run an evaluation config into eval/runs/<timestamp>-<name>/")
    p.add_argument("--config", type=Path, default=Path("eval/configs/default.yaml"))
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("compare", help="deltas between two runs with bootstrap CIs; exit 1 on a regression")
    p.add_argument("run_a", type=Path)
    p.add_argument("run_b", type=Path)
    p.set_defaults(func=cmd_compare)
    p = sub.add_parser("tune", help="choose classifier thresholds on the tuning split and the boundary set")
    from eval.tune import add_arguments as tune_arguments

    tune_arguments(p)
    p.set_defaults(func=cmd_tune)
    p = sub.add_parser("backstop", help="choose the learned escalation backstop's threshold, each writer left out")
    from eval.backstop import add_arguments as backstop_arguments

    backstop_arguments(p)
    p.set_defaults(func=cmd_backstop)
    p = sub.add_parser("reliability", help="fuzz, load/soak, crash and indexer-kill checks against real servers")
    from eval.reliability import add_arguments

    add_arguments(p)
    p.set_defaults(func=cmd_reliability)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
