"""Faults (issue 7): crashes, interrupted publishing, bad artifacts and an unwritable store.

The fast versions run here; ``python -m eval reliability`` repeats the crash checks against a full
``python -m indexer build`` and a longer feedback burst.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from app.main import create_app
from app.settings import Settings
from eval.reliability import feedback_burst_with_kill, issue_suggestions, server_env, stored_feedback
from eval.server import Server
from retrieval import artifact


def test_kill_9_during_a_feedback_burst_loses_no_acknowledged_row(base_settings, built_index, tmp_path):
    shutil.copytree(base_settings.index_dir, tmp_path / "index")
    env = server_env(base_settings, tmp_path)
    with Server(workers=1, env=env) as server:
        issued = issue_suggestions(server.url, 40, "第{}单的发票怎么开")
        acknowledged = feedback_burst_with_kill(server.url, server.kill, issued, kill_after=30)
    assert server.process.returncode == -signal.SIGKILL
    with Server(workers=1, env=env) as restarted, httpx.Client(base_url=restarted.url, timeout=30) as client:
        again = client.post("/v1/feedback", json={"request_id": issued[0][0], "action": "none_fit"})
        assert again.status_code in (200, 201)
    recovered = stored_feedback(tmp_path / "data" / "huashu.sqlite")
    assert len(acknowledged) >= 30
    assert acknowledged - recovered == set(), f"{len(acknowledged - recovered)} acknowledged rows lost"


PAUSED_PUBLISHER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from retrieval import artifact

    index_dir, marker, pause_at = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    current = artifact.current_manifest(index_dir)
    loaded = artifact.load_artifact(index_dir, current.model_fingerprint, current.dimension)

    def pause():
        marker.write_text("paused")
        time.sleep(600)

    if pause_at == "while-writing-files":
        write = artifact._write_file
        def write_then_pause(path, data):
            write(path, data)
            if path.name == artifact.CLASSIFIERS:
                pause()
        artifact._write_file = write_then_pause
    else:  # renamed into versions/, CURRENT not yet replaced
        artifact.set_current = lambda *_: pause()

    manifest = current.model_dump(exclude={"files", "format_version"})
    manifest["version"] = artifact.new_version_name(current.library_hash)
    artifact.publish(index_dir, artifact.ArtifactContents(
        loaded.index, loaded.rows, loaded.entries, loaded.classifiers, manifest))
    """
)


def republish(index_dir: Path) -> artifact.Manifest:
    """Publish the current artifact's contents as a new version (what a rebuild of the same library does)."""
    current = artifact.current_manifest(index_dir)
    loaded = artifact.load_artifact(index_dir, current.model_fingerprint, current.dimension)
    manifest = current.model_dump(exclude={"files", "format_version"})
    manifest["version"] = artifact.new_version_name(current.library_hash)
    contents = artifact.ArtifactContents(loaded.index, loaded.rows, loaded.entries, loaded.classifiers, manifest)
    return artifact.publish(index_dir, contents)


