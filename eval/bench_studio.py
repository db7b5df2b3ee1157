"""Trainer studio on a real server: ``python -m eval.bench_studio``.

Measures (1) how fast the library list (``/studio``) loads, first and repeated, with the shipped
library and with a synthetic 10,000-script library, plus a filtered query; and (2) how long an edit
takes from the approver's click to being served: a trainer saves and submits a new template, an
approver approves it (the response carries ``publish_seconds``), and ``/v1/suggest`` is polled with
one of the script's examples until the new text comes back; (3) what the retrain that follows an approval
costs the agents: ``/v1/suggest`` latency of unique messages sent at a steady rate (``--rate``, default 20/s,
a busy team), idle and then from the approval until an answer comes from the retrained index version (a
retrain gets only the CPU serving leaves, so a load without gaps would postpone it). Everything runs on temp
copies of the library and of a freshly built index, so the repository's files are never touched.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from app.auth import hash_key
from app.settings import Settings
from eval.bench_api import percentiles, unique_messages
from eval.data_sources import REPOSITORY
from eval.server import Server
from indexer.build import build_index
from retrieval.encoder import configured_encoder
from scripts_library.loader import load_library

LIBRARY = REPOSITORY / "scripts_library"
KEYS = {"trainer": "bench-trainer-key", "approver": "bench-approver-key", "agent": "bench-agent-key"}
NAMES = {"trainer": "培训组-基准", "approver": "质检组-基准", "agent": "坐席-基准"}
EDITED_SCRIPT = "logistics_tracking.not_updated"
# Three compliant rewrites; each ends in a phrase no other script uses, to recognise it in suggestions.
EDITS = (
    (
        "非常抱歉让您着急了，我这就联系{{ courier }}核实包裹位置，今天傍晚前把查询结果发给您。",
        "今天傍晚前把查询结果发给您",
    ),
    (
        "真的很抱歉让您久等了，{{ courier }}那边我已提交催查工单，今晚8点前在这里同步新进展。",
        "今晚8点前在这里同步新进展",
    ),
    ("抱歉给您添麻烦了，我已向{{ courier }}发起加急查询，3小时内主动留言告诉您结果。", "3小时内主动留言告诉您结果"),
)
FILTER = {"intent": "invoice", "q": "发票"}
POLL_INTERVAL_S = 0.05
SERVED_TIMEOUT_S = 120


# -- fixtures: index, library copies, synthetic library -----------------------------------------------------------
def build_fresh_index(out_dir: Path) -> float:
    """Build an index of the shipped library into ``out_dir`` (embedding cache reused); returns seconds."""
    settings = Settings()
    encoder = configured_encoder(settings)
    return build_index(LIBRARY, out_dir, encoder, settings.cache_dir, quiet=True).seconds


def copy_library(target: Path) -> Path:
    shutil.copytree(LIBRARY, target, ignore=shutil.ignore_patterns("*.py", "__pycache__", "*.md"))
    return target


OPENINGS = ("您好", "亲，您好", "非常感谢您的耐心", "抱歉让您久等了", "感谢您的咨询", "理解您的心情")
ACTIONS = (
    "我这边先帮您查一下{topic}的情况",
    "关于{topic}，我已经为您登记",
    "{topic}这件事我来跟进",
    "已经把您反馈的{topic}转给专人核实",
    "我们会按售后政策处理{topic}",
)
PROMISES = (
    "，{hours}小时内在这里回复您。",
    "，{hours}小时内有进展会第一时间通知您。",
    "，处理结果{hours}小时内同步到订单备注里。",
    "，请您{hours}小时内留意站内消息。",
    "，{hours}小时内给您答复，若还有疑问随时联系我。",
)
TOPICS = ("包裹", "订单", "退款申请", "发票", "尺码", "赠品", "优惠券", "售后单", "安装预约", "积分", "地址", "颜色")
ASKS = ("{topic}怎么样了", "{topic}的事有消息吗", "帮我看下{topic}", "{topic}还要等多久", "问下{topic}第{n}次了")


def synthetic_script(intent: str, number: int) -> dict[str, object]:
    """One approved, compliant script whose wording varies with ``number`` (not a near-duplicate wall)."""
    topic = TOPICS[number % len(TOPICS)]
    template = (
        OPENINGS[number % len(OPENINGS)]
        + "，"
        + ACTIONS[(number // 6) % len(ACTIONS)].format(topic=topic)
        + f"（编号{number}）"
        + PROMISES[(number // 30) % len(PROMISES)].format(hours=2 + number % 46)
    )
    examples = [ask.format(topic=topic, n=number) + f" 单{number}" for ask in ASKS[: 2 + number % 4]]
    return {
        "id": f"{intent}.synthetic_{number:05d}",
        "intents": [intent],
        "emotions": [("neutral", "anxious", "dissatisfied", "positive")[number % 4]],
        "stage": "售后",
        "platforms": ["all"] if number % 3 else ["tmall", "jd"],
        "template": template,
        "variables": {},
        "examples": examples,
        "status": "approved",
        "version": 1,
        "author": "培训组-合成",
        "approver": "质检组-合成",
        "approved_at": "2026-11-20T10:00:00+08:00",
        "updated_at": "2026-11-20T10:00:00+08:00",
    }


def write_synthetic_library(target: Path, total: int) -> Path:
    """The shipped intents, emotions, rules and FAQ, plus ``total`` synthetic scripts spread over the intents."""
    target.mkdir(parents=True)
    for path in LIBRARY.glob("*.yaml"):  # intents, emotions, compliance, escalation, normalization …
        shutil.copy(path, target / path.name)
    shutil.copytree(LIBRARY / "faq", target / "faq")
    (target / "scripts").mkdir()
    intents = [i.id for i in load_library(LIBRARY).intents]
    by_intent: dict[str, list[dict[str, object]]] = {i: [] for i in intents}
    for number in range(total):
        intent = intents[number % len(intents)]
        by_intent[intent].append(synthetic_script(intent, number))
    for intent, scripts in by_intent.items():
        text = json.dumps({"schema_version": 1, "scripts": scripts}, ensure_ascii=False, indent=1)
        (target / "scripts" / f"{intent}.yaml").write_text(text, encoding="utf-8")  # JSON is valid YAML
    return target


def server_env(library: Path, index: Path, data: Path) -> dict[str, str]:
    keys = [{"name": NAMES[k], "role": k, "sha256": hash_key(v)} for k, v in KEYS.items()]
    return {
        "HUASHU_LIBRARY_DIR": str(library),
        "HUASHU_INDEX_DIR": str(index),
        "HUASHU_DATA_DIR": str(data),
        "HUASHU_CACHE_DIR": str(Settings().cache_dir),
        "HUASHU_API_KEYS": json.dumps(keys),
        "HUASHU_BUILD_INDEX_ON_STARTUP": "false",
        "HUASHU_RETRAIN_AFTER_PUBLISH": "false",
        "HUASHU_RATE_LIMIT_PER_MINUTE": "0",
        "HUASHU_LOG_LEVEL": "WARNING",
    }


# -- a logged-in browser-like client -----------------------------------------------------------------------------
def login(url: str, who: str) -> httpx.Client:
    """Post the login form as a browser would; the client keeps the session cookie."""
    client = httpx.Client(base_url=url, timeout=120)
    form = client.get("/studio/login").text
    token = re.search(r'name="login_csrf" value="([^"]+)"', form).group(1)
    response = client.post("/studio/login", data={"secret": KEYS[who], "login_csrf": token, "next": "/studio"})
    if response.status_code != 303 or response.headers["location"] != "/studio":
        raise RuntimeError(f"login as {who} failed: {response.status_code} {response.headers.get('location')}")
    return client


def with_csrf(client: httpx.Client) -> httpx.Client:
    """Send the CSRF token of a studio page with every fetch call, as the pages' scripts do."""
    page = client.get("/studio")
    client.headers["x-csrf-token"] = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    return client


