"""The long reliability checks of issue 7: ``python -m eval reliability [--soak-minutes 10]``.

Against real uvicorn servers on loopback, on a copy of the published index and a fresh data dir:

1. **fuzz** — hypothesis bodies from the service's own OpenAPI (eval/fuzz.py) on every route;
2. **load** — C concurrent clients against W workers for S seconds: errors, p50/p99, worker RSS at
   the start (after warm-up) and at the end; ``--soak-minutes`` repeats it minute by minute and
   reports the RSS trend instead (not for CI);
3. **crash** — a burst of feedback writes, the server SIGKILLed mid-burst, restarted: every
   acknowledged row must be in the database;
4. **indexer kill** — ``python -m indexer build`` SIGKILLed mid-build: the previous version must still
   load, and the next build must succeed.

Prints one table and exits 1 when any check fails. The fast variants of all four are in ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.settings import Settings
from eval.bench_api import load
from eval.data_sources import REPOSITORY, read_jsonl
from eval.fuzz import Operation, bodies, contract_violation, operations
from eval.server import Server
from retrieval import artifact


@dataclass
class Row:
    check: str
    figure: str
    criterion: str  # what "pass" means for this row, printed beside it
    ok: bool


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)

    def add(self, check: str, figure: str, criterion: str, ok: bool) -> None:
        """One row; every row states its pass criterion and is judged by it (no row passes by default)."""
        self.rows.append(Row(check, figure, criterion, ok))
        print(f"  {'ok  ' if ok else 'FAIL'} {check}: {figure}  [{criterion}]", flush=True)

    def table(self) -> str:
        width = max(len(r.check) for r in self.rows)
        lines = [f"| {'check':{width}} | figure | pass criterion | pass |", f"|{'-' * (width + 2)}|---|---|---|"]
        lines += [f"| {r.check:{width}} | {r.figure} | {r.criterion} | {'yes' if r.ok else 'NO'} |" for r in self.rows]
        return "\n".join(lines)

    @property
    def failed(self) -> bool:
        return any(not r.ok for r in self.rows)


def server_env(settings: Settings, root: Path, **extra: str) -> dict[str, str]:
    """Environment of a server (or indexer) working on ``root/index`` and ``root/data``."""
    return {
        "HUASHU_INDEX_DIR": str(root / "index"),
        "HUASHU_DATA_DIR": str(root / "data"),
        "HUASHU_MODEL_DIR": str(settings.model_dir),
        "HUASHU_CACHE_DIR": str(settings.cache_dir),
        "HUASHU_BUILD_INDEX_ON_STARTUP": "false",
        "HUASHU_ENCODER_THREADS": "1",
        **extra,
    }


# -- crash during feedback writes (also used by tests/test_faults.py) ------------------------------
def feedback_burst_with_kill(
    url: str, kill: Callable[[], None], issued: list[tuple[str, str]], kill_after: int
) -> set[tuple[str, str]]:
    """Send two feedback rows per issued (request id, suggested script) from 8 threads, and call ``kill``
    after ``kill_after`` acks.

    Returns the acknowledged (request_id, action) pairs: those answered 200 or 201 before the crash.
    """
    acknowledged: set[tuple[str, str]] = set()
    lock = threading.Lock()
    killed = threading.Event()

    def send(request_id: str, script_id: str, action: str) -> None:
        body = {"request_id": request_id, "action": action, "script_id": None if action == "none_fit" else script_id}
        try:
            response = httpx.post(f"{url}/v1/feedback", json=body, timeout=10)
        except httpx.HTTPError:
            return
        if response.status_code in (200, 201):
            with lock:
                acknowledged.add((request_id, action))
                if len(acknowledged) >= kill_after and not killed.is_set():
                    killed.set()
                    kill()

    with ThreadPoolExecutor(max_workers=8) as pool:
        for request_id, script_id in issued:
            for action in ("none_fit", "rejected"):
                pool.submit(send, request_id, script_id, action)
    if not killed.is_set():
        raise RuntimeError(f"the burst ended with {len(acknowledged)} acks, before the server was killed")
    return acknowledged


def stored_feedback(database: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(database) as db:
        return set(db.execute("SELECT request_id, action FROM feedback"))


def issue_suggestions(url: str, count: int, message: str = "第{}单的快递怎么还没到") -> list[tuple[str, str]]:
    """(request id, first suggested script) of ``count`` suggestions, to send feedback about."""
    with httpx.Client(base_url=url, timeout=30) as client:
        answers = [client.post("/v1/suggest", json={"message": message.format(i)}).json() for i in range(count)]
    return [(a["request_id"], a["suggestions"][0]["script_id"]) for a in answers]


def check_crash(settings: Settings, root: Path, report: Report, requests: int) -> None:
    env = server_env(settings, root)
    with Server(workers=2, env=env) as server:
        issued = issue_suggestions(server.url, requests)
        acknowledged = feedback_burst_with_kill(server.url, server.kill, issued, kill_after=requests)
    with Server(workers=1, env=env) as restarted:
        alive = httpx.get(f"{restarted.url}/readyz", timeout=10).status_code == 200
    recovered = stored_feedback(root / "data" / "huashu.sqlite")
    lost = len(acknowledged - recovered)
    report.add(
        "kill -9 during feedback burst: acknowledged vs recovered rows",
        f"{len(acknowledged)} acknowledged, {len(acknowledged & recovered)} recovered after restart, {lost} lost",
        "0 lost and the restarted server is ready",
        lost == 0 and alive,
    )


# -- indexer killed mid-build ------------------------------------------------------------------------
def check_indexer_kill(settings: Settings, root: Path, report: Report, seed: int) -> None:
    index_dir = root / "index"
    command = [sys.executable, "-m", "indexer", "build", "--out", str(index_dir), "--quiet"]
    env = {**os.environ, **server_env(settings, root)}
    started = time.monotonic()
    full = subprocess.run(command, env=env, cwd=REPOSITORY, capture_output=True, text=True)
    build_s = time.monotonic() - started
    if full.returncode != 0:
        report.add("indexer: reference build", f"failed: {full.stderr.strip()[-300:]}", "exit 0", False)
        return
    before = artifact.current_manifest(index_dir)
    kill_at = random.Random(seed).uniform(0.3, 0.95) * build_s
    builder = subprocess.Popen(command, env=env, cwd=REPOSITORY, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(kill_at)
    builder.send_signal(signal.SIGKILL)
    builder.wait()
    still = artifact.current_version(index_dir) == before.version
    loads = artifact.load_artifact(index_dir, before.model_fingerprint, before.dimension).manifest == before
    report.add(
        "indexer SIGKILLed mid-build: previous version serves",
        f"killed at {kill_at:.1f} s of a {build_s:.1f} s build; CURRENT unchanged {still}, verifies {loads}",
        "CURRENT unchanged and its artifact verifies",
        still and loads,
    )
    after = subprocess.run(command, env=env, cwd=REPOSITORY, capture_output=True, text=True)
    current = artifact.current_manifest(index_dir)
    ok = after.returncode == 0 and current is not None and current.version != before.version
    if ok:
        artifact.load_artifact(index_dir, current.model_fingerprint, current.dimension)
    report.add(
        "indexer: next build after the kill", f"exit {after.returncode}, new version {ok}", "exit 0, new version", ok
    )


# -- fuzz --------------------------------------------------------------------------------------------
def fuzz_operation(
    client: httpx.Client, operation: Operation, examples: int, known_ids: list[str]
) -> tuple[int, list[str]]:
    """Run ``examples`` generated requests; return how many were sent and the contract violations seen."""
    tried = 0
    violations: list[str] = []

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(body=bodies(operation), known_id=st.sampled_from(known_ids), use_known=st.booleans())
    def run(body: Any, known_id: str, use_known: bool) -> None:
        nonlocal tried
        if use_known and isinstance(body, dict) and "request_id" in body:
            body = {**body, "request_id": known_id}
        tried += 1
        try:
            response = client.request(operation.method.upper(), operation.path, json=body)
        except httpx.HTTPError as exc:
            violations.append(f"{operation.name}: {exc.__class__.__name__}")
            return
        try:
            payload = response.json()
        except ValueError:
            payload = None
        problem = contract_violation(operation, response.status_code, payload)
        if problem:
            violations.append(problem)

    run()
    return tried, violations


def check_fuzz(settings: Settings, root: Path, report: Report, examples: int) -> None:
    with (
        Server(workers=2, env=server_env(settings, root)) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        document = client.get("/openapi.json").json()
        known_ids = [request_id for request_id, _ in issue_suggestions(server.url, 5)]
        results = [fuzz_operation(client, op, examples, known_ids) for op in operations(document)]
    tried = sum(n for n, _ in results)
    violations = [v for _, found in results for v in found]
    five_xx = sum(1 for v in violations if v[:1] == "5")
    for violation in violations[:10]:
        print(f"    {violation}")
    wanted = examples * len(results)
    report.add(
        "fuzz (OpenAPI, all routes): cases tried",
        f"{tried} over {len(results)} routes",
        f"≥ 90% of {wanted} requested",
        tried >= 0.9 * wanted,
    )
    report.add("fuzz: 5xx responses", str(five_xx), "0", five_xx == 0)
    report.add("fuzz: contract errors (incl. 5xx)", str(len(violations)), "0", not violations)


# -- load and soak -----------------------------------------------------------------------------------
def check_load(settings: Settings, root: Path, report: Report, args: argparse.Namespace) -> None:
    messages = [row["message"] for row in read_jsonl(REPOSITORY / "eval" / "data" / "dev_messages.jsonl")]
    with Server(workers=args.workers, env=server_env(settings, root)) as server:
        asyncio.run(load(server.url, messages, args.clients, 5, repeat=True))  # warm-up: caches, allocator, threads
        start_rss = server.worker_current_rss_mb()
        minutes = args.soak_minutes or 0
        slices = [60.0] * int(minutes) if minutes else [args.seconds]
        done = errors = 0
        latencies: list[float] = []
        trend = []
        for seconds in slices:
            result = asyncio.run(load(server.url, messages, args.clients, seconds, repeat=True))
            ok, failed, timings = result.requests, result.errors, result.latencies_ms
            done, errors, latencies = done + ok, errors + failed, latencies + timings
            trend.append(sum(server.worker_current_rss_mb()))
            if minutes:
                print(f"    minute {len(trend)}: {ok / seconds:.0f} req/s, {failed} errors, RSS {trend[-1]:.0f} MB")
        end_rss = server.worker_current_rss_mb()
    total_s = sum(slices)
    p50, p99 = np.percentile(latencies, [50, 99])
    drift = sum(end_rss) - sum(start_rss)
    label = f"soak {minutes} min" if minutes else f"load {total_s:.0f} s"
    setup = f"{args.clients} clients, {args.workers} workers"
    throughput = done / total_s
    report.add(
        f"{label}, {setup}: requests / errors", f"{done} ({throughput:.0f} req/s) / {errors}", "0 errors", errors == 0
    )
    queueing_ms = 1000 * args.clients / max(throughput, 1e-9)  # Little's law: the wait a fair server implies
    report.add(
        f"{label}: latency p50 / p99",
        f"{p50:.0f} ms / {p99:.0f} ms",
        f"p99 ≤ 2 × clients ÷ throughput = {2 * queueing_ms:.0f} ms",
        p99 <= 2 * queueing_ms,
    )
    start_text = " + ".join(f"{r:.0f}" for r in start_rss)
    end_text = " + ".join(f"{r:.0f}" for r in end_rss)
    allowed = max(64.0, 0.1 * sum(start_rss))
    report.add(
        f"{label}: worker RSS start → end",
        f"{start_text} → {end_text} MB (drift {drift:+.0f} MB)",
        f"drift ≤ {allowed:.0f} MB",
        drift <= allowed,
    )
    if minutes and len(trend) >= 4:
        slope = float(np.polyfit(range(len(trend)), trend, 1)[0])
        report.add(f"{label}: RSS trend over the run", f"{slope:+.1f} MB/min", "< 2 MB/min", slope < 2.0)


def prepare(settings: Settings, workdir: Path) -> Path:
    """A copy of the published index and an empty data dir, so nothing here touches the real ones."""
    if artifact.current_version(settings.index_dir) is None:
        raise SystemExit(f"no index under {settings.index_dir}: run `python -m indexer build` first")
    root = Path(tempfile.mkdtemp(prefix="reliability-", dir=workdir))
    current = artifact.current_version(settings.index_dir)
    (root / "index" / artifact.VERSIONS).mkdir(parents=True)
    shutil.copytree(settings.index_dir / artifact.VERSIONS / current, root / "index" / artifact.VERSIONS / current)
    artifact.set_current(root / "index", current)
    return root


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=60, help="length of the load test")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--soak-minutes", type=int, default=0, help="run the load as a soak of N minutes instead")
    parser.add_argument("--fuzz-examples", type=int, default=200, help="generated requests per route")
    parser.add_argument("--crash-requests", type=int, default=300, help="suggestions whose feedback is burst")
    parser.add_argument("--skip", nargs="*", default=[], choices=["fuzz", "load", "crash", "indexer"])
    parser.add_argument("--seed", type=int, default=7, help="seed of the indexer kill time")


def run(args: argparse.Namespace) -> int:
    settings = Settings()
    report = Report()
    with tempfile.TemporaryDirectory(prefix="huashu-reliability-") as workdir:
        checks = {
            "fuzz": lambda root: check_fuzz(settings, root, report, args.fuzz_examples),
            "load": lambda root: check_load(settings, root, report, args),
            "crash": lambda root: check_crash(settings, root, report, args.crash_requests),
            "indexer": lambda root: check_indexer_kill(settings, root, report, args.seed),
        }
        for name, check in checks.items():
            if name not in args.skip:
                print(f"== {name}", flush=True)
                check(prepare(settings, Path(workdir)))
    print("\n" + report.table())
    return 1 if report.failed else 0