@pytest.mark.parametrize("pause_at", ["while-writing-files", "after-rename-before-current"])
def test_indexer_killed_mid_publish_leaves_the_previous_version_serving(base_settings, built_index, tmp_path, pause_at):
    index_dir = tmp_path / "index"
    shutil.copytree(base_settings.index_dir, index_dir)
    before = artifact.current_manifest(index_dir)
    marker = tmp_path / "paused"
    publisher = subprocess.Popen(
        [sys.executable, "-c", PAUSED_PUBLISHER, str(index_dir), str(marker), pause_at],
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert publisher.poll() is None and time.monotonic() < deadline, "publisher never reached the pause"
            time.sleep(0.05)
        staged = {p.name for p in (index_dir / artifact.VERSIONS).iterdir()} - {before.version}
        assert staged, "the killed publisher had written something"
    finally:
        publisher.send_signal(signal.SIGKILL)
        publisher.wait(timeout=20)
    assert artifact.current_version(index_dir) == before.version
    served = artifact.load_artifact(index_dir, before.model_fingerprint, before.dimension)
    assert served.manifest.version == before.version

    after = republish(index_dir)
    assert artifact.current_version(index_dir) == after.version != before.version
    assert artifact.load_artifact(index_dir, after.model_fingerprint, after.dimension).manifest == after


@pytest.fixture(scope="module")
def served(base_settings, built_index, tmp_path_factory, encoder) -> Iterator[tuple[TestClient, Settings]]:
    root = tmp_path_factory.mktemp("faults")
    shutil.copytree(base_settings.index_dir, root / "index")
    settings = base_settings.model_copy(update={"index_dir": root / "index", "data_dir": root / "data"})
    with TestClient(create_app(settings, encoder)) as client:
        yield client, settings


def copy_current_version(index_dir: Path) -> Path:
    """A new version directory that starts as an exact copy of the served one, and CURRENT pointing at it."""
    current = artifact.current_version(index_dir)
    name = artifact.new_version_name("faulty00")
    target = index_dir / artifact.VERSIONS / name
    shutil.copytree(index_dir / artifact.VERSIONS / current, target)
    manifest = json.loads((target / artifact.MANIFEST).read_text())
    manifest["version"] = name
    (target / artifact.MANIFEST).write_text(json.dumps(manifest))
    return target


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def edit_manifest(version_dir: Path, **changes: object) -> None:
    manifest = json.loads((version_dir / artifact.MANIFEST).read_text())
    (version_dir / artifact.MANIFEST).write_text(json.dumps({**manifest, **changes}))


def rechecksum(version_dir: Path) -> None:
    """Make the manifest agree with the damaged files: only the loader's own checks can catch it now."""
    manifest = json.loads((version_dir / artifact.MANIFEST).read_text())
    files = {name: artifact.sha256_file(version_dir / name) for name in manifest["files"]}
    edit_manifest(version_dir, files=files)


DAMAGE = {
    "truncated-vectors": lambda v: truncate(v / artifact.VECTORS),
    "truncated-manifest": lambda v: truncate(v / artifact.MANIFEST),
    "missing-classifiers": lambda v: (v / artifact.CLASSIFIERS).unlink(),
    "other-dimension": lambda v: edit_manifest(v, dimension=768),
    "other-model": lambda v: edit_manifest(v, model_fingerprint="0" * 16, model_id="BAAI/bge-base-zh-v1.5"),
    "truncated-vectors-checksummed": lambda v: (truncate(v / artifact.VECTORS), rechecksum(v)),
    "garbage-classifiers-checksummed": lambda v: (
        (v / artifact.CLASSIFIERS).write_bytes(b"not a pickle"),
        rechecksum(v),
    ),
    "garbage-rows-checksummed": lambda v: ((v / artifact.ROWS).write_text("[1, 2"), rechecksum(v)),
    "missing-version": lambda v: shutil.rmtree(v),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_artifact_is_refused_on_reload_and_the_old_one_keeps_serving(served, damage):
    client, settings = served
    serving = client.get("/readyz").json()["index_version"]
    version_dir = copy_current_version(settings.index_dir)
    DAMAGE[damage](version_dir)
    (settings.index_dir / artifact.CURRENT).write_text(version_dir.name)
    try:
        response = client.post("/v1/admin/reload")
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "artifact_rejected" and version_dir.name in error["message"]
        assert serving in error["message"]
        assert client.get("/readyz").json()["index_version"] == serving
        assert client.post("/v1/suggest", json={"message": "发票怎么开"}).status_code == 200
    finally:
        artifact.set_current(settings.index_dir, serving)


def store_fault(client: TestClient, pragma: str):
    """Make every new connection of the service's store fail writes the way a full or read-only disk does."""
    engine = client.app.state.service.store.engine

    def apply(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(pragma)
        cursor.close()

    event.listen(engine, "connect", apply)
    engine.dispose()
    return lambda: (event.remove(engine, "connect", apply), engine.dispose())


@pytest.mark.parametrize(
    "pragma",
    ["PRAGMA query_only=ON", "PRAGMA max_page_count=1"],
    ids=["read-only", "disk-full"],
)
def test_unwritable_store_gives_503_on_feedback_while_suggestions_go_on(served, pragma):
    client, _ = served
    suggested = client.post("/v1/suggest", json={"message": "退货怎么寄"}).json()
    client.app.state.service.store.flush()
    # 2,000 characters need new pages, so the write cannot fit into free space of existing ones
    script_id = suggested["suggestions"][0]["script_id"]
    feedback = {
        "request_id": suggested["request_id"],
        "script_id": script_id,
        "action": "edited",
        "final_text": "已处理" * 666,
    }
    restore = store_fault(client, pragma)
    try:
        response = client.post("/v1/feedback", json=feedback)
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "store_unavailable" and "retry" in error["message"]
        for message in ("退货怎么寄", "快递到哪了", "我要发票"):
            assert client.post("/v1/suggest", json={"message": message}).status_code == 200
        assert client.get("/readyz").status_code == 200
    finally:
        restore()
    recovered = client.post("/v1/feedback", json=feedback)
    assert recovered.status_code == 201
