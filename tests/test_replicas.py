"""Two replicas (two uvicorn processes) sharing one PostgreSQL and one artifact directory.

Runs when HUASHU_TEST_POSTGRES_URL names a server (`.ci/run` starts one); skips locally otherwise.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from app.store import Feedback
from eval.server import Server
from indexer.build import build_index
from tests.test_publish import NEW_SENTENCE, _rewrite_where_is_package
from tests.test_store import POSTGRES_URL

pytestmark = pytest.mark.skipif(
    not POSTGRES_URL, reason="no PostgreSQL: set HUASHU_TEST_POSTGRES_URL (`.ci/run` starts one)"
)
POLL_SECONDS = 0.5
PRIOR_REFRESH_SECONDS = 1.0


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A database of its own on the test server, dropped afterwards."""
    name = f"replicas_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def shared(base_settings, built_index, database_url, tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("replicas")
    shutil.copytree(base_settings.index_dir, root / "artifacts")
    return {
        "HUASHU_DATABASE_URL": database_url,
        "HUASHU_INDEX_DIR": str(root / "artifacts"),
        "HUASHU_CACHE_DIR": str(base_settings.cache_dir),
        "HUASHU_DATA_DIR": str(root / "data"),
        "HUASHU_INDEX_POLL_SECONDS": str(POLL_SECONDS),
        "HUASHU_PRIOR_REFRESH_SECONDS": str(PRIOR_REFRESH_SECONDS),
        "HUASHU_BUILD_INDEX_ON_STARTUP": "false",
        "HUASHU_ENCODER_THREADS": "1",
        "HUASHU_RATE_LIMIT_PER_MINUTE": "0",
    }


@pytest.fixture(scope="module")
def replicas(shared: dict[str, str]) -> Iterator[tuple[Server, Server]]:
    with Server(workers=1, env=shared) as first, Server(workers=1, env=shared) as second:
        yield first, second


def _suggest(url: str, message: str = "我的快递到哪里了") -> dict:
    response = httpx.post(f"{url}/v1/suggest", json={"message": message, "top_k": 5}, timeout=10)
    response.raise_for_status()
    return response.json()


def _prior_reason(body: dict, script_id: str) -> str | None:
    suggestion = next(s for s in body["suggestions"] if s["script_id"] == script_id)
    return next((r for r in suggestion["reasons"] if r.startswith("坐席采纳率")), None)


def test_feedback_through_one_replica_counts_on_the_other(replicas):
    first, second = replicas
    body = _suggest(first.url)
    script_id = body["suggestions"][0]["script_id"]
    assert _prior_reason(_suggest(second.url), script_id) is None
    feedback = {"request_id": body["request_id"], "script_id": script_id, "action": "picked"}
    assert httpx.post(f"{second.url}/v1/feedback", json=feedback, timeout=10).status_code in (200, 201)
    deadline = time.monotonic() + 10 * PRIOR_REFRESH_SECONDS
    while time.monotonic() < deadline:
        reasons = [_prior_reason(_suggest(r.url), script_id) for r in replicas]
        if all(reasons):
            break
        time.sleep(0.2)
    assert reasons[0] == reasons[1] and reasons[0] is not None, "both replicas rank with the shared prior"


def _hammer(urls: list[str], stop: threading.Event, seen: list[tuple[int, str]]) -> None:
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            for url in urls:
                try:
                    response = client.post(f"{url}/v1/suggest", json={"message": "我的快递到哪里了"})
                    seen.append((response.status_code, response.json().get("index_version", "")))
                except httpx.HTTPError as exc:
                    seen.append((0, type(exc).__name__))


def test_a_published_index_switches_both_replicas_without_failed_requests(
    replicas, shared, encoder, library_copy: Path, base_settings
):
    before = {httpx.get(f"{r.url}/readyz").json()["index_version"] for r in replicas}
    assert len(before) == 1
    stop, seen = threading.Event(), []
    client = threading.Thread(target=_hammer, args=([r.url for r in replicas], stop, seen))
    client.start()
    try:
        _rewrite_where_is_package(library_copy)
        artifacts = Path(shared["HUASHU_INDEX_DIR"])
        report = build_index(library_copy, artifacts, encoder, base_settings.cache_dir, quiet=True, retrain=False)
        published = time.monotonic()
        versions: set[str] = set()
        while time.monotonic() - published < 30:
            versions = {httpx.get(f"{r.url}/readyz").json()["index_version"] for r in replicas}
            if versions == {report.manifest.version}:
                break
            time.sleep(0.05)
        switch_seconds = time.monotonic() - published
        time.sleep(0.5)
    finally:
        stop.set()
        client.join()
    failed = sum(status != 200 for status, _ in seen)
    print(
        f"switch-over: both replicas serve it {switch_seconds:.2f} s after publish;",
        len(seen),
        "requests,",
        failed,
        "failed",
    )
    assert versions == {report.manifest.version}, f"replicas still serve {versions - {report.manifest.version}}"
    assert switch_seconds < POLL_SECONDS + 5
    assert [s for s in seen if s[0] != 200] == [] and len(seen) > 10
    assert {v for _, v in seen} == before | {report.manifest.version}
    assert all(NEW_SENTENCE in [s["text"] for s in _suggest(r.url)["suggestions"]] for r in replicas)


def test_kill_9_of_one_replica_loses_no_acknowledged_feedback(replicas, shared, database_url):
    first, second = replicas
    request_ids = [_suggest(second.url, f"第{i}件快递到哪了")["request_id"] for i in range(120)]
    acknowledged: list[str] = []

    def send(request_id: str) -> None:
        body = {"request_id": request_id, "script_id": "logistics_tracking.where_is_package", "action": "rejected"}
        try:
            if httpx.post(f"{first.url}/v1/feedback", json=body, timeout=5).status_code in (200, 201):
                acknowledged.append(request_id)
        except httpx.HTTPError:
            pass  # in flight when the replica died: not acknowledged, so not owed

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(send, rid) for rid in request_ids]
        while len(acknowledged) < 30:
            time.sleep(0.01)
        first.kill()
        for future in futures:
            future.result()
    engine = create_engine(database_url)
    with engine.connect() as connection:
        stored = set(connection.scalars(select(Feedback.request_id).where(Feedback.request_id.in_(request_ids))).all())
        total = connection.scalar(select(func.count()).select_from(Feedback))
    engine.dispose()
    assert 30 <= len(acknowledged) < len(request_ids), "the kill landed mid-burst"
    assert set(acknowledged) <= stored and total >= len(stored)
    assert httpx.get(f"{second.url}/readyz").status_code == 200, "the other replica keeps serving"
