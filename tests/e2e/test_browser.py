"""End to end in a real browser (Debian's chromium, headless, driven by Playwright) against a real server.

A trainer revises a live script (a forbidden phrase is shown and blocks submitting; the live text keeps being
suggested), an approver reads live beside proposed in the queue and approves, and /v1/suggest serves the new
text; an approver retires a script, seeing what stops being suggested, and undoes it; an agent works the
console (pending and error states, inline variable filling, keyboard pick, escalation kept until handled) and
corrects an intent and an emotion, which reach the trainers' queue and, accepted by an approver, the library
and its index. Every page is scanned for untranslated codes and rendered at 1366×768 and 800 px; with
HUASHU_E2E_SCREENSHOTS set to a folder (`make screenshots`: docs/screenshots/), the README's screenshots land there.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.auth import hash_key
from app.studio.messages import catalogue_keys
from retrieval.artifact import current_manifest
from scripts_library.loader import load_library
from tests.conftest import LIBRARY, REPOSITORY

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = os.environ.get("HUASHU_E2E_SCREENSHOTS")  # a folder to write them to; unset, none are kept
KEYS = {"trainer": "e2e-trainer-key", "approver": "e2e-approver-key", "agent": "e2e-agent-key"}
SCRIPT = "logistics_tracking.not_updated"
RETIRED = "greeting_thanks.bye"
BAD = "这个不可能更快了，{{ courier }}还在路上，2小时内给您回复。"
GOOD = "非常抱歉让您着急了，{{ courier }}这边我马上帮您催促，2小时内给您回复。"
WIDE, NARROW = {"width": 1366, "height": 768}, {"width": 800, "height": 768}

expect.set_options(timeout=30_000)  # 2 shared cores: a save re-reads the whole library twice
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium missing: apt-get install -y chromium")


@dataclass(frozen=True)
class Server:
    base: str
    library: Path
    index: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(base_settings, built_index, tmp_path_factory) -> Iterator[Server]:
    """uvicorn on a free loopback port with its own copy of the library, index and data directory."""
    root = tmp_path_factory.mktemp("e2e")
    shutil.copytree(base_settings.index_dir, root / "index")
    shutil.copytree(LIBRARY, root / "library", ignore=shutil.ignore_patterns("*.py", "__pycache__", "*.md"))
    keys = [
        {"name": "培训组-赵晴", "role": "trainer", "sha256": hash_key(KEYS["trainer"])},
        {"name": "质检组-李娜", "role": "approver", "sha256": hash_key(KEYS["approver"])},
        {"name": "坐席-小周", "role": "agent", "sha256": hash_key(KEYS["agent"])},
    ]
    port = _free_port()
    env = os.environ | {
        "HUASHU_LIBRARY_DIR": str(root / "library"),
        "HUASHU_INDEX_DIR": str(root / "index"),
        "HUASHU_DATA_DIR": str(root / "data"),
        "HUASHU_CACHE_DIR": str(base_settings.cache_dir),
        "HUASHU_API_KEYS": json.dumps(keys),
        "HUASHU_RETRAIN_AFTER_PUBLISH": "false",
        "HUASHU_BUILD_INDEX_ON_STARTUP": "false",
    }
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port)]
    process = subprocess.Popen(command, env=env, cwd=REPOSITORY, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process)
        yield Server(base, root / "library", root / "index")
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_ready(base: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError("server did not become ready")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def _signed_in(browser, server: Server, who: str):
    context = browser.new_context(viewport=WIDE, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base)
    page = context.new_page()
    page.goto(f"{server.base}/studio")
    assert "/studio/login" in page.url  # unauthenticated → login
    page.fill("#secret", KEYS[who])
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith("/console" if who == "agent" else "/studio")  # agents land on the console
    return page


def _keys() -> set[str]:
    library = load_library(LIBRARY)
    return catalogue_keys() | set(library.intent_ids) | {rule.id for rule in library.compliance.rules}


def _assert_translated(page) -> None:
    """No code (status, mood, platform, role, error, lint rule, intent id) shows as a word on the page."""
    text = page.evaluate("document.body.innerText")
    shown = set(re.findall(r"[A-Za-z][\w.:/-]*", text, re.ASCII)) & _keys()
    assert shown == set(), f"untranslated on {page.url}: {shown}"


def _shoot(page, name: str) -> None:
    """The page rendered at 1366×768 and at 800 px wide, each scanned first; kept as ``NAME.png`` and
    ``NAME-800.png`` in ``SCREENSHOTS`` when it is set, so a test run leaves the repository's files alone."""
    folder = Path(SCREENSHOTS) if SCREENSHOTS else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    for size, suffix in ((WIDE, ""), (NARROW, "-800")):
        page.set_viewport_size(size)
        _assert_translated(page)
        path = None if folder is None else str(folder / f"{name}{suffix}.png")
        page.screenshot(path=path, full_page=False)
    page.set_viewport_size(WIDE)


