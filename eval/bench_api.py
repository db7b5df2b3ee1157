"""End-to-end latency and throughput of the real server: ``python -m eval.bench_api``.

Starts uvicorn on loopback, then measures (1) single-client /v1/suggest latency p50/p99 beside the
bare fp32 sentence-transformers encode time of the same messages, and the ratio of the two; and
(2) throughput with N workers under C concurrent clients, with errors and peak RSS per worker.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import httpx
import numpy as np

from app.settings import Settings
from eval.data_sources import read_jsonl
from eval.server import Server
from retrieval.encoder import configured_encoder

DEV_SET = Path(__file__).parent / "data" / "dev_messages.jsonl"


def single_client(url: str, messages: list[str]) -> list[float]:
    timings = []
    with httpx.Client(base_url=url, timeout=10) as client:
        for warm_up in ("你好", "在吗", "发票", "退货", "快递到哪了"):
            client.post("/v1/suggest", json={"message": warm_up})
        for message in messages:
            started = time.perf_counter()
            response = client.post("/v1/suggest", json={"message": message})
            timings.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return timings


def bare_encode_ms(messages: list[str]) -> list[float]:
    settings = Settings()
    encoder = configured_encoder(settings, "torch")
    encoder.encode(messages[:10])
    timings = []
    for message in messages:
        started = time.perf_counter()
        encoder.encode([message])
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def load(url: str, messages: list[str], clients: int, seconds: float) -> tuple[int, int, list[float]]:
    done = errors = 0
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def client_loop(offset: int) -> None:
        nonlocal done, errors
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            i = offset
            while time.monotonic() < stop:
                started = time.perf_counter()
                try:
                    response = await client.post("/v1/suggest", json={"message": messages[i % len(messages)]})
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - started) * 1000)
                done += ok
                errors += not ok
                i += clients

    await asyncio.gather(*(client_loop(k) for k in range(clients)))
    return done, errors, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    messages = [row["message"] for row in read_jsonl(DEV_SET)][: args.messages]

    with Server(workers=1, env={"HUASHU_ENCODER_THREADS": "0"}) as server:
        suggest = single_client(server.url, messages)
    encode = bare_encode_ms(messages)
    p50, p99 = np.percentile(suggest, [50, 99])
    e50 = float(np.percentile(encode, 50))
    print(f"single client, {len(messages)} dev messages, 1 worker")
    print(f"  /v1/suggest end-to-end  p50 {p50:.2f} ms  p99 {p99:.2f} ms")
    print(f"  bare fp32 encode (sentence-transformers, torch)  p50 {e50:.2f} ms")
    print(f"  ratio suggest p50 / bare encode p50 = {p50 / e50:.2f}")

    with Server(workers=args.workers, env={"HUASHU_ENCODER_THREADS": "1"}) as server:
        done, errors, latencies = asyncio.run(load(server.url, messages, args.clients, args.seconds))
        rss = server.worker_rss_mb()
    q50, q99 = np.percentile(latencies, [50, 99])
    print(f"\nload: {args.workers} workers, {args.clients} concurrent clients, {args.seconds:.0f} s")
    print(f"  {done / args.seconds:.1f} req/s, {errors} errors, latency p50 {q50:.1f} ms  p99 {q99:.1f} ms")
    print(f"  peak RSS per worker: {', '.join(f'{r:.0f} MB' for r in rss)}")


if __name__ == "__main__":
    main()
