"""Readers for the public Chinese data sets in ../shared/data and our own labelled JSONL files."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]  # evaluation runs from a checkout: its data is beside the code
SHARED_DATA = Path(os.environ.get("HUASHU_SHARED_DATA", REPOSITORY.parent / "shared" / "data"))

# Published C-MTEB cosine Spearman ×100 for the same splits (embeddings-benchmark results).
PUBLISHED_STS = {
    "multilingual-e5-small": {"LCQMC": 72.70, "AFQMC": 25.21, "BQ": 43.27, "STSB": 77.93},
    "paraphrase-multilingual-MiniLM-L12-v2": {"LCQMC": 63.96, "AFQMC": 14.30, "BQ": 38.53, "STSB": 78.91},
    "bge-small-zh-v1.5": {"LCQMC": 72.19, "AFQMC": 33.42, "BQ": 55.22, "STSB": 76.73},
    "text2vec-base-chinese": {"LCQMC": 70.16, "AFQMC": 26.06, "BQ": 42.67, "STSB": 79.30},
}
STS_FILES = {"LCQMC": "lcqmc_test.tsv", "AFQMC": "afqmc_dev.tsv", "BQ": "bq_dev.csv", "STSB": "stsb_test.tsv"}


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    score: float


def read_pairs(name: str, limit: int | None = None, data_dir: Path = SHARED_DATA) -> list[Pair]:
    """Sentence pairs of an STS / question-matching set, first ``limit`` rows (file order)."""
    path = data_dir / STS_FILES[name]
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the public data lives in ../shared/data beside the repo")
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = [(r["sentence1"], r["sentence2"], r["label"]) for r in csv.DictReader(fh)]
    else:
        with path.open(encoding="utf-8") as fh:
            rows = [tuple(line.rstrip("\n").split("\t")[:3]) for line in fh if line.strip()]
    pairs = [Pair(a, b, float(s)) for a, b, s in rows]
    return pairs[:limit] if limit else pairs


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


ECD_FILE = "ecd_sample_test.tsv"
ECD_CANDIDATES = 10  # rows per context: ten candidate replies share one conversation


def ecd_contexts(data_dir: Path = SHARED_DATA) -> list[list[str]]:
    """The conversations of the real Taobao chat sample: turns with word-segmentation spaces removed."""
    path = data_dir / ECD_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the public data lives in ../shared/data beside the repo")
    with path.open(encoding="utf-8") as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh if line.strip()]
    return [[turn.replace(" ", "") for turn in row[1:-1]] for row in rows[::ECD_CANDIDATES]]


def read_ecd_labelled(labels: Path, data_dir: Path = SHARED_DATA) -> list[dict]:
    """Our labels of every customer turn of the ECD sample, joined with the turn and its history.

    The text is read from ../shared/data at run time (it is not ours to copy); each label carries the
    SHA-1 prefix of its turn, so a changed data file is refused instead of silently mislabelled.
    """
    contexts = ecd_contexts(data_dir)
    rows = []
    for label in read_jsonl(labels):
        turns = contexts[label["context"]]
        text = turns[label["turn"]]
        if hashlib.sha1(text.encode()).hexdigest()[:8] != label["sha"]:
            raise ValueError(f"{label['id']}: the turn in {ECD_FILE} is not the one labelled (sha mismatch)")
        history = [
            {"role": "customer" if i % 2 == 0 else "agent", "text": t} for i, t in enumerate(turns[: label["turn"]])
        ]
        rows.append(label | {"message": text, "history": history})
    return rows
