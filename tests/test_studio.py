"""The studio over HTTP: login, redirects, CSRF, roles, live check, the workflow, four-eyes and the audit trail."""

from __future__ import annotations

import re
import shutil

import pytest
from fastapi.testclient import TestClient

from app.auth import ApiKey, hash_key
from app.main import create_app

KEYS = {"trainer": "trainer-key-1", "trainer2": "trainer-key-2", "approver": "approver-key-1", "agent": "agent-key-1"}
ROLES = {"trainer": "trainer", "trainer2": "trainer", "approver": "approver", "agent": "agent"}
NAMES = {"trainer": "培训组-赵晴", "trainer2": "培训组-钱多", "approver": "质检组-李娜", "agent": "坐席-小周"}
SCRIPT = "logistics_tracking.not_updated"
GOOD = "非常抱歉让您着急了，{{ courier }}这边我马上帮您催促，2小时内给您回复。"
BAD = "这个不可能更快了，{{ courier }}还在路上，2小时内给您回复。"


@pytest.fixture(scope="module")
def studio_app(base_settings, built_index, tmp_path_factory, encoder):
    root = tmp_path_factory.mktemp("studio")
    shutil.copytree(base_settings.index_dir, root / "index")
    library = root / "scripts_library"
    shutil.copytree(base_settings.library_dir, library, ignore=shutil.ignore_patterns("*.py", "__pycache__", "*.md"))
    keys = [ApiKey(name=NAMES[k], role=ROLES[k], sha256=hash_key(v)) for k, v in KEYS.items()]
    settings = base_settings.model_copy(
        update={
            "index_dir": root / "index",
            "data_dir": root / "data",
            "library_dir": library,
            "api_keys": keys,
            "retrain_after_publish": False,
        }
    )
    return create_app(settings, encoder)


def _login(app, who: str) -> TestClient:
    client = TestClient(app, base_url="https://testserver")
    form = client.get("/studio/login").text
    token = re.search(r'name="login_csrf" value="([^"]+)"', form).group(1)
    response = client.post(
        "/studio/login", data={"secret": KEYS[who], "login_csrf": token, "next": "/studio"}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/studio"
    return client


def _csrf(client: TestClient, path: str = "/studio") -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).text).group(1)


def _draft(template: str) -> dict:
    return {
        "template": template,
        "variables": [{"name": "courier", "label": "快递公司", "default": "快递公司", "sample": "顺丰速运"}],
        "examples": ["包裹在中转站卡了好几天", "中转站一直不发出"],
        "emotions": ["anxious", "dissatisfied"],
        "platforms": ["all"],
    }


@pytest.fixture(scope="module")
def running(studio_app):
    with TestClient(studio_app):  # runs the lifespan once for the module
        yield studio_app


