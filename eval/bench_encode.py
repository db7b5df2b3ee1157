"""Embedding and index benchmark: ``python -m eval.bench_encode [--items 100000]``.

Prints model load time, encode throughput at batch 1 and 32 for each backend, index build time for
the shipped library and for a synthetic library, search latency p50/p99 at that size, and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from app.settings import Settings
from indexer.build import build_index, make_faiss_index
from retrieval.encoder import configured_encoder
from scripts_library.loader import load_library


def _percentiles(samples_ms: list[float]) -> str:
    p50, p99 = np.percentile(samples_ms, [50, 99])
    return f"p50 {p50:.3f} ms  p99 {p99:.3f} ms"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_encoders(settings: Settings, texts: list[str], backends: list[str]) -> None:
    print("== encoders (2 cores; batch 1 = one customer message at a time)")
    for backend in backends:
        started = time.perf_counter()
        encoder = configured_encoder(settings, backend)
        load_s = time.perf_counter() - started
        encoder.encode(texts[:8])  # warm-up
        singles = []
        for text in texts[:200]:
            t = time.perf_counter()
            encoder.encode([text])
            singles.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        encoder.encode(texts, batch_size=32)
        batch_rate = len(texts) / (time.perf_counter() - t)
        print(
            f"{backend:10} load {load_s:5.2f} s | batch 1: {1000 / np.mean(singles):6.1f} sent/s, "
            f"{_percentiles(singles)} | batch 32: {batch_rate:6.1f} sent/s"
        )


def bench_index(settings: Settings, items: int, dimension: int = 384) -> None:
    encoder = configured_encoder(settings)
    with tempfile.TemporaryDirectory() as tmp:
        report = build_index(settings.library_dir, Path(tmp) / "index", encoder, Path(tmp) / "cache", quiet=True)
    print(f"\n== shipped library: {report.manifest.entry_count} entries, {report.manifest.item_count} vectors")
    print(f"full build (cold cache: embed all + train classifiers + publish): {report.seconds:.2f} s")
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((items, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[rng.choice(items, 500, replace=False)] + 0.05 * rng.standard_normal((500, dimension))
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    print(f"\n== synthetic library: {items} vectors × {dimension}")
    for label, force_exact in (("exact (flat-ip)", True), ("automatic", False)):
        import indexer.build as build_module

        limit = build_module.EXACT_SEARCH_LIMIT
        build_module.EXACT_SEARCH_LIMIT = items if force_exact else limit
        t = time.perf_counter()
        index, kind = make_faiss_index(vectors)
        build_s = time.perf_counter() - t
        build_module.EXACT_SEARCH_LIMIT = limit
        latencies = []
        for query in queries:
            t = time.perf_counter()
            index.search(query.reshape(1, -1), 64)
            latencies.append((time.perf_counter() - t) * 1000)
        print(f"{label:16} {kind:12} build {build_s:6.2f} s | search top-64 {_percentiles(latencies)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000, help="size of the synthetic library")
    parser.add_argument("--backends", default="onnx-int8,onnx,torch", help="comma-separated encoder backends")
    args = parser.parse_args()
    settings = Settings()
    library = load_library(settings.library_dir)
    texts = [e for intent in library.intents for e in intent.examples][:1000]
    bench_encoders(settings, texts, args.backends.split(","))
    bench_index(settings, args.items)
    print(f"\npeak RSS of this process: {_peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
