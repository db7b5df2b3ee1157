"""The studio and the console over HTTP: sign-in and landing, CSRF and roles, errors in Chinese (HTML for pages,
JSON for calls, English for the API), live lint, revisions beside live text, restore, four-eyes, the approver
queue, retire and undo, bulk steps, FAQ entries, the library list, agents' corrections, untranslated codes."""

from __future__ import annotations

import re
import shutil
import time
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from app.auth import ApiKey, hash_key
from app.main import create_app
from app.studio.messages import catalogue_keys
from scripts_library.loader import load_library
from scripts_library.vocabulary import EMOTION_NAMES
from scripts_library.workflow import CORRECTIONS_SOURCE

KEYS = {"trainer": "trainer-key-1", "trainer2": "trainer-key-2", "approver": "approver-key-1", "agent": "agent-key-1"}
ROLES = {"trainer": "trainer", "trainer2": "trainer", "approver": "approver", "agent": "agent"}
NAMES = {"trainer": "培训组-赵晴", "trainer2": "培训组-钱多", "approver": "质检组-李娜", "agent": "坐席-小周"}
SCRIPT = "logistics_tracking.not_updated"
FAQ = "faq.invoice.company_title"
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


@pytest.fixture(scope="module")
def running(studio_app):
    with TestClient(studio_app):  # runs the lifespan once for the module
        yield studio_app


def _login(app, who: str) -> TestClient:
    client = TestClient(app, base_url="https://testserver")
    form = client.get("/studio/login").text
    token = re.search(r'name="login_csrf" value="([^"]+)"', form).group(1)
    response = client.post(
        "/studio/login", data={"secret": KEYS[who], "login_csrf": token, "next": "/studio"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == ("/console" if who == "agent" else "/studio")
    return client


def _csrf(client: TestClient, path: str = "/console") -> dict[str, str]:
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).text).group(1)
    return {"x-csrf-token": token}


def _draft(template: str, **changes: object) -> dict:
    draft = {
        "template": template,
        "variables": [{"name": "courier", "label": "快递公司", "default": "快递公司", "sample": "顺丰速运"}],
        "examples": ["包裹在中转站卡了好几天", "中转站一直不发出"],
        "emotions": ["anxious", "dissatisfied"],
        "platforms": ["all"],
    }
    return draft | changes


def _served(app, entry_id: str) -> str | None:
    """The text the running index would suggest for an entry, or None when it is not served."""
    candidate = app.state.service.assistant.index.candidates.get(entry_id)
    return candidate.render({}).text if candidate else None


class _VisibleText(HTMLParser):
    """The text a reader sees: no scripts, styles, collapsed diffs, attribute values or form values."""

    HIDDEN = ("script", "style", "pre", "textarea")

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        self.depth += tag in self.HIDDEN

    def handle_endtag(self, tag: str) -> None:
        self.depth -= tag in self.HIDDEN

    def handle_data(self, data: str) -> None:
        if not self.depth:
            self.parts.append(data)


def untranslated(html: str, keys: set[str]) -> set[str]:
    """Catalogue keys (codes, ids of statuses, moods, platforms, intents, rules) shown as words on a page."""
    parser = _VisibleText()
    parser.feed(html)
    return set(re.findall(r"[A-Za-z][\w.:/-]*", " ".join(parser.parts), re.ASCII)) & keys