def test_pages_redirect_to_login_and_the_key_never_reaches_the_page(running):
    anonymous = TestClient(running, base_url="https://testserver")
    response = anonymous.get("/studio/coverage", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/studio/login?next=/studio/coverage"
    assert anonymous.post("/studio/api/scripts/x/check", json=_draft(GOOD)).json()["error"]["code"] == "unauthorized"
    trainer = _login(running, "trainer")
    cookie = trainer.cookies.get("huashu_session")
    assert cookie == KEYS["trainer"]
    page = trainer.get("/studio")
    assert page.status_code == 200 and SCRIPT in page.text and KEYS["trainer"] not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_login_cookie_is_httponly_strict_and_bad_keys_are_refused(running):
    client = TestClient(running, base_url="https://testserver")
    form = client.get("/studio/login").text
    token = re.search(r'name="login_csrf" value="([^"]+)"', form).group(1)
    bad = client.post("/studio/login", data={"secret": "nope", "login_csrf": token}, follow_redirects=False)
    assert "error=" in bad.headers["location"] and "huashu_session" not in bad.headers.get("set-cookie", "")
    assert client.post("/studio/login", data={"secret": KEYS["trainer"], "login_csrf": "x"}).status_code == 403
    good = client.post("/studio/login", data={"secret": KEYS["trainer"], "login_csrf": token}, follow_redirects=False)
    cookie = good.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie


def test_state_changes_need_the_csrf_token_and_the_role(running):
    trainer = _login(running, "trainer")
    no_token = trainer.post(f"/studio/api/scripts/{SCRIPT}/save", json=_draft(GOOD))
    assert no_token.status_code == 403 and no_token.json()["error"]["code"] == "csrf_failed"
    agent = _login(running, "agent")
    assert agent.get("/studio", follow_redirects=False).status_code == 403
    assert agent.get("/console").status_code == 200
    headers = {"x-csrf-token": _csrf(trainer)}
    refused = trainer.post(f"/studio/api/scripts/{SCRIPT}/approve", json={}, headers=headers)
    assert refused.status_code == 403 and "approver" in refused.json()["error"]["message"]


def test_live_check_highlights_violations_and_previews_with_samples(running):
    trainer = _login(running, "trainer")
    headers = {"x-csrf-token": _csrf(trainer)}
    bad = trainer.post(f"/studio/api/scripts/{SCRIPT}/check", json=_draft(BAD), headers=headers).json()
    assert bad["can_submit"] is False
    violation = next(p for p in bad["problems"] if p["code"] == "service.impossible")
    assert bad["lint_text"][violation["start"] : violation["end"]] == "不可能" and violation["hint"]
    good = trainer.post(f"/studio/api/scripts/{SCRIPT}/check", json=_draft(GOOD), headers=headers).json()
    assert good["can_submit"] is True and "顺丰速运" in good["preview"]["text"]
    broken = _draft(GOOD) | {"emotions": ["furious"]}
    schema = trainer.post(f"/studio/api/scripts/{SCRIPT}/check", json=broken, headers=headers).json()
    assert schema["problems"][0]["code"] == "schema" and schema["can_submit"] is False


def test_workflow_with_four_eyes_audit_trail_and_hot_reload(running):
    trainer, approver = _login(running, "trainer"), _login(running, "approver")
    t_headers, a_headers = {"x-csrf-token": _csrf(trainer)}, {"x-csrf-token": _csrf(approver)}
    api = f"/studio/api/scripts/{SCRIPT}"
    saved = trainer.post(f"{api}/save", json=_draft(BAD), headers=t_headers)
    assert saved.status_code == 200 and saved.json()["to_status"] == "draft"
    blocked = trainer.post(f"{api}/submit", json={}, headers=t_headers)
    assert blocked.status_code == 409 and "lint errors" in blocked.json()["error"]["message"]
    assert approver.post(f"{api}/approve", json={}, headers=a_headers).status_code == 409  # not submitted
    trainer.post(f"{api}/save", json=_draft(GOOD), headers=t_headers)
    assert trainer.post(f"{api}/submit", json={}, headers=t_headers).json()["to_status"] == "submitted"
    rejected = approver.post(f"{api}/reject", json={"comment": "请写明催促后的答复方式"}, headers=a_headers)
    assert rejected.json()["to_status"] == "rejected"
    trainer.post(f"{api}/submit", json={}, headers=t_headers)
    approved = approver.post(f"{api}/approve", json={"comment": "同意"}, headers=a_headers).json()
    assert approved["to_status"] == "approved" and approved["index_version"] and approved["publish_seconds"] < 30
    served = approver.post(
        "/studio/api/suggest", json={"message": "包裹在中转站卡了好几天", "top_k": 5}, headers=a_headers
    )
    assert any("马上帮您催促" in s["text"] for s in served.json()["suggestions"])
    trail = running.state.service.store.audit_trail(SCRIPT)
    steps = [(a.actor, a.from_status, a.to_status) for a in reversed(trail)]
    assert steps[-1] == (NAMES["approver"], "submitted", "approved")
    assert (NAMES["trainer"], "draft", "submitted") in steps and (NAMES["approver"], "submitted", "rejected") in steps
    assert "马上帮您催促" in trail[-3].diff or any("马上帮您催促" in (a.diff or "") for a in trail)
    assert "请写明催促后的答复方式" in approver.get(f"/studio/scripts/{SCRIPT}").text


def test_the_author_cannot_approve_their_own_change(running):
    trainer2 = _login(running, "trainer2")
    headers = {"x-csrf-token": _csrf(trainer2)}
    api = "/studio/api/scripts/invoice.e_invoice_timing"
    draft = {
        "template": "您好，电子发票会在您付款后72小时内开具，开好后可在订单详情的发票入口下载。",
        "variables": [],
        "examples": ["发票啥时候开", "开发票要多久"],
        "emotions": ["neutral"],
        "platforms": ["all"],
    }
    trainer2.post(f"{api}/save", json=draft, headers=headers)
    trainer2.post(f"{api}/submit", json={}, headers=headers)
    page = trainer2.get("/studio/scripts/invoice.e_invoice_timing").text
    assert 'id="approve"' not in page  # a trainer has no approve button at all
    assert trainer2.post(f"{api}/approve", json={}, headers=headers).status_code == 403


def test_list_filters_search_normalised_text_and_shows_the_coverage_map(running):
    trainer = _login(running, "trainer")
    traditional = trainer.get("/studio", params={"q": "發票", "intent": "invoice"}).text
    assert "invoice.e_invoice_timing" in traditional and "logistics_tracking.not_updated" not in traditional
    fullwidth = trainer.get("/studio", params={"q": "７２小时"}).text
    assert "invoice.e_invoice_timing" in fullwidth
    drafts = trainer.get("/studio", params={"status": "draft"}).text
    assert "没有符合条件的话术" in drafts or ("s-draft" in drafts and "s-approved" not in drafts)
    coverage = trainer.get("/studio/coverage").text
    assert "覆盖热力图" in coverage and 'class="c' in coverage
