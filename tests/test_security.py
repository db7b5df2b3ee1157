"""Keys, roles, rate limits and PII hygiene (issue 7, security).

tests/test_service.py covers classify/suggest/reload for three roles and redaction of one phone and
order id in-process; here every /v1 route meets every role and both header styles, keys are shown to
be hash-only and compared against every configured key, the per-key rate limit answers 429 with
Retry-After, and a real server's complete log output is grepped for the PII it was sent.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app import auth
from app.auth import ApiKey, hash_key
from app.main import create_app
from app.ratelimit import RateLimiter
from eval.server import Server

ROLES = ("agent", "trainer", "approver", "admin")
KEYS = {role: f"{role}-key-9f8e7d" for role in ROLES}
RANK = {role: rank for rank, role in enumerate(ROLES)}
# Every /v1 route and the least role it admits; a new route fails test_every_v1_route_is_in_the_matrix.
V1_ROUTES = {
    ("POST", "/v1/classify"): "agent",
    ("POST", "/v1/suggest"): "agent",
    ("POST", "/v1/feedback"): "agent",
    ("POST", "/v1/corrections"): "agent",
    ("POST", "/v1/admin/reload"): "trainer",
}
OPEN_ROUTES = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}
PHONE, ORDER, EMAIL, ID_NUMBER = "13987654321", "5200987654321098", "li.wei@example.com", "11010519880605371X"
PII = (PHONE, ORDER, EMAIL, ID_NUMBER)
JSON_TYPE = {"content-type": "application/json"}


def configured_keys() -> list[ApiKey]:
    return [ApiKey(name=f"{role}-console", role=role, sha256=hash_key(key)) for role, key in KEYS.items()]


@pytest.fixture(scope="module")
def secured(base_settings, built_index, tmp_path_factory, encoder) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("security")
    shutil.copytree(base_settings.index_dir, root / "index")
    settings = base_settings.model_copy(
        update={"index_dir": root / "index", "data_dir": root / "data", "api_keys": configured_keys()}
    )
    with TestClient(create_app(settings, encoder)) as client:
        yield client


def headers_for(role: str | None, style: str) -> dict[str, str]:
    key = {None: None, "unknown": "not-a-configured-key"}.get(role, KEYS.get(role or ""))
    if key is None:
        return {}
    return {"Authorization": f"Bearer {key}"} if style == "bearer" else {"X-API-Key": key}


def body_for(client: TestClient, path: str) -> dict | None:
    if path in ("/v1/feedback", "/v1/corrections"):
        issued = client.post("/v1/suggest", json={"message": "发票怎么开"}, headers=headers_for("agent", "bearer"))
        request_id = issued.json()["request_id"]
        return (
            {"request_id": request_id, "action": "none_fit"}
            if path == "/v1/feedback"
            else {
                "request_id": request_id,
                "intent": "invoice",
            }
        )
    return None if path == "/v1/admin/reload" else {"message": "发票怎么开"}


def api_routes(routes: list) -> Iterator[APIRoute]:
    """Every APIRoute, including those of included routers (which FastAPI nests rather than flattens)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def test_every_v1_route_is_in_the_matrix(secured):
    routes = {(method, r.path) for r in api_routes(secured.app.routes) for method in r.methods}
    assert {route for route in routes if route[1].startswith("/v1/")} == set(V1_ROUTES)
    assert routes >= OPEN_ROUTES