def call(client: httpx.Client, path: str, body: dict[str, object]) -> dict[str, object]:
    response = client.post(path, json=body)
    if response.status_code != 200:
        raise RuntimeError(f"POST {path} → {response.status_code}: {response.text[:300]}")
    return response.json()


# -- 1. list page load ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PageFigures:
    label: str
    first_ms: float
    p50_ms: float
    p95_ms: float
    size_bytes: int
    total_shown: str


def time_get(client: httpx.Client, path: str, params: dict[str, str] | None = None) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.get(path, params=params)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed, response


def page_figures(client: httpx.Client, label: str, params: dict[str, str] | None, loads: int) -> PageFigures:
    first_ms, first = time_get(client, "/studio", params)
    timings = [time_get(client, "/studio", params)[0] for _ in range(loads)]
    shown = re.search(r"<small>(\d+) 条</small>", first.text)
    return PageFigures(
        label,
        first_ms,
        float(np.percentile(timings, 50)),
        float(np.percentile(timings, 95)),
        len(first.content),
        shown.group(1) if shown else "?",
    )


def measure_list(url: str, name: str, filtered: dict[str, str], loads: int) -> list[PageFigures]:
    """The first load after start (the library is read then) and ``loads`` more, unfiltered and filtered."""
    with contextlib.closing(login(url, "trainer")) as trainer:
        unfiltered = page_figures(trainer, f"{name}: /studio", None, loads)
        query = "&".join(f"{k}={v}" for k, v in filtered.items())
        return [unfiltered, page_figures(trainer, f"{name}: /studio?{query}", filtered, loads)]


