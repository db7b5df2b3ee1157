"""The CI gate of the evaluation and the report it renders."""

from html.parser import HTMLParser
from pathlib import Path

from eval.runner import check_gate, compare, load_config, run

CI_CONFIG = Path(__file__).parents[1] / "eval" / "configs" / "ci.yaml"


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs).get("src", ""))


def test_ci_gate_passes_and_report_embeds_its_plots(assistant, tmp_path):
    result = run(CI_CONFIG, assistant, runs_dir=tmp_path, quiet=True)
    assert result.failures == []
    report = (result.path / "report.html").read_text(encoding="utf-8")
    parser = _Images()
    parser.feed(report)
    assert len(parser.images) == 4 and all(src.startswith("data:image/png;base64,") for src in parser.images)
    assert (result.path / "metrics.json").is_file() and (result.path / "predictions.jsonl").stat().st_size > 0
    comparison = compare(result.path, result.path)
    assert comparison["paired"] and not any(p["regression"] for p in comparison["paired"])


def test_gate_fails_below_a_floor():
    gate = load_config(CI_CONFIG)["gate"]
    metrics = {
        "classification": {
            "intent": {"macro_f1": 0.5},
            "escalation": {"recall": 1.0},
            "emotion": {"per_class": {"angry": {"recall": 1.0}}},
        },
        "suggestion": {"hit@3": 0.9, "compliance_violations": 2},
    }
    failures = check_gate(metrics, gate)
    assert len(failures) == 2 and "macro_f1" in failures[0] and "compliance_violations" in failures[1]
