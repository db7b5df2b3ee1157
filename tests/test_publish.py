"""Publishing a trainer's change: re-indexed incrementally, hot-swapped, classifiers retrained after."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.retrain import ServingGate, lower_priority
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


def _state(pid: int) -> str:
    """The process state letter from /proc: T when stopped, S or R otherwise."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _settles_in(pid: int, states: str, timeout_s: float = 5.0) -> bool:
    """Whether the process reaches one of ``states`` within ``timeout_s`` (signals are delivered asynchronously)."""
    deadline = time.monotonic() + timeout_s
    while _state(pid) not in states:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_the_retraining_process_is_paused_while_any_request_is_served():
    gate = ServingGate()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with gate.serving():
            gate.attach(child)  # a run that starts during a request starts paused
            assert _settles_in(child.pid, "T")
            with gate.serving():
                pass
            time.sleep(0.2)
            assert _state(child.pid) == "T", "still one request in flight"
        assert _settles_in(child.pid, "SR")
        gate.attach(None)
        with gate.serving():
            time.sleep(0.2)
            assert _state(child.pid) in "SR", "a detached process is left alone"
    finally:
        child.kill()
        child.wait()
    with gate.serving():  # an ended process is not signalled
        pass


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_a_paused_retraining_process_dies_with_the_worker_that_started_it(tmp_path):
    """A worker that dies while its child is paused must not leave the child (maybe holding the publish lock)."""
    pid_file = tmp_path / "child.pid"
    child_code = (
        "import os, sys, time; from indexer.__main__ import exit_with_parent; exit_with_parent(int(sys.argv[1])); "
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    )
    worker_code = (
        "import os, subprocess, sys, time; "
        f"subprocess.Popen([sys.executable, '-c', {child_code!r}, str(os.getpid())]); time.sleep(60)"
    )
    worker = subprocess.Popen([sys.executable, "-c", worker_code], cwd=Path(__file__).parents[1])
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the worker did not start its child"
        time.sleep(0.05)
    child = int(pid_file.read_text())
    try:
        os.kill(child, signal.SIGSTOP)  # paused, as during a request
        worker.kill()
        worker.wait()
        while Path(f"/proc/{child}").exists() and _state(child) != "Z":
            assert time.monotonic() < deadline, "the paused child outlived its worker"
            time.sleep(0.05)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