# -- 2. edit approved → served -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EditFigures:
    approve_to_served_s: float
    approve_response_s: float
    publish_seconds: float
    index_version: str
    polls: int


def draft_for(library: Path, template: str) -> dict[str, object]:
    """The editor's payload for ``EDITED_SCRIPT`` with a new template and everything else unchanged."""
    script = load_library(library).script(EDITED_SCRIPT)
    return {
        "template": template,
        "variables": [{"name": n, "label": v.label, "default": v.default} for n, v in script.variables.items()],
        "examples": list(script.examples),
        "emotions": list(script.emotions),
        "platforms": list(script.platforms),
    }


def poll_until_served(url: str, message: str, marker: str, started: float) -> tuple[float, int]:
    """POST /v1/suggest until a suggestion contains ``marker``; seconds since ``started`` and the polls made."""
    polls = 0
    with httpx.Client(base_url=url, timeout=30, headers={"x-api-key": KEYS["agent"]}) as agent:
        while time.perf_counter() - started < SERVED_TIMEOUT_S:
            response = agent.post("/v1/suggest", json={"message": message, "top_k": 5})
            polls += 1
            if response.status_code == 200 and any(marker in s["text"] for s in response.json()["suggestions"]):
                return time.perf_counter() - started, polls
            time.sleep(POLL_INTERVAL_S)
    raise RuntimeError(f"{marker!r} was not served within {SERVED_TIMEOUT_S} s of the approval")


def in_background(function: Callable[[], tuple[float, int]]) -> Callable[[], tuple[float, int]]:
    """Run ``function`` in a thread now; the returned callable waits for and returns its result."""
    result: list[tuple[float, int]] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(function())
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def wait() -> tuple[float, int]:
        thread.join()
        if failure:
            raise failure[0]
        return result[0]

    return wait


def edit_and_serve(url: str, library: Path, template: str, marker: str) -> EditFigures:
    """Save + submit as trainer, approve as approver while polling /v1/suggest from the moment approve is sent."""
    api = f"/studio/api/scripts/{EDITED_SCRIPT}"
    message = load_library(library).script(EDITED_SCRIPT).examples[0]
    with (
        contextlib.closing(with_csrf(login(url, "trainer"))) as trainer,
        contextlib.closing(with_csrf(login(url, "approver"))) as approver,
    ):
        call(trainer, f"{api}/save", draft_for(library, template))
        call(trainer, f"{api}/submit", {"comment": "基准测试改写"})
        started = time.perf_counter()
        served = in_background(lambda: poll_until_served(url, message, marker, started))
        approved = call(approver, f"{api}/approve", {"comment": "同意"})
        approve_response_s = time.perf_counter() - started
        served_s, polls = served()
    return EditFigures(
        served_s, approve_response_s, float(approved["publish_seconds"]), str(approved["index_version"]), polls
    )


