"""End to end in a real browser (Debian's chromium, headless, driven by Playwright) against a real server.

Trainer edits a script to contain a forbidden phrase → the violation is shown and approval is impossible;
fix → submit; an approver approves; /v1/suggest serves the new text; the console shows suggestions and a
pick is stored as feedback. Screenshots for the README land in docs/screenshots/.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.auth import hash_key
from tests.conftest import LIBRARY, REPOSITORY

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = REPOSITORY / "docs" / "screenshots"
KEYS = {"trainer": "e2e-trainer-key", "approver": "e2e-approver-key", "agent": "e2e-agent-key"}
SCRIPT = "logistics_tracking.not_updated"
BAD = "这个不可能更快了，{{ courier }}还在路上，2小时内给您回复。"
GOOD = "非常抱歉让您着急了，{{ courier }}这边我马上帮您催促，2小时内给您回复。"

sync_api.expect.set_options(timeout=30_000)  # 2 shared cores: a save re-reads the whole library twice
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium missing: apt-get install -y chromium"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(base_settings, built_index, tmp_path_factory) -> Iterator[str]:
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
        yield base
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


def _signed_in(browser, base: str, who: str):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/studio")
    assert "/studio/login" in page.url  # unauthenticated → login
    page.fill("#secret", KEYS[who])
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def _shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=False)


def test_trainer_to_approver_to_served_to_console(server, browser):
    trainer = _signed_in(browser, server, "trainer")
    sync_api.expect(trainer.locator("table.scripts")).to_contain_text(SCRIPT)
    _shoot(trainer, "studio-list.png")

    trainer.goto(f"{server}/studio/scripts/{SCRIPT}")
    trainer.fill("#template", BAD)
    sync_api.expect(trainer.locator("#lint-text mark.error")).to_have_text("不可能")
    sync_api.expect(trainer.locator("#problems")).to_contain_text("service.impossible")
    trainer.click("#save")
    sync_api.expect(trainer.locator("#message")).to_contain_text("→ draft")
    sync_api.expect(trainer.locator("#status")).to_have_text("draft")
    sync_api.expect(trainer.locator("#lint-state")).to_contain_text("错误")
    sync_api.expect(trainer.locator("#submit")).to_be_disabled()
    assert trainer.locator("#approve").count() == 0  # a trainer cannot approve at all
    _shoot(trainer, "editor-lint-error.png")

    trainer.fill("#template", GOOD)
    sync_api.expect(trainer.locator("#lint-state")).to_have_text("通过")
    trainer.click("#save")
    sync_api.expect(trainer.locator("#message")).to_contain_text("→ draft")
    sync_api.expect(trainer.locator("#submit")).to_be_enabled()
    trainer.click("#submit")
    sync_api.expect(trainer.locator("#status")).to_have_text("submitted")

    approver = _signed_in(browser, server, "approver")
    approver.goto(f"{server}/studio/scripts/{SCRIPT}")
    approver.click("#approve")
    sync_api.expect(approver.locator("#message")).to_contain_text("已上线")
    sync_api.expect(approver.locator("table.audit")).to_contain_text("submitted → approved")

    served = httpx.post(
        f"{server}/v1/suggest",
        json={"message": "物流两天没更新了", "top_k": 5},
        headers={"Authorization": f"Bearer {KEYS['agent']}"},
    ).json()
    assert any("马上帮您催促" in s["text"] for s in served["suggestions"])

    approver.goto(f"{server}/studio/coverage")
    sync_api.expect(approver.locator("table.heatmap").first).to_be_visible()
    _shoot(approver, "coverage-map.png")

    agent = _signed_in(browser, server, "agent")
    agent.goto(f"{server}/console")
    agent.fill("#message", "你们卖假货！我要投诉到12315")
    agent.click("#customer button[type=submit]")
    sync_api.expect(agent.locator("#cards li").first).to_be_visible()
    sync_api.expect(agent.locator("#escalation")).to_contain_text("需升级")
    _shoot(agent, "console.png")
    agent.keyboard.press("1")
    sync_api.expect(agent.locator("#status")).to_contain_text("已记录反馈：picked")
    sync_api.expect(agent.locator(".bubble.agent")).to_have_count(1)