def _suggested(server: Server, message: str) -> list[dict]:
    response = httpx.post(
        f"{server.base}/v1/suggest",
        json={"message": message, "top_k": 10},
        headers={"Authorization": f"Bearer {KEYS['agent']}"},
    )
    return response.json()["suggestions"]


def _eventually(check, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.1)


def _send(page, message: str) -> None:
    page.fill("#message", message)
    page.press("#message", "Enter")


# -- trainers and approvers -----------------------------------------------------------------------------------------
def test_a_live_script_is_served_until_its_revision_is_approved_in_the_queue(server, browser):
    live = load_library(server.library).script(SCRIPT).template
    trainer = _signed_in(browser, server, "trainer")
    expect(trainer.locator("table.scripts")).to_contain_text(SCRIPT)
    _shoot(trainer, "studio-list")

    trainer.goto(f"{server.base}/studio/scripts/{SCRIPT}")
    trainer.fill("#template", BAD)
    expect(trainer.locator("#lint-text mark.error")).to_have_text("不可能")
    expect(trainer.locator("#problems li[data-code='service.impossible']")).to_contain_text("否定性词汇")
    trainer.keyboard.press("Control+s")
    expect(trainer.locator("#message")).to_contain_text("已保存草稿")
    expect(trainer.locator("#status")).to_have_text("修订稿：草稿")
    expect(trainer.locator("#revision-note")).to_contain_text("线上 v1 仍在推荐给坐席")
    expect(trainer.locator("#lint-state")).to_contain_text("错误")
    expect(trainer.locator("#submit")).to_be_disabled()
    assert trainer.locator("#approve").count() == 0  # a trainer cannot approve at all
    _shoot(trainer, "editor-lint-error")
    trainer.set_viewport_size(NARROW)
    trainer.locator("input[name=platforms]").first.scroll_into_view_if_needed()  # the bottom of the form
    expect(trainer.locator("#lint-summary")).to_be_in_viewport()  # the lint stays in sight while editing
    expect(trainer.locator("#problems")).to_be_in_viewport()
    trainer.set_viewport_size(WIDE)

    trainer.fill("#template", GOOD)
    expect(trainer.locator("#lint-state")).to_have_text("通过")
    trainer.click("#save")
    expect(trainer.locator("#message")).to_contain_text("已保存草稿")
    expect(trainer.locator("#submit")).to_be_enabled()
    trainer.click("#submit")
    expect(trainer.locator("#status")).to_have_text("修订稿：待审核")
    texts = [s["text"] for s in _suggested(server, "物流两天没更新了")]
    assert any(t.startswith(live[:12]) for t in texts) and not any("马上帮您催促" in t for t in texts)

    approver = _signed_in(browser, server, "approver")
    expect(approver.locator("#review-count")).to_have_text("1")
    approver.goto(f"{server.base}/studio/review")
    item = approver.locator(f"article.review[data-entry-id='{SCRIPT}']")
    expect(item.locator(".compare .d-added").first).to_be_visible()
    expect(item.locator(".compare .d-removed").first).to_be_visible()
    expect(item.locator(".lint")).to_contain_text("检查通过")
    _shoot(approver, "review-queue")
    item.locator("button.approve").click()
    expect(item.locator(".result")).to_contain_text("v2 已上线")
    assert any("马上帮您催促" in s["text"] for s in _suggested(server, "物流两天没更新了"))

    approver.goto(f"{server.base}/studio/scripts/{SCRIPT}")
    expect(approver.locator("table.audit")).to_contain_text("待审核 → 已上线")
    expect(approver.locator("button.restore")).to_have_text("恢复 v1")
    approver.goto(f"{server.base}/studio/coverage")
    expect(approver.locator("table.heatmap").first).to_be_visible()
    _shoot(approver, "coverage-map")


def test_retiring_says_what_stops_being_suggested_and_an_approver_undoes_it(server, browser):
    example = load_library(server.library).script(RETIRED).examples[0]
    assert RETIRED in [s["script_id"] for s in _suggested(server, example)]
    approver = _signed_in(browser, server, "approver")
    approver.goto(f"{server.base}/studio/scripts/{RETIRED}")
    approver.click("#retire")
    expect(approver.locator("#impact-entries")).to_contain_text(RETIRED)
    expect(approver.locator("#impact-gaps")).not_to_be_empty()
    approver.click("#retire-confirm")
    expect(approver.locator("#retire-error")).to_contain_text("请写明下线原因")
    approver.fill("#retire-reason", "问候语统一改版")
    _shoot(approver, "retire-dialog")
    approver.click("#retire-confirm")
    expect(approver.locator("#message")).to_contain_text("已下线")
    expect(approver.locator("#retired-note")).to_contain_text("问候语统一改版")
    assert RETIRED not in [s["script_id"] for s in _suggested(server, example)]
    approver.click("#unretire")
    expect(approver.locator("#message")).to_contain_text("已撤销下线")
    assert RETIRED in [s["script_id"] for s in _suggested(server, example)]


