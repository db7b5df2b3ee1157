"""The CI gate of the evaluation and the report it renders."""

from html.parser import HTMLParser
from pathlib import Path

from eval.runner import check_gate, compare, load_config, run
from retrieval.artifact import ArtifactContents, load_artifact, new_version_name, publish
from retrieval.pipeline import load_assistant

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
    assert len(parser.images) == 12  # 4 plots for each classified set: dev and both blind samples
    assert all(src.startswith("data:image/png;base64,") for src in parser.images)
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
        "blind": {
            "intent": {"accuracy": 0.9},
            "emotion": {"macro_f1": 0.8, "per_class": {"angry": {"recall": 0.95}}, "angry_precision": 0.9},
            "escalation": {"recall": 0.9, "precision": 0.9},
        },
    }
    metrics["blind2"] = {
        "intent": {"accuracy": 0.95},
        "emotion": {"macro_f1": 0.86, "per_class": {"angry": {"recall": 0.95}}, "angry_precision": 0.86},
        "escalation": {"recall": 0.9, "precision": 0.95},
    }
    metrics["blind2"]["emotion"]["neutral_as_angry"] = 0.01  # within its ceiling: only the first set fails
    metrics["blind"]["emotion"]["neutral_as_angry"] = 0.2
    failures = check_gate(metrics, gate)
    assert [f.split(" = ")[0] for f in failures] == [
        "classification.intent.macro_f1",
        "suggestion.compliance_violations",
        "blind.emotion.neutral_as_angry",
    ]


def test_a_non_compliant_script_in_the_index_fails_the_gate(served, encoder, tmp_path):
    """Planted past the indexer's lint filter (as a bug there would): the independent check must see it."""
    loaded = load_artifact(served.index_dir, encoder.fingerprint, encoder.dimension)
    first = loaded.entries["scripts"][0]
    planted = first | {"id": f"{first['intents'][0]}.planted", "template": "这个不可能更快了，请您耐心等待。"}
    entries = loaded.entries | {"scripts": [*loaded.entries["scripts"], planted]}
    manifest = loaded.manifest.model_dump(exclude={"files", "format_version"})
    manifest["version"] = new_version_name("planted0")
    publish(served.index_dir, ArtifactContents(loaded.index, loaded.rows, entries, loaded.classifiers, manifest))
    result = run(CI_CONFIG, load_assistant(served, encoder), runs_dir=tmp_path, quiet=True)
    assert result.metrics["suggestion"]["served_entries_with_lint_errors"] == [planted["id"]]
    assert result.metrics["suggestion"]["compliance_violations"] >= 1
    assert any(f.startswith("suggestion.compliance_violations") for f in result.failures)
