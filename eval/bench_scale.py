"""Sizing figures for "Running at scale": ``python -m eval.bench_scale``.

Measures, on this machine: (1) for synthetic libraries of 10k / 100k / 1M searchable vectors, the FAISS
index the indexer would build (same factory, ``indexer.build.make_faiss_index``), its size on disk,
build and load time, and search latency at batch 1 on the service's search depth; (2) the real
encoder's indexing throughput (texts/s, batches of the indexer's chunk size); (3) one real server
process with the shipped index: peak RSS and requests/s with one worker pinned to one ONNX thread
(= requests/s per core); (4) the replicas a given number of agents needs at peak.

Synthetic vectors are random unit vectors of the model's dimension: embedding a million texts on
two CPU cores is impractical, and search cost depends on count and dimension, not on the text.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from app.settings import Settings
from eval.bench_api import load, unique_messages
from eval.server import Server
from indexer.build import ENCODE_CHUNK, make_faiss_index
from retrieval.encoder import configured_encoder
from retrieval.ranking import SEARCH_DEPTH
from scripts_library.loader import load_library
from scripts_library.text import normalize

DIMENSION = 384  # multilingual-e5-small
QUERIES = 300
TARGET_UTILISATION = 0.6  # headroom so p99 stays low at peak; above ~0.7 queueing delay grows fast


@dataclass(frozen=True)
class IndexFigures:
    items: int
    kind: str
    build_s: float
    disk_mb: float
    load_s: float
    latency_ms: dict[int, tuple[float, float]]  # FAISS threads -> search p50, p99


@dataclass(frozen=True)
class ServerFigures:
    rss_mb: float
    requests_per_s: float
    errors: int
    p50_ms: float
    p99_ms: float


def unit_vectors(count: int, rng: np.random.Generator) -> np.ndarray:
    """Random unit vectors, generated in float32 so a million of them fit in 1.5 GB."""
    vectors = rng.standard_normal((count, DIMENSION), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def near_queries(vectors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Queries close to stored vectors, as a customer message is close to a script example."""
    picked = vectors[rng.choice(len(vectors), QUERIES, replace=False)]
    queries = picked + 0.05 * rng.standard_normal(picked.shape, dtype=np.float32)
    return np.ascontiguousarray(queries / np.linalg.norm(queries, axis=1, keepdims=True), dtype=np.float32)


def measure_index(items: int, rng: np.random.Generator) -> IndexFigures:
    """Build with the indexer's factory, write and re-read it, search one query at a time."""
    vectors = unit_vectors(items, rng)
    queries = near_queries(vectors, rng)
    started = time.perf_counter()
    index, kind = make_faiss_index(vectors)
    build_s = time.perf_counter() - started
    del vectors
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vectors.faiss"
        faiss.write_index(index, str(path))
        disk_mb = path.stat().st_size / 2**20
        del index
        started = time.perf_counter()
        index = faiss.read_index(str(path))
        load_s = time.perf_counter() - started
    return IndexFigures(items, kind, build_s, disk_mb, load_s, search_latency(index, queries))


def search_latency(index: faiss.Index, queries: np.ndarray) -> dict[int, tuple[float, float]]:
    """p50/p99 of one query at a time, with FAISS's default OpenMP threads and with one thread.

    A replica runs one worker per core, so the one-thread figure is the one that sizes a replica;
    the default lets OpenMP spread one query over every core, which helps only on an idle machine.
    """
    default_threads = faiss.omp_get_max_threads()
    figures = {}
    for threads in dict.fromkeys((default_threads, 1)):
        faiss.omp_set_num_threads(threads)
        latencies = []
        for query in queries:
            started = time.perf_counter()
            index.search(query.reshape(1, -1), min(SEARCH_DEPTH, index.ntotal))
            latencies.append((time.perf_counter() - started) * 1000)
        p50, p99 = np.percentile(latencies, [50, 99])
        figures[threads] = (float(p50), float(p99))
    faiss.omp_set_num_threads(default_threads)
    return figures


def library_texts(settings: Settings, limit: int) -> list[str]:
    """Normalised customer-side texts of the shipped library, as the indexer embeds them."""
    library = load_library(settings.library_dir)
    texts = [e for intent in library.intents for e in intent.examples]
    texts += [e for script in library.scripts for e in script.examples]
    texts += [q for entry in library.faqs for q in entry.questions]
    return [normalize(t).text for t in texts[:limit]]


