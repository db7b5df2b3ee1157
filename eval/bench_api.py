"""The request path against its floor, measured in one run: ``python -m eval.bench_api``.

1. **Encoder floor** — the served encoder (the service's own ONNX int8 ``OnnxEncoder``, same thread count) on
   one message at a time, and its batched throughput at the batch size the service uses, on the same cores.
2. **HTTP floor** — ``GET /healthz`` over a keep-alive connection to a real uvicorn server.
3. **Single client** — ``POST /v1/suggest`` over keep-alive, every message sent once (no embedding-cache
   hit), p50/p99 and their ratio to encode p50 + HTTP p50; then the same messages again, reported apart as
   cache hits.
4. **Throughput** — ``python -m app``'s setup (2 workers, one encoder thread each) under 16 concurrent
   keep-alive clients, a unique message per request: requests/s against the encoder's batched throughput,
   errors, and p99 against the queueing expectation (clients ÷ throughput, Little's law).

Messages are real and realistic customer turns (the labelled sets and the real ECD chats) and, for the load,
unique pairs of them joined as one turn, as 40% of real turns are. Prints a table and writes JSON to
``eval/runs/<stamp>-bench-api/bench.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import httpx
import numpy as np

from app.settings import Settings
from eval.data_sources import REPOSITORY, ecd_contexts, read_jsonl
from eval.server import Server
from retrieval.encoder import configured_encoder

LABELLED = (
    "eval/data/dev_messages.jsonl",
    "eval/data/tune/messages.jsonl",
    "eval/data/boundaries/messages.jsonl",
    "eval/data/blind/messages.jsonl",
)
RUNS_DIR = REPOSITORY / "eval" / "runs"


def unique_messages(count: int, seed: int = 7) -> list[str]:
    """``count`` distinct customer turns: every labelled and real turn once, then pairs of them."""
    singles = [row["message"] for path in LABELLED for row in read_jsonl(REPOSITORY / path)]
    singles += [turn for context in ecd_contexts() for turn in context[::2]]
    singles = list(dict.fromkeys(s for s in singles if s.strip()))
    random.Random(seed).shuffle(singles)
    pairs = (f"{a} {b}" for a, b in itertools.permutations(singles[:400], 2))
    return list(itertools.islice(itertools.chain(singles, pairs), count))


def percentiles(values: list[float]) -> dict[str, float]:
    p50, p99 = np.percentile(values, [50, 99])
    return {"p50": round(float(p50), 3), "p99": round(float(p99), 3)}


@dataclass
class EncoderFloor:
    threads: int
    batch_one_ms: dict[str, float]
    batch_size: int
    batched_per_s: float


def encoder_floor(messages: list[str], threads: int, batch_size: int) -> EncoderFloor:
    settings = Settings(encoder_threads=threads)
    encoder = configured_encoder(settings)
    encoder.encode(messages[:8])
    single = []
    for message in messages:
        started = time.perf_counter()
        encoder.encode([message])
        single.append((time.perf_counter() - started) * 1000)
    batches = [messages[i : i + batch_size] for i in range(0, len(messages) - batch_size + 1, batch_size)]
    started = time.perf_counter()
    for batch in batches:
        encoder.encode(batch, batch_size=batch_size)
    rate = len(batches) * batch_size / (time.perf_counter() - started)
    return EncoderFloor(threads, percentiles(single), batch_size, round(rate, 1))


def timed_posts(client: httpx.Client, path: str, bodies: list[dict | None]) -> list[float]:
    timings = []
    for body in bodies:
        started = time.perf_counter()
        response = client.post(path, json=body) if body is not None else client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return timings


def single_client(url: str, messages: list[str], warm: list[str]) -> dict:
    with httpx.Client(base_url=url, timeout=10) as client:
        timed_posts(client, "/v1/suggest", [{"message": m} for m in warm])
        http = timed_posts(client, "/healthz", [None] * len(messages))
        fresh = timed_posts(client, "/v1/suggest", [{"message": m} for m in messages])
        cached = timed_posts(client, "/v1/suggest", [{"message": m} for m in messages])
    return {"http_floor_ms": percentiles(http), "suggest_ms": percentiles(fresh), "cache_hit_ms": percentiles(cached)}


@dataclass
class LoadResult:
    clients: int
    seconds: float
    requests: int
    errors: int
    latencies_ms: list[float]
    client_cores: float  # CPU the load generator itself used, in cores: taken from the service on a small machine

    def summary(self) -> dict:
        throughput = self.requests / self.seconds
        return {
            "clients": self.clients,
            "seconds": round(self.seconds, 1),
            "requests": self.requests,
            "errors": self.errors,
            "per_s": round(throughput, 1),
            "latency_ms": percentiles(self.latencies_ms),
            "queueing_expectation_ms": round(1000 * self.clients / max(throughput, 1e-9), 1),
            "client_cores": round(self.client_cores, 2),
        }


async def load(url: str, messages: list[str], clients: int, seconds: float, repeat: bool = False) -> LoadResult:
    """``clients`` keep-alive clients for ``seconds``, each request a message never sent before (``repeat``:
    cycling through ``messages``, for soaks that measure errors and memory rather than speed)."""
    queue = itertools.cycle(messages) if repeat else iter(messages)
    done = errors = 0
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def client_loop() -> None:
        nonlocal done, errors
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            while time.monotonic() < stop:
                message = next(queue, None)
                if message is None:
                    raise RuntimeError("ran out of unique messages: raise --messages")
                started = time.perf_counter()
                try:
                    ok = (await client.post("/v1/suggest", json={"message": message})).status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - started) * 1000)
                done += ok
                errors += not ok

    started, cpu_started = time.monotonic(), time.process_time()
    await asyncio.gather(*(client_loop() for _ in range(clients)))
    elapsed = time.monotonic() - started
    return LoadResult(clients, elapsed, done, errors, latencies, (time.process_time() - cpu_started) / elapsed)


def server_env(threads: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"HUASHU_ENCODER_THREADS": str(threads), "HUASHU_RATE_LIMIT_PER_MINUTE": "0", **(extra or {})}


def _pair(figure: dict) -> str:
    return f"{figure['p50']} / {figure['p99']} ms"


def report(figures: dict) -> str:
    floor, one, load_ = figures["encoder"], figures["single_client"], figures["load"]
    batched = figures["encoder_batched"]
    base = floor["batch_one_ms"]["p50"] + one["http_floor_ms"]["p50"]
    suggest = one["suggest_ms"]
    rows = [
        ("served encoder, one message (p50 / p99)", _pair(floor["batch_one_ms"])),
        (f"served encoder, batches of {batched['batch_size']}", f"{batched['batched_per_s']} msg/s"),
        ("HTTP floor, GET /healthz keep-alive (p50)", f"{one['http_floor_ms']['p50']} ms"),
        ("/v1/suggest, unique messages (p50 / p99)", _pair(suggest)),
        ("  p50 ÷ (encode p50 + HTTP p50)", f"{suggest['p50'] / base:.2f}"),
        ("  p99 ÷ p50", f"{suggest['p99'] / suggest['p50']:.2f}"),
        ("/v1/suggest, cache hits (p50 / p99), apart", _pair(one["cache_hit_ms"])),
        (f"throughput, {load_['clients']} clients, unique", f"{load_['per_s']} req/s, {load_['errors']} errors"),
        ("  ÷ encoder batched throughput", f"{load_['per_s'] / batched['batched_per_s']:.2f}"),
        ("  cores the load generator used", f"{load_['client_cores']:.2f} of {figures['cores']}"),
        ("  latency under load (p50 / p99)", _pair(load_["latency_ms"])),
        ("  p99 ÷ queueing expectation", f"{load_['latency_ms']['p99'] / load_['queueing_expectation_ms']:.2f}"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:{width}}  {value}" for name, value in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--single", type=int, default=400, help="messages for the single-client figures")
    parser.add_argument("--messages", type=int, default=12_000, help="unique messages available to the load")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--batch", type=int, default=16, help="the service's largest encoder batch")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    pool = unique_messages(args.messages + 2 * args.single + 40)
    warm, pool = pool[:40], pool[40:]
    single, encode_set, rest = pool[: args.single], pool[args.single : 2 * args.single], pool[2 * args.single :]
    figures: dict = {"at": datetime.now(UTC).isoformat(), "cores": cores}
    figures["encoder"] = asdict(encoder_floor(encode_set, cores, args.batch))
    figures["encoder_batched"] = asdict(encoder_floor(rest[: args.batch * 40], cores, args.batch))
    with Server(workers=1, env=server_env(cores)) as server:
        figures["single_client"] = single_client(server.url, single, warm)
    with Server(workers=args.workers, env=server_env(max(1, cores // args.workers))) as server:
        asyncio.run(load(server.url, warm, args.clients, 3, repeat=True))  # warm both workers
        figures["load"] = asyncio.run(load(server.url, rest[args.batch * 40 :], args.clients, args.seconds)).summary()
        figures["worker_rss_mb"] = [round(r) for r in server.worker_rss_mb()]
    print(report(figures))
    out = RUNS_DIR / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-bench-api"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"wrote {out / 'bench.json'}")


if __name__ == "__main__":
    main()