def test_the_editor_keeps_unsaved_work_and_shows_both_versions_on_a_conflict(server, browser):
    entry = "invoice.e_invoice_timing"
    editor = f"{server.base}/studio/scripts/{entry}"
    mine = "您好，电子发票会在您付款后72小时内开具，订单 {{ order_id }} 开好后可在订单详情下载。"
    trainer = _signed_in(browser, server, "trainer")
    trainer.goto(editor)
    trainer.click("#add-var")
    trainer.locator("#variables tbody tr .v-name").last.fill("order_id")
    trainer.locator("#variables tbody tr .v-label").last.fill("订单号")
    trainer.fill("#template", "您好，电子发票会在您付款后72小时内开具，订单 ")
    trainer.locator("#var-chips button", has_text="order_id").click()  # inserts {{ order_id }} at the cursor
    trainer.locator("#template").press("End")
    trainer.keyboard.type(" 开好后可在订单详情下载。")
    expect(trainer.locator("#template")).to_have_value(mine)
    _eventually(lambda: trainer.evaluate(f"localStorage.getItem('huashu-draft:{entry}')"))  # kept in the browser

    approver = _signed_in(browser, server, "approver")
    approver.goto(editor)
    approver.fill("#template", "您好，电子发票会在您付款后72小时内开具，请您留意短信通知。")
    approver.click("#save")
    expect(approver.locator("#message")).to_contain_text("已保存草稿")

    asked = []
    trainer.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.accept()))
    trainer.reload()
    assert asked == ["beforeunload"]  # leaving with unsaved work asks first
    expect(trainer.locator("#autosave")).to_be_visible()
    trainer.click("#autosave-restore")
    expect(trainer.locator("#template")).to_have_value(mine)
    trainer.keyboard.press("Control+s")
    expect(trainer.locator("#message")).to_contain_text("已被他人修改")
    expect(trainer.locator("#conflict-mine")).to_contain_text("订单 {{ order_id }}")
    expect(trainer.locator("#conflict-theirs")).to_contain_text("请您留意短信通知")
    expect(trainer.locator("#conflict-who")).to_contain_text("质检组-李娜")
    trainer.click("#conflict-keep")
    expect(trainer.locator("#message")).to_contain_text("已保存草稿")
    assert load_library(server.library).script(entry).proposal.template == mine


# -- agents -----------------------------------------------------------------------------------------------------------
def test_the_console_shows_pending_and_errors_fills_variables_inline_and_works_from_the_keyboard(server, browser):
    agent = _signed_in(browser, server, "agent")
    held = []
    agent.route("**/studio/api/suggest", lambda route: held.append(route))
    _send(agent, "你们卖假货！我要投诉到12315")
    expect(agent.locator("#panel")).to_have_class(re.compile("busy"))
    expect(agent.locator("#state")).to_contain_text("正在识别")
    held[0].continue_()
    agent.unroute("**/studio/api/suggest")
    expect(agent.locator("li.suggestion").first).to_be_focused()
    expect(agent.locator("#escalation")).to_contain_text("需升级")
    expect(agent.locator("li.suggestion .why").first).not_to_contain_text(".")  # reasons in words, no ids or scores

    agent.route("**/studio/api/suggest", lambda route: route.abort())
    _send(agent, "我的快递到哪了，单号查不到")
    expect(agent.locator("#state")).to_contain_text("网络连接失败")
    expect(agent.locator("li.suggestion")).to_have_count(0)
    agent.unroute("**/studio/api/suggest")
    agent.click("#retry")
    card = agent.locator("li.suggestion:has(input.slot)").first
    expect(card).to_be_visible()
    expect(agent.locator("#escalation")).to_be_visible()  # stays until the agent handles it
    number = card.locator(".num").inner_text()
    _shoot(agent, "console")
    agent.set_viewport_size(NARROW)
    assert agent.locator("li.suggestion").first.bounding_box()["y"] < 400  # the cards start well above the fold
    agent.set_viewport_size(WIDE)

    card.focus()
    agent.keyboard.press(number)
    expect(agent.locator("#status")).to_contain_text("请先填写")
    slot = card.locator("input.slot").first
    expect(slot).to_be_focused()
    agent.keyboard.type("SF1234567890")
    agent.keyboard.press("Escape")  # back to the card
    expect(card).to_be_focused()
    agent.keyboard.press(number)
    expect(agent.locator("#status")).to_contain_text("已采用")
    expect(agent.locator(".bubble.agent").last).to_contain_text("SF1234567890")
    assert "SF1234567890" in agent.evaluate("navigator.clipboard.readText()")
    filled = [agent.locator(f"#order input[data-var='{name}']").input_value() for name in ("tracking_no", "order_id")]
    assert "SF1234567890" in filled  # remembered for the chat

    agent.click("#escalation-done")
    expect(agent.locator("#escalation")).to_be_hidden()
    _send(agent, "好的 谢谢")
    expect(agent.locator("li.suggestion").first).to_be_focused()
    held_feedback: list = []

    def hold_first(route) -> None:  # the first feedback (the rejection) is held back; later ones pass
        if held_feedback:
            route.continue_()
        else:
            held_feedback.append(route)

    agent.route("**/studio/api/feedback", hold_first)
    agent.keyboard.press("r")
    expect(agent.locator("li.suggestion.rejected")).to_have_count(1)
    agent.keyboard.press("2")
    expect(agent.locator("#status")).to_contain_text("已采用")
    expect(agent.locator("#message")).to_be_focused()
    with agent.expect_response(lambda response: "/studio/api/feedback" in response.url):
        held_feedback[0].continue_()  # the rejection's answer arrives after the pick's
    agent.unroute("**/studio/api/feedback")
    agent.wait_for_timeout(300)  # time for the late answer's handler to run
    expect(agent.locator("#status")).to_contain_text("已采用")  # a stale confirmation never covers a newer one