@pytest.mark.parametrize("style", ["bearer", "x-api-key"])
@pytest.mark.parametrize("role", [None, "unknown", *ROLES])
@pytest.mark.parametrize(("method", "path"), sorted(V1_ROUTES))
def test_role_by_route_matrix(secured, method, path, role, style):
    response = secured.request(method, path, json=body_for(secured, path), headers=headers_for(role, style))
    error = response.json().get("error", {})
    if role in (None, "unknown"):
        assert response.status_code == 401 and error["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    elif RANK[role] < RANK[V1_ROUTES[(method, path)]]:
        assert response.status_code == 403 and error["code"] == "forbidden"
        assert V1_ROUTES[(method, path)] in error["message"]
    else:
        assert response.status_code in (200, 201), response.text


@pytest.mark.parametrize(("method", "path"), sorted(OPEN_ROUTES))
def test_open_routes_answer_without_a_key_and_leak_nothing_with_a_bad_one(secured, method, path):
    assert secured.request(method, path).status_code == 200
    assert secured.request(method, path, headers={"Authorization": "Bearer wrong"}).status_code == 200


def test_keys_can_only_be_configured_as_sha256_hashes():
    with pytest.raises(ValidationError):
        ApiKey(name="console", role="agent", sha256=KEYS["agent"])
    assert ApiKey(name="console", role="agent", sha256=hash_key(KEYS["agent"])).sha256 != KEYS["agent"]


@pytest.mark.parametrize("presented", [KEYS["agent"], KEYS["admin"], "not-a-key"])
def test_every_configured_key_is_compared_in_constant_time(secured, monkeypatch, presented):
    """The digest is compared with hmac.compare_digest against every key, so timing cannot tell which matched."""
    calls: list[tuple[str, str]] = []
    real = auth.hmac.compare_digest

    def counting(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", counting)
    secured.post("/v1/classify", json={"message": "在吗"}, headers={"Authorization": f"Bearer {presented}"})
    assert len(calls) == len(ROLES)
    assert all(a == hash_key(presented) for a, _ in calls)


def test_token_bucket_refills_over_time():
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    assert [limiter.seconds_until_allowed("k") for _ in range(2)] == [0.0, 0.0]
    assert limiter.seconds_until_allowed("k") == pytest.approx(1.0)
    assert limiter.seconds_until_allowed("other") == 0.0
    now[0] = 0.5
    assert limiter.seconds_until_allowed("k") == pytest.approx(0.5)
    now[0] = 1.0
    assert limiter.seconds_until_allowed("k") == 0.0
    now[0] = 1000.0  # a long pause refills to the burst, not beyond
    assert [limiter.seconds_until_allowed("k") for _ in range(3)][-1] > 0
    assert RateLimiter(per_minute=0, burst=1).seconds_until_allowed("k") == 0.0


def test_rate_limit_is_per_key_with_429_and_retry_after(base_settings, built_index, tmp_path, encoder):
    settings = base_settings.model_copy(
        update={
            "data_dir": tmp_path / "data",
            "api_keys": configured_keys(),
            "rate_limit_per_minute": 6,
            "rate_limit_burst": 3,
        }
    )
    with TestClient(create_app(settings, encoder)) as client:
        agent = headers_for("agent", "bearer")
        statuses = [client.post("/v1/classify", json={"message": "在吗"}, headers=agent).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.post("/v1/suggest", json={"message": "在吗"}, headers=agent)
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 10
        assert limited.headers["x-content-type-options"] == "nosniff"
        other_key = headers_for("trainer", "bearer")
        assert client.post("/v1/classify", json={"message": "在吗"}, headers=other_key).status_code == 200
        assert client.get("/healthz").status_code == 200


def test_security_headers_on_errors_too(secured):
    for response in (secured.post("/v1/suggest", json={}), secured.get("/nowhere")):
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert response.headers["cache-control"] == "no-store"


@pytest.fixture(scope="module")
def logged_server(base_settings, built_index, tmp_path_factory) -> Iterator[tuple[Server, Path, Path]]:
    """A real server at DEBUG log level, its whole output captured to a file."""
    root = tmp_path_factory.mktemp("pii")
    shutil.copytree(base_settings.index_dir, root / "index")
    log_file = root / "server.log"
    env = {
        "HUASHU_INDEX_DIR": str(root / "index"),
        "HUASHU_DATA_DIR": str(root / "data"),
        "HUASHU_MODEL_DIR": str(base_settings.model_dir),
        "HUASHU_CACHE_DIR": str(base_settings.cache_dir),
        "HUASHU_BUILD_INDEX_ON_STARTUP": "false",
        "HUASHU_LOG_LEVEL": "DEBUG",
        "HUASHU_ENCODER_THREADS": "1",
    }
    with Server(workers=1, env=env, log_file=log_file, log_level="debug") as server:
        yield server, log_file, root / "data" / "huashu.sqlite"


def test_no_pii_in_server_logs_or_stored_rows(logged_server):
    server, log_file, database = logged_server
    message = f"我手机{PHONE}，邮箱{EMAIL}，身份证{ID_NUMBER}，订单{ORDER}的快递三天没动了！！"
    with httpx.Client(base_url=server.url, timeout=30) as client:
        issued = client.post(
            "/v1/suggest",
            json={
                "message": message,
                "history": [{"role": "customer", "text": f"订单号{ORDER}"}],
                "context": {"order_id": ORDER, "phone": PHONE},
            },
        )
        assert issued.status_code == 200
        assert client.post("/v1/classify", json={"message": message}).status_code == 200
        feedback = {
            "request_id": issued.json()["request_id"],
            "script_id": issued.json()["suggestions"][0]["script_id"],
            "action": "edited",
            "final_text": f"已登记，回电{PHONE}，订单{ORDER}，邮件{EMAIL}",
        }
        assert client.post("/v1/feedback", json=feedback).status_code == 201
        # refused requests must not echo or log what they carried either
        refused = [
            client.post("/v1/suggest", json={"message": message, "top_k": 99}),
            client.post("/v1/feedback", json={**feedback, "request_id": ORDER}),
            client.post("/v1/suggest", content=f'{{"message": "{PHONE}'.encode(), headers=JSON_TYPE),
        ]
        assert [r.status_code for r in refused] == [422, 422, 422]
        assert [value for r in refused for value in PII if value in r.text] == []
    server.__exit__()  # stop it, so every log line and queued row is flushed
    logged = log_file.read_text()
    assert '"suggest"' in logged, "the server did log the requests at DEBUG"
    assert [value for value in PII if value in logged] == []
    with sqlite3.connect(database) as db:
        stored = " ".join(
            str(value)
            for table in ("suggestion_log", "feedback")
            for row in db.execute(f"SELECT * FROM {table}")
            for value in row
        )
    assert "[电话]" in stored and "[订单]" in stored
    assert [value for value in PII if value in stored] == []


def test_agents_sharing_a_key_are_limited_one_by_one_and_the_key_as_a_whole(
    base_settings, built_index, tmp_path, encoder
):
    settings = base_settings.model_copy(
        update={
            "data_dir": tmp_path / "data",
            "api_keys": configured_keys(),
            "rate_limit_per_minute": 60,
            "rate_limit_burst": 5,
            "agent_rate_limit_per_minute": 6,
            "agent_rate_limit_burst": 2,
        }
    )
    with TestClient(create_app(settings, encoder)) as client:

        def classify(agent: str | None) -> int:
            headers = headers_for("agent", "bearer") | ({"X-Agent-Id": agent} if agent else {})
            return client.post("/v1/classify", json={"message": "在吗"}, headers=headers).status_code

        assert [classify("agent-7") for _ in range(3)] == [200, 200, 429]  # one looping agent is stopped…
        assert classify("agent-8") == 200  # …its teammates are not
        assert [classify(f"agent-{n}") for n in range(20, 23)] == [200, 200, 429]  # the key as a whole is capped
        limited = client.post("/v1/classify", json={"message": "在吗"}, headers=headers_for("agent", "bearer"))
        assert limited.status_code == 429 and "API key" in limited.json()["error"]["message"]
        bad = client.post(
            "/v1/classify", json={"message": "在吗"}, headers=headers_for("agent", "bearer") | {"X-Agent-Id": "x" * 65}
        )
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_agent_id"
