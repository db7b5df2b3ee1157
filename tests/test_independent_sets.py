"""The independent labelled sets (tuning split, boundary set, both blind samples) stay valid; pooling is safe."""

import json
from pathlib import Path

import pytest

from eval.suites import read_labelled
from scripts_library.loader import load_library
from scripts_library.vocabulary import EMOTIONS
from tests.conftest import LIBRARY

DATA = Path(__file__).parents[1] / "eval" / "data"
TEAMS = {"风控组", "客服主管", "品控组", "售后主管", "品牌服务"}
INDEPENDENT_SETS = {
    "tune": (DATA / "tune/messages.jsonl", 900),
    "boundaries": (DATA / "boundaries/messages.jsonl", 2300),
    "blind": (DATA / "blind/messages.jsonl", 500),
    "blind2": (DATA / "blind2/messages.jsonl", 600),
}


@pytest.mark.parametrize("name", sorted(INDEPENDENT_SETS))
def test_independent_set_is_large_and_labelled_with_known_ids(name):
    path, size = INDEPENDENT_SETS[name]
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    intents = set(load_library(LIBRARY).intent_ids)
    assert len(rows) >= size and len({r["id"] for r in rows}) == len(rows)
    assert {r["intent"] for r in rows} <= intents and {r["emotion"] for r in rows} <= set(EMOTIONS)
    assert all(set(r.get("intents") or []) <= intents for r in rows)
    assert all((r["escalation_team"] in TEAMS) if r["escalate"] is True else r["escalation_team"] is None for r in rows)


def test_blind_samples_pool_into_one_set():
    paths = [str(INDEPENDENT_SETS["blind"][0]), str(INDEPENDENT_SETS["blind2"][0])]
    pooled = read_labelled(paths)
    assert len(pooled) == sum(len(read_labelled(p)) for p in paths)


def test_pooling_a_set_with_itself_is_refused():
    path = str(INDEPENDENT_SETS["blind"][0])
    with pytest.raises(ValueError, match="share message ids"):
        read_labelled([path, path])