def test_an_agent_correction_reaches_the_trainers_queue_and_once_accepted_the_index(server, browser):
    """Intent, emotion and escalation corrected in the console, accepted by an approver into the library."""
    message = "包裹到底发出去没有啊 等着急用"
    agent = _signed_in(browser, server, "agent")
    _send(agent, message)
    expect(agent.locator("li.suggestion").first).to_be_focused()
    agent.locator("#emotion-chips button[aria-pressed='false']").first.click()
    expect(agent.locator("#status")).to_contain_text("已记录您的纠正")
    other = agent.locator("#intent-chips select option").nth(1)
    intent, name = other.get_attribute("value"), other.inner_text()
    agent.locator("#intent-chips select").select_option(intent)
    expect(agent.locator("#intent-chips")).to_contain_text(f"{name}（已纠正）")
    expect(agent.locator("#escalation-chips button[aria-pressed='true']")).to_have_text("不升级")
    team = agent.locator("#escalation-chips button[aria-pressed='false']").first.inner_text()
    agent.locator("#escalation-chips button[aria-pressed='false']").first.click()
    expect(agent.locator("#escalation-chips")).to_contain_text(f"{team}（已纠正）")

    trainer = _signed_in(browser, server, "trainer")
    expect(trainer.locator("#corrections-count")).to_have_text("1")
    trainer.goto(f"{server.base}/studio/corrections")
    row = trainer.locator("table.corrections tr[data-id]").first
    expect(row).to_contain_text(name)
    expect(row).to_contain_text(f"升级：不升级 → {team}")
    expect(row.locator("button.accept")).to_have_count(0)  # trainers see it; an approver accepts
    stored = row.locator("input.text").input_value()  # redacted and normalised by the API

    approver = _signed_in(browser, server, "approver")
    approver.goto(f"{server.base}/studio/corrections")
    _shoot(approver, "corrections-queue")
    before = current_manifest(server.index)
    approver.locator("table.corrections tr[data-id] button.accept").first.click()
    expect(approver.locator("table.corrections .result")).to_contain_text("索引已更新")
    library = load_library(server.library)
    assert stored in next(i for i in library.intents if i.id == intent).examples
    learned = library.escalation_examples[-1]
    assert (learned.text, learned.team, learned.source) == (stored, team, "corrections")
    published = current_manifest(server.index)
    assert published.version != before.version and published.library_hash == library.content_hash
    approver.goto(f"{server.base}/studio/audit")
    expect(approver.locator("table.audit")).to_contain_text(f"意图「{name}」的示例")
    _assert_translated(approver)


def test_errors_are_pages_in_chinese(server, browser):
    agent = _signed_in(browser, server, "agent")
    agent.goto(f"{server.base}/studio/coverage")
    expect(agent.locator(".error-page")).to_contain_text("没有权限")
    expect(agent.locator(".error-page a")).to_have_text("去坐席台")
    trainer = _signed_in(browser, server, "trainer")
    trainer.goto(f"{server.base}/studio/scripts/no.such_script")
    expect(trainer.locator(".error-page")).to_contain_text("找不到话术或常见问题")
    _assert_translated(trainer)
    for path in ("/studio/try", "/studio/new?kind=faq", f"/studio/scripts/{RETIRED}"):
        trainer.goto(server.base + path)
        _assert_translated(trainer)