# -- 3. suggestions while the classifiers are retrained -----------------------------------------------------------
RETRAIN_EDIT = "抱歉让您担心了，{{ courier }}的包裹我已登记催查，今天18点前在这里告诉您结果。"
IDLE_REQUESTS = 400
RETRAIN_TIMEOUT_S = 600


@dataclass(frozen=True)
class RetrainFigures:
    per_second: float
    idle_ms: dict[str, float]
    during_ms: dict[str, float]
    requests_during: int
    retrain_s: float


def suggest_timings(
    agent: httpx.Client, messages: list[str], per_second: float, served_until: str | None = None
) -> list[float]:
    """One client's ``/v1/suggest`` latencies (ms), one unique message each, sent at ``per_second`` (as a team
    of agents would: requests do not wait for each other); all of them, or (``served_until``) up to the first
    answer from another index version than that one. Nothing else is asked meanwhile, so nothing else is timed."""
    timings: list[float] = []
    started = time.perf_counter()
    for number, message in enumerate(messages):
        time.sleep(max(0.0, started + number / per_second - time.perf_counter()))
        sent = time.perf_counter()
        response = agent.post("/v1/suggest", json={"message": message})
        timings.append((time.perf_counter() - sent) * 1000)
        response.raise_for_status()
        if served_until is not None and response.json()["index_version"] != served_until:
            return timings
    if served_until is not None:
        raise RuntimeError(f"no retrained version replaced {served_until} within {len(timings)} requests")
    return timings


def suggest_during_retrain(url: str, library: Path, per_second: float) -> RetrainFigures:
    """Idle latencies, then an approval, then latencies until the retrained version is served."""
    messages = unique_messages(int(per_second * RETRAIN_TIMEOUT_S) + IDLE_REQUESTS + 100, seed=11)
    api = f"/studio/api/scripts/{EDITED_SCRIPT}"
    with (
        httpx.Client(base_url=url, timeout=30, headers={"x-api-key": KEYS["agent"]}) as agent,
        contextlib.closing(with_csrf(login(url, "trainer"))) as trainer,
        contextlib.closing(with_csrf(login(url, "approver"))) as approver,
    ):
        suggest_timings(agent, messages[:50], per_second)  # warm-up
        idle = suggest_timings(agent, messages[50 : 50 + IDLE_REQUESTS], per_second)
        call(trainer, f"{api}/save", draft_for(library, RETRAIN_EDIT))
        call(trainer, f"{api}/submit", {"comment": "基准测试：重训期间的延迟"})
        started = time.perf_counter()
        published = str(call(approver, f"{api}/approve", {"comment": "同意"})["index_version"])
        during = suggest_timings(agent, messages[50 + IDLE_REQUESTS :], per_second, served_until=published)
        retrain_s = time.perf_counter() - started
    return RetrainFigures(per_second, percentiles(idle), percentiles(during), len(during), retrain_s)


# -- report --------------------------------------------------------------------------------------------------------
def print_pages(rows: list[PageFigures]) -> None:
    print("\n| page (trainer session) | scripts matched | first load | p50 | p95 | response size |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r.label} | {r.total_shown} | {r.first_ms:.0f} ms | {r.p50_ms:.1f} ms | {r.p95_ms:.1f} ms "
            f"| {r.size_bytes / 1024:.1f} KiB |"
        )


