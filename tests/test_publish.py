"""Publishing a trainer's change: re-indexed incrementally, hot-swapped, classifiers retrained after."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.retrain import lower_priority
from indexer.build import is_stale
from retrieval.artifact import current_manifest

NEW_SENTENCE = "您好，包裹正由快递小哥加急派送，今天之内一定送到您手上，请保持电话畅通。"
OLD_SENTENCE = "您好，您的包裹由{{ courier }}配送"


def _rewrite_where_is_package(library: Path) -> None:
    path = library / "scripts" / "logistics_tracking.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index(OLD_SENTENCE)
    end = text.index("\n", start)
    path.write_text(text[:start] + NEW_SENTENCE + text[end:], encoding="utf-8")


@pytest.fixture
def publishing(served, mini_library, encoder):
    """A service over the shipped index whose library is the small one, so retraining takes seconds."""
    settings = served.model_copy(update={"library_dir": mini_library, "retrain_after_publish": False})
    with TestClient(create_app(settings, encoder)) as client:
        yield client, settings


def _top_texts(client: TestClient) -> list[str]:
    body = client.post("/v1/suggest", json={"message": "我的快递到哪里了", "top_k": 5}).json()
    return [s["text"] for s in body["suggestions"]]


def test_an_edit_is_served_after_a_quick_publish(publishing, built_index):
    client, settings = publishing
    assert NEW_SENTENCE not in _top_texts(client)
    _rewrite_where_is_package(settings.library_dir)
    version = client.app.state.service.publish_library()
    assert client.get("/readyz").json()["index_version"] == version != built_index.manifest.version
    assert NEW_SENTENCE in _top_texts(client)
    manifest = current_manifest(settings.index_dir)
    assert manifest.classifiers_from == built_index.manifest.version
    assert manifest.training == built_index.manifest.training
    assert is_stale(settings.library_dir, settings.index_dir, manifest.model_fingerprint)


def test_background_retraining_replaces_reused_classifiers(publishing):
    client, settings = publishing
    service = client.app.state.service
    service.settings = settings.model_copy(update={"retrain_after_publish": True})
    _rewrite_where_is_package(settings.library_dir)
    quick = service.publish_library()
    deadline = time.monotonic() + 600
    while service.assistant.index.version == quick and time.monotonic() < deadline:
        time.sleep(0.5)
    manifest = current_manifest(settings.index_dir)
    assert manifest.version == service.assistant.index.version != quick
    assert manifest.classifiers_from is None
    assert not is_stale(settings.library_dir, settings.index_dir, manifest.model_fingerprint)
    assert NEW_SENTENCE in _top_texts(client)


def test_edits_during_a_retrain_are_folded_into_one_more_run_and_the_latest_library_wins(publishing):
    client, settings = publishing
    service = client.app.state.service
    service.settings = settings.model_copy(update={"retrain_after_publish": True})
    _rewrite_where_is_package(settings.library_dir)
    service.publish_library()
    path = settings.library_dir / "faq" / "invoice.yaml"
    for note in ("# 第一次补充说明\n", "# 第二次补充说明\n"):  # two more approvals while the first retrain runs
        path.write_text(path.read_text("utf-8") + note, "utf-8")
        service.publish_library()
    deadline = time.monotonic() + 600
    while service.retrainer.busy() and time.monotonic() < deadline:
        time.sleep(0.5)
    manifest = current_manifest(settings.index_dir)
    assert service.retrainer.runs == 2, "one run, then one more for everything approved meanwhile"
    assert manifest.classifiers_from is None and manifest.version == service.assistant.index.version
    assert not is_stale(settings.library_dir, settings.index_dir, manifest.model_fingerprint)


def test_the_retraining_process_only_gets_cpu_that_serving_leaves():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        lower_priority(child.pid)
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == 19
        if hasattr(os, "SCHED_IDLE"):
            assert os.sched_getscheduler(child.pid) == os.SCHED_IDLE
    finally:
        child.kill()
        child.wait()
