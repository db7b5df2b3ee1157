"""The HTTP contract: happy paths, clear 4xx errors, hot reload."""

import shutil

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from indexer.build import build_index
from tests.conftest import LIBRARY


def quick_build(settings, encoder):
    """A new version of the shipped library, reusing the served classifiers (seconds, not a full training)."""
    return build_index(LIBRARY, settings.index_dir, encoder, settings.cache_dir, quiet=True, retrain=False).manifest


@pytest.fixture(scope="module")
def api_settings(base_settings, built_index, tmp_path_factory):
    """The session's index copied, so reload tests can publish and corrupt versions freely."""
    root = tmp_path_factory.mktemp("api")
    shutil.copytree(base_settings.index_dir, root / "index")
    return base_settings.model_copy(update={"index_dir": root / "index", "data_dir": root / "data"})


@pytest.fixture(scope="module")
def client(api_settings, encoder):
    with TestClient(create_app(api_settings, encoder)) as test_client:
        yield test_client


def test_health_and_readiness(client, built_index):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["index_version"] == built_index.manifest.version and ready["item_count"] > 1000


def test_suggest_happy_path(client, built_index):
    response = client.post("/v1/suggest", json={"message": "我的快递三天没更新了", "top_k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["intent"]["id"] == "logistics_tracking"
    assert len(body["suggestions"]) == 3
    assert body["suggestions"][0]["intent"] == "logistics_tracking"
    assert body["index_version"] == built_index.manifest.version
    assert body["took_ms"] > 0 and body["request_id"] == response.headers["x-request-id"]
    first = body["suggestions"][0]
    assert first["text"] and "{{" not in first["text"] and first["reasons"]
    assert body["intents"][0]["id"] == body["intent"]["id"] and body["handoff_requested"] is False
    assert body["groups"][0]["intent"]["id"] == body["intent"]["id"]
    assert body["groups"][0]["suggestions"] == body["suggestions"]


def test_suggest_renders_context_and_lists_missing_variables(client):
    body = client.post("/v1/suggest", json={"message": "帮我改下收货地址", "top_k": 10}).json()
    assert body["intent"]["id"] == "order_change"
    assert all("None" not in s["text"] and "{{" not in s["text"] for s in body["suggestions"])


def test_classify_returns_intent_emotion_escalation(client):
    body = client.post("/v1/classify", json={"message": "你们卖假货！我要投诉到12315"}).json()
    assert body["escalation"]["required"] is True and body["escalation"]["team"]
    assert body["emotion"]["id"] == "angry"
    assert 0 <= body["emotion"]["intensity"] <= 1


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"message": ""},
        {"message": "   "},
        {"message": "x" * 2001},
        {"message": "你好", "top_k": 0},
        {"message": "你好", "top_k": 21},
        {"message": "你好", "platform": "amazon"},
        {"message": "你好", "history": [{"role": "robot", "text": "hi"}]},
        {"message": "你好", "unknown_field": 1},
        {"message": "你好", "context": {"courier": {"nested": "x"}}},
        {"message": 12},
    ],
)
def test_bad_input_is_a_clear_422(client, payload):
    response = client.post("/v1/suggest", json=payload)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["message"] and error["details"]


def test_oversized_and_malformed_bodies(client):
    response = client.post(
        "/v1/suggest", content=b'{"message": "' + b"a" * 200_000 + b'"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
    response = client.post(
        "/v1/suggest", content=b'{"message": "\xff\xfe"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"
    assert client.get("/v1/nowhere").json()["error"]["code"] == "not_found"


def test_reload_swaps_in_a_new_version_and_refuses_a_corrupt_one(client, api_settings, encoder):
    before = client.get("/readyz").json()["index_version"]
    manifest = quick_build(api_settings, encoder)
    body = client.post("/v1/admin/reload").json()
    assert body == {"previous_version": before, "index_version": manifest.version, "changed": True}
    newest = quick_build(api_settings, encoder)
    (api_settings.index_dir / "versions" / newest.version / "entries.json").write_text("{}")
    response = client.post("/v1/admin/reload")
    assert response.status_code == 409 and response.json()["error"]["code"] == "artifact_rejected"
    assert client.get("/readyz").json()["index_version"] == manifest.version
    assert client.post("/v1/suggest", json={"message": "发票怎么开"}).status_code == 200


def test_polling_hot_swaps_newly_published_versions(served, encoder):
    import time

    from app.observability import Metrics
    from app.service import Service

    settings = served.model_copy(update={"index_poll_seconds": 0.2})
    service = Service.start(settings, Metrics(), encoder)
    try:
        manifest = quick_build(settings, encoder)
        deadline = time.monotonic() + 10
        while service.assistant.index.version != manifest.version and time.monotonic() < deadline:
            time.sleep(0.1)
        assert service.assistant.index.version == manifest.version
    finally:
        service.stop()


def test_without_api_keys_the_service_only_binds_loopback(base_settings):
    from app.__main__ import bind_host

    assert bind_host(base_settings.model_copy(update={"host": "0.0.0.0"})) == "127.0.0.1"
    assert bind_host(base_settings.model_copy(update={"host": "127.0.0.1"})) == "127.0.0.1"
