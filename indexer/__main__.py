"""``python -m indexer build|status``: build and publish the index artifact."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from app.settings import Settings
from indexer.build import build_index, is_stale
from retrieval.artifact import ArtifactError, current_manifest
from retrieval.encoder import EncoderLoadError
from retrieval.pipeline import configured_encoder
from scripts_library.loader import LibraryError


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    parser = argparse.ArgumentParser(prog="python -m indexer", description="build and publish the index")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="embed the library and publish a new index version")
    build.add_argument("--library", type=Path, default=settings.library_dir, help="scripts library directory")
    build.add_argument("--out", type=Path, default=settings.index_dir, help="artifact location")
    build.add_argument("--if-stale", action="store_true", help="do nothing when the index is up to date")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    status = sub.add_parser("status", help="print the published version's manifest")
    status.add_argument("--out", type=Path, default=settings.index_dir)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if getattr(args, "quiet", False) else logging.INFO,
        format="%(levelname)s %(name)s %(message)s",
    )
    try:
        if args.command == "status":
            manifest = current_manifest(args.out)
            print(manifest.model_dump_json(indent=2, exclude={"entry_versions"}) if manifest else "no index")
            return 0 if manifest else 1
        encoder = configured_encoder(settings)
        if args.if_stale and not is_stale(args.library, args.out, encoder.fingerprint):
            print("index is up to date")
            return 0
        report = build_index(args.library, args.out, encoder, settings.cache_dir, quiet=args.quiet)
    except (LibraryError, ArtifactError, EncoderLoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    m = report.manifest
    print(
        f"published {m.version}: {m.item_count} vectors ({m.index_type}), {m.entry_count} entries, "
        f"embedded {report.embedded} new texts ({report.cached} cached) in {report.seconds:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
