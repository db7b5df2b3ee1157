"""Feedback storage, roles, metrics and PII hygiene of the running service."""

import logging
import shutil
import sqlite3

import pytest
from fastapi.testclient import TestClient

from app.auth import ApiKey, hash_key
from app.main import create_app
from retrieval.types import MessageInput
from scripts_library.schema import NO_TEAM

KEYS = {"agent": "agent-secret", "trainer": "trainer-secret", "admin": "admin-secret"}
PHONE = "13912345678"
ORDER = "4200123456789012"


@pytest.fixture(scope="module")
def secured(base_settings, built_index, tmp_path_factory, encoder):
    root = tmp_path_factory.mktemp("svc")
    shutil.copytree(base_settings.index_dir, root / "index")
    keys = [ApiKey(name=f"{role}-key", role=role, sha256=hash_key(key)) for role, key in KEYS.items()]
    settings = base_settings.model_copy(
        update={"index_dir": root / "index", "data_dir": root / "data", "api_keys": keys}
    )
    with TestClient(create_app(settings, encoder)) as client:
        yield client, settings


def auth(role):
    return {"Authorization": f"Bearer {KEYS[role]}"}


def test_open_routes_need_no_key(secured):
    client, _ = secured
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert "huashu_index_info" in client.get("/metrics").text


def test_feedback_is_stored_redacted_idempotent_and_updates_priors(secured, caplog):
    client, settings = secured
    caplog.set_level(logging.INFO)
    message = f"我的手机号{PHONE}，订单{ORDER}的快递三天没动了"
    suggested = client.post("/v1/suggest", json={"message": message}, headers=auth("agent")).json()
    request_id, script_id = suggested["request_id"], suggested["suggestions"][0]["script_id"]
    body = {
        "request_id": request_id,
        "script_id": script_id,
        "action": "picked",
        "final_text": f"已为您催件，有问题打{PHONE}",
        "agent_id": "a-1",
    }
    first = client.post("/v1/feedback", json=body, headers=auth("agent"))
    again = client.post("/v1/feedback", json=body, headers=auth("agent"))
    assert first.status_code == 201 and first.json()["created"] is True
    assert again.status_code == 200 and again.json() == {"feedback_id": first.json()["feedback_id"], "created": False}
    priors = client.app.state.service.priors
    assert priors.rated(script_id) and priors.rate(script_id) > 0.5
    with sqlite3.connect(settings.data_dir / "huashu.sqlite") as db:
        stored = " ".join(str(v) for row in db.execute("SELECT * FROM suggestion_log") for v in row)
        stored += " ".join(str(v) for row in db.execute("SELECT * FROM feedback") for v in row)
        assert db.execute("SELECT count(*) FROM feedback").fetchone()[0] == 1
    assert PHONE not in stored and ORDER not in stored and "[电话]" in stored
    assert PHONE not in caplog.text and ORDER not in caplog.text
    metrics = client.get("/metrics").text
    assert 'huashu_feedback_total{action="picked"} 1.0' in metrics


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"request_id": "0" * 32, "script_id": "x.y", "action": "picked"}, 404, "unknown_request"),
        ({"request_id": "0" * 32, "action": "picked"}, 422, "invalid_request"),
        ({"request_id": "0" * 32, "script_id": "x.y", "action": "edited"}, 422, "invalid_request"),
        ({"request_id": "not-hex", "action": "none_fit"}, 422, "invalid_request"),
        ({"request_id": "0" * 32, "action": "loved"}, 422, "invalid_request"),
    ],
)
def test_bad_feedback_is_refused_clearly(secured, body, status, code):
    client, _ = secured
    response = client.post("/v1/feedback", json=body, headers=auth("agent"))
    assert response.status_code == status and response.json()["error"]["code"] == code


def test_an_agent_corrects_an_escalation_by_team_or_none(secured):
    client, _ = secured
    message = "专柜验过了 这就是假货 你们必须给个说法"
    suggested = client.post("/v1/suggest", json={"message": message}, headers=auth("agent")).json()
    assert suggested["escalation"]["team"] == "品控组"
    request_id = suggested["request_id"]

    def correct(escalation: object) -> dict:
        body = {"request_id": request_id, "escalation": escalation}
        response = client.post("/v1/corrections", json=body, headers=auth("agent"))
        return {"status": response.status_code, **response.json()}

    unknown = correct({"team": "法务部"})["error"]
    assert (unknown["code"], unknown["params"]) == ("unknown_team", {"team": "法务部"})
    assert correct({})["error"]["code"] == "invalid_request"  # null says "no team"; a missing team says nothing
    assert correct({"team": "售后主管"})["status"] == 201
    assert correct({"team": None})["status"] == 200  # the same agent again: updated
    (stored,) = [c for c in client.app.state.service.store.corrections() if c.request_id == request_id]
    assert (stored.predicted_escalation, stored.escalation) == ("品控组", NO_TEAM)
    assert stored.predicted_escalation_rule == suggested_rule(client, message)


def suggested_rule(client: TestClient, message: str) -> str:
    """The id of the rule that escalates ``message`` (what the suggestion log keeps)."""
    return client.app.state.service.assistant.classify(MessageInput(message)).escalation.rule_id


def test_security_headers_are_set(secured):
    client, _ = secured
    headers = client.get("/healthz").headers
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
