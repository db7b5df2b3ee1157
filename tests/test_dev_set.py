"""The labelled dev set stays valid and independent of the training examples."""

import json
from pathlib import Path

import pytest
from rapidfuzz import fuzz, process

from scripts_library.loader import load_library
from scripts_library.text import compact
from scripts_library.vocabulary import EMOTIONS
from tests.conftest import LIBRARY

DATA = Path(__file__).parents[1] / "eval" / "data"
NEAR_DUPLICATE = 90


@pytest.fixture(scope="module")
def dev():
    return [json.loads(line) for line in (DATA / "dev_messages.jsonl").read_text("utf-8").splitlines() if line]


def test_dev_set_is_large_and_labelled_with_known_ids(dev):
    library = load_library(LIBRARY)
    assert len(dev) >= 600 and len({r["id"] for r in dev}) == len(dev)
    assert {r["intent"] for r in dev} == set(library.intent_ids)
    assert {r["emotion"] for r in dev} <= set(EMOTIONS)
    assert all(isinstance(r["escalate"], bool) and (r["escalation_team"] is not None) == r["escalate"] for r in dev)


def test_no_dev_message_is_a_near_duplicate_of_a_training_example(dev):
    library = load_library(LIBRARY)
    training = [e for i in library.intents for e in i.examples] + [e for s in library.scripts for e in s.examples]
    training += [q for f in library.faqs for q in f.questions] + [e for m in library.emotions for e in m.examples]
    compacted = list({compact(t) for t in training if compact(t)})
    leaks = [
        (r["id"], r["message"], match[0])
        for r in dev
        if compact(r["message"])
        and (
            match := process.extractOne(
                compact(r["message"]), compacted, scorer=fuzz.ratio, score_cutoff=NEAR_DUPLICATE
            )
        )
    ]
    assert leaks == [], f"dev messages that copy training examples (reword one side): {leaks[:10]}"


def test_gold_replies_exist_in_the_library(dev):
    library = load_library(LIBRARY)
    ids = {s.id for s in library.scripts} | {f.id for f in library.faqs}
    dev_ids = {r["id"] for r in dev}
    gold = [json.loads(line) for line in (DATA / "dev_gold.jsonl").read_text("utf-8").splitlines() if line]
    assert len(gold) >= 500
    assert all(g["id"] in dev_ids and g["gold"] and set(g["gold"]) <= ids for g in gold)