def embedding_throughput(settings: Settings, texts: list[str]) -> float:
    """Texts/s of the configured encoder in the indexer's chunks (no embedding cache)."""
    encoder = configured_encoder(settings)
    encoder.encode(texts[:ENCODE_CHUNK])  # warm-up
    started = time.perf_counter()
    for start in range(0, len(texts), ENCODE_CHUNK):
        encoder.encode(texts[start : start + ENCODE_CHUNK])
    return len(texts) / (time.perf_counter() - started)


def measure_server(seconds: float, clients: int) -> ServerFigures:
    """One uvicorn worker, one ONNX thread, the shipped index, loaded by concurrent clients."""
    messages = unique_messages(60_000)
    with tempfile.TemporaryDirectory() as data_dir:
        env = {"HUASHU_ENCODER_THREADS": "1", "HUASHU_DATA_DIR": data_dir}
        with Server(workers=1, env=env) as server:
            result = asyncio.run(load(server.url, messages, clients, seconds))
            done, errors, latencies = result.requests, result.errors, result.latencies_ms
            rss = max(server.worker_rss_mb())
    p50, p99 = np.percentile(latencies, [50, 99])
    return ServerFigures(rss, done / seconds, errors, float(p50), float(p99))


def replicas_needed(agents: int, messages_per_minute: float, requests_per_core: float, cores_per_replica: int) -> int:
    """Replicas for ``agents`` at peak, each at ``TARGET_UTILISATION``, plus one to lose a replica safely."""
    peak_requests = agents * messages_per_minute / 60
    capacity = requests_per_core * cores_per_replica * TARGET_UTILISATION
    return max(2, math.ceil(peak_requests / capacity) + 1)


def print_index_table(rows: list[IndexFigures], base_rss_mb: float) -> None:
    threads = list(rows[0].latency_ms)
    searches = " | ".join(f"top-{SEARCH_DEPTH} p50 / p99, {t} thread{'s' * (t > 1)}" for t in threads)
    print(f"\n| vectors | index | build | on disk | load | {searches} | RSS per worker (est.) |")
    print("|---" * (6 + len(threads)) + "|")
    for r in rows:
        latencies = " | ".join(f"{p50:.2f} / {p99:.2f} ms" for p50, p99 in r.latency_ms.values())
        print(
            f"| {r.items:,} | {r.kind} | {r.build_s:.1f} s | {r.disk_mb:,.0f} MB | {r.load_s:.2f} s | "
            f"{latencies} | ≈ {base_rss_mb + r.disk_mb:,.0f} MB |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated synthetic vector counts")
    parser.add_argument("--embed-texts", type=int, default=3000, help="library texts embedded for throughput")
    parser.add_argument("--seconds", type=float, default=15, help="duration of the server load run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients of the load run")
    parser.add_argument("--agents", default="500,2000,10000", help="agent counts for the replica table")
    parser.add_argument("--messages-per-minute", type=float, default=12, help="customer messages per agent at peak")
    parser.add_argument("--cores-per-replica", type=int, default=2, help="cores (= workers) per replica")
    args = parser.parse_args()
    settings = Settings()

    server = measure_server(args.seconds, args.clients)
    print(f"server, 1 worker / 1 ONNX thread, {args.clients} clients, {args.seconds:.0f} s, shipped index:")
    print(
        f"  {server.requests_per_s:.1f} req/s per core, {server.errors} errors, "
        f"p50 {server.p50_ms:.1f} ms, p99 {server.p99_ms:.1f} ms, peak RSS {server.rss_mb:.0f} MB"
    )
    texts = library_texts(settings, args.embed_texts)
    rate = embedding_throughput(settings, texts)
    print(f"indexing throughput ({settings.encoder_backend}, {len(texts)} texts, chunks of {ENCODE_CHUNK}):")
    print(f"  {rate:.0f} texts/s")

    rng = np.random.default_rng(11)
    rows = []
    for items in (int(size) for size in args.sizes.split(",") if size):
        rows.append(measure_index(items, rng))
        print(f"  measured {items:,} vectors: {rows[-1]}", flush=True)
    if rows:
        print_index_table(rows, server.rss_mb)

    print(f"\nreplicas for N agents at {args.messages_per_minute:g} customer messages/min each at peak, ")
    print(f"{args.cores_per_replica} cores per replica, {TARGET_UTILISATION:.0%} target utilisation, +1 spare:")
    print("| agents | peak req/s | replicas |\n|---|---|---|")
    for agents in (int(a) for a in args.agents.split(",")):
        count = replicas_needed(agents, args.messages_per_minute, server.requests_per_s, args.cores_per_replica)
        print(f"| {agents:,} | {agents * args.messages_per_minute / 60:,.0f} | {count} |")


if __name__ == "__main__":
    main()
