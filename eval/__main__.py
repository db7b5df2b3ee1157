"""Evaluation commands: ``python -m eval classify --data FILE`` and ``python -m eval sts``."""

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
    from retrieval.encoder import load_encoder

    settings = Settings()
    published = PUBLISHED_STS
    print(f"cosine Spearman ×100 (first {args.limit or 'all'} pairs); published C-MTEB figures beside\n")
    header = f"{'set':8}" + "".join(f"{b:>12}" for b in args.backends) + "".join(f"{m[:12]:>14}" for m in published)
    print(header)
    encoders = {
        b: load_encoder(settings.model_dir, b, settings.query_prefix, settings.max_seq_length) for b in args.backends
    }
    for name in STS_FILES:
        ours = "".join(f"{sts_spearman(encoders[b], name, args.limit):12.2f}" for b in args.backends)
        theirs = "".join(f"{published[m][name]:14.2f}" for m in published)
        print(f"{name:8}{ours}{theirs}")
    return 0


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
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