def print_edits(rows: list[EditFigures]) -> None:
    print(
        "\n| edit | approve sent → first /v1/suggest with the new text | approve response | publish_seconds "
        "| polls | index version |"
    )
    print("|---|---|---|---|---|---|")
    for number, r in enumerate(rows, 1):
        print(
            f"| {number} | {r.approve_to_served_s:.2f} s | {r.approve_response_s:.2f} s | {r.publish_seconds:.2f} s "
            f"| {r.polls} | {r.index_version} |"
        )
    served = statistics.median(r.approve_to_served_s for r in rows)
    publish = statistics.median(r.publish_seconds for r in rows)
    print(f"| median | {served:.2f} s | — | {publish:.2f} s | | |")


def print_retrain(figures: RetrainFigures) -> None:
    idle, during = figures.idle_ms, figures.during_ms
    print(f"\n| /v1/suggest, {figures.per_second:g} unique messages/s | requests | p50 | p99 |")
    print("|---|---|---|---|")
    print(f"| idle | {IDLE_REQUESTS} | {idle['p50']:.2f} ms | {idle['p99']:.2f} ms |")
    print(
        f"| while retraining ({figures.retrain_s:.0f} s from approval to the retrained version) "
        f"| {figures.requests_during} | {during['p50']:.2f} ms | {during['p99']:.2f} ms |"
    )
    print(f"| ratio | | {during['p50'] / idle['p50']:.2f}× | {during['p99'] / idle['p99']:.2f}× |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loads", type=int, default=20, help="repeated list loads after the first")
    parser.add_argument("--synthetic", type=int, default=10_000, help="scripts in the synthetic library")
    parser.add_argument("--index", type=Path, help="copy this published index instead of building a fresh one")
    parser.add_argument("--rate", type=float, default=20, help="suggestions per second during part 3")
    parser.add_argument("--only", choices=("pages", "edits", "retrain"), help="run one of the three parts")
    args = parser.parse_args()
    wanted = {args.only} if args.only else {"pages", "edits", "retrain"}
    with tempfile.TemporaryDirectory(prefix="bench-studio-") as tmp:
        root = Path(tmp)
        if args.index:
            shutil.copytree(args.index, root / "pristine-index")
        else:
            print(f"building a fresh index of the shipped library … {build_fresh_index(root / 'pristine-index'):.1f} s")
        if "pages" in wanted:
            print_pages(list_pages(root, args.synthetic, args.loads))
        if "edits" in wanted:
            print_edits(edits_served(root))
        if "retrain" in wanted:
            print_retrain(retrain_cost(root, args.rate))


def fresh_server(root: Path, name: str, library: Path, **extra: str) -> Server:
    """A one-worker server on ``library`` and its own copy of the pristine index."""
    shutil.copytree(root / "pristine-index", root / f"index-{name}")
    env = server_env(library, root / f"index-{name}", root / f"data-{name}")
    return Server(workers=1, env=env | extra)


def list_pages(root: Path, synthetic_count: int, loads: int) -> list[PageFigures]:
    started = time.perf_counter()
    synthetic = write_synthetic_library(root / "synthetic", synthetic_count)
    print(f"wrote {synthetic_count} synthetic scripts in {time.perf_counter() - started:.1f} s")
    with fresh_server(root, "synthetic", synthetic) as server:
        pages = measure_list(server.url, f"synthetic {synthetic_count:,}", FILTER, loads)
    with fresh_server(root, "shipped", copy_library(root / "library-pages")) as server:
        return measure_list(server.url, "shipped", FILTER, loads) + pages


def edits_served(root: Path) -> list[EditFigures]:
    library = copy_library(root / "library-edits")
    with fresh_server(root, "edits", library) as server:
        return [edit_and_serve(server.url, library, template, marker) for template, marker in EDITS]


def retrain_cost(root: Path, per_second: float) -> RetrainFigures:
    library = copy_library(root / "library-retrain")
    with fresh_server(root, "retrain", library, HUASHU_RETRAIN_AFTER_PUBLISH="true") as server:
        return suggest_during_retrain(server.url, library, per_second)


if __name__ == "__main__":
    main()