# -- sign-in, roles, CSRF, errors -------------------------------------------------------------------------------------
def test_pages_redirect_to_login_and_the_key_never_reaches_the_page(running):
    anonymous = TestClient(running, base_url="https://testserver")
    response = anonymous.get("/studio/coverage", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/studio/login?next=/studio/coverage"
    refused = anonymous.post("/studio/api/scripts/x/check", json=_draft(GOOD)).json()["error"]
    assert refused["code"] == "unauthorized" and "重新登录" in refused["message"]
    trainer = _login(running, "trainer")
    assert trainer.cookies.get("huashu_session") == KEYS["trainer"]
    page = trainer.get("/studio")
    assert page.status_code == 200 and SCRIPT in page.text and KEYS["trainer"] not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_login_cookie_is_httponly_strict_and_an_expired_form_says_so_in_chinese(running):
    client = TestClient(running, base_url="https://testserver")
    token = re.search(r'name="login_csrf" value="([^"]+)"', client.get("/studio/login").text).group(1)
    bad = client.post("/studio/login", data={"secret": "nope", "login_csrf": token}, follow_redirects=False)
    assert "error=" in bad.headers["location"] and "huashu_session" not in bad.headers.get("set-cookie", "")
    stale = client.post("/studio/login", data={"secret": KEYS["trainer"], "login_csrf": "x"}, follow_redirects=False)
    assert stale.status_code == 303 and "huashu_session" not in stale.headers.get("set-cookie", "")
    form = client.get(stale.headers["location"]).text
    assert "登录表单已过期" in form
    token = re.search(r'name="login_csrf" value="([^"]+)"', form).group(1)
    good = client.post("/studio/login", data={"secret": KEYS["trainer"], "login_csrf": token}, follow_redirects=False)
    cookie = good.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie


def test_agents_land_on_the_console_and_studio_pages_tell_them_so_in_chinese(running):
    agent = _login(running, "agent")
    assert agent.get("/console").status_code == 200
    page = agent.get("/studio", follow_redirects=False)
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "没有权限" in page.text and "坐席" in page.text and 'href="/console"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_state_changes_need_the_csrf_token_and_the_role(running):
    trainer = _login(running, "trainer")
    no_token = trainer.post(f"/studio/api/scripts/{SCRIPT}/save", json=_draft(GOOD))
    assert no_token.status_code == 403 and no_token.json()["error"]["code"] == "csrf_failed"
    assert "页面已过期" in no_token.json()["error"]["message"]
    refused = trainer.post(f"/studio/api/scripts/{SCRIPT}/approve", json={}, headers=_csrf(trainer))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert "培训" in refused.json()["error"]["message"] and "审核" in refused.json()["error"]["message"]
    stale_logout = trainer.post("/studio/logout", data={"csrf_token": "stale"})
    assert stale_logout.status_code == 403 and "页面已过期" in stale_logout.text and "<html" in stale_logout.text


def test_errors_are_pages_for_the_browser_json_for_calls_and_english_for_the_api(running):
    trainer = _login(running, "trainer")
    missing = trainer.get("/studio/scripts/no.such_script")
    assert missing.status_code == 404 and "找不到话术或常见问题「no.such_script」" in missing.text
    assert trainer.get("/studio/no-such-page").status_code == 404
    assert "找不到这个页面" in trainer.get("/studio/no-such-page").text
    call = trainer.post("/studio/api/scripts/no.such_script/check", json=_draft(GOOD), headers=_csrf(trainer))
    assert call.status_code == 404 and call.json()["error"]["code"] == "unknown_entry"
    assert "找不到" in call.json()["error"]["message"]
    invalid = trainer.post(f"/studio/api/scripts/{SCRIPT}/submit", json={"nope": 1}, headers=_csrf(trainer))
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "invalid_request"
    assert "提交的内容不完整" in invalid.json()["error"]["message"]
    api = trainer.post("/v1/feedback", json={"nope": 1}, headers={"Authorization": f"Bearer {KEYS['agent']}"})
    assert api.status_code == 422 and api.json()["error"]["message"].startswith("the request body is not valid")


# -- editing: live lint, revisions, restore, four-eyes ---------------------------------------------------------------
def test_live_check_highlights_violations_in_chinese_and_previews_with_samples(running):
    trainer = _login(running, "trainer")
    headers = _csrf(trainer)
    bad = trainer.post(f"/studio/api/scripts/{SCRIPT}/check", json=_draft(BAD), headers=headers).json()
    assert bad["can_submit"] is False
    violation = next(p for p in bad["problems"] if p["code"] == "service.impossible")
    assert bad["lint_text"][violation["start"] : violation["end"]] == "不可能" and violation["hint"]
    undeclared = _draft("您好，{{ order_id }}已为您查询。")
    problems = trainer.post(f"/studio/api/scripts/{SCRIPT}/check", json=undeclared, headers=headers).json()["problems"]
    assert "正文用到了未声明的变量：order_id" in [p["message"] for p in problems]
    good = trainer.post(f"/studio/api/scripts/{SCRIPT}/check", json=_draft(GOOD), headers=headers).json()
    assert good["can_submit"] is True and "顺丰速运" in good["preview"]["text"]
    broken = _draft(GOOD, emotions=["furious"])
    schema = trainer.post(f"/studio/api/scripts/{SCRIPT}/check", json=broken, headers=headers).json()
    assert schema["problems"][0]["message"].startswith("适用情绪") and schema["can_submit"] is False


def test_a_live_script_stays_served_while_its_revision_is_reviewed_then_the_new_text_is(running):
    trainer, approver = _login(running, "trainer"), _login(running, "approver")
    t_headers, a_headers = _csrf(trainer), _csrf(approver)
    api = f"/studio/api/scripts/{SCRIPT}"
    live = _served(running, SCRIPT)
    saved = trainer.post(f"{api}/save", json=_draft(BAD), headers=t_headers).json()
    assert saved["to_status"] == "draft" and "线上 v1 仍在推荐" in saved["message"]
    blocked = trainer.post(f"{api}/submit", json={}, headers=t_headers)
    assert blocked.status_code == 409 and blocked.json()["error"]["code"] == "lint_errors"
    assert "检查发现错误" in blocked.json()["error"]["message"] and "不可能" in blocked.json()["error"]["message"]
    assert approver.post(f"{api}/approve", json={}, headers=a_headers).json()["error"]["code"] == "wrong_state"
    trainer.post(f"{api}/save", json=_draft(GOOD), headers=t_headers)
    assert trainer.post(f"{api}/save", json=_draft(GOOD), headers=t_headers).json()["audit_id"] is None
    assert trainer.post(f"{api}/submit", json={}, headers=t_headers).json()["to_status"] == "submitted"
    assert _served(running, SCRIPT) == live
    editor = trainer.get(f"/studio/scripts/{SCRIPT}").text
    assert "线上 v1 仍在推荐给坐席" in editor and "修订稿：待审核" in editor
    rejected = approver.post(f"{api}/reject", json={"comment": "请写明催促后的答复方式"}, headers=a_headers)
    assert rejected.json()["to_status"] == "rejected"
    assert "驳回意见：请写明催促后的答复方式" in trainer.get(f"/studio/scripts/{SCRIPT}").text
    trainer.post(f"{api}/submit", json={}, headers=t_headers)
    assert _served(running, SCRIPT) == live
    approved = approver.post(f"{api}/approve", json={"comment": "同意"}, headers=a_headers).json()
    assert (
        approved["to_status"] == "approved" and approved["publish_seconds"] < 30 and "v2 已上线" in approved["message"]
    )
    assert "马上帮您催促" in _served(running, SCRIPT)
    trail = running.state.service.store.audit_trail(SCRIPT)
    steps = [(a.actor, a.from_status, a.to_status) for a in reversed(trail)]
    assert steps[-1] == (NAMES["approver"], "submitted", "approved")
    assert (NAMES["trainer"], "draft", "submitted") in steps and (NAMES["approver"], "submitted", "rejected") in steps


def test_every_revision_is_kept_and_restoring_one_makes_a_revision_to_approve(running):
    trainer = _login(running, "trainer")
    editor = trainer.get(f"/studio/scripts/{SCRIPT}").text
    audit_id = re.search(r'class="restore" data-audit-id="(\d+)">恢复 v1<', editor).group(1)
    restored = trainer.post(
        f"/studio/api/scripts/{SCRIPT}/restore", json={"audit_id": int(audit_id)}, headers=_csrf(trainer)
    ).json()
    assert restored["to_status"] == "draft" and restored["version"] == 2
    script = load_library(running.state.settings.library_dir).script(SCRIPT)
    assert "马上帮您催促" in script.template and "马上帮您催促" not in script.proposal.template
    assert running.state.service.store.audit_trail(SCRIPT, limit=1)[0].comment.startswith("恢复 v1")
    assert "马上帮您催促" in _served(running, SCRIPT)
    wrong = trainer.post(f"/studio/api/scripts/{FAQ}/restore", json={"audit_id": int(audit_id)}, headers=_csrf(trainer))
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "unknown_audit"


def test_a_conflicting_save_is_refused_with_both_versions_available(running):
    trainer, trainer2 = _login(running, "trainer"), _login(running, "trainer2")
    api = f"/studio/api/scripts/{SCRIPT}"
    loaded = trainer.get(api, headers=_csrf(trainer)).json()
    time.sleep(1)  # the library stamps edits to the second
    trainer2.post(f"{api}/save", json=_draft(GOOD + "祝您生活愉快。"), headers=_csrf(trainer2))
    stale = trainer.post(f"{api}/save", json=_draft(GOOD, base_updated_at=loaded["updated_at"]), headers=_csrf(trainer))
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_edit"
    theirs = trainer.get(api, headers=_csrf(trainer)).json()
    assert theirs["author"] == NAMES["trainer2"] and theirs["draft"]["template"].endswith("祝您生活愉快。")


def test_the_author_cannot_approve_their_own_change_and_the_queue_says_why(running):
    approver, trainer2 = _login(running, "approver"), _login(running, "trainer2")
    headers = _csrf(approver)
    api = "/studio/api/scripts/invoice.e_invoice_timing"
    draft = {
        "template": "您好，电子发票会在您付款后72小时内开具，开好后可在订单详情的发票入口下载。",
        "variables": [],
        "examples": ["发票啥时候开", "开发票要多久"],
        "emotions": ["neutral"],
        "platforms": ["all"],
    }
    approver.post(f"{api}/save", json=draft, headers=headers)
    approver.post(f"{api}/submit", json={}, headers=headers)
    own = approver.post(f"{api}/approve", json={}, headers=headers)
    assert own.status_code == 409 and own.json()["error"]["code"] == "four_eyes"
    assert (
        f"这一版由 {NAMES['approver']} 编写" in own.json()["error"]["message"]
        and "四眼原则" in own.json()["error"]["message"]
    )
    queue = approver.get("/studio/review").text
    assert "invoice.e_invoice_timing" in queue and "这一版由您编写。四眼原则" in queue
    assert "审批需要审核或管理员角色" in trainer2.get("/studio/review").text
    assert 'id="approve"' not in trainer2.get("/studio/scripts/invoice.e_invoice_timing").text
    assert trainer2.post(f"{api}/approve", json={}, headers=_csrf(trainer2)).status_code == 403


def test_the_approver_queue_shows_live_beside_proposed_word_by_word(running):
    trainer, approver = _login(running, "trainer"), _login(running, "approver")
    entry = "shipping_urge.presale_ship"
    script = load_library(running.state.settings.library_dir).script(entry)
    draft = {
        "template": script.template.replace("您好", "亲爱的顾客您好", 1),
        "variables": [{"name": n, "label": v.label, "default": v.default} for n, v in script.variables.items()],
        "examples": [*script.examples, "预售的啥时候发"],
        "emotions": list(script.emotions),
        "platforms": list(script.platforms),
    }
    trainer.post(f"/studio/api/scripts/{entry}/save", json=draft, headers=_csrf(trainer))
    trainer.post(f"/studio/api/scripts/{entry}/submit", json={}, headers=_csrf(trainer))
    queue = approver.get("/studio/review").text
    article = queue[queue.index(f'data-entry-id="{entry}"') :]
    assert 'class="d-added"' in article and "预售的啥时候发" in article and "检查通过" in article
    assert 'class="approve primary"' in article[: article.index("</article>")]
    assert re.search(r'id="review-count">(\d+)<', queue).group(1) == str(queue.count('<article class="card review"'))


# -- retire and undo, bulk steps ------------------------------------------------------------------------------------
def test_retire_says_what_stops_being_suggested_needs_a_reason_and_can_be_undone(running):
    approver = _login(running, "approver")
    headers = _csrf(approver)
    victim = "greeting_thanks.bye"
    assert _served(running, victim)
    impact = approver.get("/studio/api/retire-impact", params={"ids": [victim]}, headers=headers).json()
    assert impact["entries"][0]["id"] == victim and impact["entries"][0]["text"]
    assert isinstance(impact["gaps"], list)
    no_reason = approver.post(f"/studio/api/scripts/{victim}/retire", json={"comment": " "}, headers=headers)
    assert no_reason.status_code == 409 and no_reason.json()["error"]["code"] == "needs_reason"
    retired = approver.post(f"/studio/api/scripts/{victim}/retire", json={"comment": "活动结束"}, headers=headers)
    assert retired.json()["to_status"] == "retired" and _served(running, victim) is None
    assert "已下线，不再推荐给坐席。原因：活动结束" in approver.get(f"/studio/scripts/{victim}").text
    back = approver.post(f"/studio/api/scripts/{victim}/unretire", json={}, headers=headers).json()
    assert back["to_status"] == "approved" and "撤销下线" in back["message"] and _served(running, victim)


def test_retiring_every_script_of_a_required_cell_names_the_gap(running):
    approver = _login(running, "approver")
    library = load_library(running.state.settings.library_dir)
    live = [s for s in library.scripts if s.status == "approved"]
    cells = {
        (s.primary_intent, e, p): [t.id for t in live if t.primary_intent == s.primary_intent and e in t.emotions]
        for s in live
        for e in s.emotions
        for p in ("tmall",)
        if e in ("angry", "anxious", "neutral")
    }
    (intent, emotion, _), ids = min(cells.items(), key=lambda cell: len(cell[1]))
    impact = approver.get("/studio/api/retire-impact", params={"ids": ids}, headers=_csrf(approver)).json()
    name = next(i.name for i in library.intents if i.id == intent)
    assert f"{name} · {EMOTION_NAMES[emotion]}（天猫、淘宝、京东、拼多多）" in impact["gaps"]
    assert {e["id"] for e in impact["entries"]} == set(ids)


def test_bulk_submit_and_bulk_retire_with_one_reason(running):
    trainer, approver = _login(running, "trainer"), _login(running, "approver")
    ids = []
    for slug in ("bulk_a", "bulk_b"):
        form = {"intent": "invoice", "slug": slug, "csrf_token": _csrf(trainer)["x-csrf-token"]}
        created = trainer.post("/studio/new", data=form, follow_redirects=False)
        assert created.status_code == 303
        ids.append(created.headers["location"].rsplit("/", 1)[1])
        content = _draft(f"您好，发票会在付款后72小时内开具（{slug}）。", variables=[], emotions=["neutral"])
        trainer.post(f"/studio/api/scripts/{ids[-1]}/save", json=content, headers=_csrf(trainer))
    done = trainer.post("/studio/api/bulk", json={"action": "submit", "ids": ids}, headers=_csrf(trainer)).json()
    assert all(r["ok"] for r in done["results"]) and done["index_version"] is None
    again = trainer.post("/studio/api/bulk", json={"action": "submit", "ids": ids}, headers=_csrf(trainer)).json()
    assert not any(r["ok"] for r in again["results"]) and "待审核" in again["results"][0]["message"]
    assert (
        trainer.post("/studio/api/bulk", json={"action": "retire", "ids": ids}, headers=_csrf(trainer)).status_code
        == 403
    )
    no_reason = approver.post("/studio/api/bulk", json={"action": "retire", "ids": ids}, headers=_csrf(approver))
    assert no_reason.status_code == 422 and no_reason.json()["error"]["code"] == "needs_reason"
    retired = approver.post(
        "/studio/api/bulk", json={"action": "retire", "ids": ids, "comment": "重复"}, headers=_csrf(approver)
    ).json()
    assert all(r["ok"] for r in retired["results"]) and retired["index_version"]


# -- FAQ entries, new entries, the list -------------------------------------------------------------------------------
def test_faq_entries_go_through_the_same_workflow_in_the_studio(running):
    trainer, approver = _login(running, "trainer"), _login(running, "approver")
    api = f"/studio/api/scripts/{FAQ}"
    page = trainer.get(f"/studio/scripts/{FAQ}").text
    assert 'id="answer"' in page and "常见问题" in page
    answer = "开具公司抬头的发票，需要您提供公司全称和纳税人识别号（税号），开好后您可以在订单详情下载。"
    draft = {
        "answer": answer,
        "questions": ["公司抬头怎么开", "开公司票要税号吗"],
        "tags": ["抬头"],
        "platforms": ["all"],
    }
    wrong = trainer.post(f"{api}/save", json=_draft(GOOD), headers=_csrf(trainer))
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "wrong_kind"
    check = trainer.post(f"{api}/check", json=draft, headers=_csrf(trainer)).json()
    assert check["can_submit"] and check["preview"]["text"] == answer
    assert "线上 v1 仍在推荐" in trainer.post(f"{api}/save", json=draft, headers=_csrf(trainer)).json()["message"]
    trainer.post(f"{api}/submit", json={}, headers=_csrf(trainer))
    assert _served(running, FAQ) != answer
    approved = approver.post(f"{api}/approve", json={}, headers=_csrf(approver)).json()
    assert approved["version"] == 2 and _served(running, FAQ) == answer


def test_a_new_script_for_a_coverage_gap_starts_with_its_cell(running):
    trainer = _login(running, "trainer")
    form = trainer.get("/studio/new", params={"intent": "invoice", "emotion": "angry", "platform": "jd"}).text
    assert 'value="angry" selected' in form and 'value="jd" selected' in form
    token = _csrf(trainer)["x-csrf-token"]
    fields = {"intent": "invoice", "emotion": "angry", "platform": "jd", "csrf_token": token}
    bad = trainer.post("/studio/new", data=fields | {"slug": "Bad Slug"})
    assert bad.status_code == 422 and "英文标识只能用小写英文字母" in bad.text
    created = trainer.post("/studio/new", data=fields | {"slug": "angry_jd"}, follow_redirects=False)
    script = load_library(running.state.settings.library_dir).script("invoice.angry_jd")
    assert created.headers["location"] == "/studio/scripts/invoice.angry_jd"
    assert script.emotions == ("angry",) and script.platforms == ("jd",)
    exists = trainer.post("/studio/new", data=fields | {"slug": "angry_jd"})
    assert exists.status_code == 409 and "「invoice.angry_jd」已经存在" in exists.text
    assert "status=approved&amp;kind=script" in trainer.get("/studio/coverage").text


def test_the_list_searches_tokens_in_any_order_sorts_and_shows_uptake_with_counts(running):
    trainer, agent = _login(running, "trainer"), _login(running, "agent")
    for query in ("发票 72小时", "72小时 發票"):
        found = trainer.get("/studio", params={"q": query}).text
        assert "invoice.e_invoice_timing" in found and SCRIPT not in found
    faqs = trainer.get("/studio", params={"kind": "faq", "intent": "invoice"}).text
    assert FAQ in faqs and ">invoice.e_invoice_timing</a>" not in faqs
    by_version = trainer.get("/studio", params={"sort": "version", "order": "desc"}).text
    assert by_version.index(SCRIPT) < by_version.index("complaint_service.agent_attitude")
    suggested = agent.post("/studio/api/suggest", json={"message": "发票多久能开"}, headers=_csrf(agent)).json()
    picked = suggested["suggestions"][0]["script_id"]
    agent.post(
        "/studio/api/feedback",
        json={"request_id": suggested["request_id"], "script_id": picked, "action": "picked"},
        headers=_csrf(agent),
    )
    row = trainer.get("/studio", params={"q": picked}).text
    rate = running.state.service.priors.rate(picked)
    assert "采用 1 · 改写 0 · 不合适 0" in row and f"<strong>{rate:.0%}</strong>" in row
    assert "采用 1 · 改写 0 · 不合适 0" in trainer.get(f"/studio/scripts/{picked}").text
    assert '<time datetime="' in row


# -- agents' corrections --------------------------------------------------------------------------------------------
def test_an_agent_correction_reaches_the_trainers_and_an_approver_adds_it_to_the_library(running):
    agent, trainer, approver = _login(running, "agent"), _login(running, "trainer"), _login(running, "approver")
    message = "单号1234567890123的包裹到哪了"
    suggested = agent.post("/studio/api/suggest", json={"message": message}, headers=_csrf(agent)).json()
    body = {"request_id": suggested["request_id"], "intent": "shipping_urge", "emotion": "anxious", "agent_id": "冒名"}
    assert agent.post("/studio/api/corrections", json=body, headers=_csrf(agent)).status_code == 201
    correction = running.state.service.store.corrections("pending")[0]
    assert correction.agent_id == NAMES["agent"] and "1234567890123" not in correction.message
    queue = trainer.get("/studio/corrections").text
    assert correction.message in queue and "催发货" in queue and 'class="accept' not in queue
    accept = {"text": correction.message}
    refused = trainer.post(f"/studio/api/corrections/{correction.id}/accept", json=accept, headers=_csrf(trainer))
    assert refused.status_code == 403
    before = running.state.service.assistant.index.version
    added = approver.post(f"/studio/api/corrections/{correction.id}/accept", json=accept, headers=_csrf(approver))
    assert added.status_code == 200 and added.json()["added"] == ["意图「催发货」", "情绪「焦急」"]
    library = load_library(running.state.settings.library_dir)
    assert correction.message in next(i for i in library.intents if i.id == "shipping_urge").examples
    assert correction.message in next(e for e in library.emotions if e.id == "anxious").examples
    assert running.state.service.assistant.index.version != before
    assert running.state.service.assistant.index.manifest.library_hash == library.content_hash
    assert running.state.service.store.corrections("pending") == []
    assert "意图「催发货」的示例" in trainer.get("/studio/audit").text


def test_nobody_accepts_their_own_correction_and_a_duplicate_is_refused(running):
    approver = _login(running, "approver")
    headers = _csrf(approver)
    suggested = approver.post("/studio/api/suggest", json={"message": "能开专票吗 急"}, headers=headers).json()
    approver.post(
        "/studio/api/corrections", json={"request_id": suggested["request_id"], "intent": "invoice"}, headers=headers
    )
    own = running.state.service.store.corrections("pending")[0]
    refused = approver.post(f"/studio/api/corrections/{own.id}/accept", json={"text": own.message}, headers=headers)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "four_eyes"
    assert f"这条纠正由 {NAMES['approver']} 提出" in refused.json()["error"]["message"]
    claimed = load_library(running.state.settings.library_dir).intents[0].examples[0]
    duplicate = approver.post(f"/studio/api/corrections/{own.id}/accept", json={"text": claimed}, headers=headers)
    assert duplicate.json()["error"]["code"] == "duplicate_example"
    assert f"“{claimed}”已经是「" in duplicate.json()["error"]["message"]
    dismissed = approver.post(f"/studio/api/corrections/{own.id}/dismiss", headers=headers)
    assert dismissed.status_code == 200 and running.state.service.store.corrections("pending") == []


def test_an_escalation_correction_becomes_a_backstop_example_and_names_the_rule_that_fired(running):
    agent, approver = _login(running, "agent"), _login(running, "approver")
    message = "专柜验过了 这就是假货 你们必须给个说法"
    suggested = agent.post("/studio/api/suggest", json={"message": message}, headers=_csrf(agent)).json()
    assert suggested["escalation"]["team"] == "品控组"
    assert '"teams": [' in agent.get("/console").text  # the console's escalation chips
    unknown = {"request_id": suggested["request_id"], "escalation": {"team": "法务部"}}
    refused = agent.post("/studio/api/corrections", json=unknown, headers=_csrf(agent)).json()["error"]
    assert refused["message"] == "没有「法务部」这个升级团队，请从列表中选择。"
    body = {"request_id": suggested["request_id"], "escalation": {"team": None}}
    assert agent.post("/studio/api/corrections", json=body, headers=_csrf(agent)).status_code == 201
    store = running.state.service.store
    correction = next(c for c in store.corrections("pending") if c.request_id == suggested["request_id"])
    queue = approver.get("/studio/corrections").text
    assert "升级：品控组 → <strong>不升级</strong>" in queue
    assert f"<code>{correction.predicted_escalation_rule}</code>" in queue  # the rule, which an example cannot stop
    accept = {"text": correction.message}
    added = approver.post(f"/studio/api/corrections/{correction.id}/accept", json=accept, headers=_csrf(approver))
    assert added.status_code == 200 and added.json()["added"] == ["升级「不升级」"]
    last = load_library(running.state.settings.library_dir).escalation_examples[-1]
    assert (last.text, last.team, last.source) == (correction.message, None, CORRECTIONS_SOURCE)
    assert "升级「不升级」的示例" in approver.get("/studio/audit").text


# -- one language per screen -------------------------------------------------------------------------------------------
def test_no_page_shows_an_untranslated_code(running):
    trainer, agent = _login(running, "approver"), _login(running, "agent")
    library = load_library(running.state.settings.library_dir)
    keys = catalogue_keys() | set(library.intent_ids) | {r.id for r in library.compliance.rules}
    pages = [
        (trainer, "/studio"),
        (trainer, "/studio?status=submitted"),
        (trainer, f"/studio/scripts/{SCRIPT}"),
        (trainer, f"/studio/scripts/{FAQ}"),
        (trainer, "/studio/review"),
        (trainer, "/studio/corrections"),
        (trainer, "/studio/coverage"),
        (trainer, "/studio/audit"),
        (trainer, "/studio/try"),
        (trainer, "/studio/new?kind=faq"),
        (trainer, "/studio/scripts/no.such"),
        (agent, "/console"),
        (agent, "/studio"),
        (TestClient(running, base_url="https://testserver"), "/studio/login"),
    ]
    for client, path in pages:
        assert untranslated(client.get(path).text, keys) == set(), path
